"""Hostile submission folders cost only their own student (attacks found by review).

* A valid notebook of a few MB whose metadata holds a million empty objects (3 bytes of
  JSON each, hundreds once parsed and converted) once made the coordinator, which parsed
  every submission before grading anyone, grow by GBs: on a machine with less memory the
  kernel killed it, and nobody in the class was graded, on every rerun. Now the
  coordinator only reads bytes, and the student's own grading process parses them under
  its memory limit (``--grader-memory-mb``): the notebook is that student's
  ``unreadable``.
* A file whose name is not UTF-8 (``data\\xff.txt``) stopped the whole run when its name
  was hashed; a named pipe made the coordinator wait for a writer forever.
"""

import os
import subprocess
import sys
import time

import grading_fixtures as fx
import nbformat
import pytest

from course_lib.grading import worker
from course_lib.grading.course import Course

SANDBOX = [] if worker.sandbox_status()[0] or os.environ.get("CI") else ["--unsafe"]
BOMB_MB = 8  # about 1.8 GB once parsed (measured), over the grading process's 1024 MB
GRADER_MB = 1024


def parse_bomb(release):
    """The correct notebook, its first cell's metadata padded with ``[{}, {}, ...]``."""
    nb = fx.answer(release, fx.GOOD)
    nb.cells[0].metadata["pad"] = []
    pad = "[" + ",".join(["{}"] * (BOMB_MB * 2**20 // 3)) + "]"
    return nbformat.writes(nb).replace('"pad": []', f'"pad": {pad}', 1)


def peak_mb(pid):
    """The most memory process ``pid`` has held so far (VmHWM), MB; None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            line = next(x for x in status if x.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None
    return int(line.split()[1]) / 1024


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = fx.make_course(tmp_path_factory.mktemp("bomb") / "course")
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}"
           f"{os.environ['PATH']}"}
    course_cli = [sys.executable, "-m", "course_lib.cli", "--quiet", "--root", str(root)]
    subprocess.run([*course_cli, "release", fx.ASSIGNMENT], env=env, check=True,
                   capture_output=True)
    course = Course(root)
    release = nbformat.read(course.release(fx.ASSIGNMENT) / f"{fx.ASSIGNMENT}.ipynb",
                            as_version=4)
    fx.good(course.submitted(fx.ASSIGNMENT, "zoe"), release)
    bomb = course.submitted(fx.ASSIGNMENT, "adversary")
    bomb.mkdir(parents=True)
    (bomb / f"{fx.ASSIGNMENT}.ipynb").write_text(parse_bomb(release))
    fx.good(course.submitted(fx.ASSIGNMENT, "fifo"), release)
    os.mkfifo(course.submitted(fx.ASSIGNMENT, "fifo") / "notes.txt")
    fx.good(course.submitted(fx.ASSIGNMENT, "odd-name"), release)
    (course.submitted(fx.ASSIGNMENT, "odd-name") / os.fsdecode(b"data\xff.txt")).write_text("x")
    coordinator = subprocess.Popen(
        [*course_cli, "autograde", fx.ASSIGNMENT, "--workers", "1", "--timeout", "30",
         "--grader-memory-mb", str(GRADER_MB), *SANDBOX],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peaks, deadline = [], time.monotonic() + 600
    while coordinator.poll() is None:
        peaks.append(peak_mb(coordinator.pid))
        if time.monotonic() > deadline:  # a stalled run: the test fails, not hangs
            coordinator.kill()
        time.sleep(0.1)
    output = coordinator.stdout.read().decode()
    assert coordinator.returncode == 0, output
    return course, max(p for p in peaks if p is not None), output


def test_the_bomb_is_its_own_students_unreadable_notebook(graded):
    course, _, _ = graded
    status = course.load_status(fx.ASSIGNMENT)["adversary"]
    assert status["status"] == "unreadable"
    assert f"{fx.ASSIGNMENT}.ipynb takes more memory to read than grading allows" in \
        status["problems"]
    assert status["score"] == 0


def test_the_next_student_is_graded_as_usual(graded):  # "adversary" goes first
    course, _, _ = graded
    status = course.load_status(fx.ASSIGNMENT)["zoe"]
    assert status["status"] == "ok"
    assert status["score"] == status["max_score"] > 0


@pytest.mark.parametrize("student, problem", [
    ("fifo", "notes.txt is not a regular file (not read)"),
    ("odd-name", None),
])
def test_odd_files_are_their_own_students_problem(graded, student, problem):
    course, _, _ = graded
    status = course.load_status(fx.ASSIGNMENT)[student]
    assert status["score"] == status["max_score"] > 0
    assert status["problems"] == ([problem] if problem else [])


def test_the_coordinator_never_parses_a_submission(graded):
    _, coordinator_peak, _ = graded
    # parsed, the bomb alone takes about 1.8 GB (BOMB_MB); reading its bytes, 8 MB
    assert coordinator_peak < 400, f"the coordinator held {coordinator_peak:.0f} MB"
