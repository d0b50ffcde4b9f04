"""nbgrader's exchange: release PS4 to a hub, collect from it, hand feedback back.

On a JupyterHub, students fetch and submit through JupyterLab's *Assignments* panel
(nbgrader's default exchange: a shared folder, ``<root>/<course_id>/``):

* ``outbound/<assignment>/``: the release, written by ``nbgrader release_assignment``;
* ``inbound/<student>+<assignment>+<timestamp>+<random>/``: one folder per submission,
  written by the student's own server (``nbgrader submit``);
* ``feedback/<md5(secret + notebook)>.html``: pages the student's server finds again
  from the ``submission_secret.txt`` it kept.

The root and course id are nbgrader's settings (``Exchange.root``,
``CourseDirectory.course_id``), read from the Jupyter config path and the course's own
``nbgrader_config.py`` as nbgrader reads them.

**Collecting trusts nothing a student wrote.** Any hub user can write into ``inbound/``,
so a folder's name proves nothing: a submission counts for the student who *owns* it
(its folder and every file collected from it), and each student's latest such
submission (by the time it claims) that can be read is collected. Folders and files that
are symbolic links, devices or pipes, files over :data:`MAX_NOTEBOOK_BYTES`, notebooks
beyond :data:`MAX_NOTEBOOKS` or :data:`MAX_SUBMISSION_BYTES`, and names that are no valid
student id are left out and listed, with why. The student's claimed time (the folder
name) is checked against the latest inode change time of the folder and of every file
collected from it (which no user can set back): a claim further than
:data:`CLOCK_TOLERANCE` from it is replaced by it, and said. Lateness is judged against
the assignment's due date in the gradebook, and recorded as for an LMS upload.

**Releasing** refuses a course folder in the exchange that is not a folder of the
releasing user's own (a student could create it first, or put a link there).
"""

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jupyter_core.paths import jupyter_config_path
from nbgrader.utils import notebook_hash, parse_utc
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from course_lib.grading.collect import Collected, check_assignment, install_submission
from course_lib.grading.course import CourseError, student_id_problem
from course_lib.grading.escape import for_terminal

DEFAULT_ROOT = "/usr/local/share/nbgrader/exchange"
MAX_NOTEBOOK_BYTES = 100 * 2**20
MAX_NOTEBOOKS = 5  # a submission's notebooks collected, at most
MAX_SUBMISSION_BYTES = 200 * 2**20
MAX_TEXT_BYTES = 4096  # timestamp.txt, submission_secret.txt
CLOCK_TOLERANCE = timedelta(minutes=5)
KEPT_TEXT = ("timestamp.txt", "submission_secret.txt")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's, for a UTC time


@dataclass(frozen=True)
class Exchange:
    """Where one course lives in nbgrader's exchange."""

    root: Path
    course_id: str

    @property
    def course(self):
        return self.root / self.course_id

    @property
    def inbound(self):
        return self.course / "inbound"

    @property
    def feedback(self):
        return self.course / "feedback"


def nbgrader_config(course):
    """nbgrader's configuration as it sees it from the course root: every
    ``nbgrader_config.py`` on the Jupyter config path, then the course's (which wins)."""
    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(course.root)]:
        if (Path(folder) / "nbgrader_config.py").is_file():
            config.merge(PyFileConfigLoader("nbgrader_config.py", path=folder).load_config())
    return config


def exchange_of(course):
    """The course's :class:`Exchange`; refuses a course without a course id."""
    config = nbgrader_config(course)
    course_id = config.get("CourseDirectory", {}).get("course_id", "")
    if not isinstance(course_id, str) or not course_id:
        raise CourseError("no CourseDirectory.course_id in nbgrader_config.py: the exchange "
                          "keeps each course under its id")
    root = config.get("Exchange", {}).get("root", DEFAULT_ROOT)
    return Exchange(Path(root), course_id)


def _nbgrader(course, *args):
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course.root,
                          capture_output=True, text=True)
    if done.returncode:
        raise CourseError(f"nbgrader {' '.join(args[:2])} failed:\n"
                          f"{for_terminal(done.stderr.strip()[-2000:])}")
    return done


