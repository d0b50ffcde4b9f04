"""The instructor's mistakes and the paths around the happy one (issue 17).

A tiny course with a written answer graded by hand is released and two students are
graded once with ``course autograde --unsafe`` (module fixture): ada answers right, ben
gets part 1 wrong (the hidden test fails). Each test then drives one path: nbgrader's own
feedback, a written answer before and after hand grading, a student removed, a
collect gone wrong, a resubmission, and checks the message and that nothing is lost.
"""

import csv
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import grading_fixtures as fx
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output
from nbgrader.api import Gradebook

from course_lib.cli import main
from course_lib.grading import collect, feedback, safe_feedback, student_view
from course_lib.grading.course import Course, CourseError

pytestmark = pytest.mark.slow

ANSWER_ID = "explain"
HIDDEN_CODE = "square(np.array([-2.0, 5.0]))"  # in the hidden test's source only
HIDDEN_MESSAGE = "square(…) should be …"  # the hidden test's message, its numbers hidden
VENV_BIN = Path(sys.executable).parent


def source_notebook():
    """The tiny assignment plus a written answer worth 2 points, graded by hand."""
    nb = fx.source_notebook()
    meta = {"nbgrader": {"grade_id": ANSWER_ID, "grade": True, "solution": True,
                         "locked": False, "points": 2, "schema_version": 3}}
    nb.cells += [new_markdown_cell("## Part 3: in words (2 points)\n\nWhy does it work?"),
                 new_markdown_cell("YOUR ANSWER HERE", metadata=meta)]
    return nb


def course_cli(root, *args):
    return main(["--quiet", "--root", str(root), *args])


def submission(release, answers, text="Because the square is x times x."):
    nb = fx.answer(release, answers)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == ANSWER_ID:
            cell.source = text
    return nb


def write_student(folder, nb, name=fx.ASSIGNMENT):
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A released, collected and autograded course: ada (all right) and ben (part 1 wrong)."""
    base = tmp_path_factory.mktemp("workflow")
    root = fx.make_course(base / "course")
    nbformat.write(source_notebook(), root / "solutions" / fx.ASSIGNMENT / "tiny.ipynb")
    assert course_cli(root, "release", fx.ASSIGNMENT) == 0
    course = Course(root)
    release = nbformat.read(course.release(fx.ASSIGNMENT) / "tiny.ipynb", as_version=4)
    write_student(base / "in" / "ada", submission(release, fx.GOOD))
    write_student(base / "in" / "ben", submission(release, fx.WRONG))
    assert course_cli(root, "collect", fx.ASSIGNMENT, str(base / "in")) == 0
    assert course_cli(root, "autograde", fx.ASSIGNMENT, "--unsafe", "--workers", "1") == 0
    saved = base / "saved"
    shutil.copytree(root, saved)
    return course, release, saved


@pytest.fixture
def course(graded, tmp_path):
    """A fresh copy of the graded course, for a test that changes it."""
    _, release, saved = graded
    root = tmp_path / "course"
    shutil.copytree(saved, root)
    return Course(root)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    return [dict(zip(header, row, strict=True)) for row in rows]


def hand_grade(course, student, score, comment):
    """What the formgrader does when a grader scores the written answer and comments."""
    with Gradebook(course.db_url) as gb:
        grade = gb.find_grade(ANSWER_ID, fx.ASSIGNMENT, fx.ASSIGNMENT, student)
        grade.manual_score = score
        grade.needs_manual_grade = False
        gb.find_comment(ANSWER_ID, fx.ASSIGNMENT, fx.ASSIGNMENT, student).manual_comment = \
            comment
        gb.db.commit()


def run_nbgrader(course, *args):
    result = subprocess.run([str(VENV_BIN / "nbgrader"), *args], cwd=course.root,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


# --- 1. every feedback path is safe -----------------------------------------------------


def test_autograded_notebook_holds_the_hidden_test(course):
    """The premise: what nbgrader's feedback renders does contain the hidden test."""
    graded = (course.autograded(fx.ASSIGNMENT, "ben") / "tiny.ipynb").read_text()
    assert HIDDEN_CODE in graded


