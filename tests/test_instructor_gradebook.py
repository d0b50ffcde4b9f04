"""Merging a worker's gradebook into the course gradebook (nbgrader's API, no kernel)."""

import json
import os
import sys
from datetime import datetime
from pathlib import Path

import pytest
from nbgrader import api as nbgrader_api
from nbgrader.api import Gradebook

from course_lib.grading import gradebook

A, NB = "tiny", "tiny"


def add_tiny(url):
    """Add assignment ``tiny`` to the gradebook at ``url``: a 2-point test and a 3-point
    written answer; return ``url``."""
    with Gradebook(url) as gb:
        gb.add_assignment(A)
        gb.add_notebook(NB, A)
        gb.add_grade_cell("test_a", NB, A, max_score=2, cell_type="code")
        gb.add_grade_cell("answer", NB, A, max_score=3, cell_type="markdown")
        gb.add_solution_cell("answer", NB, A)
    return url


def make_gradebook(path):
    """A SQLite gradebook at ``path`` knowing assignment ``tiny`` (:func:`add_tiny`)."""
    return add_tiny(f"sqlite:///{path}")


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


def test_the_template_is_the_released_assignment_and_nothing_else(urls, tmp_path, monkeypatch):
    main, _ = urls
    due = datetime(2026, 12, 1, 17, 0)
    with Gradebook(main) as gb:
        gb.update_or_create_assignment(A, duedate=due)
        gb.add_task_cell("task", NB, A, max_score=4, cell_type="markdown")
        gb.add_source_cell("test_a", NB, A, cell_type="code", locked=True,
                           source="assert f(1) == 2", checksum="abc")
    set_grade(main, "ada", "test_a", auto_score=2.0)  # a student the template must not know

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"the template ran a command: {args}")

    monkeypatch.setattr(nbgrader_api.sp, "check_output", no_subprocess)
    template = tmp_path / "template.db"
    gradebook.make_template(main, A, template)
    with Gradebook(main) as source, Gradebook(f"sqlite:///{template}") as copy:
        released, copied = source.find_assignment(A), copy.find_assignment(A)
        assert released.duedate == due and copied.duedate is None  # late is not a penalty
        assert copy.students == [] and copied.submissions == []
        assert [nb.name for nb in copied.notebooks] == [NB]
        nb_source, nb_copy = released.notebooks[0], copied.notebooks[0]
        assert nb_copy.max_score == nb_source.max_score == 9
        for kind in ("grade_cells", "solution_cells", "task_cells"):
            assert (sorted(c.name for c in getattr(nb_copy, kind))
                    == sorted(c.name for c in getattr(nb_source, kind)))
        assert ({c.name: (c.max_score, c.cell_type) for c in nb_copy.grade_cells}
                == {"test_a": (2, "code"), "answer": (3, "markdown")})
        [cell] = nb_copy.source_cells
        assert (cell.name, cell.locked, cell.source, cell.checksum) == (
            "test_a", True, "assert f(1) == 2", "abc")
    # a worker grades against it: a submission there merges back into the course gradebook
    set_grade(f"sqlite:///{template}", "bo", "test_a", auto_score=1.0)
    record = gradebook.read_submission(f"sqlite:///{template}", A, "bo")
    gradebook.write_submission(main, A, "bo", record)
    assert gradebook.scores(main, A, "bo")[0] == 1.0


def test_the_merge_reuses_one_engine_per_gradebook_and_gives_the_same_grades(
        urls, tmp_path, monkeypatch):
    main, worker = urls
    set_grade(worker, "ada", "test_a", auto_score=2.0)
    record = gradebook.read_submission(worker, A, "ada")
    other = make_gradebook(tmp_path / "other.db")  # the same grades, merged without sharing
    gradebook.write_submission(other, A, "ada", record)
    made = []
    real = nbgrader_api.create_engine
    monkeypatch.setattr(nbgrader_api, "create_engine",
                        lambda *args, **kwargs: made.append(args[0]) or real(*args, **kwargs))
    with gradebook.shared_engines():
        for _ in range(3):  # merging twice more changes nothing, as without sharing
            gradebook.write_submission(main, A, "ada", record)
            marks = gradebook.marks(main, A, "ada")
        gradebook.record_zero(main, A, "bo")
    assert made == [main]
    assert marks == gradebook.marks(other, A, "ada")
    assert gradebook.scores(main, A, "bo")[0] == 0
    assert len(made) == 3  # outside the block, each open makes its own engine again


def test_a_connection_the_database_server_closed_costs_no_student_their_grades(urls):
    """On PostgreSQL the shared engine's pooled connection can be closed by the server
    (an idle timeout, a restart): the next merge reconnects instead of failing."""
    import cluster_fixtures
    from sqlalchemy import create_engine, text

    _, worker = urls
    set_grade(worker, "ada", "test_a", auto_score=2.0)
    record = gradebook.read_submission(worker, A, "ada")
    with cluster_fixtures.postgres() as server_url:
        add_tiny(server_url)
        admin = create_engine(server_url)
        try:
            with gradebook.shared_engines():
                for student in ("s1", "s2"):
                    gradebook.write_submission(server_url, A, student, record)
                    assert gradebook.marks(server_url, A, student).score == 2.0
                    with admin.begin() as connection:  # what an idle timeout does
                        closed = connection.execute(text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid()")).scalar()
                    assert closed >= 1
        finally:
            admin.dispose()
