"""``course collect``: bring submissions into ``submitted/<student>/<assignment>/``.

Three inputs are understood:

* a folder (or a zip of one) holding one folder per student:
  ``alice/ps4_mlp.ipynb``, ``bob/ps4_mlp/ps4_mlp.ipynb``...; a student's notebooks are
  the ``.ipynb`` files of their folder (or of its ``<assignment>/`` subfolder);
* a flat zip as an LMS hands it out, one file per student and notebook, named
  ``<student>_[late_][<numbers>_]<file>`` (Canvas, Moodle), or the folder that zip
  unzips to: its notebooks are collected by nbgrader's own ``zip_collect`` app with that
  pattern (:data:`LMS_FILENAME_REGEXP`). A ``late_`` marker is remembered and shown by
  ``course grades``.

What is not collected is *ignored* and listed, with why: files that are not notebooks,
folders with no notebook (a folder of student folders passed one level too high, say).
Input with no submission at all is refused.

Student ids come from students (folder and file names), so everything is checked
before anything is written: the student ids (:func:`.course.student_id_problem`), the
paths of a zip's members (none absolute, none with a ``..`` step, a backslash or a NUL;
members are extracted one by one, never with ``extractall``), and that every
destination resolves inside ``submitted/``. One bad id or member refuses the whole
collect, naming every one of them (escaped for the terminal), so that the instructor
fixes the input and collects again: no student is silently left out.

Nothing is lost: files are copied, never moved. A student collected again with the
same notebooks is left as is; with different ones, the previous submission is kept in
``submitted/<student>/.history/<assignment>/<time>/`` and, if it was graded, the
student's entry in the autograde report is marked "needs regrading" until ``course
autograde`` grades them again (:func:`needs_regrading`). Each collect is recorded in
``submitted/<student>/.collected.json`` (when, from where, late or not, what was kept).
"""

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from course_lib.grading import status_report
from course_lib.grading.course import STUDENT_ID_RULE, CourseError, student_id_problem
from course_lib.grading.escape import for_terminal

LMS_FILENAME_REGEXP = r".*/(?P<student_id>[^/_]+)_(?:late_)?(?:\d+_)*(?P<file_id>[^/]+)$"
LMS_PATTERN = "<student>_[late_][<numbers>_]<notebook>.ipynb"
LATE = re.compile(r"^[^/_]+_late_")
SKIPPED = (".", "__")  # hidden entries and __MACOSX: never a submission, never listed
LEDGER = ".collected.json"
HISTORY = ".history"


@dataclass
class Collected:
    """What one collect did: a row per student, and what it ignored and why."""

    students: dict = field(default_factory=dict)  # {student: "new" | "unchanged" | ...}
    ignored: list = field(default_factory=list)  # ["name: why", ...]

    def rows(self, course, assignment):
        """``(student, files collected, what happened)`` for :func:`.report.format_table`."""
        return [(s, ", ".join(sorted(p.name for p in
                                     course.submitted(assignment, s).iterdir())), what)
                for s, what in self.students.items()]


def _refuse(source, reasons):
    """The CourseError of a collect refused before writing anything, one line a reason."""
    lines = "".join(f"\n  {r}" for r in reasons)
    return CourseError(f"nothing collected from {for_terminal(source)}:{lines}\n"
                       f"({STUDENT_ID_RULE}; fix these names and collect again)")


def _shown(name):
    return f"'{for_terminal(name)}'"


def check_assignment(course, assignment):
    """Refuse an assignment that ``solutions/`` does not have, naming those it has."""
    if course.source(assignment).is_dir():
        return
    found = sorted(p.name for p in (course.root / "solutions").glob("*") if p.is_dir())
    raise CourseError(f"no assignment {_shown(assignment)} in solutions/ (there is: "
                      f"{', '.join(found) or 'nothing'}): nothing collected")