def test_nbgrader_generate_feedback_shows_no_hidden_test_nor_traceback(course):
    run_nbgrader(course, "generate_feedback", fx.ASSIGNMENT, "--force")
    for student in ("ada", "ben"):
        page = (course.feedback(fx.ASSIGNMENT, student) / "tiny.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in page and HIDDEN_CODE not in page
        assert "most recent call last" not in page
        assert "square works on arrays and scalars" in page  # the released test is shown
    assert HIDDEN_MESSAGE in (course.feedback(fx.ASSIGNMENT, "ben") / "tiny.html").read_text()


def test_hide_tests_gives_released_sources_and_bare_errors():
    graded = source_notebook()
    hidden = next(c for c in graded.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "test_square_hidden")
    hidden.outputs = [
        new_output("stream", name="stdout", text="expected [4, 25]"),
        new_output("error", ename="AssertionError", evalue=HIDDEN_MESSAGE,
                   traceback=["Traceback (most recent call last):", f"  {HIDDEN_CODE}"])]
    graded.cells.append(new_code_cell("assert False", metadata={"nbgrader": {
        "grade_id": "not_released", "grade": True, "solution": False, "points": 1}}))
    release = source_notebook()
    hidden_release = next(c for c in release.cells if c.metadata.get("nbgrader", {})
                          .get("grade_id") == "test_square_hidden")
    hidden_release.source = '"""square of negative numbers"""'
    safe = safe_feedback.hide_tests(graded, safe_feedback.released_sources(release))
    text = nbformat.writes(safe)
    assert HIDDEN_CODE not in text and "expected [4, 25]" not in text
    assert "most recent call last" not in text
    assert hidden.outputs[0]["traceback"] == [f"AssertionError: {HIDDEN_MESSAGE}"]
    assert hidden.source == '"""square of negative numbers"""'
    assert graded.cells[-1].source == safe_feedback.PLACEHOLDER


def test_nbgrader_feedback_drops_what_cells_print_after_a_hidden_test():
    """A student's function sees the hidden test's inputs; a later answer cell that
    prints what it kept must not carry them into nbgrader's feedback page."""
    graded, release = source_notebook(), source_notebook()
    hidden_at = next(i for i, c in enumerate(graded.cells) if c.metadata.get("nbgrader", {})
                     .get("grade_id") == "test_square_hidden")
    next(c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id")
         == "test_square_hidden").source = '"""square of negative numbers"""'
    before = new_code_cell("print(1)", outputs=[new_output("stream", name="stdout",
                                                              text="seen before\n")])
    after = new_code_cell("print(kept)", outputs=[new_output("stream", name="stdout",
                                                               text="LEAKED [-2.0, 5.0]\n")])
    graded.cells.insert(hidden_at + 1, after)
    graded.cells.insert(hidden_at, before)
    text = nbformat.writes(safe_feedback.hide_tests(graded,
                                                    safe_feedback.released_sources(release)))
    assert "LEAKED" not in text and "seen before" in text
    assert "ran after hidden tests" in text


def test_course_feedback_and_nbgrader_feedback_replace_each_other_safely(course, capsys):
    run_nbgrader(course, "generate_feedback", fx.ASSIGNMENT, "--force")
    assert course_cli(course.root, "feedback", fx.ASSIGNMENT) == 0
    assert "replaced 2 pages written by nbgrader's generate_feedback" in capsys.readouterr().out
    page = (course.feedback(fx.ASSIGNMENT, "ben") / "tiny.html").read_text()
    assert feedback.GENERATOR in page and HIDDEN_CODE not in page
    assert course_cli(course.root, "feedback", fx.ASSIGNMENT) == 0
    assert "replaced" not in capsys.readouterr().out


# --- 4. a written answer is "not graded yet" until a person grades it ----------------


def test_ungraded_written_answer_is_blank_in_the_csv_and_counted(course, capsys):
    assert course_cli(course.root, "grades", fx.ASSIGNMENT, "-o",
                      str(course.root / "grades.csv")) == 0
    out = capsys.readouterr().out
    assert "4 / 6, 2 not graded yet" in out  # ada: every test passed
    rows = {r["student"]: r for r in read_csv(course.root / "grades.csv")}
    assert rows["ada"]["not_graded_yet"] == "2" and rows["ada"]["Part 3: in words (2 points)"] == ""
    assert rows["ada"]["score"] == "4" and rows["ben"]["score"] == "2"


def test_ungraded_written_answer_in_the_feedback(course):
    assert course_cli(course.root, "feedback", fx.ASSIGNMENT) == 0
    page = (course.feedback(fx.ASSIGNMENT, "ada") / "tiny.html").read_text()
    assert '<h2 class="pending">Part 3: in words (2 points): not graded yet (2 points)' in page
    assert '<td class="pending">not graded yet</td>' in page
    assert "2 points of written answers not graded yet" in page
    assert "0 / 2" not in page


def test_hand_grade_and_comment_reach_the_csv_and_the_feedback(course):
    hand_grade(course, "ada", 1.5, "Right idea; say why <x*x> is even.")
    assert course_cli(course.root, "grades", fx.ASSIGNMENT, "-o",
                      str(course.root / "grades.csv")) == 0
    ada = {r["student"]: r for r in read_csv(course.root / "grades.csv")}["ada"]
    assert ada["Part 3: in words (2 points)"] == "1.5" and ada["not_graded_yet"] == "0"
    assert ada["score"] == "5.5"
    assert course_cli(course.root, "feedback", fx.ASSIGNMENT) == 0
    page = (course.feedback(fx.ASSIGNMENT, "ada") / "tiny.html").read_text()
    assert "1.5 / 2" in page and "not graded yet" not in page
    assert "Comment: Right idea; say why &lt;x*x&gt; is even." in page


# --- 5. the student reads what they can act on -----------------------------------------


@pytest.mark.parametrize("status, problems, shown, hidden", [
    ("flagged", ["suspicious code, please review: uses IPython's events"], [],
     ["suspicious", "flagged", "review"]),
    ("unreadable", ["tiny.ipynb is not valid JSON (line 597: Expecting ',' delimiter)"],
     ["Your file was cut off", "please resubmit"], ["JSON", "597"]),
    ("grader error", ["nbgrader failed: RuntimeError: boom", "grading stopped after 300 s"],
     ["not because of your work"], ["nbgrader", "RuntimeError", "300 s"]),
    ("kernel died, flagged", ["the kernel died in cell 4 (square)",
                              "suspicious code, please review: rebinds np"],
     ["crashed", "the kernel died in cell 4 (square)"], ["suspicious", "rebinds"]),
    ("repaired", ["PS4 final.ipynb is wrongly named: graded as tiny.ipynb"],
     ["wrongly named"], []),
])
def test_student_notes_keep_what_the_student_can_act_on(status, problems, shown, hidden):
    text = " ".join(student_view.notes(status, problems))
    page = feedback.render("ada", fx.ASSIGNMENT, source_notebook(), None, {}, "0 / 6",
                           status, problems)
    for phrase in shown:
        assert phrase in text and phrase in page
    for phrase in hidden:
        assert phrase not in text and phrase not in page


# --- 3. a student removed, or to remove -----------------------------------------------


def test_grades_and_feedback_report_a_student_removed_from_the_gradebook(course, capsys):
    run_nbgrader(course, "db", "student", "remove", "ben", "--force")
    assert course_cli(course.root, "grades", fx.ASSIGNMENT, "-o",
                      str(course.root / "grades.csv")) == 0
    assert course_cli(course.root, "feedback", fx.ASSIGNMENT) == 0
    out = capsys.readouterr().out
    assert out.count("left out, not in the gradebook: ben") == 2
    assert "course remove-student NAME" in out
    assert [r["student"] for r in read_csv(course.root / "grades.csv")] == ["ada"]


def test_remove_student_keeps_everything_and_leaves_the_reports(course, capsys):
    submitted = fx.file_digests(course.student_folder("ben"))
    assert course_cli(course.root, "remove-student", "ben") == 0
    out = capsys.readouterr().out
    assert "removed from gradebook.db" in out and "moved submitted/ben/" in out
    [kept] = (course.root / "submitted" / ".removed").iterdir()
    assert fx.file_digests(kept / "submitted") == submitted
    assert (kept / "autograded" / fx.ASSIGNMENT / "tiny.ipynb").is_file()
    assert json.loads((kept / "status.json").read_text())["tiny.status.json"]["score"] == 2
    saved = json.loads((kept / "gradebook.json").read_text())
    assert {g["name"] for g in saved[fx.ASSIGNMENT][fx.ASSIGNMENT]["grades"]} >= {ANSWER_ID}
    assert course.students(fx.ASSIGNMENT) == ["ada"]
    assert course_cli(course.root, "grades", fx.ASSIGNMENT, "-o",
                      str(course.root / "grades.csv")) == 0
    assert "ben" not in capsys.readouterr().out
    with Gradebook(course.db_url) as gb:
        assert [s.id for s in gb.students] == ["ada"]


def test_remove_student_of_an_unknown_student_says_so(course, capsys):
    assert course_cli(course.root, "remove-student", "zoe") == 2
    assert "no student 'zoe' in this course: nothing removed" in capsys.readouterr().err
    assert not (course.root / "submitted" / ".removed").exists()


# --- 2. collect: wrong inputs refused or explained, nothing lost -------------------------


def tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*"))
            if p.is_file()}


