"""PS4 end to end: the sample class in examples/ps4_mlp through release, collect,
autograde (in the sandbox), feedback and grades, in a temporary copy of the course.

Expected scores come from the released notebook's metadata: a student who solved
everything earns every autograded point; one who solved parts 1 to 3 earns their tests.
"""

import csv
import shutil

import grading_fixtures as fx
import nbformat
import pytest
from nbgrader.utils import is_grade, is_solution

from course_lib.cli import main
from course_lib.grading.course import Course
from course_lib.grading.feedback import graded_cells
from course_lib.grading.harness import student_names

REPO = fx.REPO


def release():
    return nbformat.read(REPO / "assignments/ps4_mlp/ps4_mlp.ipynb", as_version=4)


def test_examples_match_the_current_ps4():
    """examples/ps4_mlp is what tests/grading_fixtures.py makes from PS4 today."""
    source = nbformat.read(REPO / "solutions/ps4_mlp/ps4_mlp.ipynb", as_version=4)
    expected = fx.ps4_sample_class(source, release())
    base = REPO / "examples" / "ps4_mlp"
    on_disk = {d.name: {f.name: f.read_bytes() for f in d.iterdir()} for d in base.iterdir()}
    assert on_disk == expected, "regenerate with: .venv/bin/python tests/grading_fixtures.py"


def autograded_points(nb, parts=None):
    """Points of the test cells (not hand-graded answers), optionally of some parts only."""
    cells = {c.metadata.nbgrader["grade_id"]: c for c in nb.cells if is_grade(c)}
    return sum(cells[g].metadata.nbgrader["points"] for part, g, _ in graded_cells(nb)
               if not is_solution(cells[g]) and (parts is None or part.startswith(parts)))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("ps4") / "course"
    root.mkdir()
    shutil.copyfile(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    for folder in ("solutions", "assignments"):
        shutil.copytree(REPO / folder / "ps4_mlp", root / folder / "ps4_mlp")
    args = ["--quiet", "--root", str(root)]
    assert main([*args, "release", "ps4_mlp"]) == 0
    assert main([*args, "collect", "ps4_mlp", str(REPO / "examples" / "ps4_mlp")]) == 0
    before = fx.file_digests(root / "submitted")
    assert main([*args, "autograde", "ps4_mlp", "--workers", "2"]) == 0
    assert fx.file_digests(root / "submitted") == before
    assert main([*args, "feedback", "ps4_mlp"]) == 0
    assert main([*args, "grades", "ps4_mlp", "-o", str(root / "grades.csv")]) == 0
    rows = {r["student"]: r for r in csv.DictReader((root / "grades.csv").open())}
    return Course(root), rows


@pytest.mark.slow
def test_ps4_class_scores_and_statuses(graded):
    course, rows = graded
    nb = release()
    full = autograded_points(nb)
    early = autograded_points(nb, ("Part 1", "Part 2", "Part 3"))
    # cleo's kernel dies in her gradcheck_function cell: the grader replays the cells before
    # it in a new kernel, so she loses exactly the tests that read what that cell (or the
    # answer cells calling it) would have defined
    lost = {"gradcheck_function", "gradient_reports", "two_layer_report"}
    source = nbformat.read(REPO / "solutions/ps4_mlp/ps4_mlp.ipynb", as_version=4)
    tests = {c.metadata.nbgrader["grade_id"]: c for c in source.cells
             if is_grade(c) and not is_solution(c)}
    cleo = full - sum(c.metadata.nbgrader["points"] for c in tests.values()
                      if lost & set(student_names(c.source, [])))
    assert early < cleo < full
    expected = {"ada": (full, "ok"), "ben": (early, "ok"), "cleo": (cleo, "kernel died"),
                "dev": (early, "flagged"), "eve": (full, "repaired"), "fay": (0, "unreadable")}
    got = {s: (float(r["score"]), r["status"]) for s, r in rows.items()}
    assert got == expected


@pytest.mark.slow
def test_ps4_feedback_hides_hidden_tests(graded):
    course, _ = graded
    source = course.source_notebook("ps4_mlp", "ps4_mlp")
    hidden_lines = set()
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 20:
                hidden_lines.add(line.strip())
    assert hidden_lines, "PS4 has hidden tests"
    for student in ("ada", "ben", "cleo", "dev", "eve", "fay"):
        page = (course.feedback("ps4_mlp", student) / "ps4_mlp.html").read_text()
        assert "Part 1: a linear layer (12 points)" in page
        assert not [line for line in hidden_lines if line in page]
