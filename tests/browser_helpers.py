"""Drive a real JupyterLab in headless Chromium: the students' path, end to end.

``JupyterLabServer`` runs ``jupyter lab`` on 127.0.0.1 with a random token in a temporary
copy of the repo, with every Jupyter/IPython/matplotlib directory pointed into that copy
so nothing from the user's home leaks in. The page helpers do what a student does: open a
notebook, Run > Run All Cells, type into a cell's editor, move a slider, press nbgrader's
Validate button. They read everything back from the DOM.
"""

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "artifacts"

# What the server's copy of the repo needs: the library, the notebooks, nbgrader's config.
REPO_PARTS = ("course_lib", "lectures", "assignments", "nbgrader_config.py")

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# JupyterLab user settings for the tests: render every cell (no windowing, so the DOM
# holds the whole notebook) and ask no questions about news or updates.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

ACTIVE_PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook whose tab is current
ERROR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
BUSY_PROMPT = "[*]:"


def unavailable(reason):
    """Skip with a loud reason; under CI (``CI`` set) the same condition is a failure."""
    message = f"BROWSER TESTS NOT RUN: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set, so this is a failure, not a skip)")
    pytest.skip(message)


def chromium_executable():
    """Path of Debian's Chromium, or None when it is not installed."""
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


@contextmanager
def launched_chromium():
    """Headless Debian Chromium driven by Playwright; without either, skip loudly (fail
    when ``CI`` is set)."""
    executable = chromium_executable()
    if executable is None:
        unavailable("Debian's chromium is not installed (run scripts/install-system-deps "
                    "as root, or `apt-get install chromium`)")
    if importlib.util.find_spec("playwright") is None:
        unavailable("the playwright package is missing (pip install -e '.[test]')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_repo(source, destination):
    """Copy the parts of the repo the server needs (never .venv) into ``destination``."""
    for part in REPO_PARTS:
        src = Path(source) / part
        if src.is_dir():
            shutil.copytree(src, destination / part, ignore=shutil.ignore_patterns(
                "__pycache__", ".ipynb_checkpoints"))
        elif src.is_file():
            shutil.copy2(src, destination / part)


def isolated_environment(home, repo):
    """Environment for the server: all Jupyter state under ``home``, imports from ``repo``.

    ``PYTHONPATH`` puts the copied ``course_lib`` ahead of the editable install, so the
    kernels (and nbgrader's validation kernel) import the copy the browser edits.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER")}
    dirs = {
        "HOME": home,
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_DATA_DIR": home / "data",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": home / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "lab-workspaces",
        "IPYTHONDIR": home / "ipython",
        "MPLCONFIGDIR": home / "matplotlib",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    env.update({key: str(path) for key, path in dirs.items()})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), env.get("PYTHONPATH")]))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    for name, values in LAB_SETTINGS.items():
        target = dirs["JUPYTERLAB_SETTINGS_DIR"] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    return env


class JupyterLabServer:
    """``jupyter lab`` on 127.0.0.1 in a temporary copy of a repo; a context manager.

    On exit the whole process group (server and kernels) is terminated, then killed.
    """

    def __init__(self, workdir, source=REPO_ROOT, startup_timeout=90):
        self.workdir = Path(workdir)
        self.repo = self.workdir / "repo"
        self.repo.mkdir(parents=True)
        copy_repo(source, self.repo)
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "jupyter-lab.log"
        self.startup_timeout = startup_timeout
        self.process = None

    def __enter__(self):
        jupyter = Path(sys.executable).parent / "jupyter"
        command = [
            str(jupyter), "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.repo}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if os.geteuid() == 0:  # CI containers run as root; the server refuses otherwise
            command.append("--allow-root")
        env = isolated_environment(self.workdir / "home", self.repo)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.repo, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        try:
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def api(self, path, method="GET"):
        """Call the server's REST API with the token; return the decoded JSON (or None)."""
        request = urllib.request.Request(
            f"{self.base_url}/api/{path}", method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_until_ready(self):
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.api("status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        raise TimeoutError(
            f"jupyter lab did not answer within {self.startup_timeout} s:\n{self.log_tail()}")

    def shutdown_sessions(self):
        """Shut down every kernel session, so one test's kernels do not outlive it."""
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")

    def stop(self):
        """Terminate the server's process group (then kill it), then any stray kernel.

        jupyter_client starts kernels in sessions of their own, so a server that had to
        be killed leaves them behind; they are found by their connection file, which
        lives in this server's runtime directory.
        """
        if self.process is not None and self.process.poll() is None:
            for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.process.pid, sig)
                    self.process.wait(timeout=grace)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
        for pid in self.stray_kernels():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stray_kernels(self):
        """PIDs of processes whose command line names this server's runtime directory."""
        marker = str(self.workdir / "home" / "runtime").encode()
        pids = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if marker in cmdline.read_bytes():
                    pids.append(int(cmdline.parent.name))
            except OSError:
                continue
        return pids

    def log_tail(self, lines=40):
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    @property
    def lab_url(self):
        """JupyterLab with a fresh workspace (nothing restored from an earlier page)."""
        return f"{self.base_url}/lab?reset&token={self.token}"


# --- notebook page -------------------------------------------------------------------


def start_lab(page, server, timeout=120_000):
    """Load JupyterLab in ``page`` and wait until its menu bar is there."""
    page.goto(server.lab_url)
    page.locator(".lm-MenuBar-itemLabel", has_text="File").first.wait_for(timeout=timeout)
    page.locator(".jp-DirListing-content").wait_for(timeout=timeout)


def open_notebook(page, server, notebook, timeout=120_000):
    """File > Open from Path, then wait until the notebook's own kernel is up and idle.

    JupyterLab sometimes asks which kernel to start (when the notebook opens before the
    kernel specs have loaded); the tests take the default it offers, the notebook's own.
    """
    run_menu_command(page, "File", "Open from Path")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill(notebook)
    dialog.locator(".jp-mod-accept").click()
    page.locator(".lm-TabBar-tab.lm-mod-current", has_text=Path(notebook).name).first.wait_for(
        timeout=timeout)
    panel = active_panel(page)
    panel.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=timeout)
    choose_kernel = page.locator(".jp-Dialog", has_text="Select Kernel")
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:
        if choose_kernel.count():
            choose_kernel.locator(".jp-mod-accept").click()
        states = [s["kernel"]["execution_state"] for s in server.api("sessions")
                  if s["path"] == notebook and s.get("kernel")]
        if states == ["idle"] and kernel_status(page) == "idle":
            break
        page.wait_for_timeout(250)
    else:
        raise TimeoutError(f"{notebook}: no idle kernel after {timeout / 1000:.0f} s")
    wait_for_kernel_idle(page, timeout=timeout)
    return panel