def _check_destinations(course, assignment, students, source):
    """Refuse ``students`` whose submitted/ folder would resolve outside submitted/."""
    base = course.submitted(assignment).resolve()
    outside = [f"student {_shown(s)}: submitted/{for_terminal(s)} leads outside submitted/"
               for s in students
               if not course.submitted(assignment, s).resolve().is_relative_to(base)]
    if outside:
        raise _refuse(source, outside)


def _digests(folder):
    """``{relative path: sha256}`` of the files under ``folder`` ({} if there is none)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def _stamp():
    return datetime.now(UTC).strftime("%Y-%m-%dT%H%M%S.%fZ")


def _ledger(course, student):
    path = course.student_folder(student) / LEDGER
    return path, (json.loads(path.read_text()) if path.is_file() else {})


def install_submission(course, assignment, student, staged, source, late):
    """Put ``staged`` (a folder of notebooks) in place for ``student``; say what happened."""
    dest = course.submitted(assignment, student)
    path, ledger = _ledger(course, student)
    entry = ledger.get(assignment, {"history": []})
    if dest.is_dir() and _digests(dest) == _digests(staged):
        what = "unchanged"
    else:
        what, stamp = "new", _stamp()
        if dest.exists():
            kept = dest.parent / HISTORY / assignment / stamp
            kept.parent.mkdir(parents=True, exist_ok=True)
            dest.rename(kept)
            entry["history"].append(str(kept.relative_to(course.root)))
            what = f"replaced (previous kept in {kept.relative_to(course.root)})"
            _mark_for_regrading(course, assignment, student, stamp)
        shutil.copytree(staged, dest)
        entry.update(collected_at=stamp, source=str(source), late=late)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**ledger, assignment: entry}, indent=1))
    return what


def _mark_for_regrading(course, assignment, student, stamp):
    """Mark ``student``'s entry in the autograde report, if graded: "needs regrading"."""
    status = status_report.load(course, assignment) or {}
    if student in status:
        status[student]["needs_regrading"] = f"collected again at {stamp}"
        status_report.save(course, assignment, status)


def needs_regrading(course, assignment, status=None):
    """``{student: why}`` for students collected again since ``course autograde`` graded them.

    ``status`` is the autograde report (default: read from disk). Grading a student again
    rewrites their entry, which clears the mark.
    """
    status = course.load_status(assignment) if status is None else status
    return {s: info["needs_regrading"] for s, info in status.items()
            if info.get("needs_regrading")}


def late_students(course, assignment):
    """Students whose last collected upload the LMS marked late (``<student>_late_...``)."""
    return {s for s in course.students(assignment)
            if _ledger(course, s)[1].get(assignment, {}).get("late")}


def _real_dir(path):
    """A folder, not a link to one: a link in a student's upload could point at the
    instructor's solutions or at another student's folder."""
    return path.is_dir() and not path.is_symlink()


def _notebooks(folder, assignment, ignored, label):
    """The notebooks of one student's ``folder``; the rest of it goes to ``ignored``."""
    inner = folder / assignment
    base = inner if _real_dir(inner) else folder
    found = []
    for p in sorted(base.iterdir()):
        shown = f"{label}/{p.relative_to(folder)}"
        if p.name.startswith(SKIPPED) or (p == inner):
            continue
        if p.suffix == ".ipynb" and p.is_file() and not p.is_symlink():
            found.append(p)
        elif _real_dir(p):
            ignored.append(f"{shown}/: a folder inside a student's folder")
        else:
            ignored.append(f"{shown}: not a notebook")
    return found


