"""``course grades``: one CSV row per student, from nbgrader's gradebook.

Columns: student, score, max_score, one column per part (its points), status and the
problems found (from the last ``course autograde``). The file is UTF-8 and every cell,
the header's too, goes through :func:`.escape.for_csv`: numbers in one format (``12``,
``12.5``), text escaped and never read as a formula by a spreadsheet.
"""

import csv

from course_lib.grading import gradebook
from course_lib.grading.escape import for_csv
from course_lib.grading.feedback import graded_cells


def grade_rows(course, assignment):
    """``(header, rows)``; a part's score is the sum of its test cells' scores."""
    import nbformat

    status = course.load_status(assignment)
    names = course.notebook_names(assignment)
    parts = []
    for name in names:
        release = nbformat.read(course.release(assignment) / f"{name}.ipynb", as_version=4)
        for part, grade_id, _ in graded_cells(release):
            if not parts or parts[-1][0] != (name, part):
                parts.append(((name, part), []))
            parts[-1][1].append((name, grade_id))
    header = ["student", "score", "max_score", *[p for (_, p), _ in parts], "status",
              "problems"]
    rows = []
    for student, info in status.items():
        score, max_score, cells = gradebook.scores(course.db_url, assignment, student)
        per_part = [sum(cells.get(key, (0, 0))[0] or 0 for key in keys) for _, keys in parts]
        rows.append([student, score, max_score, *per_part, info["status"],
                     "; ".join(info["problems"])])
    return header, rows


def write_csv(course, assignment, path):
    """Write :func:`grade_rows` to ``path`` as CSV, each cell made safe; return them."""
    header, rows = grade_rows(course, assignment)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        for row in [header, *rows]:
            writer.writerow([for_csv(v) for v in row])
    return header, rows
