"""course_lib.grading.sanitize: a graded notebook that renders without running student code.

A hostile submission (tests/xss_payloads.py, every payload calling ``alert('<name>')``) is
sanitised, then rendered by nbconvert's HTMLExporter with the templates the instructor's
views use (nbgrader's formgrade, classic, lab). The page is parsed and every construct that
could run JavaScript is listed; constructs the template itself makes (its scripts, its score
inputs) are subtracted by rendering the plain release the same way. Rendering the hostile
notebook *unsanitised* must list the payloads by name: that shows the check can fail.
"""

import base64
import copy
import json
import os
import random
import re
import time
from collections import Counter

import nbformat
import pytest
import xss_payloads as xp
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output, new_raw_cell
from nbgrader.server_extensions.formgrader import handlers

from course_lib.grading import sanitize
from course_lib.grading.sanitize import sanitize_notebook

FORBIDDEN_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "form",
                  "style", "base", "meta", "link", "svg", "math", "noscript", "template",
                  "input", "button", "textarea", "select"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "background",
                  "poster", "srcset", "ping", "content"}
SAFE_URL = re.compile(r"(https?:|mailto:|#|data:image/(png|jpeg|gif);base64,[a-z0-9+/=]*$)")
# What the formgrader passes as resources (formgrader/handlers.py, SubmissionHandler).
FORMGRADE_RESOURCES = {"assignment_id": "tiny", "notebook_id": "tiny", "submission_id": "s1",
                       "index": 0, "total": 1, "base_url": "", "student": "mallory",
                       "last_name": None, "first_name": None, "notebook_path": "autograded"}
# The payloads whose unsanitised rendering must show up as live: every kind of vector.
MUST_BE_LIVE = {"script", "img_onerror", "svg_onload", "entity_href", "md_link", "ref_link",
                "iframe_srcdoc", "object", "form", "mermaid", "js_output", "html_output",
                "markdown_output", "png_width", "answer_cell", "hostile_grade_id"}


def alert(name):
    return f"alert('{name}')"


def exporter(template):
    if template == "formgrade":
        return HTMLExporter(template_name="formgrade",
                            extra_template_basedirs=[handlers.template_path])
    return HTMLExporter(template_name=template)


def render(nb, template):
    resources = {"metadata": {"name": "tiny", "path": ""}}
    if template == "formgrade":
        resources.update(FORMGRADE_RESOURCES)
    page, _ = exporter(template).from_notebook_node(nb, resources=resources)
    return page


def findings(page):
    """Every construct in ``page`` that can run script or load a document, as text."""
    found = []
    for el in BeautifulSoup(page, "html.parser").find_all(True):
        if el.name in FORBIDDEN_TAGS:
            found.append(f"<{el.name}> {str(el)[:300]}")
        for attr, value in el.attrs.items():
            value = " ".join(value) if isinstance(value, list) else value
            if attr.startswith("on") or attr == "srcdoc":
                found.append(f"{el.name} {attr}={value}")
            elif attr in URL_ATTRIBUTES and ":" in value:
                compact = re.sub(r"[\x00-\x20\x7f]", "", value).lower()
                scheme = re.match(r"[a-z][a-z0-9+.-]*:", compact)
                if scheme and not SAFE_URL.match(compact):
                    found.append(f"{el.name} {attr}={value[:200]}")
            elif attr in ("width", "height") and not re.fullmatch(r"\d+%?", value.strip()):
                found.append(f"{el.name} {attr}={value}")
            elif attr == "style":
                found.append(f"style {value}")
    return Counter(found)


def new_findings(nb, release, template):
    """Findings in the page of ``nb`` that the page of the release alone does not have."""
    return findings(render(nb, template)) - findings(render(release, template))


def live(found):
    """Names of the payloads that a finding mentions."""
    return {name for name in ALL_NAMES
            if any(f"'{name}'" in f or f"%27{name}%27" in f for f in found)}


ALL_NAMES = [*xp.names(), "hostile_grade_id", "hostile_cell_id", "execution_count",
             "error_output", "svg_attachment", "widget_state"]


