"""``course feedback``: one HTML page per student and notebook, for the student.

nbgrader's ``generate_feedback`` renders the graded notebook (made safe by
:mod:`.safe_feedback`). Here each page is built from the gradebook (nbgrader's API) and
the graded notebook's error outputs: the score of each part (a part is the markdown
heading above its test cells), and for each test its description (the docstring of the
*released* cell, which never contains hidden tests), its score and, when it failed, the
error's name and message only: no source code and no traceback (a traceback quotes
code). A written answer no one has graded yet is "not graded yet", in a neutral colour,
never a zero; a graded one shows the grader's comment from the formgrader next to its
score. What the page says about the submission as a whole comes from
:mod:`.student_view`: what the student can act on, never the instructor's diagnostics.

Every string on the page goes through :func:`.escape.for_html`: markup, terminal
controls, bidi overrides and undecodable characters in a student's id, file names or
error messages are shown escaped, and writing the page never fails on them.

Our pages carry ``<meta name="generator" content="course feedback">``; nbgrader's
``generate_feedback`` writes its page to the same file. :func:`write_feedback` replaces
either, and says how many of nbgrader's it replaced.
"""

import ast
import re

import nbformat
from nbgrader.utils import is_grade, is_solution

from course_lib.grading import results, student_view
from course_lib.grading.escape import for_html
from course_lib.grading.gradebook import CellGrade

HEADING = re.compile(r"^#{1,3}\s+(.*)$", re.MULTILINE)

