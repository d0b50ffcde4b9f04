"""What students write reaches the instructor's terminal, grades.csv and feedback escaped.

Property tests run the escaping functions on any text (surrogates, controls, bidi and
format characters included); the table, the CSV and the feedback pages are then fed
hostile ids, file names and error messages and read back.
"""

import csv
import json
import math
import os
import sys
import unicodedata
from pathlib import Path

import grading_fixtures as fx
import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_output

from course_lib.cli import main
from course_lib.grading import gradebook, grades, status_report
from course_lib.grading.course import Course, CourseError
from course_lib.grading.escape import for_csv, for_html, for_terminal
from course_lib.grading.feedback import render, write_feedback
from course_lib.grading.report import format_table

UNSAFE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
# some of each kind, so that every example is likely to hold a few
NASTY = ["\x1b", "\x07", "\x08", "\r", "\n", "\t", "\x00", "\x7f", "\x85", "\x9b", "\u200b",
         "\u200d", "\u202e", "\u2066", "\u2028", "\u2029", "\ufeff", "\udc80", "\udcff",
         "\ud800", "\ue000", "\U000e0041", "\U0010fffd", "\u0378"]
ATTACKS = ["\x1b[2J\x1b[H", "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
           "\x1b]52;c;cm0gLXJmIH4=\x07", "ok\rPWNED", "abc\x08\x08\x08xyz",
           "ali\u202eecnirp\u202c", "a\u200bb", "\udcff.ipynb", "\x9b31m"]
chars = st.one_of(st.characters(exclude_categories=()), st.sampled_from(NASTY))
texts = st.text(chars, max_size=40)


def unsafe_chars(text, allowed=""):
    return [c for c in text if unicodedata.category(c) in UNSAFE and c not in allowed]


def is_formula(cell):
    return cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))


@given(texts)
def test_for_terminal_leaves_no_unsafe_character_and_encodes(text):
    shown = for_terminal(text)
    assert not unsafe_chars(shown)
    shown.encode("utf-8")


@given(st.lists(st.one_of(st.characters(), st.sampled_from(NASTY)), max_size=20))
def test_for_terminal_shows_where_each_unsafe_character_was(pieces):
    shown = for_terminal("".join(pieces))
    for c in pieces:
        if unsafe_chars(c):
            assert f"{ord(c):02x}" in shown and "\\" in shown
    if not unsafe_chars("".join(pieces)):
        assert shown == "".join(pieces)  # safe text is left as it is


@given(texts)
def test_for_csv_text_is_safe_and_never_a_formula(text):
    cell = for_csv(text)
    assert not unsafe_chars(cell)
    cell.encode("utf-8")
    assert not is_formula(cell)
    assert cell in (for_terminal(text), "'" + for_terminal(text))


@pytest.mark.parametrize("text", ["=1+2", "+1", "-2", "@SUM(A1)", "  =cmd|' /C calc'!A0",
                                  "\t=1", "\r=1", '=HYPERLINK("http://evil","x")'])
def test_for_csv_neutralises_formulas(text):
    cell = for_csv(text)
    assert not is_formula(cell)
    assert cell.startswith("'" if text.lstrip(" ")[0] in "=+-@" else "\\x")  # tab, CR


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_for_csv_integers_as_integers(n):
    assert for_csv(n) == str(n)


@given(st.floats(min_value=-1e9, max_value=1e9))
def test_for_csv_floats_fixed_point(x):
    cell = for_csv(x)
    assert "e" not in cell.lower() and not cell.endswith((".", ".0")) and cell != "-0"
    assert math.isclose(float(cell), x, abs_tol=1e-6)
    if x.is_integer():
        assert cell == str(int(x))


def test_for_csv_numbers_are_not_quoted_or_escaped():
    assert [for_csv(v) for v in (12.0, 12.5, 1 / 3, -2, 0.1 + 0.2, None)] == \
        ["12", "12.5", "0.333333", "-2", "0.3", ""]


@given(texts)
def test_for_html_has_no_markup_and_encodes(text):
    page = for_html(text)
    assert "<" not in page and ">" not in page and '"' not in page
    assert not unsafe_chars(page, allowed="\n\t")
    page.encode("utf-8")


def test_format_table_shows_hostile_cells_escaped_one_line_each(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    rows = [(attack, "1 / 4", f"st{attack}", f"problem {attack}") for attack in ATTACKS]
    table = format_table(rows)
    lines = table.split("\n")
    assert len(lines) == 2 + len(rows)  # no cell starts a line of its own
    for line, attack in zip(lines[2:], ATTACKS, strict=True):
        assert not unsafe_chars(line)
        assert line.startswith(for_terminal(attack))
        assert line.rstrip().endswith(f"problem {for_terminal(attack)}")
    table.encode("utf-8")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(texts, texts, texts, texts), max_size=5),
       st.tuples(texts, texts, texts, texts))