def test_collect_refuses_an_assignment_not_in_solutions(course, tmp_path, capsys):
    before = tree(course.root)
    assert course_cli(course.root, "collect", "ps4", str(tmp_path)) == 2
    assert "no assignment 'ps4' in solutions/ (there is: tiny)" in capsys.readouterr().err
    assert tree(course.root) == before


def test_collect_of_the_folder_above_the_class_collects_nobody(course, graded, tmp_path,
                                                                  capsys):
    _, release, _ = graded
    write_student(tmp_path / "examples" / "tiny" / "cleo", submission(release, fx.GOOD))
    before = tree(course.root)
    assert course_cli(course.root, "collect", fx.ASSIGNMENT, str(tmp_path / "examples")) == 2
    err = capsys.readouterr().err
    assert "no submission found in" in err and "tiny/: holds folders of notebooks" in err
    assert f"pass {tmp_path / 'examples' / 'tiny'}" in err
    assert tree(course.root) == before


def test_collect_ignores_and_lists_files_that_are_not_notebooks(course, graded, tmp_path,
                                                                 capsys):
    _, release, _ = graded
    write_student(tmp_path / "in" / "cleo", submission(release, fx.GOOD))
    (tmp_path / "in" / "cleo" / "notes.pdf").write_bytes(b"%PDF")
    (tmp_path / "in" / "dan").mkdir()
    (tmp_path / "in" / "dan" / "essay.pdf").write_bytes(b"%PDF")
    (tmp_path / "in" / "readme.txt").write_text("hi")
    assert course_cli(course.root, "collect", fx.ASSIGNMENT, str(tmp_path / "in")) == 0
    out = capsys.readouterr().out
    assert "ignored cleo/notes.pdf: not a notebook" in out
    assert "ignored dan/: no notebook in it" in out
    assert "ignored readme.txt: a file outside any student's folder" in out
    assert sorted(p.name for p in course.submitted(fx.ASSIGNMENT, "cleo").iterdir()) == \
        ["tiny.ipynb"]
    assert not course.student_folder("dan").exists()


