"""Graded notebooks reach the instructor sanitised, or not at all.

The grading process sanitises each graded notebook in place after nbgrader wrote it
(:func:`course_lib.grading.sanitize.make_safe_to_show`). A process stopped at the
student's time limit, or dead, may have left a notebook nbgrader wrote but nobody
sanitised: a student whose sanitising was slow enough got a raw ``<script>`` into
``autograded/``, which nbgrader's formgrader renders in the instructor's browser. And a
notebook the sanitiser withheld is reported as such, its grades kept.
"""

import os
import sys
from pathlib import Path

import pytest
from test_instructor_gradebook import NB, add_tiny, set_grade

from course_lib.grading import autograde, cluster, gradebook, worker
from course_lib.grading.course import Course
from course_lib.grading.preflight import Preflight, Received

A = "tiny"
RAW = '{"cells": [{"cell_type": "markdown", "source": "<script>alert(1)</script>"}]}'


class WritesThenStops:
    """A grading process that gets as far as nbgrader's output, then ends as told."""

    alive = True

    def __init__(self, run):
        self.run = run

    def grade(self, ws, limits, source_dir, release_dir):
        ws.autograded.mkdir(parents=True)
        (ws.autograded / f"{NB}.ipynb").write_text(RAW)
        return self.run


def plugin_on(tmp_path, grader):
    """A :class:`.cluster.GraderPlugin` with its folders, but ``grader`` for a process."""
    course_root = tmp_path / "course"
    course_root.mkdir()
    (course_root / cluster.TEMPLATE).write_bytes(b"")
    plugin = cluster.GraderPlugin(cluster.Bundle({}, A, worker.Limits(), unsafe=True))
    plugin.root, plugin.course, plugin.grader = tmp_path, Course(course_root), grader
    plugin.kernel_name, plugin.box = "python3", None
    return plugin


@pytest.mark.parametrize("run", [
    worker.RunResult(None, "", 1800.0),  # stopped after the student's time limit
    worker.RunResult(1, "[ERROR] the grading process died (exit -9)", 3.0),
], ids=["stopped", "died"])
def test_a_grading_process_that_did_not_answer_sends_no_notebook(tmp_path, run):
    job = cluster.Job("s1", A, Received({f"{NB}.ipynb": b"{}"}))
    outcome = plugin_on(tmp_path, WritesThenStops(run)).grade(job)
    assert outcome.graded == {}


def test_an_answer_sends_the_notebooks(tmp_path):
    job = cluster.Job("s1", A, Received({f"{NB}.ipynb": b"{}"}))
    outcome = plugin_on(tmp_path, WritesThenStops(worker.RunResult(
        0, "", 3.0, answered=True, preflight=Preflight(notebooks={NB: None}).summary())))
    assert outcome.grade(job).graded == {NB: RAW}  # (what the real process sanitised)


def test_a_withheld_notebook_is_reported_and_its_grades_kept(tmp_path, monkeypatch):
    # nbgrader's Gradebook runs the `alembic` script that sits next to this Python
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    course = Course(tmp_path)
    (tmp_path / "nbgrader_config.py").write_text("")
    add_tiny(course.db_url)
    worker_url = add_tiny(f"sqlite:///{tmp_path / 'worker.db'}")
    set_grade(worker_url, "s1", "test_a", auto_score=2)
    why = f"the graded {NB}.ipynb could not be made safe to show, so it is withheld (E: x)"
    run = cluster.Outcome("s1", 0, "", 3.0, [], None, {},
                          gradebook.read_submission(worker_url, A, "s1"), [why])
    result = autograde._finish(course, A, "s1", Preflight(notebooks={NB: None}), run)
    assert result.status == "grader error"
    assert result.problems == [f"{why}; its grades are kept"]
    assert (result.score, result.max_score) == (2, 5)
    assert not (course.autograded(A, "s1") / f"{NB}.ipynb").exists()


def test_a_grading_process_whose_student_raised_sends_nothing_and_retires(tmp_path):
    """Any error while grading one student (here: no files at all) is that student's
    failure: the process answers, deletes what nbgrader may have left unsanitised, and
    exits so that the next student gets a fresh one."""
    ws = worker.Workspace(tmp_path / "ws", "s1", A)
    ws.autograded.mkdir(parents=True)
    (ws.autograded / f"{NB}.ipynb").write_text(RAW)  # as if nbgrader had written it
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    grader = worker.GraderProcess(env, tmp_path, memory_mb=2048)
    try:
        run = grader.grade(ws, worker.Limits(student_timeout=120), tmp_path, tmp_path)
    finally:
        grader.close()
    assert run.answered and run.returncode == 1
    assert "grading stopped: FileNotFoundError" in run.log
    assert not grader.alive
    assert not ws.autograded.exists()
