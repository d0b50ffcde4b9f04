"""Helpers for tests/test_ps4_assignment.py: read PS4's structure, copy the course, run nbgrader.

PS4's parts are the notebook's ``## Part N: ... (P points)`` headings; every cell belongs to
the part whose heading came last before it. Points are read from nbgrader's cell metadata,
never written down here.
"""

import csv
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "ps4_mlp"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SOURCE = ROOT / "solutions" / ASSIGNMENT / NOTEBOOK
RELEASE = ROOT / "assignments" / ASSIGNMENT / NOTEBOOK
COURSE_FILES = ("nbgrader_config.py", "solutions")
PART_HEADING = re.compile(r"^## Part (\d+): .*\((\d+) points\)\s*$", re.MULTILINE)
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
NBGRADER_TIMEOUT = 600


@dataclass
class Part:
    """One part of the problem set: its number, the points its heading states, its cells."""

    number: int
    stated_points: int
    cells: list = field(default_factory=list)

    @property
    def grade_cells(self):
        return [cell for cell in self.cells if nbgrader_meta(cell).get("grade")]

    @property
    def points(self):
        return sum(nbgrader_meta(cell)["points"] for cell in self.grade_cells)

    @property
    def autograded_points(self):
        return sum(nbgrader_meta(c)["points"] for c in self.grade_cells if c.cell_type == "code")


def read(path):
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def parts(nb):
    """The notebook's parts in order, each with the cells under its heading."""
    found = []
    for cell in nb.cells:
        match = PART_HEADING.search(cell.source) if cell.cell_type == "markdown" else None
        if match:
            found.append(Part(int(match[1]), int(match[2])))
        if found:
            found[-1].cells.append(cell)
    return found


def autograded_points(nb, part_numbers=None):
    """Points of the autograded (code) test cells, in all parts or in ``part_numbers``."""
    return sum(p.autograded_points for p in parts(nb)
               if part_numbers is None or p.number in part_numbers)


def marked_regions(source, markers):
    """The lines strictly between each pair of ``markers`` in ``source``."""
    begin, end = markers
    regions, current = [], None
    for line in source.splitlines():
        if line.strip() == begin:
            current = []
        elif line.strip() == end:
            regions.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return regions


def without_markers(source):
    """A solution cell's source as a student would write it: the marker lines removed."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in SOLUTION_MARKERS)


def submission(release_nb, source_nb, part_numbers):
    """The release with the solution cells of ``part_numbers`` filled in from the source."""
    solved = {nbgrader_meta(cell)["grade_id"]: without_markers(cell.source)
              for part in parts(source_nb) if part.number in part_numbers
              for cell in part.cells if nbgrader_meta(cell).get("solution")}
    nb = nbformat.from_dict(release_nb)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in solved:
            cell.source = solved.pop(grade_id)
    assert not solved, f"release lacks the solution cells {sorted(solved)}"
    return nb


def comparable(nb):
    """A notebook as plain data without what may vary between two runs: cell ids."""
    data = nbformat.from_dict(nb)
    for cell in data.cells:
        cell.pop("id", None)
    return data


def copy_course(destination):
    """Copy what nbgrader needs (config and source) into ``destination``; return it."""
    for name in COURSE_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        else:
            shutil.copy2(source, destination / name)
    return destination


def nbgrader(course, *args):
    """Run ``nbgrader *args`` in ``course``; return its stdout and stderr together.

    nbgrader calls ``alembic`` (the gradebook's migrations) as a program, so the venv's
    bin directory goes first on PATH.
    """
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(bin_dir / "nbgrader"), *args], cwd=course, env=env, capture_output=True,
        text=True, timeout=NBGRADER_TIMEOUT,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{output}"
    return output


def submit(course, student, nb):
    """Place ``nb`` where ``nbgrader autograde`` looks for ``student``'s submission."""
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / NOTEBOOK)


def exported_scores(course):
    """``nbgrader export``'s grades.csv as {student_id: score}."""
    nbgrader(course, "export")
    with open(course / "grades.csv", newline="") as f:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)
                if row["assignment"] == ASSIGNMENT}