def test_collect_an_unzipped_lms_folder_keeps_the_late_marker(course, graded, tmp_path,
                                                              capsys):
    _, release, _ = graded
    flat = tmp_path / "canvas"
    flat.mkdir()
    nbformat.write(submission(release, fx.GOOD), flat / "cleo_late_1234_5678_tiny.ipynb")
    nbformat.write(submission(release, fx.WRONG), flat / "dan_1234_5678_tiny.ipynb")
    assert course_cli(course.root, "collect", fx.ASSIGNMENT, str(flat)) == 0
    assert "collected 2 students" in capsys.readouterr().out
    assert collect.late_students(course, fx.ASSIGNMENT) == {"cleo"}
    assert course_cli(course.root, "autograde", fx.ASSIGNMENT, "--unsafe", "--workers", "1",
                      "--student", "cleo", "--student", "dan") == 0
    assert course_cli(course.root, "grades", fx.ASSIGNMENT, "-o",
                      str(course.root / "grades.csv")) == 0
    rows = {r["student"]: r for r in read_csv(course.root / "grades.csv")}
    assert rows["cleo"]["late"] == "late" and rows["dan"]["late"] == ""


def test_collect_again_keeps_the_previous_submission_and_asks_for_regrading(
        course, graded, tmp_path, capsys):
    _, release, _ = graded
    before = fx.file_digests(course.submitted(fx.ASSIGNMENT, "ben"))
    write_student(tmp_path / "again" / "ben", submission(release, fx.GOOD))
    shutil.copytree(course.submitted(fx.ASSIGNMENT, "ada"), tmp_path / "again" / "ada")
    assert course_cli(course.root, "collect", fx.ASSIGNMENT, str(tmp_path / "again")) == 0
    out = capsys.readouterr().out
    assert "unchanged" in out and "replaced (previous kept in submitted/ben/.history/tiny/" in out
    [kept] = (course.student_folder("ben") / ".history" / fx.ASSIGNMENT).iterdir()
    assert fx.file_digests(kept) == before
    assert set(collect.needs_regrading(course, fx.ASSIGNMENT)) == {"ben"}
    assert course_cli(course.root, "grades", fx.ASSIGNMENT, "-o",
                      str(course.root / "grades.csv")) == 0
    assert "ok, needs regrading" in capsys.readouterr().out
    assert course_cli(course.root, "feedback", fx.ASSIGNMENT) == 0
    page = (course.feedback(fx.ASSIGNMENT, "ben") / "tiny.html").read_text()
    assert "You handed in a new version after this was graded" in page
    assert course_cli(course.root, "autograde", fx.ASSIGNMENT, "--unsafe", "--workers", "1",
                      "--student", "ben") == 0
    assert collect.needs_regrading(course, fx.ASSIGNMENT) == {}
    capsys.readouterr()
    assert course_cli(course.root, "grades", fx.ASSIGNMENT, "-o", str(course.root / "g.csv")) == 0
    assert "needs regrading" not in capsys.readouterr().out


