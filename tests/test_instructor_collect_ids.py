"""Hostile student ids at ``course collect``: refused by name, nothing written anywhere.

Each input (a folder of student folders, a zip of one, an LMS zip) carries ids or
member paths a student could choose; the collect must refuse the whole input before
writing anything, and say which names and why, escaped for the terminal.
"""

import hashlib
import os
import tempfile
import unicodedata
import zipfile
from pathlib import Path

import grading_fixtures as fx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.cli import main
from course_lib.grading import collect
from course_lib.grading.course import Course, CourseError, student_id_problem
from course_lib.grading.escape import for_terminal

NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n'
UNSAFE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def tree(folder):
    """``{relative path: digest or "dir"}`` of everything under ``folder``."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            found[os.path.relpath(os.path.join(root, name), folder)] = "dir"
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return found


def assert_refused(tmp_path, capsys, source, *expected):
    """``course collect`` of ``source`` exits 2, names each of ``expected``, writes nothing."""
    root = tmp_path / "course"
    before = tree(tmp_path)
    assert main(["--quiet", "--root", str(root), "collect", fx.ASSIGNMENT, str(source)]) == 2
    assert tree(tmp_path) == before
    err = capsys.readouterr().err
    assert err.startswith("course: nothing collected from")
    assert "a student id is a non-empty name" in err
    for text in expected:
        assert text in err
    assert not [c for c in err if unicodedata.category(c) in UNSAFE and c != "\n"]
    return err


@pytest.fixture
def class_dir(tmp_path):
    """A course at tmp_path/course and an input folder tmp_path/in with student ``good``."""
    fx.make_course(tmp_path / "course")
    (tmp_path / "in" / "good").mkdir(parents=True)
    (tmp_path / "in" / "good" / "tiny.ipynb").write_bytes(NOTEBOOK)
    return tmp_path / "in"


@pytest.mark.parametrize("name, problem", [
    ("\x1b[2J\x1b[H", "control"), ("a\\b", "path separator"), ("a\nb", "control"),
    ("ali\u202eecnirp", "invisible"), ("a\u200bb", "invisible"), ("\x7f", "control"),
    ("\U000e0041x", "invisible"),
    # nbgrader's formgrader writes ids into its pages unescaped (found by a hostile review)
    ("<img src=x onerror=alert(document.domain)>", "HTML"), ("a&b", "HTML"),
    ('x"y', "HTML"),
    # the class report's files sit beside the students' folders in autograded/
    ("tiny.status.json", "class report"), ("ps4_mlp.status.partial", "class report"),
    ("tiny.status.journal", "class report")])
def test_a_hostile_folder_name_refuses_the_whole_collect(tmp_path, capsys, class_dir, name,
                                                         problem):
    (class_dir / name).mkdir()
    (class_dir / name / "tiny.ipynb").write_bytes(NOTEBOOK)
    assert_refused(tmp_path, capsys, class_dir, f"student folder '{for_terminal(name)}'",
                   problem)


def test_an_undecodable_folder_name_is_refused_by_name(tmp_path, capsys, class_dir):
    os.mkdir(os.fsencode(class_dir) + b"/b\xffd")
    assert_refused(tmp_path, capsys, class_dir, "'b\\udcffd': not valid UTF-8")


def test_every_bad_name_is_listed(tmp_path, capsys, class_dir):
    for name in ("\x07bell", "x\u2028y"):
        (class_dir / name).mkdir()
    err = assert_refused(tmp_path, capsys, class_dir, "'\\x07bell'", "'x\\u2028y'")
    assert "'good'" not in err


def zip_of(path, members):
    """A zip at ``path`` holding ``NOTEBOOK`` under each member name (taken as is)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name in members:
            zf.writestr(zipfile.ZipInfo(name), NOTEBOOK)
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == list(members)
    return path


