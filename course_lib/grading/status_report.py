"""The autograde report of an assignment: each student's last grading, kept on disk.

The report is ``autograded/<assignment>.status.json``, a JSON object mapping each
student to their :class:`~.autograde.StudentResult` as a dict. A run of ``course
autograde`` does not rewrite it after each student, which would cost O(N) a student and
O(N²) a class (55 ms a save at 2,000 students): it *appends* each finished student as
one JSON line to a journal beside it, ``<assignment>.status.journal``, and folds the
journal into the report when the run ends. Every reader sees the report with the journal
applied (a later line wins), so a run that was killed, and left its journal behind, is
resumed from everything it recorded. A last line cut short, the trace of a kill in the
middle of a write, is ignored; that student is simply graded again.
"""

import json
import os

from course_lib.grading.course import REPORT_SUFFIXES, CourseError

# beside the students' folders in autograded/, whose ids may not end so
REPORT_SUFFIX, JOURNAL_SUFFIX, PARTIAL_SUFFIX = REPORT_SUFFIXES


def report_path(course, assignment):
    return course.root / "autograded" / f"{assignment}{REPORT_SUFFIX}"


def journal_path(course, assignment):
    return course.root / "autograded" / f"{assignment}{JOURNAL_SUFFIX}"


def assignments(course):
    """The assignments that have a report or a journal, sorted."""
    folder = course.root / "autograded"
    if not folder.is_dir():
        return []
    found = {p.name[:-len(suffix)] for suffix in (REPORT_SUFFIX, JOURNAL_SUFFIX)
             for p in folder.glob(f"*{suffix}") if p.is_file()}
    return sorted(found)


def load(course, assignment):
    """``{student: entry}``: the report with its journal applied; None if neither exists."""
    report, journal = report_path(course, assignment), journal_path(course, assignment)
    if not report.is_file() and not journal.is_file():
        return None
    entries = json.loads(report.read_text()) if report.is_file() else {}
    if journal.is_file():
        lines = journal.read_text().split("\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                if number == len(lines):  # cut short by a kill: that student is regraded
                    break
                raise CourseError(f"{journal} is damaged at line {number}; delete it to "
                                  "grade the students it recorded again") from None
            entries[entry["student"]] = entry
    return entries


def record(course, assignment, entry):
    """Append one student's ``entry`` (a dict with a ``"student"`` key) to the journal."""
    path = journal_path(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)  # one write of one line: a kill leaves at most that line short
    finally:
        os.close(fd)


def save(course, assignment, entries):
    """Replace the report with ``entries`` (atomically) and drop the journal."""
    path = report_path(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{assignment}{PARTIAL_SUFFIX}")
    partial.write_text(json.dumps(dict(sorted(entries.items())), indent=1))
    os.replace(partial, path)
    journal_path(course, assignment).unlink(missing_ok=True)


def fold(course, assignment):
    """Fold the journal into the report, as a run does when it ends."""
    entries = load(course, assignment)
    if entries is not None:
        save(course, assignment, entries)
