"""The students' JupyterLab in a real browser: lectures run, widgets respond, Validate works.

One ``jupyter lab`` server (a temporary copy of the repo, isolated Jupyter state) and one
headless Chromium page serve the whole module; each test opens its notebook with File >
Open from Path, closes it afterwards and leaves screenshots in ``artifacts/``. Without
Chromium or playwright the tests skip loudly, and fail instead when ``CI`` is set.
"""


import browser_helpers as lab
import nbformat
import pytest

pytestmark = pytest.mark.browser

LECTURES = sorted((lab.REPO_ROOT / "lectures").glob("*.ipynb"))
PS4_RELEASE = "assignments/ps4_mlp/ps4_mlp.ipynb"
PS4_SOURCE = lab.REPO_ROOT / "solutions/ps4_mlp/ps4_mlp.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def has_widgets(path):
    """Whether a lecture shows ipywidgets: a stored widget view, or code that makes one."""
    notebook = nbformat.read(path, as_version=4)
    for c in notebook.cells:
        if c.cell_type != "code":
            continue
        if "widgets" in c.source or any(WIDGET_VIEW in o.get("data", {}) for o in c.outputs):
            return True
    return False


@pytest.fixture(scope="module")
def chromium():
    with lab.launched_chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium):
    """The lab server; its log is kept as ``artifacts/jupyter-lab.log`` for a post-mortem."""
    running = lab.JupyterLabServer(tmp_path_factory.mktemp("jupyter-lab"))
    try:
        with running:
            yield running
    finally:
        lab.keep_artifact(running.log_path)


@pytest.fixture(scope="module")
def lab_page(chromium, server):
    """One JupyterLab page for the module: loading the lab once saves a reload per test."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        lab.start_lab(page, server)
        yield page
    finally:
        context.close()


@pytest.fixture
def page(lab_page, server):
    """The lab page with no notebook open; afterwards its tabs are closed, kernels shut down.

    Should closing the tabs fail (a test left the page in a state no menu reaches), the
    page reloads the lab, so the next test starts clean either way.
    """
    try:
        yield lab_page
    finally:
        try:
            lab.close_all_tabs(lab_page)
        except Exception:
            lab.start_lab(lab_page, server)
        finally:
            server.shutdown_sessions()


def assert_ran_cleanly(page):
    errors = lab.error_outputs(page)
    assert not errors, "cells show errors:\n\n" + "\n\n".join(errors)
    unexecuted = lab.unexecuted_code_cells(page)
    assert not unexecuted, f"code cells {unexecuted} have no execution count after Run All"


@pytest.mark.parametrize("notebook", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_runs_and_its_widgets_respond(page, server, notebook):
    """Run All leaves no error; in a lecture with widgets, moving a slider redraws output."""
    relative = notebook.relative_to(lab.REPO_ROOT).as_posix()
    lab.open_notebook(page, server, relative)
    lab.run_all_cells(page)
    lab.screenshot(page, f"lecture-{notebook.stem}")
    assert_ran_cleanly(page)

    if not has_widgets(notebook):
        return
    cells = lab.widget_cells(page).all()
    assert cells, "the lecture makes widgets but none rendered in the page"
    tried, unchanged = [], []
    for number, widget_cell in enumerate(cells, start=1):
        widget_cell.scroll_into_view_if_needed()
        for kind, selector in lab.CONTROLS.items():
            control = widget_cell.locator(selector).first
            if not control.count():
                continue
            before = lab.output_signature(widget_cell)
            name, old, new = lab.operate(kind, control)
            what = f"widget cell {number}, {kind} {name!r} ({old} -> {new})"
            assert kind == "button" or old != new, f"{what}: the control did not move"
            tried.append(what)
            if lab.wait_for_output_change(page, widget_cell, before) == before:
                unchanged.append(what)
        lab.screenshot(page, f"lecture-{notebook.stem}-widget-{number}")
    assert tried, "the lecture's widgets have no slider, dropdown or button to use"
    assert not unchanged, f"output did not change after: {unchanged} (of {tried})"
    assert_ran_cleanly(page)


@pytest.fixture
def ps4(page, server):
    lab.open_notebook(page, server, PS4_RELEASE)
    return page


def test_validate_fails_on_the_untouched_release(ps4):
    """The release as students get it: Validate reports failing cells."""
    dialog = lab.press_validate(ps4)
    lab.screenshot(ps4, "ps4-validate-release")
    message = dialog.locator("#validation-message")
    assert "validation-failed" in message.get_attribute("class"), message.inner_text()
    assert "The following cell failed" in message.inner_text()
    assert "NotImplementedError" in message.inner_text()


def test_validate_succeeds_once_the_solutions_are_typed_in(ps4, server):
    """Type every solution through the editor, run the visible tests, Validate: success."""
    cells = lab.solution_cells(server.repo / PS4_RELEASE, PS4_SOURCE)
    assert cells, f"{PS4_RELEASE} has no solution cells"
    for index, code in cells:
        lab.replace_cell_source(ps4, index, code)
    lab.run_all_cells(ps4)
    lab.screenshot(ps4, "ps4-solved-run-all")
    assert_ran_cleanly(ps4)

    dialog = lab.press_validate(ps4)
    lab.screenshot(ps4, "ps4-validate-solved")
    message = dialog.locator("#validation-message")
    assert "validation-success" in message.get_attribute("class"), message.inner_text()
    assert "Success! Your notebook passes all the tests." in message.inner_text()
    saved = nbformat.read(server.repo / PS4_RELEASE, as_version=4)
    for index, code in cells:
        assert saved.cells[index].source == code, f"cell {index} was not saved as typed"