def hostile(release, js=alert, invalid=True):
    """``xp.hostile_notebook`` plus what only a crafted file can hold (ids, metadata...).

    ``invalid`` adds a cell id and an execution count that nbformat's schema rejects (so
    nbconvert refuses to render them unsanitised).
    """
    nb = xp.hostile_notebook(release, js)
    extra = []  # inserted before the markdown payloads, the last of which ends the page
    extra.append(new_markdown_cell(
        "graded?", metadata={"nbgrader": {
            "grade_id": f'x"><img src=x onerror="{js("hostile_grade_id")}"><b a="',
            "grade": True, "solution": True, "locked": False, "points": 1,
            "schema_version": 3}, "tags": [f"<script>{js('tags')}</script>"]}))
    extra.append(new_code_cell("1", outputs=[new_output(
        "error", ename=f"<img src=x onerror={js('error_output')}>",
        evalue=f"<script>{js('error_output')}</script>",
        traceback=[f"<script>{js('error_output')}</script>"])]))
    if invalid:
        extra[-1]["execution_count"] = f'<img src=x onerror="{js("execution_count")}">'
        extra.append(new_markdown_cell("bad id"))
        extra[-1]["id"] = f'x"><img src=x onerror="{js("hostile_cell_id")}">'
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js("svg_attachment")}"/>'
    extra.append(new_markdown_cell("![a](attachment:a.svg)"))
    extra[-1]["attachments"] = {"a.svg": {"image/svg+xml": base64.b64encode(svg.encode()).decode()}}
    nb.cells[len(release.cells):len(release.cells)] = extra
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {}, "x": f"</script><script>{js('widget_state')}</script>"}}
    nb.metadata["title"] = f"</title><script>{js('title')}</script>"
    return nb


@pytest.fixture(scope="module")
def release():
    return xp.source_notebook()


@pytest.fixture(scope="module")
def clean(release):
    return sanitize_notebook(hostile(release), release)


@pytest.mark.parametrize("template", ["formgrade", "classic", "lab"])
def test_no_payload_survives_rendering(release, clean, template):
    assert not new_findings(clean, release, template)
    page = BeautifulSoup(render(clean, template), "html.parser")
    cells = page.select("div.jp-Cell" if template == "lab" else "div.cell")
    # every cell rendered (raw cells have no wrapper), none swallowed the rest of the page
    assert len(cells) == sum(c.cell_type != "raw" for c in clean.cells)
    assert "<img src=x onerror=\"alert('raw_plain')\">" in page.get_text()  # raw cell: text


@pytest.mark.filterwarnings("ignore:Your element with mimetype")
@pytest.mark.parametrize("template", ["formgrade", "lab"])
def test_unsanitised_payloads_are_found(release, template):
    """The control: rendered raw, the same notebook is full of live payloads."""
    found = new_findings(hostile(release, invalid=False), release, template)
    missing = MUST_BE_LIVE - live(found)
    if template == "lab":  # the lab template escapes cell ids, grade ids are nbgrader's
        missing -= {"hostile_grade_id"}
    assert not missing, f"the check did not see these payloads: {sorted(missing)}"


def test_without_release_nothing_survives(release):
    clean = sanitize_notebook(hostile(release))
    assert not new_findings(clean, release, "formgrade")


def test_input_is_not_modified(release):
    nb = hostile(release)
    before = copy.deepcopy(nb)
    sanitize_notebook(nb, release)
    assert nb == before


def test_result_is_a_valid_notebook(clean):
    nbformat.validate(clean)
    text = nbformat.writes(clean)  # lone surrogates would fail here
    assert "\ud800" not in text and "surrogate" in text


