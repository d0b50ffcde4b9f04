"""Where things live in a course directory (the folder holding ``nbgrader_config.py``)."""

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat


class CourseError(Exception):
    """A problem the instructor must fix (wrong folder, assignment not released...)."""


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

    @property
    def db_url(self):
        return f"sqlite:///{self.db_path}"

    def source(self, assignment):
        return self.root / "solutions" / assignment

    def release(self, assignment):
        return self.root / "assignments" / assignment

    def submitted(self, assignment, student=None):
        base = self.root / "submitted"
        return base if student is None else base / student / assignment

    def autograded(self, assignment, student):
        return self.root / "autograded" / student / assignment

    def feedback(self, assignment, student):
        return self.root / "feedback" / student / assignment

    def status_file(self, assignment):
        """The class report of the last ``course autograde`` (statuses and problems)."""
        return self.root / "autograded" / f"{assignment}.status.json"

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

    def students(self, assignment):
        """Students with a folder for ``assignment`` under submitted/, sorted."""
        base = self.submitted(assignment)
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / assignment).is_dir())

    def load_status(self, assignment):
        path = self.status_file(assignment)
        if not path.is_file():
            raise CourseError(f"no autograde results: run `course autograde {assignment}` first")
        return json.loads(path.read_text())