def release(course, assignment):
    """Publish ``assignments/<assignment>/`` to the exchange's ``outbound/``.

    Runs ``nbgrader release_assignment``, then sets the sticky bit on ``inbound/`` (as
    on /tmp): a student who guesses another's submission folder cannot delete it.
    Returns the outbound folder.
    """
    where = exchange_of(course)
    if not where.root.is_dir():
        raise CourseError(f"the exchange {for_terminal(where.root)} does not exist: set "
                          "Exchange.root in nbgrader_config.py (on the course hub, "
                          "`make hub` creates it)")
    try:
        st = where.course.lstat()
    except FileNotFoundError:
        st = None
    if st and not (stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()):
        raise CourseError(f"{for_terminal(where.course)} is not a folder of yours (it "
                          f"belongs to {for_terminal(_owner(st))}): someone else made it; "
                          "remove it, as root, and release again")
    _nbgrader(course, "release_assignment", assignment, "--force")
    where.inbound.chmod(where.inbound.stat().st_mode | stat.S_ISVTX)
    return where.course / "outbound" / assignment


def _owner(st):
    try:
        return pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        return f"uid {st.st_uid}"


def _claimed_time(text):
    try:
        return parse_utc(text.strip())
    except (ValueError, OverflowError, TypeError):
        return None


def _utc(seconds):
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


@dataclass
class _Submission:
    """One submission folder; times are naive UTC, as :func:`nbgrader.utils.parse_utc`.

    ``received`` is the latest inode change time of the folder and of every file
    collected from it (set when it is staged): a file rewritten after the folder was
    made moves it.
    """

    student: str
    folder: Path
    claimed: datetime
    received: datetime = None

    @property
    def time(self):
        """When it counts as submitted: the claim, unless the exchange's own time differs
        from it by more than :data:`CLOCK_TOLERANCE`."""
        return self.claimed if abs(self.claimed - self.received) <= CLOCK_TOLERANCE \
            else self.received


def _submissions(where, assignment, ignored):
    """Every submission folder of ``assignment`` in ``inbound/`` that a student owns."""
    found = []
    for entry in sorted(os.scandir(where.inbound), key=lambda e: e.name):
        parts = entry.name.rsplit("+", 3)
        if len(parts) < 3 or parts[1] != assignment:
            continue
        shown = for_terminal(entry.name)
        student, st = parts[0], entry.stat(follow_symlinks=False)
        claimed = _claimed_time(parts[2])
        problem = student_id_problem(student)
        if problem:
            ignored.append(f"inbound/{shown}: student id {problem}")
        elif not stat.S_ISDIR(st.st_mode):
            ignored.append(f"inbound/{shown}: not a folder")
        elif _owner(st) != student:
            ignored.append(f"inbound/{shown}: claims to be {for_terminal(student)}'s but "
                           f"belongs to {for_terminal(_owner(st))} (not collected)")
        elif claimed is None:
            ignored.append(f"inbound/{shown}: no readable time in its name")
        else:
            found.append(_Submission(student, Path(entry.path), claimed))
    return found


