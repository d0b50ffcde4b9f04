"""Where things live in a course directory (the folder holding ``nbgrader_config.py``).

A student id names a folder under ``submitted/``, ``autograded/`` and ``feedback/``, so
it must be one harmless path step: see :data:`STUDENT_ID_RULE` and
:func:`student_id_problem`. The path methods refuse any other id.
"""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import nbformat

from course_lib.grading.escape import for_terminal, is_unsafe

STUDENT_ID_RULE = ("a student id is a non-empty name other than . and .., valid UTF-8, "
                   "without / or \\, without < > & \" ' or ` (nbgrader's formgrader writes "
                   "ids into its pages unescaped), not ending in .status.json, .status.journal "
                   "or .status.partial (the class report's files beside the students' "
                   "folders), and without control, invisible (format), private-use or "
                   "unassigned characters")
HTML_CHARACTERS = set("<>&\"'`")
REPORT_SUFFIXES = (".status.json", ".status.journal", ".status.partial")


class CourseError(Exception):
    """A problem the instructor must fix (wrong folder, assignment not released...)."""


def student_id_problem(student):
    """Why ``student`` is not a valid student id (see :data:`STUDENT_ID_RULE`), or None.

    Undecodable bytes of a file name reach Python as lone surrogates: "not valid UTF-8".
    """
    if student in ("", ".", ".."):
        return "empty" if not student else "a path step, not a name"
    if "/" in student or "\\" in student:
        return "holds a path separator"
    if any("\ud800" <= c <= "\udfff" for c in student):
        return "not valid UTF-8"
    if any(is_unsafe(c) for c in student):
        return "holds a control or invisible character"
    if HTML_CHARACTERS & set(student):
        return "holds a character HTML gives a meaning to"
    if student.endswith(REPORT_SUFFIXES):
        return "is the name of a class report's file"
    return None


def _checked(student):
    problem = student_id_problem(student)
    if problem:
        raise CourseError(f"refused student id '{for_terminal(student)}' ({problem}): "
                          f"{STUDENT_ID_RULE}")
    return student


@dataclass(frozen=True)
class Course:
    """A course root laid out as in ``nbgrader_config.py``.

    ``solutions/<a>``, ``assignments/<a>``, ``submitted/<student>/<a>``,
    ``autograded/<student>/<a>``, ``feedback/<student>/<a>`` and ``gradebook.db``.
    """

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).resolve())

    @classmethod
    def find(cls, start=None):
        """The nearest folder at or above ``start`` (default: cwd) with nbgrader_config.py."""
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / "nbgrader_config.py").is_file():
                return cls(folder)
        raise CourseError(
            f"no nbgrader_config.py in {here} or above: run `course` from the course root "
            "or pass --root"
        )

    @property
    def db_path(self):
        return self.root / "gradebook.db"

    @cached_property
    def db_url(self):
        """The course gradebook: ``CourseDirectory.db_url`` from nbgrader_config.py (e.g.
        ``postgresql+psycopg://...``), else ``gradebook.db`` in the course root."""
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        url = config.get("CourseDirectory", {}).get("db_url")
        return url if isinstance(url, str) and url else f"sqlite:///{self.db_path}"

    def source(self, assignment):
        return self.root / "solutions" / assignment

    def release(self, assignment):
        return self.root / "assignments" / assignment

    def student_folder(self, student):
        """``submitted/<student>/``: every submission of one student, and its history."""
        return self.root / "submitted" / _checked(student)

    def submitted(self, assignment, student=None):
        base = self.root / "submitted"
        return base if student is None else base / _checked(student) / assignment

    def autograded(self, assignment, student):
        return self.root / "autograded" / _checked(student) / assignment

    def feedback(self, assignment, student):
        return self.root / "feedback" / _checked(student) / assignment

    def notebook_names(self, assignment):
        """The notebooks of an assignment, from its source folder, e.g. ``["ps4_mlp"]``."""
        folder = self.source(assignment)
        if not folder.is_dir():
            raise CourseError(f"no assignment {assignment!r}: {folder} does not exist")
        names = sorted(p.stem for p in folder.glob("*.ipynb"))
        if not names:
            raise CourseError(f"{folder} holds no notebook")
        return names

    def source_notebook(self, assignment, name):
        return nbformat.read(self.source(assignment) / f"{name}.ipynb", as_version=4)

    def _submitted_folders(self, assignment):
        base = self.submitted(assignment)
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / assignment).is_dir())

    def students(self, assignment):
        """Students with a folder for ``assignment`` under submitted/, sorted; valid ids only."""
        return [s for s in self._submitted_folders(assignment) if not student_id_problem(s)]

    def invalid_student_folders(self, assignment):
        """``[(folder name, why it is not a student id)]`` that :meth:`students` leaves out.

        Such folders can only be put under submitted/ by hand: ``course collect`` refuses
        them. Show the names with :func:`.escape.for_terminal`.
        """
        found = [(s, student_id_problem(s)) for s in self._submitted_folders(assignment)]
        return [(s, problem) for s, problem in found if problem]

    def load_status(self, assignment):
        """The class report of the last ``course autograde``, as ``{student: entry}``."""
        from course_lib.grading import status_report

        entries = status_report.load(self, assignment)
        if entries is None:
            raise CourseError(f"no autograde results: run `course autograde {assignment}` first")
        return entries
