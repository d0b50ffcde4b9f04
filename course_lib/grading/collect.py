"""``course collect``: bring submissions into ``submitted/<student>/<assignment>/``.

Two inputs are understood:

* a folder (or a zip of one) holding one folder per student:
  ``alice/ps4_mlp.ipynb``, ``bob/ps4_mlp/ps4_mlp.ipynb``...;
* a flat zip as an LMS hands it out, one file per student and notebook, named
  ``<student>_[late_][<numbers>_]<file>`` (Canvas, Moodle): its notebooks are collected
  by nbgrader's own ``zip_collect`` app with that pattern (:data:`LMS_FILENAME_REGEXP`).

Files are copied, never moved; an existing submission of the same student is replaced.

Student ids come from students (folder and file names), so everything is checked
before anything is written: the student ids (:func:`.course.student_id_problem`), the
paths of a zip's members (none absolute, none with a ``..`` step, a backslash or a NUL;
members are extracted one by one, never with ``extractall``), and that every
destination resolves inside ``submitted/``. One bad id or member refuses the whole
collect, naming every one of them (escaped for the terminal), so that the instructor
fixes the input and collects again: no student is silently left out.
"""

import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from course_lib.grading.course import STUDENT_ID_RULE, CourseError, student_id_problem
from course_lib.grading.escape import for_terminal

LMS_FILENAME_REGEXP = r".*/(?P<student_id>[^/_]+)_(?:late_)?(?:\d+_)*(?P<file_id>[^/]+)$"
LMS_PATTERN = "<student>_[late_][<numbers>_]<notebook>.ipynb"


def _refuse(source, reasons):
    """The CourseError of a collect refused before writing anything, one line a reason."""
    lines = "".join(f"\n  {r}" for r in reasons)
    return CourseError(f"nothing collected from {for_terminal(source)}:{lines}\n"
                       f"({STUDENT_ID_RULE}; fix these names and collect again)")


def _shown(name):
    return f"'{for_terminal(name)}'"


def _check_destinations(course, assignment, students, source):
    """Refuse ``students`` whose submitted/ folder would resolve outside submitted/."""
    base = course.submitted(assignment).resolve()
    outside = [f"student {_shown(s)}: submitted/{for_terminal(s)} leads outside submitted/"
               for s in students
               if not course.submitted(assignment, s).resolve().is_relative_to(base)]
    if outside:
        raise _refuse(source, outside)


def _collect_folders(course, assignment, folder, source):
    """Copy each student folder of ``folder`` (hidden and ``__`` ones skipped)."""
    folders = sorted(p for p in Path(folder).iterdir()
                     if p.is_dir() and not p.name.startswith((".", "__")))
    bad = [f"student folder {_shown(p.name)}: {student_id_problem(p.name)}"
           for p in folders if student_id_problem(p.name)]
    if bad:
        raise _refuse(source, bad)
    students = [p.name for p in folders]
    _check_destinations(course, assignment, students, source)
    for student_dir in folders:
        inner = student_dir / assignment
        src = inner if inner.is_dir() else student_dir
        dest = course.submitted(assignment, student_dir.name)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(src, dest, symlinks=True)
    return students


def _member_problem(name):
    """Why zip member ``name`` cannot be extracted safely, or None."""
    if name.startswith("/"):
        return "an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "a path going up with .."
    if "\\" in name or "\0" in name:
        return "holds a backslash or a NUL"
    return None


def _extract(zf, members, dest, source):
    """Write ``members`` of ``zf`` under ``dest`` one by one, each checked to stay there."""
    dest = dest.resolve()
    for info in members:
        target = (dest / info.filename).resolve()
        if not target.is_relative_to(dest):
            raise _refuse(source, [f"zip member {_shown(info.filename)}: leads outside"])
        try:
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
        except (FileExistsError, IsADirectoryError, NotADirectoryError) as e:
            raise _refuse(source, [f"zip member {_shown(info.filename)}: a file and a "
                                   "folder of the same name"]) from e


def _lms_students(notebooks, source):
    """The student id of each notebook member of an LMS zip; refuse any bad one."""
    students, bad = [], []
    for info in notebooks:
        match = re.match(LMS_FILENAME_REGEXP, "/" + info.filename)
        problem = student_id_problem(match["student_id"]) if match else None
        if not match:
            bad.append(f"zip member {_shown(info.filename)}: names no student "
                       f"(expected {LMS_PATTERN})")
        elif problem:
            bad.append(f"zip member {_shown(info.filename)}: student id "
                       f"{_shown(match['student_id'])}: {problem}")
        else:
            students.append(match["student_id"])
    if bad:
        raise _refuse(source, bad)
    return sorted(set(students))


def _collect_lms_zip(course, assignment, zf, source):
    notebooks = [i for i in zf.infolist()
                 if not i.is_dir() and PurePosixPath(i.filename).suffix == ".ipynb"]
    students = _lms_students(notebooks, source)
    _check_destinations(course, assignment, students, source)
    # nbgrader joins root and downloaded_directory as strings: use a folder inside the root
    with tempfile.TemporaryDirectory(prefix=".collect-", dir=course.root) as tmp:
        downloaded = Path(tmp)
        _extract(zf, notebooks, downloaded / assignment / "archive", source)
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "zip_collect", assignment, "--force",
             f"--ZipCollectApp.downloaded_directory={downloaded.name}",
             f"--FileNameCollectorPlugin.named_regexp={LMS_FILENAME_REGEXP}"],
            cwd=course.root, check=True, capture_output=True)
    missing = [s for s in students if not course.submitted(assignment, s).is_dir()]
    if not students or missing:
        raise CourseError(f"nbgrader zip_collect found no submission in "
                          f"{for_terminal(source)} for "
                          f"{', '.join(map(_shown, missing)) or 'anyone'}: are its "
                          f"notebooks named {LMS_PATTERN}?")
    return students


def _open_zip(source):
    try:
        return zipfile.ZipFile(source)
    except UnicodeDecodeError as e:  # a member flagged UTF-8 that is not
        name = e.object.decode("utf-8", "surrogateescape")
        raise _refuse(source, [f"zip member {_shown(name)}: not valid UTF-8"]) from e


def collect(course, assignment, source):
    """Copy the submissions in ``source`` (folder or zip) into submitted/; return students."""
    source = Path(source)
    if source.is_dir():
        return _collect_folders(course, assignment, source, source)
    if not zipfile.is_zipfile(source):
        raise CourseError(f"{for_terminal(source)} is neither a folder of student folders "
                          "nor a zip file")
    with _open_zip(source) as zf:
        members = zf.infolist()
        bad = [f"zip member {_shown(i.filename)}: {_member_problem(i.filename)}"
               for i in members if _member_problem(i.filename)]
        if bad:
            raise _refuse(source, bad)
        files = [i.filename for i in members if not i.is_dir()]
        if not all("/" in n for n in files):
            return _collect_lms_zip(course, assignment, zf, source)
        with tempfile.TemporaryDirectory(prefix="course-collect-") as tmp:
            base = Path(tmp)
            _extract(zf, members, base, source)
            top = list(base.iterdir())
            if len(top) == 1 and top[0].is_dir() and all(
                    q.is_dir() and q.name != assignment for q in top[0].iterdir()):
                base = top[0]  # one wrapping folder, e.g. submissions/alice/...
            return _collect_folders(course, assignment, base, source)
