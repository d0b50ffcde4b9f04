"""``course remove-student NAME``: take a student out of the course, keeping a copy.

For a student collected by mistake (a wrong folder, a test upload) or who left: the
student and their submissions leave nbgrader's gradebook (its own ``remove_student``),
their entries leave every autograde report, and their folders leave ``submitted/``,
``autograded/`` and ``feedback/``; so ``course autograde``, ``feedback``, ``grades`` and
the formgrader no longer list them. Nothing is deleted: the folders, the report entries
and the gradebook's grades and comments (``gradebook.json``) are moved to
``submitted/.removed/<time>-<student>/``. To undo, move the folders back and run
``course autograde ASSIGNMENT --student NAME``.
"""

import json
import shutil
from datetime import UTC, datetime

from nbgrader.api import Gradebook, MissingEntry

from course_lib.grading import gradebook, status_report
from course_lib.grading.course import CourseError
from course_lib.grading.escape import for_terminal

FOLDERS = ("submitted", "autograded", "feedback")


def _grades(db_url, student):
    """The gradebook's grades and comments of ``student``, or None if it has no such student."""
    with Gradebook(db_url) as gb:
        try:
            found = gb.find_student(student)
        except MissingEntry:
            return None
        return {sub.assignment.name: {nb.name: {"grades": [g.to_dict() for g in nb.grades],
                                                "comments": [c.to_dict() for c in nb.comments]}
                                      for nb in sub.notebooks}
                for sub in found.submissions}


def remove_student(course, student):
    """Remove ``student`` (see the module doc); return the lines saying what moved where."""
    folders = [course.root / kind / student for kind in FOLDERS]
    course.student_folder(student)  # refuses an id that is no folder name
    grades = _grades(course.db_url, student) if course.db_path.is_file() else None
    reports = {a: status_report.load(course, a) for a in status_report.assignments(course)}
    entries = {status_report.report_path(course, a).name: r[student]
               for a, r in reports.items() if student in r}
    if grades is None and not entries and not any(f.exists() for f in folders):
        raise CourseError(f"no student {for_terminal(student)!r} in this course: nothing "
                          "removed")
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%S")
    kept = course.root / "submitted" / ".removed" / f"{stamp}-{student}"
    kept.mkdir(parents=True)
    done = []
    if grades is not None:
        (kept / "gradebook.json").write_text(json.dumps(grades, indent=1, default=str))
        gradebook.remove_student(course.db_url, student)
        done.append("removed from gradebook.db (grades and comments kept in gradebook.json)")
    for assignment, report in reports.items():
        if student in report:
            del report[student]
            status_report.save(course, assignment, report)
            path = status_report.report_path(course, assignment)
            done.append(f"removed from {path.relative_to(course.root)}")
    if entries:
        (kept / "status.json").write_text(json.dumps(entries, indent=1))
    for kind, folder in zip(FOLDERS, folders, strict=True):
        if folder.exists():
            shutil.move(folder, kept / kind)
            done.append(f"moved {kind}/{for_terminal(student)}/")
    return done, kept