def test_collect_of_a_missing_path_says_so(course, tmp_path, capsys):
    assert course_cli(course.root, "collect", fx.ASSIGNMENT, str(tmp_path / "nope.zip")) == 2
    assert "nope.zip does not exist" in capsys.readouterr().err


def test_collect_of_a_damaged_zip_says_so_and_writes_nothing(course, graded, tmp_path, capsys):
    _, release, _ = graded
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zoe/tiny.ipynb", nbformat.writes(submission(release, fx.GOOD)))
    data = bytearray(archive.read_bytes())
    data[60:70] = b"\xff" * 10  # inside the member's compressed data
    archive.write_bytes(bytes(data))
    cut = tmp_path / "cut.zip"
    cut.write_bytes(archive.read_bytes()[:40])
    before = tree(course.root)
    assert course_cli(course.root, "collect", fx.ASSIGNMENT, str(archive)) == 2
    assert "class.zip is damaged" in capsys.readouterr().err
    assert course_cli(course.root, "collect", fx.ASSIGNMENT, str(cut)) == 2
    assert "cut.zip is not a zip file (damaged" in capsys.readouterr().err
    assert tree(course.root) == before


def test_collect_of_an_empty_class_says_so(course, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert course_cli(course.root, "collect", fx.ASSIGNMENT, str(tmp_path / "empty")) == 2
    assert "no submission found in" in capsys.readouterr().err


def test_collect_with_no_gradebook_yet_still_works(tmp_path, graded):
    """Collect needs solutions/ only (the release may come later)."""
    _, release, _ = graded
    root = fx.make_course(tmp_path / "fresh")
    write_student(tmp_path / "in" / "ada", submission(release, fx.GOOD))
    assert collect.collect(Course(root), fx.ASSIGNMENT, tmp_path / "in") == ["ada"]


# --- 7. grades -o refuses to overwrite; --help states defaults ---------------------------


def test_grades_refuses_to_overwrite_without_force(course, capsys):
    out = course.root / "grades.csv"
    out.write_text("my own notes\n")
    assert course_cli(course.root, "grades", fx.ASSIGNMENT, "-o", str(out)) == 2
    assert "grades.csv exists: pass --force to replace it" in capsys.readouterr().err
    assert out.read_text() == "my own notes\n"
    assert course_cli(course.root, "grades", fx.ASSIGNMENT, "-o", str(out), "--force") == 0
    assert out.read_text().startswith("student,score,max_score,not_graded_yet,")


@pytest.mark.parametrize("command, phrases", [
    ("grades", ["default: grades.csv", "--force", "default: refuse"]),
    ("autograde", ["default: 60", "default: 2048", "default: 2", "autograded/"]),
    ("collect", ["submitted/<student>/ASSIGNMENT/", ".history"]),
    ("feedback", ["feedback/<student>/ASSIGNMENT/"]),
    ("remove-student", ["submitted/.removed/"]),
    ("demo", ["temporary copy, deleted at the end unless --keep"]),
])
def test_help_states_defaults_and_outputs(command, phrases, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for phrase in phrases:
        assert phrase in text


def test_feedback_and_grades_before_autograde_say_what_to_run(tmp_path, capsys):
    root = fx.make_course(tmp_path / "course")
    assert course_cli(root, "grades", fx.ASSIGNMENT) == 2
    assert "run `course autograde tiny` first" in capsys.readouterr().err
    with pytest.raises(CourseError, match="no autograde results"):
        feedback.write_feedback(Course(root), fx.ASSIGNMENT, progress=False)