def close_all_tabs(page, timeout=30_000):
    """Dismiss any dialog, then File > Close All Tabs, discarding unsaved changes."""
    dialogs = page.locator(".jp-Dialog")
    while dialogs.count():
        page.keyboard.press("Escape")
        page.wait_for_timeout(200)
    run_menu_command(page, "File", "Close All Tabs")
    deadline = time.monotonic() + timeout / 1000
    while page.locator(".jp-NotebookPanel").count():
        if time.monotonic() > deadline:
            raise TimeoutError("notebook tabs still open after Close All Tabs")
        discard = dialogs.locator("button", has_text="Discard")
        if discard.count():
            discard.first.click()
        page.wait_for_timeout(200)


def kernel_status(page):
    """The kernel status the notebook toolbar shows, e.g. ``idle`` or ``busy``."""
    indicator = active_panel(page).locator(".jp-Notebook-ExecutionIndicator")
    return indicator.get_attribute("data-status")


def wait_for_kernel_idle(page, timeout=120_000, settle=3, done=lambda: True):
    """Wait until the toolbar says ``idle``, no cell prompt shows ``[*]`` and ``done()``.

    All must hold on ``settle`` consecutive polls (a queued cell can start right after
    the previous one leaves the kernel idle for an instant).
    """
    deadline = time.monotonic() + timeout / 1000
    calm = 0
    while time.monotonic() < deadline:
        busy = active_panel(page).locator(".jp-InputPrompt", has_text=BUSY_PROMPT).count()
        calm = calm + 1 if kernel_status(page) == "idle" and busy == 0 and done() else 0
        if calm >= settle:
            return
        page.wait_for_timeout(250)
    raise TimeoutError(f"kernel still busy after {timeout / 1000:.0f} s "
                       f"(status {kernel_status(page)!r})")


