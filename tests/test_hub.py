"""The course hub end to end: students in JupyterLab, the instructor in a hub terminal.

A hub (``make hub``'s code, :mod:`course_lib.hub`) runs with real accounts. The
instructor releases PS4 through nbgrader's exchange. In headless Chromium, alice logs
in, fetches PS4 from the Assignments panel, fills two answers, presses Validate and
submits; bob submits the blank notebook. The instructor collects, autogrades and returns
feedback; alice fetches it in her Assignments panel and opens it. The same notebooks
collected from a folder into a second course get the same scores. Screenshots go to
``artifacts/hub-*.png``.

Isolation is checked from inside a student's server, through the hub: code in bob's
kernel tries to read alice's home, the list of submissions, the instructor's course, the
repository's solutions and the hub's logins.
"""

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import browser_helpers as lab
import nbformat
import pytest
from hub_fixtures import RunningHub, require_hub_machine

pytestmark = pytest.mark.browser

PS4 = "ps4_mlp"
RELEASE = lab.REPO_ROOT / "assignments" / PS4 / f"{PS4}.ipynb"
SOURCE = lab.REPO_ROOT / "solutions" / PS4 / f"{PS4}.ipynb"

PROBE = r"""
import json, os
def probe(path):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            with open(path, "rb") as f:
                f.read(1)
        return "read"
    except FileNotFoundError:
        return "absent"
    except PermissionError:
        return "denied"
print(json.dumps({p: probe(p) for p in PATHS}))
"""


@pytest.fixture(scope="module")
def running_hub(tmp_path_factory):
    require_hub_machine()
    with RunningHub(tmp_path_factory.mktemp("hub") / "srv") as hub:
        yield hub


def probe(hub, user, paths):
    """``{path: "read" | "denied" | "absent"}`` as seen by code in ``user``'s kernel."""
    printed = hub.execute(user, f"PATHS = {json.dumps([str(p) for p in paths])}\n{PROBE}")
    return json.loads(printed.strip().splitlines()[-1])


def instructor_course(hub):
    return hub.hub.course_folder


def release_ps4(hub):
    if not (hub.hub.exchange / "nn-course" / "outbound" / PS4).is_dir():
        hub.run_as(hub.hub.instructor, f"cd ~/nn-course && course -q release {PS4} --exchange")


# --- the browser ------------------------------------------------------------------


def log_in(page, hub, user):
    page.goto(f"{hub.hub.url}/hub/login")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(hub.logins[user])
    page.locator("#login_submit").click()
    page.locator(".lm-MenuBar-itemLabel", has_text="File").first.wait_for(timeout=180_000)
    page.locator(".jp-DirListing-content").wait_for(timeout=120_000)


def open_assignments(page):
    lab.run_menu_command(page, "Nbgrader", "Assignment List")
    page.locator("#released_assignments_list").wait_for(timeout=60_000)
    return page.locator(".jp-MainAreaWidget", has=page.locator("#released_assignments_list"))


def assignment_row(page, list_id, timeout=60_000):
    row = page.locator(f"#{list_id} .list_item", has_text=PS4).first
    row.wait_for(timeout=timeout)
    return row


def fetch_ps4(page):
    panel = open_assignments(page)
    assignment_row(page, "released_assignments_list").locator("button",
                                                             has_text="Fetch").click()
    assignment_row(page, "fetched_assignments_list")
    return panel


def submit_ps4(page):
    row = assignment_row(page, "fetched_assignments_list")
    row.locator("button", has_text="Submit").click()
    return assignment_row(page, "submitted_assignments_list")


def open_ps4(page):
    lab.run_menu_command(page, "File", "Open from Path")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill(f"{PS4}/{PS4}.ipynb")
    dialog.locator(".jp-mod-accept").click()
    panel = lab.active_panel(page)
    panel.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
    choose_kernel = page.locator(".jp-Dialog", has_text="Select Kernel")
    page.wait_for_timeout(2000)
    if choose_kernel.count():
        choose_kernel.locator(".jp-mod-accept").click()
    lab.wait_for_kernel_idle(page, timeout=120_000)
    return panel


def two_answers():
    """The first two code answers of PS4: (index in the release, the solution's code)."""
    release = nbformat.read(RELEASE, as_version=4)
    code = [(i, s) for i, s in lab.solution_cells(RELEASE, SOURCE)
            if release.cells[i].cell_type == "code"]
    return code[:2]


def scores_of(course_root):
    """``{student: score}`` from ``course grades`` in ``course_root`` (its CSV)."""
    out = Path(course_root) / "scores.csv"
    subprocess.run([str(Path(sys.executable).parent / "course"), "-q", "--root",
                    str(course_root), "grades", PS4, "-o", str(out), "--force"],
                   check=True, capture_output=True)
    with open(out, newline="") as f:
        return {row["student"]: float(row["score"]) for row in csv.DictReader(f)}


