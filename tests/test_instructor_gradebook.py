"""Merging a worker's gradebook into the course gradebook (nbgrader's API, no kernel)."""

import json
import os
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from course_lib.grading import gradebook

A, NB = "tiny", "tiny"


def make_gradebook(path):
    """A gradebook knowing assignment ``tiny``: a 2-point test and a 3-point written answer."""
    url = f"sqlite:///{path}"
    with Gradebook(url) as gb:
        gb.add_assignment(A)
        gb.add_notebook(NB, A)
        gb.add_grade_cell("test_a", NB, A, max_score=2, cell_type="code")
        gb.add_grade_cell("answer", NB, A, max_score=3, cell_type="markdown")
        gb.add_solution_cell("answer", NB, A)
    return url


@pytest.fixture
def urls(tmp_path, monkeypatch):
    # nbgrader's Gradebook runs the `alembic` script that sits next to this Python
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return make_gradebook(tmp_path / "main.db"), make_gradebook(tmp_path / "worker.db")


def set_grade(url, student, grade_id, **values):
    with Gradebook(url) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(A, student)
        grade = gb.find_grade(grade_id, NB, A, student)
        for key, value in values.items():
            setattr(grade, key, value)
        gb.db.commit()


def test_merge_copies_auto_scores_and_keeps_manual_ones(urls):
    main, worker = urls
    set_grade(main, "ada", "answer", manual_score=1.5)  # entered in the formgrader
    set_grade(worker, "ada", "test_a", auto_score=2.0)
    set_grade(worker, "ada", "answer", auto_score=None, needs_manual_grade=True)
    record = gradebook.read_submission(worker, A, "ada")
    json.dumps(record)  # plain data: it crosses from a Dask worker to the coordinator
    gradebook.write_submission(main, A, "ada", record)
    score, max_score, cells = gradebook.scores(main, A, "ada")
    assert cells[(NB, "test_a")] == (2.0, 2.0)
    assert cells[(NB, "answer")] == (1.5, 3.0)
    assert (score, max_score) == (3.5, 5.0)
    gradebook.write_submission(main, A, "ada", record)  # merged twice: nothing doubles
    with Gradebook(main) as gb:
        assert len(gb.find_assignment(A).submissions) == 1
    assert gradebook.scores(main, A, "ada") == (score, max_score, cells)


def test_a_student_the_worker_never_saw_has_no_record(urls):
    main, worker = urls
    assert gradebook.read_submission(worker, A, "nobody") is None


def test_record_zero_gives_a_row_with_every_grade_zero(urls):
    main, _ = urls
    gradebook.record_zero(main, A, "fay")
    score, max_score, cells = gradebook.scores(main, A, "fay")
    assert (score, max_score) == (0.0, 5.0)
    assert all(got == 0 for got, _ in cells.values())
