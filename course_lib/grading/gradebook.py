"""Move one student's grades from a worker's gradebook into the course gradebook.

Only the main process writes ``gradebook.db``, one student after another, through
nbgrader's own :class:`nbgrader.api.Gradebook`. Scores and comments a person entered in
the formgrader survive a re-run of ``course autograde``.
"""

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

GRADE_FIELDS = ("auto_score", "manual_score", "extra_credit", "needs_manual_grade")
COMMENT_FIELDS = ("auto_comment", "manual_comment")
MANUAL_FIELDS = ("manual_score", "extra_credit", "manual_comment")  # set in the formgrader


@contextmanager
def _quiet_new_submission():
    """nbgrader's add_submission trips SQLAlchemy's autoflush warnings; they are harmless."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        yield


def assignment_exists(db_url, assignment):
    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            return False
    return True


def merge_submission(main_url, worker_url, assignment, student):
    """Copy ``student``'s submission of ``assignment`` from ``worker_url`` into ``main_url``.

    Returns False when the worker's gradebook has no such submission.
    """
    with Gradebook(worker_url) as src:
        try:
            sub = src.find_submission(assignment, student)
        except MissingEntry:
            return False
        notebooks = [
            (nb.name, nb.flagged, nb.late_submission_penalty,
             [(g.name, {f: getattr(g, f) for f in GRADE_FIELDS}) for g in nb.grades],
             [(c.name, {f: getattr(c, f) for f in COMMENT_FIELDS}) for c in nb.comments])
            for nb in sub.notebooks
        ]
        timestamp = sub.timestamp
    with Gradebook(main_url) as dst, _quiet_new_submission():
        dst.update_or_create_student(student)
        dst.update_or_create_submission(assignment, student, timestamp=timestamp)
        for name, flagged, penalty, grades, comments in notebooks:
            nb = dst.find_submission_notebook(name, assignment, student)
            nb.flagged, nb.late_submission_penalty = flagged, penalty
            for grade_id, values in grades:
                grade = dst.find_grade(grade_id, name, assignment, student)
                _update_keeping_manual(grade, values)
                if grade.manual_score is not None:
                    grade.needs_manual_grade = False
            for cell_id, values in comments:
                comment = dst.find_comment(cell_id, name, assignment, student)
                _update_keeping_manual(comment, values)
        dst.db.commit()
    return True


def _update_keeping_manual(row, values):
    """Copy ``values`` onto ``row``, but never erase a grader's manual score or comment."""
    for key, value in values.items():
        if key in MANUAL_FIELDS and getattr(row, key) is not None:
            continue
        setattr(row, key, value)


def record_zero(main_url, assignment, student):
    """Give ``student`` a submission with every grade at zero (nothing could be graded)."""
    with Gradebook(main_url) as gb, _quiet_new_submission():
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
    with Gradebook(db_url) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        cells, pending = {}, 0.0
        for nb in sub.notebooks:
            comments = {c.name: c.manual_comment for c in nb.comments}
            for g in nb.grades:
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