def test_students_fetch_validate_submit_and_read_feedback_in_the_browser(running_hub,
                                                                         tmp_path):
    hub, (alice, bob) = running_hub, running_hub.hub.students
    release_ps4(hub)
    with lab.launched_chromium() as browser:
        pages = []
        try:
            alice_page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            pages.append(alice_page)
            log_in(alice_page, hub, alice)
            fetch_ps4(alice_page)
            lab.screenshot(alice_page, "hub-1-alice-fetched")
            open_ps4(alice_page)
            answers = two_answers()
            for index, code in answers:
                lab.replace_cell_source(alice_page, index, code)
            alice_page.keyboard.press("ControlOrMeta+s")
            alice_page.wait_for_timeout(1500)
            dialog = lab.press_validate(alice_page)
            validation = dialog.inner_text()
            lab.screenshot(alice_page, "hub-2-alice-validated")
            dialog.locator("button").last.click()
            open_assignments(alice_page)
            submitted = submit_ps4(alice_page)
            lab.screenshot(alice_page, "hub-3-alice-submitted")
            assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", submitted.inner_text())

            bob_page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            pages.append(bob_page)
            log_in(bob_page, hub, bob)
            fetch_ps4(bob_page)
            submit_ps4(bob_page)
            lab.screenshot(bob_page, "hub-4-bob-submitted-blank")

            course = instructor_course(hub)
            hub.run_as(hub.hub.instructor,
                       f"cd ~/nn-course && course -q collect {PS4} --exchange"
                       f" && course -q autograde {PS4} --workers 2"
                       f" && course -q feedback {PS4} --exchange")
            scores = scores_of(course)

            open_assignments(alice_page)
            alice_page.locator("#submitted_assignments_list button",
                               has_text="Fetch Feedback").first.click()
            view = alice_page.locator("#submitted_assignments_list a", has_text="view feedback")
            view.first.wait_for(timeout=60_000)
            view.first.click()
            alice_page.locator(".jp-DirListing-item", has_text=f"{PS4}.html").first.dblclick()
            alice_page.wait_for_timeout(3000)
            lab.screenshot(alice_page, "hub-5-alice-feedback")
        except Exception:
            for n, page in enumerate(pages):
                lab.screenshot(page, f"hub-failed-{n}")
            raise

    # Validate told alice what is still wrong: the parts she has not answered
    assert "failed" in validation.lower(), validation
    fetched = list((hub.hub.home(alice) / PS4 / "feedback").rglob(f"{PS4}.html"))
    assert len(fetched) == 1, "alice's Assignments panel fetched her feedback page"
    page = fetched[0].read_text()
    assert f"Score: {scores[alice]:g} / 100" in page
    # an unanswered part, after hidden tests: which function raised, not the type (the
    # stub's NotImplementedError), which could be bits of a kept input
    assert ("raised by your relu_forward: (its type and message are not shown: hidden tests "
            "ran before this one") in page.replace("\n", " ")
    assert scores[alice] > 0 and scores[bob] == 0, scores

    # the same notebooks collected from a folder into a fresh course: the same scores
    folder = tmp_path / "from-a-folder"
    for student in (alice, bob):
        shutil.copytree(course / "submitted" / student / PS4, folder / student,
                        ignore=shutil.ignore_patterns("*.txt"))
    second = tmp_path / "course"
    second.mkdir()
    for part in ("nbgrader_config.py", "solutions", "assignments"):
        (shutil.copytree if (lab.REPO_ROOT / part).is_dir() else shutil.copy)(
            lab.REPO_ROOT / part, second / part)
    course_cli = str(Path(sys.executable).parent / "course")
    for step in (["release", PS4], ["collect", PS4, str(folder)], ["autograde", PS4]):
        subprocess.run([course_cli, "-q", "--root", str(second), *step], check=True,
                       capture_output=True, timeout=900)
    assert scores_of(second) == scores


def test_a_student_reads_nothing_of_other_users_through_the_hub(running_hub):
    hub, (alice, bob) = running_hub, running_hub.hub.students
    release_ps4(hub)
    hub.run_as(alice, f"cd ~ && (test -d {PS4} || nbgrader fetch_assignment {PS4}) && "
                      f"nbgrader submit {PS4}")
    hub.start_server(bob)
    course = instructor_course(hub)
    forbidden = [
        hub.hub.home(alice), hub.hub.home(alice) / PS4 / f"{PS4}.ipynb",
        hub.hub.exchange / "nn-course" / "inbound",  # so no one finds another's submission
        hub.hub.home(hub.hub.instructor), course / "solutions" / PS4 / f"{PS4}.ipynb",
        course / "nbgrader_config.py", SOURCE, lab.REPO_ROOT / "examples",
        hub.hub.logins_file, hub.hub.settings_file, Path(hub.hub.folder) / "state",
    ]
    allowed = [hub.hub.home(bob) / "lectures",
               hub.hub.exchange / "nn-course" / "outbound" / PS4 / f"{PS4}.ipynb"]

    seen = probe(hub, bob, forbidden + allowed)

    assert {p: seen[str(p)] for p in allowed} == {p: "read" for p in allowed}
    leaked = {p: seen[str(p)] for p in forbidden if seen[str(p)] == "read"}
    assert not leaked, f"bob can read: {leaked}"
    # kernels listen on files in bob's private runtime folder, not on 127.0.0.1 where
    # alice could subscribe to everything bob's kernel runs and prints
    transport = hub.execute(bob, "import json\nfrom ipykernel.connect import "
                                 "get_connection_info\n"
                                 "print(json.loads(get_connection_info())['transport'])")
    assert transport.strip() == "ipc"
    # the second wall: file modes alone keep bob out, even outside his sandbox
    for path in (hub.hub.home(alice), course):
        assert path.stat().st_mode & 0o007 == 0, f"{path} is open to other users"