@pytest.mark.parametrize("members, shown", [
    (["good/tiny.ipynb", "../../evil/x.ipynb"], "'../../evil/x.ipynb': a path going up"),
    (["good/tiny.ipynb", "sub/../../x/tiny.ipynb"], "a path going up"),
    (["good/tiny.ipynb", "/tmp/course-evil/tiny.ipynb"], "an absolute path"),
    (["good/tiny.ipynb", "..\\..\\evil/tiny.ipynb"], "backslash"),
    (["good/tiny.ipynb", "\x1b[2J/tiny.ipynb"], "student folder '\\x1b[2J'"),
    (["sub/good/tiny.ipynb", "sub/a\u202eb/tiny.ipynb"], "student folder 'a\\u202eb'"),
])
def test_a_zip_of_student_folders_with_a_hostile_member(tmp_path, capsys, class_dir,
                                                        members, shown):
    archive = zip_of(tmp_path / "in.zip", members)
    assert_refused(tmp_path, capsys, archive, shown)
    assert not Path("/tmp/course-evil").exists()


@pytest.mark.parametrize("members, shown", [
    (["alice_1234_tiny.ipynb", "_1234_tiny.ipynb"], "'_1234_tiny.ipynb': names no student"),
    (["alice_1234_tiny.ipynb", "tiny.ipynb"], "'tiny.ipynb': names no student"),
    (["alice_1234_tiny.ipynb", "x/.._1_tiny.ipynb"], "student id '..': a path step"),
    (["alice_1234_tiny.ipynb", "._tiny.ipynb"], "student id '.': a path step"),
    (["alice_tiny.ipynb", "\x1b]52;c;eA==\x07_1_tiny.ipynb"], "'\\x1b]52;c;eA==\\x07'"),
    (["alice_tiny.ipynb", "a\\b_1_tiny.ipynb"], "backslash"),
    (["alice_tiny.ipynb", "../../evil/bob_1_tiny.ipynb"], "a path going up"),
    (["alice_tiny.ipynb", "bob\u200b_tiny.ipynb"], "student id 'bob\\u200b'"),
])
def test_an_lms_zip_with_a_hostile_name(tmp_path, capsys, class_dir, members, shown):
    archive = zip_of(tmp_path / "lms.zip", members)
    assert_refused(tmp_path, capsys, archive, shown)


def test_a_zip_member_flagged_utf8_that_is_not(tmp_path, capsys, class_dir):
    archive = zip_of(tmp_path / "lms.zip", ["alice_tiny.ipynb", "b\u00e9b_tiny.ipynb"])
    data = archive.read_bytes().replace("\u00e9".encode(), b"\xff\xfe")
    archive.write_bytes(data)
    assert_refused(tmp_path, capsys, archive, "'b\\udcff\\udcfeb_tiny.ipynb': not valid UTF-8")


def test_a_submitted_folder_leading_elsewhere_is_not_written_through(tmp_path, capsys,
                                                                     class_dir):
    (tmp_path / "elsewhere" / "tiny").mkdir(parents=True)
    (tmp_path / "elsewhere" / "tiny" / "keep.txt").write_text("instructor's file")
    (tmp_path / "course" / "submitted").mkdir()
    (tmp_path / "course" / "submitted" / "good").symlink_to(tmp_path / "elsewhere")
    assert_refused(tmp_path, capsys, class_dir, "student 'good': submitted/good leads outside")


def test_collect_table_shows_hostile_file_names_escaped(tmp_path, capsys, class_dir):
    os.close(os.open(os.fsencode(class_dir / "good") + b"/\xff.txt", os.O_CREAT | os.O_WRONLY))
    (class_dir / "good" / "\x1b]52;c;cm0gLXJm\x07\u202e.ipynb").write_bytes(NOTEBOOK)
    assert main(["--quiet", "--root", str(tmp_path / "course"), "collect", fx.ASSIGNMENT,
                 str(class_dir)]) == 0
    out = capsys.readouterr().out
    assert "\\x1b]52;c;cm0gLXJm\\x07\\u202e.ipynb" in out and "\\udcff.txt" in out
    assert not [c for c in out if unicodedata.category(c) in UNSAFE and c != "\n"]


