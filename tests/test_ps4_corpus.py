"""PS4 graded as courses grade it, on answers written the ways real students write them.

Every correct variant of tests/ps4_corpus.py keeps every autograded point; every bug
variant loses exactly the tests it breaks, and its own part's test says what is wrong. A
student whose one early shape error breaks later parts is told that error in each of them.
Expected points come from the released notebook's metadata.
"""

import shutil

import grading_fixtures as fx
import nbformat
import ps4_corpus as corpus
import pytest
from nbgrader.utils import is_grade, is_solution

from course_lib.cli import main
from course_lib.grading import worker
from course_lib.grading.course import Course

pytestmark = pytest.mark.slow
REPO = fx.REPO
SANDBOX = [] if worker.sandbox_status()[0] else ["--unsafe"]


def points_of_tests(release):
    """``{grade_id: points}`` of the autograded (test) cells."""
    return {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"]
            for c in release.cells if is_grade(c) and not is_solution(c)}


def errors(graded):
    """``{grade_id: "ename: evalue"}`` of the failed test cells of a graded notebook."""
    return {c.metadata.nbgrader["grade_id"]: f"{o.ename}: {o.evalue}"
            for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id")
            for o in c.get("outputs", []) if o.output_type == "error"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    source = nbformat.read(REPO / "solutions/ps4_mlp/ps4_mlp.ipynb", as_version=4)
    release = nbformat.read(REPO / "assignments/ps4_mlp/ps4_mlp.ipynb", as_version=4)
    root = tmp_path_factory.mktemp("corpus") / "course"
    root.mkdir()
    shutil.copyfile(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions/ps4_mlp", root / "solutions/ps4_mlp")
    solved = fx.ps4_answers(source)
    students = {**{f"ok-{n}": v for n, v in corpus.CORRECT.items()},
                **{f"bug-{n.replace('/', '')}": b["answers"] for n, b in corpus.BUGS.items()},
                "early-shape-error": corpus.EARLY_SHAPE_ERROR, "no-work": corpus.NO_WORK}
    inbox = root.parent / "in"
    for student, answers in students.items():
        (inbox / student).mkdir(parents=True)
        nbformat.write(fx.answer(release, {**solved, **answers}),
                       inbox / student / "ps4_mlp.ipynb")
    args = ["--quiet", "--root", str(root)]
    assert main([*args, "release", "ps4_mlp"]) == 0
    assert main([*args, "collect", "ps4_mlp", str(inbox)]) == 0
    assert main([*args, "autograde", "ps4_mlp", *SANDBOX, "--workers", "2"]) == 0
    assert main([*args, "feedback", "ps4_mlp"]) == 0
    course = Course(root)
    notebooks = {s: nbformat.read(course.autograded("ps4_mlp", s) / "ps4_mlp.ipynb",
                                  as_version=4) for s in students}
    return course, release, notebooks


@pytest.mark.parametrize("variant", sorted(corpus.CORRECT))
def test_correct_code_keeps_every_point(graded, variant):
    course, release, notebooks = graded
    status = course.load_status("ps4_mlp")[f"ok-{variant}"]
    assert errors(notebooks[f"ok-{variant}"]) == {}
    assert status["score"] == sum(points_of_tests(release).values())


@pytest.mark.parametrize("bug", sorted(corpus.BUGS))
def test_a_bug_loses_exactly_the_tests_it_breaks_and_says_why(graded, bug):
    course, release, notebooks = graded
    student = f"bug-{bug.replace('/', '')}"
    expected = corpus.BUGS[bug]
    failed = errors(notebooks[student])
    assert set(failed) == expected["fails"], failed
    assert any(expected["message"] in text for text in failed.values()), failed
    points = points_of_tests(release)
    status = course.load_status("ps4_mlp")[student]
    assert status["score"] == sum(points.values()) - sum(points[g] for g in expected["fails"])


def test_an_early_shape_error_is_named_in_every_part_it_breaks(graded):
    """The shape error itself is named; each later part it breaks says that a cell before
    it raised and where to see what (after hidden tests, not the exception's type: that
    choice would be bits the student's code could spend on a hidden input)."""
    course, _, notebooks = graded
    failed = errors(notebooks["early-shape-error"])
    assert "shape mismatch" in failed["test_linear_backward"]
    later = ("test_own_gradient_checks_pass", "test_two_layer_gradient_check",
             "test_spirals_accuracy", "test_digits_accuracy")
    said = "a cell after the hidden tests raised an exception"
    for grade_id in later:
        assert said in failed[grade_id], failed[grade_id]
        assert "run the cell in your notebook" in failed[grade_id]
    page = (course.feedback("ps4_mlp", "early-shape-error") / "ps4_mlp.html").read_text()
    assert page.count(said) >= len(later)


def test_forged_gradient_checks_earn_nothing(graded):
    _, _, notebooks = graded
    failed = errors(notebooks["no-work"])
    assert corpus.GRADIENT_CHECK_TESTS <= set(failed), failed