def _student_folders(folder, assignment, source, ignored):
    """``{student: [notebooks]}`` of a folder of student folders (refuses bad ids)."""
    folders = sorted(p for p in Path(folder).iterdir()
                     if _real_dir(p) and not p.name.startswith(SKIPPED))
    ignored += [f"{_shown(p.name)}: a link, not a folder (links are not followed)"
                for p in Path(folder).iterdir() if p.is_symlink() and p.is_dir()]
    bad = [f"student folder {_shown(p.name)}: {student_id_problem(p.name)}"
           for p in folders if student_id_problem(p.name)]
    if bad:
        raise _refuse(source, bad)
    found = {}
    for p in folders:
        notebooks = _notebooks(p, assignment, ignored, p.name)
        if notebooks:
            found[p.name] = notebooks
        elif any(_real_dir(q) and any(q.glob("*.ipynb")) for q in p.iterdir()):
            ignored.append(f"{p.name}/: holds folders of notebooks, not a student's notebook "
                           f"(to collect them, pass {for_terminal(Path(source) / p.name)})")
        else:
            ignored.append(f"{p.name}/: no notebook in it")
    return found


def _collect_folders(course, assignment, found, source, result):
    _check_destinations(course, assignment, list(found), source)
    for student, notebooks in found.items():
        with tempfile.TemporaryDirectory(prefix=".collect-", dir=course.root) as tmp:
            for nb in notebooks:
                shutil.copyfile(nb, Path(tmp) / nb.name)
            result.students[student] = install_submission(course, assignment, student, tmp,
                                                          source, late=False)
    return result


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
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
            raise CourseError(f"{for_terminal(source)} is damaged: its member "
                              f"{_shown(info.filename)} cannot be read ({e}); download it "
                              "again: nothing collected") from e


def _lms_students(names, source, what):
    """``{student: late}`` of LMS-named files ``names``; refuse any bad one."""
    students, bad = {}, []
    for name in names:
        match = re.match(LMS_FILENAME_REGEXP, "/" + name)
        problem = student_id_problem(match["student_id"]) if match else None
        if not match:
            bad.append(f"{what} {_shown(name)}: names no student (expected {LMS_PATTERN})")
        elif problem:
            bad.append(f"{what} {_shown(name)}: student id "
                       f"{_shown(match['student_id'])}: {problem}")
        else:
            late = bool(LATE.match(PurePosixPath(name).name))
            students[match["student_id"]] = students.get(match["student_id"], False) or late
    if bad:
        raise _refuse(source, bad)
    return dict(sorted(students.items()))


def _collect_lms(course, assignment, students, write_archive, source, result):
    """Collect LMS-named notebooks with nbgrader's ``zip_collect``, then install them.

    ``write_archive(folder)`` puts the notebooks in ``folder``; ``students`` maps each
    student to their late marker. nbgrader collects into a staging folder, never straight
    into submitted/.
    """
    _check_destinations(course, assignment, list(students), source)
    # nbgrader joins root and these folders as strings: use folders inside the root
    with tempfile.TemporaryDirectory(prefix=".collect-", dir=course.root) as tmp:
        downloaded = Path(tmp)
        write_archive(downloaded / assignment / "archive")
        staging = f"{downloaded.name}/submitted"
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "zip_collect", assignment, "--force",
             f"--ZipCollectApp.downloaded_directory={downloaded.name}",
             f"--CourseDirectory.submitted_directory={staging}",
             f"--FileNameCollectorPlugin.named_regexp={LMS_FILENAME_REGEXP}"],
            cwd=course.root, check=True, capture_output=True)
        staged = course.root / staging
        missing = [s for s in students if not (staged / s / assignment).is_dir()]
        if not students or missing:
            raise CourseError(f"nbgrader zip_collect found no submission in "
                              f"{for_terminal(source)} for "
                              f"{', '.join(map(_shown, missing)) or 'anyone'}: are its "
                              f"notebooks named {LMS_PATTERN}?")
        for student, late in students.items():
            result.students[student] = install_submission(
                course, assignment, student, staged / student / assignment, source, late)
    return result


