"""``course feedback``: one HTML page per student and notebook, without hidden tests' code.

nbgrader's ``generate_feedback`` renders the graded notebook, hidden tests included.
Here each page is built from the gradebook (nbgrader's API) and the graded notebook's
error outputs: the score of each part (a part is the markdown heading above its test
cells), and for each test its description (the docstring of the *released* cell,
which never contains hidden tests), its score and, when it failed, the error's name
and message only: no source code and no traceback (a traceback quotes code).
Every string on the page goes through :func:`.escape.for_html`: markup, terminal
controls, bidi overrides and undecodable characters in a student's id, file names or
error messages are shown escaped, and writing the page never fails on them.
"""

import ast
import re

import nbformat
from nbgrader.utils import is_grade, is_solution

from course_lib.grading import gradebook
from course_lib.grading.escape import for_html

HEADING = re.compile(r"^#{1,3}\s+(.*)$", re.MULTILINE)

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }}
th, td {{ border-bottom: 1px solid #ccc; padding: .3rem .5rem; text-align: left; }}
.fail {{ color: #b35806; }} .pass {{ color: #1b7837; }}
</style></head><body>
<h1>{title}</h1>
<p><strong>Score: {score}</strong> &middot; status: {status}</p>
{problems}
{parts}
</body></html>
"""


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


def render(student, notebook, release, graded, cell_scores, total, status, problems):
    """The HTML page (a str) for one student's notebook."""
    errors = failure_messages(graded) if graded is not None else {}
    cells_by_id = {c.metadata.nbgrader["grade_id"]: c for c in release.cells if is_grade(c)}
    parts = {}
    for part, grade_id, description in graded_cells(release):
        parts.setdefault(part, []).append((grade_id, description))
    blocks = []
    for part, tests in parts.items():
        got = sum(cell_scores.get((notebook, g), (0, 0))[0] or 0 for g, _ in tests)
        out_of = sum(cell_scores.get((notebook, g), (0, 0))[1] for g, _ in tests)
        rows = []
        for grade_id, description in tests:
            score, max_score = cell_scores.get((notebook, grade_id), (0, 0))
            ok = score is not None and score >= max_score
            message = "passed" if ok else "; ".join(errors.get(grade_id, ["not passed"]))
            if is_solution(cells_by_id[grade_id]) and not ok:
                message = "waiting for a grader" if score is None else "graded by hand"
            rows.append(
                f"<tr><td>{for_html(grade_id)}</td><td>{for_html(description)}</td>"
                f"<td>{score or 0:g} / {max_score:g}</td>"
                f"<td class=\"{'pass' if ok else 'fail'}\">{for_html(message)}</td></tr>")
        blocks.append(
            f"<h2>{for_html(part or notebook)}: {got:g} / {out_of:g}</h2>\n<table>"
            "<tr><th>test</th><th>checks</th><th>score</th><th>result</th></tr>\n"
            + "\n".join(rows) + "</table>")
    problem_list = "".join(f"<li>{for_html(p)}</li>" for p in problems)
    return PAGE.format(
        title=for_html(f"{notebook}: feedback for {student}"),
        score=for_html(total), status=for_html(status),
        problems=f"<p>Problems found:</p><ul>{problem_list}</ul>" if problems else "",
        parts="\n".join(blocks))


def write_feedback(course, assignment, progress=True):
    """Write feedback/<student>/<assignment>/<notebook>.html for every graded student."""
    from tqdm import tqdm

    from course_lib.grading.report import score_text

    status = course.load_status(assignment)
    names = course.notebook_names(assignment)
    releases = {n: nbformat.read(course.release(assignment) / f"{n}.ipynb", as_version=4)
                for n in names}
    written = []
    for student, info in tqdm(status.items(), desc=f"feedback {assignment}", unit="student",
                              disable=not progress):
        score, max_score, cells = gradebook.scores(course.db_url, assignment, student)
        folder = course.feedback(assignment, student)
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            graded_path = course.autograded(assignment, student) / f"{name}.ipynb"
            graded = nbformat.read(graded_path, as_version=4) if graded_path.is_file() else None
            page = render(student, name, releases[name], graded, cells,
                          score_text(score, max_score), info["status"], info["problems"])
            path = folder / f"{name}.html"
            path.write_text(page, encoding="utf-8")
            written.append(path)
    return written
