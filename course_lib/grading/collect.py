"""``course collect``: bring submissions into ``submitted/<student>/<assignment>/``.

Two inputs are understood:

* a folder (or a zip of one) holding one folder per student:
  ``alice/ps4_mlp.ipynb``, ``bob/ps4_mlp/ps4_mlp.ipynb``...;
* a flat zip as an LMS hands it out, one file per student and notebook, named
  ``<student>_[late_][<numbers>_]<file>`` (Canvas, Moodle): collected by nbgrader's own
  ``zip_collect`` app with that pattern (:data:`LMS_FILENAME_REGEXP`).

Files are copied, never moved; an existing submission of the same student is replaced.
"""

import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from course_lib.grading.course import CourseError

LMS_FILENAME_REGEXP = r".*/(?P<student_id>[^/_]+)_(?:late_)?(?:\d+_)*(?P<file_id>[^/]+)$"


def _collect_folders(course, assignment, folder):
    students = []
    for student_dir in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        if student_dir.name.startswith((".", "__")):
            continue
        inner = student_dir / assignment
        src = inner if inner.is_dir() else student_dir
        dest = course.submitted(assignment, student_dir.name)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(src, dest, symlinks=True)
        students.append(student_dir.name)
    return students


def _collect_lms_zip(course, assignment, archive):
    # nbgrader joins root and downloaded_directory as strings: use a folder inside the root
    with tempfile.TemporaryDirectory(prefix=".collect-", dir=course.root) as tmp:
        downloaded = Path(tmp)
        (downloaded / assignment / "archive").mkdir(parents=True)
        shutil.copyfile(archive, downloaded / assignment / "archive" / Path(archive).name)
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "zip_collect", assignment, "--force",
             f"--ZipCollectApp.downloaded_directory={downloaded.name}",
             f"--FileNameCollectorPlugin.named_regexp={LMS_FILENAME_REGEXP}"],
            cwd=course.root, check=True, capture_output=True)
    with zipfile.ZipFile(archive) as zf:
        matches = [re.match(LMS_FILENAME_REGEXP, "/" + name) for name in zf.namelist()]
    students = sorted({m["student_id"] for m in matches if m})
    missing = [s for s in students if not course.submitted(assignment, s).is_dir()]
    if not students or missing:
        raise CourseError(f"nbgrader zip_collect found no submission in {archive} for "
                          f"{', '.join(missing) or 'anyone'}: are its files named "
                          "<student>_[late_][<numbers>_]<notebook>.ipynb?")
    return students


def collect(course, assignment, source):
    """Copy the submissions in ``source`` (folder or zip) into submitted/; return students."""
    source = Path(source)
    if source.is_dir():
        return _collect_folders(course, assignment, source)
    if not zipfile.is_zipfile(source):
        raise CourseError(f"{source} is neither a folder of student folders nor a zip file")
    with zipfile.ZipFile(source) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        nested = all("/" in n for n in names)
        if nested:
            with tempfile.TemporaryDirectory(prefix="course-collect-") as tmp:
                zf.extractall(tmp)
                base = Path(tmp)
                top = list(base.iterdir())
                if len(top) == 1 and top[0].is_dir() and all(
                        q.is_dir() and q.name != assignment for q in top[0].iterdir()):
                    base = top[0]  # one wrapping folder, e.g. submissions/alice/...
                return _collect_folders(course, assignment, base)
    return _collect_lms_zip(course, assignment, source)