def _lms_folder(course, assignment, folder, source, result):
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(SKIPPED))
    notebooks = [p for p in files if p.suffix == ".ipynb" and not p.is_symlink()]
    result.ignored += [f"{p.name}: not a notebook" for p in files if p not in notebooks]
    students = _lms_students([p.name for p in notebooks], source, "file")

    def write_archive(archive):
        archive.mkdir(parents=True)
        for p in notebooks:
            shutil.copyfile(p, archive / p.name)

    return _collect_lms(course, assignment, students, write_archive, source, result)


def _from_folder(course, assignment, folder, source):
    """Collect a folder of student folders, or of LMS files (whichever it holds)."""
    result = Collected()
    found = _student_folders(folder, assignment, source, result.ignored)
    flat = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(SKIPPED)]
    if not found and any(p.suffix == ".ipynb" for p in flat):
        return _lms_folder(course, assignment, folder, source, result)
    result.ignored += [f"{p.name}: a file outside any student's folder" for p in sorted(flat)]
    if not found:
        ignored = "".join(f"\n  ignored {for_terminal(i)}" for i in result.ignored)
        raise CourseError(f"no submission found in {for_terminal(source)}: expected one "
                          f"folder per student holding notebooks, or LMS files named "
                          f"{LMS_PATTERN}{ignored}")
    return _collect_folders(course, assignment, found, source, result)


def _open_zip(source):
    try:
        return zipfile.ZipFile(source)
    except UnicodeDecodeError as e:  # a member flagged UTF-8 that is not
        name = e.object.decode("utf-8", "surrogateescape")
        raise _refuse(source, [f"zip member {_shown(name)}: not valid UTF-8"]) from e
    except (zipfile.BadZipFile, OSError) as e:
        raise CourseError(f"{for_terminal(source)} cannot be read as a zip ({e}): download "
                          "it again: nothing collected") from e


def _from_zip(course, assignment, zf, source):
    members = zf.infolist()
    bad = [f"zip member {_shown(i.filename)}: {_member_problem(i.filename)}"
           for i in members if _member_problem(i.filename)]
    if bad:
        raise _refuse(source, bad)
    files = [i.filename for i in members if not i.is_dir()]
    if not all("/" in n for n in files):
        result = Collected()
        notebooks = [i for i in members
                     if not i.is_dir() and PurePosixPath(i.filename).suffix == ".ipynb"]
        result.ignored += [f"{n}: not a notebook" for n in files
                           if PurePosixPath(n).suffix != ".ipynb"]
        students = _lms_students([i.filename for i in notebooks], source, "zip member")
        return _collect_lms(course, assignment, students,
                            lambda archive: _extract(zf, notebooks, archive, source),
                            source, result)
    with tempfile.TemporaryDirectory(prefix="course-collect-") as tmp:
        base = Path(tmp)
        _extract(zf, members, base, source)
        top = list(base.iterdir())
        if len(top) == 1 and top[0].is_dir() and all(
                q.is_dir() and q.name != assignment for q in top[0].iterdir()):
            base = top[0]  # one wrapping folder, e.g. submissions/alice/...
        return _from_folder(course, assignment, base, source)


def collect_submissions(course, assignment, source):
    """Copy the submissions in ``source`` (folder or zip) into submitted/: a Collected."""
    check_assignment(course, assignment)
    source = Path(source)
    if source.is_dir():
        return _from_folder(course, assignment, source, source)
    if not source.exists():
        raise CourseError(f"{for_terminal(source)} does not exist: pass the folder or the "
                          "zip of the submissions")
    if not zipfile.is_zipfile(source):
        raise CourseError(f"{for_terminal(source)} is not a zip file (damaged, or another "
                          "kind of file): pass a folder of student folders, a folder of LMS "
                          "files or a zip of either; nothing collected")
    with _open_zip(source) as zf:
        return _from_zip(course, assignment, zf, source)


def collect(course, assignment, source):
    """:func:`collect_submissions`, returning the sorted students collected."""
    return sorted(collect_submissions(course, assignment, source).students)