def test_students_skips_and_lists_invalid_folders_put_there_by_hand(tmp_path):
    course = Course(fx.make_course(tmp_path / "course"))
    submitted = os.fsencode(course.submitted(fx.ASSIGNMENT))
    names = [b"ada", b"\x1b[2J", b"b\xffd", b"a\\b", b"al\xe2\x80\xaeice", b"Jos\xc3\xa9", b"..."]
    for name in names:
        os.makedirs(submitted + b"/" + name + b"/" + fx.ASSIGNMENT.encode())
    os.makedirs(submitted + b"/notes")  # no assignment folder: not a submission
    assert course.students(fx.ASSIGNMENT) == ["...", "Jos\u00e9", "ada"]
    assert dict(course.invalid_student_folders(fx.ASSIGNMENT)) == {
        "\x1b[2J": "holds a control or invisible character", "b\udcffd": "not valid UTF-8",
        "a\\b": "holds a path separator", "al\u202eice": "holds a control or invisible character"}


@given(st.text(st.one_of(st.characters(exclude_categories=()),
                         st.sampled_from(["/", "\\", ".", "\x00", "\x1b", "\u202e"]))))
def test_a_valid_id_is_one_step_inside_submitted(student):
    course = Course("/nonexistent/course")
    base = course.submitted(fx.ASSIGNMENT)
    if student_id_problem(student):
        for folder in (course.submitted, course.autograded, course.feedback):
            with pytest.raises(CourseError, match="refused student id"):
                folder(fx.ASSIGNMENT, student)
    else:
        path = course.submitted(fx.ASSIGNMENT, student)
        assert path.parent.name == student and path.parent.parent == base
        assert os.path.normpath(path) == str(path)
        assert not [c for c in student if unicodedata.category(c) in UNSAFE]
        student.encode("utf-8")


PIECES = ["..", ".", "good", "bob", "", "a\\b", "\x1b[2J", "/", "tiny.ipynb", "tiny"]


@pytest.mark.filterwarnings("ignore:Duplicate name")
@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), min_size=1, max_size=4), min_size=1,
                max_size=4))
def test_a_zip_of_folders_never_writes_outside_submitted(members):
    """Any nested zip either is refused with nothing written, or fills submitted/ only."""
    names = [f"{'/'.join(parts)}/tiny.ipynb" for parts in members]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        course = Course(fx.make_course(tmp / "course"))
        archive = tmp / "in.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for name in names:
                zf.writestr(zipfile.ZipInfo(name), NOTEBOOK)
        before = tree(tmp)
        try:
            students = collect.collect(course, fx.ASSIGNMENT, archive)
        except CourseError:
            assert tree(tmp) == before
            return
        after = {k: v for k, v in tree(tmp).items() if not k.startswith("course/submitted")}
        assert after == before
        assert all(not student_id_problem(s) for s in students)
        submitted = course.submitted(fx.ASSIGNMENT)
        assert set(os.listdir(submitted) if students else []) == set(students)


@pytest.mark.slow
def test_an_lms_zip_with_unusual_but_valid_ids_fills_submitted_only(tmp_path, class_dir):
    ids = ["Jos\u00e9", "=1+2", "a.b@c+d", "..."]
    archive = zip_of(tmp_path / "lms.zip", [f"{s}_1234_tiny.ipynb" for s in ids])
    course = Course(tmp_path / "course")
    before = tree(tmp_path)
    assert collect.collect(course, fx.ASSIGNMENT, archive) == sorted(ids)
    after = tree(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("course/submitted")} == before
    for s in ids:
        assert (course.submitted(fx.ASSIGNMENT, s) / "tiny.ipynb").read_bytes() == NOTEBOOK


def test_a_linked_folder_is_not_followed(tmp_path, capsys, class_dir):
    """Found by a hostile review: a student folder, or a student's assignment folder, that
    is a link (in an unpacked upload or a shared folder) once brought in whatever it
    pointed at: the instructor's solutions, a private folder, another student's work."""
    private = tmp_path / "private"
    private.mkdir()
    (private / "tiny.ipynb").write_bytes(NOTEBOOK)
    (class_dir / "trudy").symlink_to(private)
    (class_dir / "copycat").symlink_to(class_dir / "good")
    (class_dir / "mallory").mkdir()
    (class_dir / "mallory" / "tiny").symlink_to(private)
    root = tmp_path / "course"
    assert main(["--quiet", "--root", str(root), "collect", fx.ASSIGNMENT, str(class_dir)]) == 0
    course = Course(root)
    assert course.students(fx.ASSIGNMENT) == ["good"]
    out = capsys.readouterr()
    assert "trudy" in out.out + out.err and "links are not followed" in out.out + out.err