GENERATOR = '<meta name="generator" content="course feedback">'

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">GENERATOR<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }}
th, td {{ border-bottom: 1px solid #ccc; padding: .3rem .5rem; text-align: left; }}
.fail {{ color: #b35806; }} .pass {{ color: #1b7837; }} .pending {{ color: #555; }}
.comment {{ display: block; color: #333; font-style: italic; white-space: pre-wrap; }}
</style></head><body>
<h1>{title}</h1>
<p><strong>Score: {score}</strong>{pending}</p>
{notes}
{parts}
</body></html>
""".replace("GENERATOR", GENERATOR)

NOT_GRADED = "not graded yet"


def graded_cells(release):
    """``[(part title, grade_id, description)]`` for the graded cells of a released notebook.

    Test cells are described by their docstring; answers graded by hand say so.
    """
    part, found = "", []
    for cell in release.cells:
        if cell.cell_type == "markdown" and not is_grade(cell):
            headings = HEADING.findall(cell.source)
            part = headings[-1].strip() if headings else part
        if is_grade(cell):
            description = ("written answer, graded by hand" if is_solution(cell)
                           else _docstring(cell.source))
            found.append((part, cell.metadata.nbgrader["grade_id"], description))
    return found


def _docstring(source):
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return ""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[0].value.value.strip().splitlines()[0]
    return ""


def failure_messages(graded):
    """``{grade_id: ["AssertionError: message", ...]}`` from a graded notebook's errors."""
    messages = {}
    for cell in graded.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for out in cell.get("outputs", []):
            if grade_id and out.output_type == "error":
                text = f"{out.ename}: {out.evalue}" if out.evalue else out.ename
                messages.setdefault(grade_id, []).append(text)
            elif grade_id and out.output_type == "stream" and out.name == "stderr":
                messages.setdefault(grade_id, []).append("wrote to stderr")
    return messages


def _points(value):
    return f"{value:g}"


def _row(grade_id, description, cell, answer, errors):
    """One table row: a test (passed, or its error) or a written answer (its grading)."""
    if cell.score is None:
        score, css, message = f"&ndash; / {_points(cell.max_score)}", "pending", NOT_GRADED
    else:
        ok = cell.score >= cell.max_score
        score = f"{_points(cell.score)} / {_points(cell.max_score)}"
        css = "pass" if ok else "fail"
        if answer:
            message = "graded by hand"
        else:
            message = "passed" if ok else "; ".join(errors.get(grade_id, ["not passed"]))
    comment = (f'<span class="comment">Comment: {for_html(cell.comment)}</span>'
               if cell.comment else "")
    return (f"<tr><td>{for_html(grade_id)}</td><td>{for_html(description)}</td>"
            f"<td>{score}</td><td class=\"{css}\">{for_html(message)}{comment}</td></tr>")


def _heading(title, cells):
    """A part's heading: its score, and what of it awaits hand grading."""
    max_score = sum(c.max_score for c in cells)
    waiting = sum(c.max_score for c in cells if c.score is None)
    got = sum(c.score for c in cells if c.score is not None)
    if waiting == max_score and max_score:
        text = f"{for_html(title)}: {NOT_GRADED} ({_points(max_score)} points)"
        return f'<h2 class="pending">{text}</h2>'
    more = f", {_points(waiting)} points {NOT_GRADED}" if waiting else ""
    return f"<h2>{for_html(title)}: {_points(got)} / {_points(max_score)}{more}</h2>"


def render(student, notebook, release, graded, cell_grades, total, status, problems,
           pending=0):
    """The HTML page (a str) for one student's notebook.

    ``cell_grades`` maps ``(notebook, grade_id)`` to a :class:`.gradebook.CellGrade`;
    ``total`` is the score as text, ``pending`` the points awaiting hand grading;
    ``status`` and ``problems`` are the instructor's, shown as :func:`.student_view.notes`.
    """
    errors = failure_messages(graded) if graded is not None else {}
    answers = {c.metadata.nbgrader["grade_id"] for c in release.cells
               if is_grade(c) and is_solution(c)}
    parts = {}
    for part, grade_id, description in graded_cells(release):
        parts.setdefault(part, []).append((grade_id, description))
    blocks = []
    for part, tests in parts.items():
        cells = [cell_grades.get((notebook, g), CellGrade(0, 0)) for g, _ in tests]
        rows = [_row(g, d, c, g in answers, errors)
                for (g, d), c in zip(tests, cells, strict=True)]
        blocks.append(
            f"{_heading(part or notebook, cells)}\n<table>"
            "<tr><th>test</th><th>checks</th><th>score</th><th>result</th></tr>\n"
            + "\n".join(rows) + "</table>")
    notes = "".join(f"<li>{for_html(n)}</li>" for n in student_view.notes(status, problems))
    return PAGE.format(
        title=for_html(f"{notebook}: feedback for {student}"), score=for_html(total),
        pending=(f" &middot; <span class=\"pending\">{_points(pending)} points of written "
                 f"answers {NOT_GRADED}</span>" if pending else ""),
        notes=f"<p>About your submission:</p><ul>{notes}</ul>" if notes else "",
        parts="\n".join(blocks))


def write_feedback(course, assignment, progress=True, replaced=None):
    """Write feedback/<student>/<assignment>/<notebook>.html for every graded student.

    Returns the paths written. Students the gradebook does not have are left out (see
    :func:`.results.class_results`). ``replaced``, a list if given, receives the pages
    of nbgrader's ``generate_feedback`` that were overwritten.
    """
    from tqdm import tqdm

    from course_lib.grading.report import score_text

    found = results.class_results(course, assignment)
    names = course.notebook_names(assignment)
    releases = {n: nbformat.read(course.release(assignment) / f"{n}.ipynb", as_version=4)
                for n in names}
    written = []
    for one in tqdm(found.students, desc=f"feedback {assignment}", unit="student",
                    disable=not progress):
        folder = course.feedback(assignment, one.student)
        folder.mkdir(parents=True, exist_ok=True)
        marks = one.marks
        for name in names:
            graded_path = course.autograded(assignment, one.student) / f"{name}.ipynb"
            graded = nbformat.read(graded_path, as_version=4) if graded_path.is_file() else None
            page = render(one.student, name, releases[name], graded, marks.cells,
                          score_text(marks.score, marks.max_score), one.status,
                          one.problems, marks.pending)
            path = folder / f"{name}.html"
            if replaced is not None and path.is_file() and \
                    GENERATOR not in path.read_text(encoding="utf-8", errors="replace"):
                replaced.append(path)
            path.write_text(page, encoding="utf-8")
            written.append(path)
    return written
