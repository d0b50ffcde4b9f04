"""``course grades``: one CSV row per student, from nbgrader's gradebook.

Columns: student, score (points given so far), max_score, not_graded_yet (points of
written answers no one has graded yet), one column per part (its points; blank while
all of it awaits hand grading), late (``late`` when the LMS marked the upload late),
status and the problems found (from the last ``course autograde``, "needs regrading"
added for a student collected again since). The file is UTF-8 and every cell, the
header's too, goes through :func:`.escape.for_csv`: numbers in one format (``12``,
``12.5``), text escaped and never read as a formula by a spreadsheet.
"""

import csv

from course_lib.grading import results
from course_lib.grading.collect import late_students
from course_lib.grading.course import CourseError
from course_lib.grading.escape import for_csv, for_terminal
from course_lib.grading.feedback import graded_cells


def _parts(course, assignment):
    """``[(part title, [(notebook, grade_id), ...])]`` in the released notebooks' order."""
    import nbformat

    parts = []
    for name in course.notebook_names(assignment):
        release = nbformat.read(course.release(assignment) / f"{name}.ipynb", as_version=4)
        for part, grade_id, _ in graded_cells(release):
            if not parts or parts[-1][0] != (name, part):
                parts.append(((name, part), []))
            parts[-1][1].append((name, grade_id))
    return [(title, keys) for (_, title), keys in parts]


def _part_score(marks, keys):
    """A part's points so far, or None while every cell of it awaits hand grading."""
    cells = [marks.cells[k] for k in keys if k in marks.cells]
    given = [c.score for c in cells if c.score is not None]
    return sum(given) if given or not cells else None


def grade_rows(course, assignment):
    """``(header, rows, found)``: the CSV's header and rows, and the :class:`ClassResults`."""
    found = results.class_results(course, assignment)
    parts = _parts(course, assignment)
    late = late_students(course, assignment)
    header = ["student", "score", "max_score", "not_graded_yet", *[t for t, _ in parts],
              "late", "status", "problems"]
    rows = []
    for one in found.students:
        m = one.marks
        rows.append([one.student, m.score, m.max_score, m.pending,
                     *[_part_score(m, keys) for _, keys in parts],
                     "late" if one.student in late else "", one.status,
                     "; ".join(one.problems)])
    return header, rows, found


def write_csv(course, assignment, path, force=False):
    """Write :func:`grade_rows` to ``path`` as CSV, each cell made safe; return them.

    An existing ``path`` is replaced only with ``force``.
    """
    header, rows, found = grade_rows(course, assignment)
    try:
        with open(path, "w" if force else "x", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            for row in [header, *rows]:
                writer.writerow([for_csv(v) for v in row])
    except FileExistsError:
        raise CourseError(f"{for_terminal(path)} exists: pass --force to replace it, or "
                          "-o another file") from None
    except OSError as e:
        raise CourseError(f"cannot write {for_terminal(path)}: {e.strerror}") from None
    return header, rows, found