def run_menu_command(page, menu, item):
    """Click ``menu`` in the menu bar, then the item whose label starts with ``item``."""
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    label = re.compile("^" + re.escape(item))
    page.locator(".lm-Menu-content .lm-Menu-itemLabel", has_text=label).first.click()


def run_all_cells(page, timeout=180_000):
    """Edit > Clear Outputs of All Cells, Run > Run All Cells, wait until the run is over.

    Clearing first (outputs and ``[n]`` prompts) means that everything read afterwards
    comes from this run, not from the outputs stored in the notebook. The run is over
    when every code cell has its ``[n]`` again, or an error stopped it.
    """
    run_menu_command(page, "Edit", "Clear Outputs of All Cells")
    panel = active_panel(page)
    outputs = panel.locator(".jp-OutputArea-output")
    deadline = time.monotonic() + 30
    while outputs.count() and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert not outputs.count(), "Clear Outputs of All Cells left outputs behind"
    run_menu_command(page, "Run", "Run All Cells")
    wait_for_kernel_idle(page, timeout=timeout,
                         done=lambda: not unexecuted_code_cells(page) or error_outputs(page))


def active_panel(page):
    """The notebook panel in front (the one whose tab is current)."""
    return page.locator(ACTIVE_PANEL)


def code_cells(page):
    return active_panel(page).locator(".jp-Notebook .jp-CodeCell")


def unexecuted_code_cells(page):
    """1-based positions (among code cells) of non-empty code cells with no ``[n]`` prompt.

    A cell whose input is collapsed (a lecture's answers cell) has no editor in the page;
    it is left out here, and an error it raised still shows in :func:`error_outputs`.
    """
    return code_cells(page).evaluate_all(
        """cells => cells
            .map((cell, i) => ({
                i: i + 1,
                prompt: cell.querySelector('.jp-InputPrompt')?.textContent.trim() ?? '',
                source: cell.querySelector('.cm-content')?.textContent.trim() ?? '',
            }))
            .filter(c => c.source && !/^\\[\\d+\\]:$/.test(c.prompt))
            .map(c => c.i)"""
    )


def error_outputs(page):
    """Texts of every error output the notebook shows (tracebacks, not mere warnings)."""
    texts = active_panel(page).locator(ERROR_OUTPUT).all_inner_texts()
    return [text for text in texts if "Traceback" in text or "Error" in text.split("\n")[0]]


def cell(page, index):
    """The notebook's ``index``-th cell (0-based, markdown included), as a Locator."""
    return active_panel(page).locator(".jp-Notebook .jp-Cell").nth(index)


def replace_cell_source(page, index, source):
    """Click the cell's editor, select all, and type ``source`` in place of it.

    A rendered markdown cell is double-clicked first, which opens its editor. The text
    goes in through the editor's input events (like a paste), so CodeMirror's auto-indent
    and bracket closing do not rewrite it.
    """
    target = cell(page, index)
    target.scroll_into_view_if_needed()
    rendered = target.locator(".jp-MarkdownOutput")
    if rendered.count() and rendered.first.is_visible():
        rendered.first.dblclick()
    editor = target.locator(".cm-content")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(source)
    page.keyboard.press("Escape")  # back to command mode, as after editing


# --- widgets -----------------------------------------------------------------------

# What a cell's widget output shows, minus the controls themselves (slider readouts, text
# boxes): the text, and every image's source, of what the widget code drew.
OUTPUT_SIGNATURE_JS = """cell => {
    const area = cell.querySelector('.jp-Cell-outputArea');
    if (!area) return '';
    const copy = area.cloneNode(true);
    copy.querySelectorAll(
        '.widget-readout, .widget-slider, .widget-dropdown, .widget-button, input, select, '
        + 'button, .widget-label').forEach(node => node.remove());
    const images = [...copy.querySelectorAll('img')].map(img => img.src);
    const svgs = [...copy.querySelectorAll('svg')].map(svg => svg.outerHTML);
    return JSON.stringify([copy.textContent, images, svgs]);
}"""