def benign(release):
    """The release with an honest written answer, outputs of every kind kept, an attachment."""
    nb = nbformat.from_dict(copy.deepcopy(release))
    answer = new_markdown_cell(
        "A paragraph with **bold text**, inline math $x^2 < y$ and a sum\n\n"
        "$$\\sum_{i=1}^n x_i$$\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "![plot](attachment:plot.png) and [the docs](https://numpy.org/doc/).\n\n"
        "```python\ndef f(x):\n\n    return x < 2\n```")
    answer["attachments"] = {"plot.png": {"image/png": xp.PNG}}
    frame = ('<div><style scoped>.dataframe tbody tr th {vertical-align: top;}</style>'
             '<table border="1" class="dataframe"><thead><tr style="text-align: right;">'
             "<th></th><th>loss</th></tr></thead><tbody><tr><th>0</th><td>0.25</td></tr>"
             "</tbody></table></div>")
    code = new_code_cell("df", execution_count=3, outputs=[
        new_output("stream", name="stdout", text="epoch 1: loss 0.25\n"),
        new_output("execute_result", execution_count=3,
                   data={"text/plain": "   loss\n0  0.25", "text/html": frame}),
        new_output("display_data", data={"image/png": xp.PNG, "text/plain": "<Figure>"},
                   metadata={"image/png": {"width": 200, "height": 100}}),
        new_output("error", ename="ValueError", evalue="x < 0",
                   traceback=["\x1b[31mValueError\x1b[0m: x < 0"]),
    ])
    nb.cells += [answer, code]
    return nb


@pytest.mark.parametrize("template", ["formgrade", "lab"])
def test_benign_content_stays_readable(release, template):
    page = BeautifulSoup(render(sanitize_notebook(benign(release), release), template),
                         "html.parser")
    text = page.get_text()
    assert "A paragraph with bold text" in " ".join(text.split())
    assert page.find("strong", string="bold text")
    assert "$x^2 < y$" in text and "$$\\sum_{i=1}^n x_i$$" in text
    assert [td.get_text() for td in page.select("table:not(.dataframe) td")] == ["1", "2"]
    assert page.select_one("table.dataframe td").get_text() == "0.25"
    images = page.find_all("img", src=f"data:image/png;base64,{xp.PNG}")
    assert len(images) == 2
    assert {img.get("width") for img in images} == {None, "200"}
    assert page.find("a", href="https://numpy.org/doc/").get_text() == "the docs"
    assert "return x < 2" in " ".join(text.split())
    assert "epoch 1: loss 0.25" in text and "ValueError: x < 0" in text


def test_stored_markdown_is_rendered_verbatim(release):
    """The formgrader renders the stored HTML again: it must come back unchanged."""
    for cell in sanitize_notebook(benign(release), release).cells:
        if cell.cell_type == "markdown":
            assert markdown2html_mistune(cell.source).strip() == cell.source.strip()
            assert not re.search(r"\n\s*\n", cell.source)
    for source in xp.markdown_payloads(alert).values():
        block = sanitize.html_block(sanitize.markdown_to_html(source))
        assert markdown2html_mistune(block).strip() == block.strip()


def test_outputs(release):
    clean = sanitize_notebook(benign(release), release)
    outputs = clean.cells[-1].outputs
    assert [o.output_type for o in outputs] == ["stream", "execute_result", "display_data",
                                                "error"]
    assert outputs[2].metadata == {"image/png": {"width": 200, "height": 100}}
    dropped = sanitize._output(xp.output_payloads(alert)["js_output"])
    assert dropped.data == {"text/plain": "<Javascript object>"}
    svg = sanitize._output(xp.output_payloads(alert)["svg_output"])
    assert svg.data == {"text/plain": "[output not shown: image/svg+xml]"}
    png = sanitize._output(xp.output_payloads(alert)["png_width"])
    assert png.data == {"image/png": xp.PNG} and png.metadata == {}
    assert "image/png" not in sanitize._output(xp.output_payloads(alert)["png_base64"]).data
    long = sanitize._output(new_output("stream", name="stdout", text="x" * 500_000))
    assert len(long.text) < sanitize.MAX_TEXT + 100


def test_cells_metadata_and_ids(release):
    nb = hostile(release)
    nb.cells[0]["id"] = "keep-me_1"
    nb.cells[1]["id"] = "keep-me_1"  # a duplicate
    clean = sanitize_notebook(nb, release)
    ids = [c.id for c in clean.cells]
    assert ids[0] == "keep-me_1" and len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", i) for i in ids)
    known = {c.metadata.nbgrader["grade_id"] for c in release.cells if "nbgrader" in c.metadata}
    for cell in clean.cells:
        assert set(cell.metadata) <= {"nbgrader"}
        if cell.metadata:
            assert cell.metadata.nbgrader["grade_id"] in known
    assert sum("nbgrader" in c.metadata for c in clean.cells) == len(known)
    assert clean.metadata == release.metadata
    raws = [c for c in clean.cells if c.cell_type == "raw"]
    assert raws and all(c.metadata == {} and c.source.startswith("<pre>&lt;") for c in raws)
    assert all(not c.get("attachments") for c in clean.cells if c.cell_type == "markdown")
    assert not any(isinstance(c.get("execution_count"), str) for c in clean.cells)


def test_notebook_metadata_without_release(release):
    nb = hostile(release)
    nb.metadata["kernelspec"]["evil"] = {"nested": "<script>"}
    nb.metadata["language_info"] = {"name": "python", "codemirror_mode": {"name": "ipython"}}
    assert sanitize_notebook(nb).metadata == {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}}


def test_raw_cell_becomes_text():
    cell = sanitize._cell(new_raw_cell("<b>a</b>\n\nb", metadata={"format": "text/html"}), None)
    assert cell.source == "<pre>&lt;b&gt;a&lt;/b&gt;\n\nb</pre>" and cell.metadata == {}


