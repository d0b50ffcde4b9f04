"""The course gradebook, through nbgrader's own :class:`nbgrader.api.Gradebook`.

Each student is graded against a private SQLite copy of a template
(:func:`make_template`); their grades come back as plain data (:func:`read_submission`)
and only the coordinator writes them into the course gradebook (:func:`write_submission`),
one student after another. The course gradebook is wherever ``nbgrader_config.py`` puts
it (``CourseDirectory.db_url``): ``gradebook.db`` by default, or a PostgreSQL database.
Scores and comments a person entered in the formgrader survive a re-run of
``course autograde``.
"""

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from nbgrader.api import (
    Assignment,
    Base,
    Comment,
    Grade,
    Gradebook,
    GradeCell,
    MissingEntry,
    Notebook,
    SolutionCell,
    SourceCell,
    TaskCell,
)
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import joinedload, scoped_session, sessionmaker

GRADE_FIELDS = ("auto_score", "manual_score", "extra_credit", "needs_manual_grade")
COMMENT_FIELDS = ("auto_comment", "manual_comment")
MANUAL_FIELDS = ("manual_score", "extra_credit", "manual_comment")  # set in the formgrader
SCHEMA_VERSION = text("SELECT version_num FROM alembic_version")


@contextmanager
def _quiet_new_submission():
    """nbgrader's add_submission trips SQLAlchemy's autoflush warnings; they are harmless."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        yield


_SHARED_ENGINES = None  # {db_url: Engine} inside shared_engines(), else None


@contextmanager
def shared_engines():
    """Within this block the merge (:func:`write_submission`, :func:`record_zero`,
    :func:`marks`) opens each gradebook on one engine kept until the block ends.

    nbgrader's ``Gradebook`` makes a new SQLAlchemy engine each time it is opened, so every
    query was compiled again, and on a database server every open connected again: for
    the coordinator, which opens the course gradebook twice a student, that was half the
    cost of merging one. A pooled connection the server has closed meanwhile (an idle
    timeout, a restart) is tested before use and replaced (``pool_pre_ping``).
    """
    global _SHARED_ENGINES
    _SHARED_ENGINES = {}
    try:
        yield
    finally:
        engines, _SHARED_ENGINES = _SHARED_ENGINES, None
        for engine in engines.values():
            engine.dispose()


class _SharedEngineGradebook(Gradebook):
    """nbgrader's ``Gradebook`` on the engine :func:`shared_engines` keeps for ``db_url``."""

    def __init__(self, db_url, course_id="default_course"):
        engine = _SHARED_ENGINES.get(db_url)
        if engine is None:
            Gradebook(db_url, course_id).close()  # nbgrader's own open: a missing schema
            engine = create_engine(db_url, future=True, pool_pre_ping=True)
            _SHARED_ENGINES[db_url] = engine
        self.engine = engine
        self.db = scoped_session(sessionmaker(autoflush=True, bind=engine, future=True))
        self.check_course(course_id=course_id)
        self.course_id = course_id
        self.authenticator = None

    def close(self):
        self.db.remove()  # the engine and its pooled connections stay for the next open


def _open(db_url):
    """The gradebook at ``db_url``: on a shared engine inside :func:`shared_engines`."""
    return Gradebook(db_url) if _SHARED_ENGINES is None else _SharedEngineGradebook(db_url)


def assignment_exists(db_url, assignment):
    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            return False
    return True


def read_submission(worker_url, assignment, student):
    """``student``'s graded submission in a worker's gradebook as plain data, or None.

    ``{"timestamp": ISO text or None, "notebooks": [{"name", "flagged", "penalty",
    "grades": {grade_id: fields}, "comments": {cell_id: fields}}]}``: what
    :func:`write_submission` merges into the course gradebook (no file is shared).
    """
    with Gradebook(worker_url) as src:
        try:
            sub = src.find_submission(assignment, student)
        except MissingEntry:
            return None
        return {
            "timestamp": sub.timestamp.isoformat() if sub.timestamp else None,
            "notebooks": [
                {"name": nb.name, "flagged": nb.flagged,
                 "penalty": nb.late_submission_penalty,
                 "grades": {g.name: {f: getattr(g, f) for f in GRADE_FIELDS} for g in nb.grades},
                 "comments": {c.name: {f: getattr(c, f) for f in COMMENT_FIELDS}
                              for c in nb.comments}}
                for nb in sub.notebooks],
        }


def write_submission(main_url, assignment, student, record):
    """Merge a :func:`read_submission` record into the course gradebook.

    Creating or updating, never adding twice: merging the same record again changes
    nothing. Scores and comments a person entered in the formgrader are kept. The
    submission's grades and comments are loaded in one query each (with their cells),
    not one query per cell: on a database server that is what bounds the merge rate.
    """
    timestamp = record["timestamp"] and datetime.fromisoformat(record["timestamp"])
    with _open(main_url) as dst, _quiet_new_submission():
        dst.update_or_create_student(student)
        sub = dst.update_or_create_submission(assignment, student, timestamp=timestamp)
        notebooks = {nb.name: nb for nb in sub.notebooks}
        for notebook in record["notebooks"]:
            nb = notebooks[notebook["name"]]
            nb.flagged, nb.late_submission_penalty = notebook["flagged"], notebook["penalty"]
            grades = _by_cell_name(dst, Grade, nb)
            for grade_id, values in notebook["grades"].items():
                grade = grades[grade_id]
                _update_keeping_manual(grade, values)
                if grade.manual_score is not None:
                    grade.needs_manual_grade = False
            comments = _by_cell_name(dst, Comment, nb)
            for cell_id, values in notebook["comments"].items():
                _update_keeping_manual(comments[cell_id], values)
        dst.db.commit()


