"""The class's results: the last autograde's report joined with the gradebook's marks.

``course feedback`` and ``course grades`` both start here. A student the report names
but the gradebook has no submission for (removed with ``nbgrader db student remove``,
say) is listed in ``missing`` with what to do, never a crash.
"""

from dataclasses import dataclass, field

from course_lib.grading import gradebook
from course_lib.grading.escape import for_terminal
from course_lib.grading.report import format_table, score_text


@dataclass(frozen=True)
class StudentResults:
    """One student: the report's status and problems, and the gradebook's marks."""

    student: str
    status: str  # for the instructor, "needs regrading" appended when it applies
    problems: list
    marks: gradebook.Marks


@dataclass
class ClassResults:
    students: list = field(default_factory=list)  # StudentResults, in the report's order
    missing: list = field(default_factory=list)  # student ids the gradebook does not have

    def table(self):
        """The instructor's table: student, score (and what awaits hand grading), status,
        problems found."""
        return format_table([
            (one.student, score_text(one.marks.score, one.marks.max_score, one.marks.pending),
             one.status, "; ".join(one.problems)) for one in self.students])

    def missing_note(self, assignment):
        """What the instructor reads about ``missing`` students ("" if there is none)."""
        if not self.missing:
            return ""
        names = ", ".join(for_terminal(s) for s in self.missing)
        return (f"left out, not in the gradebook: {names} (removed from it?). "
                f"`course remove-student NAME` removes a student everywhere; "
                f"`course autograde {assignment} --student NAME` grades one again.")


def status_text(info):
    """The instructor's status of a report entry, with "needs regrading" when it applies."""
    return info["status"] + (", needs regrading" if info.get("needs_regrading") else "")


def class_results(course, assignment):
    """The :class:`ClassResults` of ``assignment`` (raises CourseError before autograde)."""
    report = course.load_status(assignment)
    found = ClassResults()
    for student, info in report.items():
        marks = gradebook.marks(course.db_url, assignment, student)
        if marks is None:
            found.missing.append(student)
        else:
            found.students.append(StudentResults(student, status_text(info),
                                                 list(info["problems"]), marks))
    return found
