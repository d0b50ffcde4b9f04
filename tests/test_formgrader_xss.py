"""nbgrader's formgrader in Chromium: a hostile submission runs nothing as the instructor.

A tiny course (tests/xss_payloads.py: the tiny assignment plus a written answer) is released
with ``nbgrader generate_assignment``; one student, mallory, hands in a notebook whose
written answer, added markdown cells, raw cells, code source and displayed outputs hold
every payload of tests/xss_payloads.py. Each payload, if it runs, uses the instructor's
session (the ``_xsrf`` cookie) to write ``pwned-<payload>.txt`` through the contents API,
and the first one to run also starts a kernel. ``course autograde`` grades it; then the
formgrader's page of that submission is opened in headless Chromium, logged in with the
server's token, and after a few seconds the REST API must show no kernel and no pwned file.

The control serves the same submission unsanitised in the same page: there the payloads do
run (a kernel is started, files are written), which shows that the test can fail.
"""

import base64
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import browser_helpers as lab
import nbformat
import pytest
import xss_payloads as xp

pytestmark = pytest.mark.browser

STUDENT = "mallory"
ASSIGNMENT = "tiny"
VENV_BIN = Path(sys.executable).parent
SETTLE_MS = 4000  # how long the page may run its payloads before the API is asked

# What a payload runs: write pwned-<name>.txt with the instructor's XSRF token, and start
# a kernel (once per page). Written without whitespace or double quotes (see xss_payloads).
ATTACK = (
    "(function(){var x=document.cookie.match(/_xsrf=([^;]+)/);"
    "var h={'Content-Type':'application/json'};if(x){h['X-XSRFToken']=x[1]}"
    "var o=top.location.origin;"
    "fetch(o+'/api/contents/pwned-NAME.txt',{method:'PUT',headers:h,"
    "body:JSON.stringify({type:'file',format:'text',content:'NAME'})});"
    "if(!top.pwnedKernel){top.pwnedKernel=1;"
    "fetch(o+'/api/kernels',{method:'POST',headers:h,body:'{}'})}})()"
)


def attack(name):
    """The payload call for ``name``: ATTACK, base64-wrapped so any context can hold it."""
    code = base64.b64encode(ATTACK.replace("NAME", name).encode()).decode()
    return f"eval(atob('{code}'))"


@pytest.fixture(scope="module")
def chromium():
    with lab.launched_chromium() as browser:
        yield browser


