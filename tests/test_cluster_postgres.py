"""A class graded on a real Dask cluster into a real PostgreSQL gradebook, with failures.

The tiny course's gradebook is put on a PostgreSQL server (``CourseDirectory.db_url``) and
its class is graded by ``course autograde --scheduler`` on a scheduler and two ``dask
worker`` processes started elsewhere. In the middle of the run one worker is killed (its
students are graded by the other), then the coordinator itself; running the same command
again finishes the class, grading only the students not yet merged. Every score must be
what a local run into SQLite gives, with one submission per student: nothing lost or
doubled. Feedback and grades then work from PostgreSQL unchanged.
"""

import csv
import os
import shutil
import subprocess
import sys
import time

import cluster_fixtures as cf
import grading_fixtures as fx
import nbformat
import pytest
from nbgrader.api import Gradebook

from course_lib.cli import main
from course_lib.grading import status_report
from course_lib.grading.course import Course

pytestmark = pytest.mark.slow
CLASS = ["good", "wrong", "os-exit", "cached-answers", "patched-numpy", "invalid-json",
         "duplicated-ids", "wrong-name", "slow-cell", "forged-status"]
TIMEOUT = "8"


def run(root, *args):
    assert main(["--quiet", "--root", str(root), *args]) == 0


def course_with_class(base, db_url=None):
    root = fx.make_course(base / "course")
    if db_url:
        with open(root / "nbgrader_config.py", "a") as f:
            f.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    run(root, "release", fx.ASSIGNMENT)
    release = nbformat.read(root / "assignments" / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb",
                            as_version=4)
    fx.write_class(base / "in", release, CLASS)
    run(root, "collect", fx.ASSIGNMENT, str(base / "in"))
    return root


def scores(course):
    with Gradebook(course.db_url) as gb:
        subs = gb.find_assignment(fx.ASSIGNMENT).submissions
        found = [(s.student.id, s.score) for s in subs]
    assert len(found) == len({student for student, _ in found}), "a student merged twice"
    return dict(found)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same class graded locally into SQLite."""
    root = course_with_class(tmp_path_factory.mktemp("sqlite"))
    run(root, "autograde", fx.ASSIGNMENT, "--timeout", TIMEOUT)
    return scores(Course(root))


def autograde_process(root, address):
    """``course autograde --scheduler`` as its own process (the coordinator to kill)."""
    env = {**os.environ, "PATH": f"{cf.VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.Popen(
        [sys.executable, "-m", "course_lib.cli", "--quiet", "--root", str(root), "autograde",
         fx.ASSIGNMENT, "--scheduler", address, "--timeout", TIMEOUT],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def merged(course):
    """The students the coordinator has recorded so far (its journal included)."""
    return status_report.load(course, fx.ASSIGNMENT) or {}


def test_a_class_on_dask_and_postgresql_survives_a_lost_worker_and_coordinator(
        tmp_path_factory, reference, tmp_path):
    dask_cluster = cf.DaskCluster(workers=2)
    try:
        with cf.postgres() as db_url:
            dask_cluster.wait_for_workers(2)
            root = course_with_class(tmp_path_factory.mktemp("postgres"), db_url)
            course = Course(root)
            assert course.db_url == db_url and not course.db_path.exists()
            coordinator = autograde_process(root, dask_cluster.address)
            deadline = time.monotonic() + 600
            while len(merged(course)) < 3:  # invalid-json is merged first: nothing to run
                assert coordinator.poll() is None, coordinator.stdout.read().decode()
                assert time.monotonic() < deadline
                time.sleep(0.2)
            dask_cluster.kill_worker(0)
            while len(merged(course)) < 6:
                assert coordinator.poll() is None, coordinator.stdout.read().decode()
                assert time.monotonic() < deadline
                time.sleep(0.2)
            coordinator.kill()
            coordinator.wait()
            first_run = merged(course)
            assert len(first_run) < len(CLASS)
            journal = status_report.journal_path(course, fx.ASSIGNMENT)
            assert journal.is_file()  # the killed run's record: what resuming starts from

            run(root, "autograde", fx.ASSIGNMENT, "--scheduler", dask_cluster.address,
                "--timeout", TIMEOUT)
            final = merged(course)
            assert set(final) == set(CLASS)
            assert not journal.exists()  # folded into the report when the run ended
            graded_before = {s: i for s, i in first_run.items() if i.get("digest")}
            assert len(graded_before) >= 2
            for student, info in graded_before.items():  # graded once, not again
                assert final[student]["graded_at"] == info["graded_at"]
            assert scores(course) == reference
            assert {s: info["score"] for s, info in final.items()} == reference

            run(root, "feedback", fx.ASSIGNMENT)
            run(root, "grades", fx.ASSIGNMENT, "-o", str(tmp_path / "grades.csv"))
            rows = {r["student"]: r for r in csv.DictReader((tmp_path / "grades.csv").open())}
            assert {s: float(r["score"]) for s, r in rows.items()} == reference
            for student in CLASS:
                assert (course.feedback(fx.ASSIGNMENT, student)
                        / f"{fx.ASSIGNMENT}.html").is_file()
    finally:
        dask_cluster.close()
        shutil.rmtree(tmp_path_factory.getbasetemp() / "postgres0", ignore_errors=True)