def _by_cell_name(gb, kind, notebook):
    """``{cell name: row}`` of a submitted notebook's Grades or Comments, in one query."""
    rows = (gb.db.query(kind).options(joinedload(kind.cell))
            .filter(kind.notebook_id == notebook.id).all())
    return {row.cell.name: row for row in rows}


def make_template(main_url, assignment, destination):
    """A SQLite gradebook at ``destination`` that knows ``assignment`` and nothing else.

    Each student is graded against a copy of it, copied from the course gradebook: the
    assignment, its notebooks and their grade, solution, task and source cells, row for
    row through nbgrader's own models, so that a worker grades exactly the cells and
    points the merge writes back to. Not the due date: lateness is recorded by ``course
    collect`` and shown by ``course grades``, never taken off the score.
    """
    with Gradebook(main_url) as src:
        released = src.find_assignment(assignment)
        _empty_gradebook(destination, src.db.execute(SCHEMA_VERSION).scalar_one())
        with Gradebook(f"sqlite:///{destination}", course_id=released.course_id) as dst:
            copy = Assignment(name=released.name, course_id=released.course_id)
            for nb in released.notebooks:
                notebook = Notebook(name=nb.name, kernelspec=nb.kernelspec, assignment=copy)
                for c in nb.grade_cells:
                    GradeCell(name=c.name, max_score=c.max_score, cell_type=c.cell_type,
                              notebook=notebook)
                for c in nb.solution_cells:
                    SolutionCell(name=c.name, notebook=notebook)
                for c in nb.task_cells:
                    TaskCell(name=c.name, max_score=c.max_score, cell_type=c.cell_type,
                             notebook=notebook)
                for c in nb.source_cells:
                    SourceCell(name=c.name, cell_type=c.cell_type, locked=c.locked,
                               source=c.source, checksum=c.checksum, notebook=notebook)
            dst.db.add(copy)
            dst.db.commit()


def _empty_gradebook(path, schema_version):
    """Create nbgrader's tables in a new SQLite file, marked with ``schema_version``.

    What ``Gradebook`` does for a new database, except that it asks the ``alembic``
    command for the schema's version (a subprocess: seconds) where the course gradebook
    already holds it.
    """
    engine = create_engine(f"sqlite:///{path}")
    try:
        Base.metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version "
                                    "(version_num VARCHAR(32) NOT NULL)"))
            connection.execute(text("INSERT INTO alembic_version VALUES (:version)"),
                               {"version": schema_version})
    finally:
        engine.dispose()


def _update_keeping_manual(row, values):
    """Copy ``values`` onto ``row``, but never erase a grader's manual score or comment."""
    for key, value in values.items():
        if key in MANUAL_FIELDS and getattr(row, key) is not None:
            continue
        setattr(row, key, value)


def record_zero(main_url, assignment, student):
    """Give ``student`` a submission with every grade at zero (nothing could be graded)."""
    with _open(main_url) as gb, _quiet_new_submission():
        gb.update_or_create_student(student)
        sub = gb.update_or_create_submission(assignment, student)
        for nb in sub.notebooks:
            for grade in nb.grades:
                grade.auto_score = 0
                grade.manual_score = None
                grade.needs_manual_grade = False
        gb.db.commit()


@dataclass(frozen=True)
class CellGrade:
    """One graded cell: ``score`` is None for a written answer no one has graded yet."""

    score: float | None
    max_score: float
    comment: str | None = None  # what a grader wrote in the formgrader


@dataclass(frozen=True)
class Marks:
    """A submission's grades: points given so far, and points awaiting hand grading."""

    score: float
    max_score: float
    pending: float  # points of written answers not graded yet
    cells: dict  # {(notebook, grade_id): CellGrade}


def marks(db_url, assignment, student):
    """The :class:`Marks` of ``student``'s submission, or None if the gradebook has none.

    A grade neither the autograder nor a person has given (a written answer before hand
    grading) is pending: its ``score`` is None, never zero.
    """
    with _open(db_url) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        cells, pending = {}, 0.0
        for nb in sub.notebooks:
            comments = {name: c.manual_comment
                        for name, c in _by_cell_name(gb, Comment, nb).items()}
            for g in _by_cell_name(gb, Grade, nb).values():
                waiting = g.auto_score is None and g.manual_score is None
                pending += g.max_score if waiting else 0
                cells[(nb.name, g.name)] = CellGrade(None if waiting else g.score, g.max_score,
                                                     comments.get(g.name) or None)
        return Marks(sub.score, sub.max_score, pending, cells)


def remove_student(db_url, student):
    """Remove ``student`` and their submissions with nbgrader's API; False if not there."""
    with Gradebook(db_url) as gb:
        try:
            gb.remove_student(student)
        except MissingEntry:
            return False
    return True


def scores(db_url, assignment, student):
    """``(score, max_score, {(notebook, grade_id): (score, max_score)})`` of a submission."""
    with Gradebook(db_url) as gb:
        sub = gb.find_submission(assignment, student)
        cells = {(nb.name, g.name): (g.score, g.max_score)
                 for nb in sub.notebooks for g in nb.grades}
        return sub.score, sub.max_score, cells