def widget_cells(page):
    """Code cells whose output holds a rendered ipywidget view."""
    return code_cells(page).filter(has=page.locator(".jupyter-widgets"))


def output_signature(cell_locator):
    return cell_locator.evaluate(OUTPUT_SIGNATURE_JS)


def wait_for_output_change(page, cell_locator, before, timeout=30_000, steady=4):
    """Wait until the cell's widget output differs from ``before`` and has settled.

    Settled means the kernel is idle and the output stayed the same over ``steady``
    polls (a widget may redraw several times, e.g. while it trains). Returns the final
    output, which equals ``before`` when nothing changed within ``timeout``.
    """
    deadline = time.monotonic() + timeout / 1000
    current = output_signature(cell_locator)
    while current == before and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        current = output_signature(cell_locator)
    same = 0
    while same < steady and time.monotonic() < deadline:
        page.wait_for_timeout(400)
        latest = output_signature(cell_locator)
        busy = kernel_status(page) != "idle"
        same = 0 if busy or latest != current else same + 1
        current = latest
    return current


# The controls a student plays with, each found by the first enabled one in a widget cell.
CONTROLS = {
    "slider": ".widget-slider:has(.noUi-target:not([disabled]))",
    "dropdown": ".widget-dropdown:has(select:not([disabled]))",
    "button": "button.widget-button:not([disabled])",
}


def operate(kind, control):
    """Use one control as a student would; return ``(its name, value before, after)``.

    A slider gets focus and three presses of the right arrow (or left, at the right end);
    a dropdown gets the next option; a button is clicked (its values are ``None``).
    """
    if kind == "button":
        name = control.inner_text()
        control.click()
        return name, None, None
    name = control.locator(".widget-label").first.inner_text()
    if kind == "dropdown":
        select = control.locator("select")
        before = select.input_value()
        options = select.locator("option").evaluate_all("nodes => nodes.map(n => n.value)")
        select.select_option(options[(options.index(before) + 1) % len(options)])
        return name, before, select.input_value()
    handle = control.locator(".noUi-handle").first
    readout = control.locator(".widget-readout").first
    before = readout.inner_text()
    handle.focus()
    for _ in range(3):
        handle.press("ArrowRight")
    if readout.inner_text() == before:  # at the right end already: go left instead
        for _ in range(3):
            handle.press("ArrowLeft")
    return name, before, readout.inner_text()


# --- nbgrader ----------------------------------------------------------------------


def press_validate(page, timeout=180_000):
    """Press nbgrader's Validate button; return the results dialog once it appears."""
    button = active_panel(page).locator(".validate-button")
    button.click()
    dialog = page.locator(".jp-Dialog", has=page.locator("#validation-message"))
    dialog.wait_for(timeout=timeout)
    return dialog


def solution_cells(release_path, source_path):
    """``(index in the release, solution)`` for every solution cell, code or markdown.

    The solution comes from the nbgrader source notebook, matched by ``grade_id``, with the
    ``### BEGIN SOLUTION`` / ``### END SOLUTION`` marker lines removed: what a student who
    got everything right would have written.
    """
    release = nbformat.read(release_path, as_version=4)
    source = nbformat.read(source_path, as_version=4)
    solutions = {
        c.metadata["nbgrader"]["grade_id"]: strip_solution_markers(c.source)
        for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")
    }
    found = []
    for index, c in enumerate(release.cells):
        meta = c.metadata.get("nbgrader", {})
        if meta.get("solution"):
            grade_id = meta["grade_id"]
            if grade_id not in solutions:
                raise ValueError(f"{release_path}: solution cell {grade_id!r} has no "
                                 f"counterpart in {source_path}")
            found.append((index, solutions[grade_id]))
    return found


def strip_solution_markers(source):
    """Remove nbgrader's solution delimiter lines, keeping the code between them."""
    markers = ("BEGIN SOLUTION", "END SOLUTION")
    return "\n".join(
        line for line in source.splitlines()
        if line.strip().lstrip("#").strip() not in markers
    )


def keep_artifact(path):
    """Copy a file (e.g. the server log) into ``artifacts/``, if it exists."""
    if Path(path).exists():
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(path, ARTIFACTS / Path(path).name)


def screenshot(page, name):
    """Save what the page shows to ``artifacts/<name>.png``; return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path)
    return path