def run(command, root, env):
    """Run a course command in the course root; fail with its output if it fails."""
    result = subprocess.run([str(VENV_BIN / command[0]), *command[1:]], cwd=root, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def server(chromium, tmp_path_factory):
    """A graded course with mallory's hostile submission, served by ``jupyter lab``."""
    workdir = tmp_path_factory.mktemp("formgrader")
    running = lab.JupyterLabServer(workdir, source=workdir / "nothing")  # no repo parts
    running.log_path = workdir / "jupyter-formgrader.log"  # kept as artifacts/<that name>
    root = running.repo  # the course root is the server's root
    env = lab.isolated_environment(workdir / "cli-home", root)
    shutil.copyfile(lab.REPO_ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    (root / "solutions" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(xp.source_notebook(), root / "solutions" / ASSIGNMENT / "tiny.ipynb")
    run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force"], root, env)
    release = nbformat.read(root / "assignments" / ASSIGNMENT / "tiny.ipynb", as_version=4)
    submission = xp.hostile_notebook(release, attack)
    # json.dumps escapes the lone surrogate (\ud800), which nbformat.write cannot encode
    folder = root / "submitted" / STUDENT / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / "tiny.ipynb").write_text(json.dumps(submission, indent=1))
    run(["course", "-q", "autograde", ASSIGNMENT, "--unsafe"], root, env)
    running.course_root, running.submission = root, submission
    try:
        with running:
            yield running
    finally:
        lab.keep_artifact(running.log_path)


def formgrader_api(server, path):
    request = urllib.request.Request(f"{server.base_url}/formgrader/api/{path}",
                                     headers={"Authorization": f"token {server.token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def pwned(server):
    """What the payloads did: the kernels running and the pwned-*.txt files written."""
    files = sorted(f["name"] for f in server.api("contents")["content"]
                   if f["name"].startswith("pwned"))
    return server.api("kernels"), files


def open_submission(chromium, server, name):
    """Log in with the token, open mallory's formgrader page, let it run; return the page.

    Requests to any other host are refused (the page asks a CDN for MathJax), so the
    page loads the same offline and on.
    """
    [notebook] = [n for n in formgrader_api(server, f"submitted_notebooks/{ASSIGNMENT}/tiny")
                  if n["student"] == STUDENT]
    context = chromium.new_context(viewport={"width": 1300, "height": 1000})
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(server.base_url) else route.abort())
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.dismiss())
    page.goto(f"{server.base_url}/login?next=/api/status")
    page.locator("#password_input").fill(server.token)
    page.locator("#password_input").press("Enter")
    page.wait_for_url("**/api/status")
    page.goto(f"{server.base_url}/formgrader/submissions/{notebook['id']}/?index=0")
    page.locator("#notebook-container").last.wait_for()
    page.wait_for_timeout(SETTLE_MS)
    page.get_by_text(xp.ANSWER_TEXT).first.scroll_into_view_if_needed()
    lab.screenshot(page, name)
    return page


# Counted inside the notebook: what the sanitiser must have removed.
LIVE_DOM_JS = """() => {
    const box = document.querySelector('#notebook-container');
    const all = [...box.querySelectorAll('*')];
    return {
        scripts: box.querySelectorAll('script').length,
        frames: box.querySelectorAll('iframe, object, embed, form, style, base, meta, link').length,
        handlers: all.filter(el => [...el.attributes].some(a => /^on/i.test(a.name))).length,
        js_links: all.filter(el => /^\\s*(javascript|vbscript|data):/i.test(
            el.getAttribute('href') || '')).length,
    };
}"""


def test_formgrader_runs_no_student_code(chromium, server):
    assert pwned(server) == ([], []), "something ran before the page was even opened"
    page = open_submission(chromium, server, "formgrader-sanitised")
    try:
        kernels, files = pwned(server)
        assert not kernels and not files, f"payloads ran: kernels {kernels}, files {files}"
        assert page.evaluate(LIVE_DOM_JS) == {"scripts": 0, "frames": 0, "handlers": 0,
                                              "js_links": 0}
        text = " ".join(page.locator("#notebook-container").last.inner_text().split())
        assert xp.ANSWER_TEXT in text and "the loss decreases" in text
        # the code cell's hostile comment is shown as text: nbconvert escaped the source
        assert xp.code_source_payload(attack) in text
        assert "Student's answer" in text and page.locator("input.score").count() >= 1
    finally:
        page.context.close()


def test_control_unsanitised_page_runs_the_payloads(chromium, server):
    """The same submission served unsanitised: the payloads run (the test can fail)."""
    path = server.course_root / "autograded" / STUDENT / ASSIGNMENT / "tiny.ipynb"
    graded = path.read_text()
    # the raw submission, with the lone surrogate replaced as preflight does (else the
    # server cannot send the page at all)
    path.write_text(json.dumps(server.submission, indent=1).replace("\\ud800", "?"))
    start = time.monotonic()
    page = open_submission(chromium, server, "formgrader-unsanitised-control")
    try:
        dom = page.evaluate(LIVE_DOM_JS)
        kernels, files = pwned(server)
        ran = sorted(f.removeprefix("pwned-").removesuffix(".txt") for f in files)
        print(f"\nunsanitised control: {len(ran)} of {len(xp.names())} payloads ran "
              f"({', '.join(ran)}); kernels started: {len(kernels)}; in the DOM: {dom}; "
              f"{time.monotonic() - start:.1f} s")
        assert kernels, "no payload started a kernel: the attack does not work, so the " \
                        "sanitised test proves nothing"
        assert {"script", "img_onerror", "answer_cell", "html_output"} <= set(ran)
    finally:
        page.context.close()
        for kernel in server.api("kernels"):
            server.api(f"kernels/{kernel['id']}", method="DELETE")
        path.write_text(graded)