def _read_regular(name, folder_fd, owner, limit):
    """``(bytes, inode change time)`` of file ``name`` in the open folder if it is a
    regular file of ``owner`` within ``limit``, else why not (a str). Never follows a
    link, never blocks on a pipe."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
    except OSError as e:
        return f"cannot be opened ({e.strerror})"
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file"
        if _owner(st) != owner:
            return f"belongs to {for_terminal(_owner(st))}, not to the student"
        data = f.read(limit + 1)
    return f"larger than {limit // 1024} KiB" if len(data) > limit else (data, st.st_ctime)


def _stage(sub, staged, ignored):
    """Copy the notebooks and nbgrader's two text files of ``sub`` into ``staged``.

    At most :data:`MAX_NOTEBOOKS` notebooks and :data:`MAX_SUBMISSION_BYTES` in all are
    copied. Sets ``sub.received``. Raises OSError when the folder cannot be read.
    """
    label = f"{sub.folder.name}/"
    folder_fd = os.open(sub.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        changed, total, notebooks = [os.fstat(folder_fd).st_ctime], 0, 0
        for name in sorted(os.listdir(folder_fd)):
            shown = label + for_terminal(name)
            is_notebook = name.endswith(".ipynb")
            if not (is_notebook or name in KEPT_TEXT):
                ignored.append(f"{shown}: not a notebook")
                continue
            if is_notebook and notebooks == MAX_NOTEBOOKS:
                ignored.append(f"{shown}: more than {MAX_NOTEBOOKS} notebooks (not collected)")
                continue
            if total >= MAX_SUBMISSION_BYTES:
                ignored.append(f"{shown}: the files before it reach "
                               f"{MAX_SUBMISSION_BYTES // 2**20} MB (not collected)")
                continue
            limit = MAX_NOTEBOOK_BYTES if is_notebook else MAX_TEXT_BYTES
            found = _read_regular(name, folder_fd, sub.student,
                                  min(limit, MAX_SUBMISSION_BYTES - total))
            if isinstance(found, str):
                ignored.append(f"{shown}: {found} (not collected)")
                continue
            data, ctime = found
            (staged / name).write_bytes(data)
            changed.append(ctime)
            total += len(data)
            notebooks += is_notebook
    finally:
        os.close(folder_fd)
    sub.received = _utc(max(changed))
    if sub.time != sub.claimed:
        ignored.append(f"{label[:-1]}: claims {sub.claimed:%Y-%m-%d %H:%M} UTC but was last "
                       f"changed in the exchange at {sub.received:%Y-%m-%d %H:%M} UTC: "
                       "timed by the exchange")
    (staged / "timestamp.txt").write_text(sub.time.strftime(TIMESTAMP_FORMAT))


def _due_date(course, assignment):
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url) as gb:
        try:
            due = gb.find_assignment(assignment).duedate
        except MissingEntry:
            return None
    return due  # naive UTC, as nbgrader keeps times


def collect(course, assignment):
    """Collect the latest owned submission of each student into submitted/: a Collected.

    Students are installed as by ``course collect`` from a folder (a changed submission
    keeps the previous one in ``.history/``), with ``late`` set against the due date.
    """
    check_assignment(course, assignment)
    where = exchange_of(course)
    if not where.inbound.is_dir():
        raise CourseError(f"nothing to collect: {for_terminal(where.inbound)} does not exist "
                          f"(release first: `course release {assignment} --exchange`)")
    result = Collected()
    by_student = {}
    for sub in _submissions(where, assignment, result.ignored):
        by_student.setdefault(sub.student, []).append(sub)
    due = _due_date(course, assignment)
    for student, subs in sorted(by_student.items()):
        for sub in sorted(subs, key=lambda s: s.claimed, reverse=True):
            with tempfile.TemporaryDirectory(prefix=".collect-", dir=course.root) as tmp:
                try:
                    _stage(sub, Path(tmp), result.ignored)
                except OSError as e:
                    result.ignored.append(f"{for_terminal(sub.folder.name)}: cannot be read "
                                          f"({e.strerror}): an earlier submission is taken")
                    continue
                if not any(Path(tmp).glob("*.ipynb")):
                    result.ignored.append(f"{for_terminal(sub.folder.name)}: no notebook "
                                          "could be collected")
                    continue
                late = bool(due and sub.time > due)
                result.students[student] = install_submission(
                    course, assignment, student, tmp, f"exchange {where.inbound}", late)
                break
    return result


def release_feedback(course, assignment, students):
    """Put each of ``students``' feedback pages where their Assignments panel finds them.

    A page goes to ``feedback/<md5(submission secret + notebook)>.html``, as nbgrader's
    ``release_feedback`` names it. Students whose submission did not come through the
    exchange (no ``submission_secret.txt``) are returned as skipped.
    Returns ``(released students, skipped students)``.
    """
    where = exchange_of(course)
    if not where.course.is_dir():
        raise CourseError(f"{for_terminal(where.course)} does not exist: release through "
                          f"the exchange first (`course release {assignment} --exchange`)")
    where.feedback.mkdir(exist_ok=True)
    where.feedback.chmod(0o711)  # students open their page by name, never list others
    released, skipped = [], []
    for student in students:
        secret_file = course.submitted(assignment, student) / "submission_secret.txt"
        pages = sorted(course.feedback(assignment, student).glob("*.html"))
        if not secret_file.is_file() or not pages:
            skipped.append(student)
            continue
        secret = secret_file.read_text(errors="replace")
        if not secret:
            skipped.append(student)
            continue
        for page in pages:
            name = notebook_hash(secret=secret, notebook_id=page.stem)
            partial = where.feedback / f".{name}.tmp"
            shutil.copyfile(page, partial)
            partial.chmod(0o644)
            partial.replace(where.feedback / f"{name}.html")
        released.append(student)
    return released, skipped