def test_graded_folder_is_sanitised_and_what_cannot_be_is_withheld(release, tmp_path):
    """What the grading process does to a student's graded notebooks before they leave it."""
    graded, released = tmp_path / "graded", tmp_path / "release"
    graded.mkdir(), released.mkdir()
    nbformat.write(release, released / "ps.ipynb")
    as_json = json.dumps(hostile(release, invalid=False))  # lone surrogates escaped
    (tmp_path / "as_nbgrader_wrote.ipynb").write_text(as_json)
    # a second name for the same file: a notebook replaced whole leaves this one as it was
    # (writing into nbgrader's read-only output works only as root)
    os.link(tmp_path / "as_nbgrader_wrote.ipynb", graded / "ps.ipynb")
    (graded / "extra.ipynb").write_text(as_json)  # not released
    (graded / "broken.ipynb").write_text('{"cells": [')  # nbgrader would not write it...
    nbformat.write(release, released / "broken.ipynb")  # ...but it must not pass as is
    errors = sanitize.make_safe_to_show(graded, released)
    assert sorted(p.name for p in graded.iterdir()) == ["ps.ipynb"]
    assert len(errors) == 2
    assert "extra.ipynb" in errors[1] and "the release has no extra.ipynb" in errors[1]
    assert "broken.ipynb" in errors[0] and "could not be made safe to show" in errors[0]
    shown = nbformat.read(graded / "ps.ipynb", as_version=4)
    assert new_findings(hostile(release, invalid=False), release, "formgrade")
    assert not new_findings(shown, release, "formgrade")
    assert shown.metadata == release.metadata
    assert (tmp_path / "as_nbgrader_wrote.ipynb").read_text() == as_json


def test_deep_nesting_is_fast(release):
    nb = nbformat.from_dict(copy.deepcopy(release))
    nb.cells += [new_markdown_cell("<div>" * 20_000 + "x"), new_markdown_cell(">" * 20_000 + "x"),
                 new_code_cell("", outputs=[new_output("display_data", data={
                     "text/html": "<span>" * 20_000})])]
    start = time.monotonic()
    clean = sanitize_notebook(nb, release)
    assert time.monotonic() - start < 10
    assert not new_findings(clean, release, "formgrade")


def test_many_blank_lines_are_fast(release):
    """A markdown cell of a hundred thousand newlines (the per-cell text cap) took 18 s a
    cell to sanitise, one student after another in the coordinator: six such cells held
    up the whole class for 100 s."""
    nb = nbformat.from_dict(copy.deepcopy(release))
    nb.cells += [new_markdown_cell("```\n" + "\n" * 100_000 + "```") for _ in range(3)]
    start = time.monotonic()
    clean = sanitize_notebook(nb, release)
    assert time.monotonic() - start < 10
    assert not new_findings(clean, release, "formgrade")


def test_html_block_protects_exactly_the_newlines_that_begin_a_blank_line():
    """Against the original rule, ``\\n(?=\\s*$)``, on random texts of newlines, blanks and
    letters (the original is quadratic, so the texts are short)."""
    rng = random.Random(0)
    for _ in range(2000):
        text = "".join(rng.choice("\n\n \t\r\x0bab") for _ in range(rng.randrange(1, 40)))
        body = re.sub(r"\n(?=\s*$)", "&#10;", text.strip(), flags=re.MULTILINE)
        expected = f"<div>\n{body}\n</div>" if body else "<div></div>"
        assert sanitize.html_block(text) == expected, repr(text)


def test_markdown_edge_cases(release):
    empty = sanitize._cell(new_markdown_cell(""), None)
    assert empty.source == "<div></div>"
    missing = sanitize._cell(new_markdown_cell("see ![x](attachment:gone.png) <b>"), None)
    assert missing.source == "<div>\n<pre>see ![x](attachment:gone.png) &lt;b&gt;</pre>\n</div>"
    once = sanitize_notebook(benign(release), release)
    twice = sanitize_notebook(once, release)
    text = [BeautifulSoup(render(nb, "formgrade"), "html.parser").get_text().split()
            for nb in (once, twice)]
    assert text[0] == text[1]


def test_malformed_structures():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = "python3"
    nb.cells = [
        {"cell_type": "code", "source": ["a = 1\n", "b = 2"], "metadata": "x",
         "outputs": "not a list", "execution_count": -3},
        {"cell_type": "code", "source": "", "metadata": {"nbgrader": []},
         "outputs": ["text", {"output_type": "weird"}, {"output_type": "execute_result",
                                                         "data": {"text/markdown": "*hi*"}}]},
        {"cell_type": "heading", "source": "<b>old</b>"},
        "not a cell",
    ]
    clean = sanitize_notebook(nb)
    nbformat.validate(clean)
    assert clean.metadata == {}
    assert clean.cells[0].source == "a = 1\nb = 2" and clean.cells[0].execution_count is None
    assert clean.cells[1].outputs[0].data == {"text/html": "<p><em>hi</em></p>\n"}
    assert clean.cells[2].cell_type == "raw" and len(clean.cells) == 3