def test_format_table_of_any_text_is_safe(rows, headers):
    table = format_table(rows, headers=headers)
    assert not unsafe_chars(table, allowed="\n")
    table.encode("utf-8")


# grades.csv and feedback pages of a released course, gradebook rows written directly

# ids a course can have that mean something to a spreadsheet (ids with < > & " ' or ` are
# refused: nbgrader's formgrader writes ids into its pages unescaped)
VALID_HOSTILE = ["=1+2", "-2", "@SUM(A1)", "+x", " =cmd", "a;b|c", "Jos\u00e9"]
PROBLEMS = ['=HYPERLINK("http://evil.example","click")', "line\r\nPWNED",
            "\t=1+2", "\udcffbad.ipynb is wrongly named", "<script>alert(1)</script>",
            *ATTACKS]


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    root = fx.make_course(tmp_path_factory.mktemp("escaping") / "course")
    assert main(["--quiet", "--root", str(root), "release", fx.ASSIGNMENT]) == 0
    return Course(root)


def write_status(course, students):
    """A status file (as ``course autograde`` writes it) and a zero gradebook row each."""
    with pytest.MonkeyPatch.context() as mp:  # alembic sits next to this Python
        mp.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        for student in students:
            gradebook.record_zero(course.db_url, fx.ASSIGNMENT, student)
    status = {s: {"status": f"ok{s}", "problems": PROBLEMS} for s in students}
    status_report.save(course, fx.ASSIGNMENT, status)
    return status


def test_grades_csv_read_back_is_safe_in_every_cell(released, tmp_path):
    # ids the collect refuses are written here by hand: the CSV must not trust it (but
    # SQLite cannot store an undecodable one: that is left out)
    students = [*VALID_HOSTILE, *(a for a in ATTACKS if "\udcff" not in a)]
    write_status(released, students)
    out = tmp_path / "grades.csv"
    grades.write_csv(released, fx.ASSIGNMENT, out)
    with open(out, newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    assert header[:3] == ["student", "score", "max_score"]
    assert len(rows) == len(students)
    for student, row in zip(sorted(students), rows, strict=True):  # the report is sorted
        assert len(row) == len(header)
        assert row[0] == for_csv(student)
        # score, max_score, not_graded_yet, the two parts, late
        assert row[1:-2] == ["0", "4", "0", "0", "0", ""]
        assert row[-2:] == [for_csv(f"ok{student}"), for_csv("; ".join(PROBLEMS))]
        for cell in row:
            assert not unsafe_chars(cell) and not is_formula(cell)


def test_feedback_page_escapes_student_text():
    release = fx.source_notebook()
    graded = nbformat.from_dict(release)
    test_cell = next(c for c in graded.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") == "test_square")
    test_cell.outputs = [new_output("error", ename="<script>E", traceback=[],
                                    evalue="</td><script>alert(1)</script>\x1b[2J\udcff")]
    student = "</title><script>alert(1)</script>\u202e\x1b]52;c;eA==\x07"
    page = render(student, fx.ASSIGNMENT, release, graded, {}, "0 / 4", "<b>ok</b>",
                  PROBLEMS)
    assert "<script" not in page.lower() and "<img" not in page and "<b>" not in page
    assert not unsafe_chars(page, allowed="\n\t")
    assert for_html(student) in page and for_html(PROBLEMS[3]) in page
    page.encode("utf-8")


def test_feedback_files_are_written_for_hostile_text(released):
    write_status(released, VALID_HOSTILE)
    graded = nbformat.read(released.release(fx.ASSIGNMENT) / f"{fx.ASSIGNMENT}.ipynb",
                           as_version=4)
    for cell in graded.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.outputs = [new_output("error", ename="AssertionError", traceback=[],
                                       evalue="<script>x()</script>\udcff\x1b[2J")]
    folder = released.autograded(fx.ASSIGNMENT, VALID_HOSTILE[0])
    folder.mkdir(parents=True, exist_ok=True)
    # valid JSON (a lone surrogate escaped as \\udcff) that nbformat.write would refuse
    (folder / f"{fx.ASSIGNMENT}.ipynb").write_text(json.dumps(graded))
    paths = write_feedback(released, fx.ASSIGNMENT, progress=False)
    assert len(paths) == len(VALID_HOSTILE)
    for path in paths:
        page = path.read_text(encoding="utf-8")
        assert "<script" not in page.lower() and "<img" not in page
        assert not unsafe_chars(page, allowed="\n\t")
    assert "\\udcff" in paths[0].read_text(encoding="utf-8")


def test_feedback_refuses_a_student_id_that_is_not_a_folder_name(released):
    write_status(released, ["ada", "\x1b[2J"])
    with pytest.raises(CourseError, match=r"refused student id '\\x1b\[2J'"):
        write_feedback(released, fx.ASSIGNMENT, progress=False)
