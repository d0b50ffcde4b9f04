"""The formgrader's *Generate Feedback* button, pressed in Chromium, leaks no hidden test.

A tiny course (the tiny assignment, whose Part 1 has a hidden test) is released with
nbgrader, ben's submission (Part 1 wrong: the hidden test fails) is graded with ``course
autograde``, and JupyterLab serves the course. In headless Chromium, logged in with the
server's token, the Formgrader's first page (*Manage Assignments*) is opened and the
assignment's Generate Feedback button pressed; the page nbgrader writes must show the
released test and the hidden test's message, never its code or a traceback.
"""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import browser_helpers as lab
import grading_fixtures as fx
import nbformat
import pytest

pytestmark = pytest.mark.browser

VENV_BIN = Path(sys.executable).parent
HIDDEN_CODE = "square(np.array([-2.0, 5.0]))"
HIDDEN_MESSAGE = "square(…) should be …"  # its numbers hidden


def run(command, root, env):
    result = subprocess.run([str(VENV_BIN / command[0]), *command[1:]], cwd=root, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A course with ben graded, served by ``jupyter lab`` (the course is its root)."""
    executable = lab.chromium_executable()
    if executable is None:
        lab.unavailable("Debian's chromium is not installed")
    if importlib.util.find_spec("playwright") is None:
        lab.unavailable("the playwright package is missing (pip install -e '.[test]')")
    workdir = tmp_path_factory.mktemp("generate-feedback")
    running = lab.JupyterLabServer(workdir, source=workdir / "nothing")
    root = running.repo
    env = lab.isolated_environment(workdir / "cli-home", root)
    shutil.copyfile(lab.REPO_ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    (root / "solutions" / fx.ASSIGNMENT).mkdir(parents=True)
    nbformat.write(fx.source_notebook(), root / "solutions" / fx.ASSIGNMENT / "tiny.ipynb")
    run(["course", "-q", "release", fx.ASSIGNMENT], root, env)
    release = nbformat.read(root / "assignments" / fx.ASSIGNMENT / "tiny.ipynb", as_version=4)
    fx.wrong(root / "submitted" / "ben" / fx.ASSIGNMENT, release)
    run(["course", "-q", "autograde", fx.ASSIGNMENT, "--unsafe", "--workers", "1"], root, env)
    assert HIDDEN_CODE in (root / "autograded" / "ben" / fx.ASSIGNMENT / "tiny.ipynb").read_text()
    running.course_root = root
    try:
        with running:
            yield running, executable
    finally:
        lab.keep_artifact(running.log_path)


def test_formgrader_generate_feedback_button_shows_no_hidden_test(server):
    from playwright.sync_api import sync_playwright

    running, executable = server
    feedback = running.course_root / "feedback" / "ben" / fx.ASSIGNMENT / "tiny.html"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=lab.CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.goto(f"{running.base_url}/login?next=/api/status")
            page.locator("#password_input").fill(running.token)
            page.locator("#password_input").press("Enter")
            page.wait_for_url("**/api/status")
            page.goto(f"{running.base_url}/formgrader")  # its first page: Manage Assignments
            button = page.locator(f"tr:has-text('{fx.ASSIGNMENT}') .generate-feedback a")
            button.wait_for(timeout=60_000)
            lab.screenshot(page, "formgrader-manage-assignments")
            button.click()
            page.locator("#success-modal").wait_for(timeout=120_000)
            lab.screenshot(page, "formgrader-generate-feedback-done")
        finally:
            browser.close()
    page_html = feedback.read_text()
    assert "course feedback" not in page_html  # nbgrader's page, not ours
    assert "BEGIN HIDDEN TESTS" not in page_html and HIDDEN_CODE not in page_html
    assert "most recent call last" not in page_html
    assert "square of negative numbers" in page_html and HIDDEN_MESSAGE in page_html
