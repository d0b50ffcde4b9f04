"""The autograde report: appended to as students finish, folded when a run ends."""

import json

import grading_fixtures as fx
import pytest

from course_lib.grading import status_report
from course_lib.grading.autograde import StatusFile, StudentResult
from course_lib.grading.course import Course, CourseError


@pytest.fixture
def course(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("")
    return Course(tmp_path)


def entry(student, score):
    return {"student": student, "score": score, "status": "ok"}


def test_a_run_appends_each_student_and_folds_them_into_the_report_at_the_end(course):
    status_report.save(course, fx.ASSIGNMENT, {"ann": entry("ann", 1), "bob": entry("bob", 2)})
    report = status_report.report_path(course, fx.ASSIGNMENT)
    journal = status_report.journal_path(course, fx.ASSIGNMENT)
    before = report.read_bytes()

    status = StatusFile(course, fx.ASSIGNMENT)
    written = b""
    for student, score in [("cem", 3), ("bob", 5), ("dia", 4)]:
        status.save(StudentResult(student, score=score, max_score=5))
        assert journal.read_bytes().startswith(written)  # appended to, never rewritten
        written = journal.read_bytes()
        assert report.read_bytes() == before  # the report waits for the end of the run
    assert len(written.splitlines()) == 3

    seen = status_report.load(course, fx.ASSIGNMENT)  # what any reader sees meanwhile
    assert {s: e["score"] for s, e in seen.items()} == {"ann": 1, "bob": 5, "cem": 3, "dia": 4}
    status.close()
    assert not journal.exists()
    assert json.loads(report.read_text()) == seen
    assert course.load_status(fx.ASSIGNMENT) == seen


def test_a_killed_run_is_resumed_from_its_journal_and_a_line_cut_short_is_dropped(course):
    status = StatusFile(course, fx.ASSIGNMENT)
    status.save(StudentResult("ann", score=1, max_score=5, digest="d-ann"))
    status.save(StudentResult("bob", score=2, max_score=5, digest="d-bob"))
    journal = status_report.journal_path(course, fx.ASSIGNMENT)
    journal.write_bytes(journal.read_bytes() + b'{"student": "cem", "sco')  # killed mid-write

    resumed = StatusFile(course, fx.ASSIGNMENT)  # no report yet: only the journal
    assert resumed.finished("ann", "d-ann").score == 1
    assert resumed.finished("bob", "d-bob").score == 2
    assert resumed.finished("bob", "another digest") is None
    assert resumed.finished("cem", None) is None  # graded again
    resumed.save(StudentResult("cem", score=3, max_score=5, digest="d-cem"))
    resumed.close()
    assert sorted(course.load_status(fx.ASSIGNMENT)) == ["ann", "bob", "cem"]


def test_a_damaged_line_inside_the_journal_is_refused_with_where(course):
    journal = status_report.journal_path(course, fx.ASSIGNMENT)
    journal.parent.mkdir(parents=True)
    journal.write_text(json.dumps(entry("ann", 1)) + "\nnot json\n" + json.dumps(entry("bob", 2)))
    with pytest.raises(CourseError, match=r"status\.journal is damaged at line 2; delete it"):
        course.load_status(fx.ASSIGNMENT)


def test_no_report_and_no_journal_asks_for_a_run_first(course):
    assert status_report.load(course, fx.ASSIGNMENT) is None
    assert status_report.assignments(course) == []
    with pytest.raises(CourseError, match=f"run `course autograde {fx.ASSIGNMENT}` first"):
        course.load_status(fx.ASSIGNMENT)
    status_report.record(course, "ps3", entry("ann", 1))
    assert status_report.assignments(course) == ["ps3"]
