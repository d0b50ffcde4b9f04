"""``course release|collect|feedback --exchange`` against a real nbgrader exchange folder.

Submissions are written into ``inbound/`` the way a hub user could write them, owned by
two real system accounts (``nobody`` and ``daemon``, which every Debian has): honest
ones, as nbgrader's ``submit`` makes them, and hostile ones (another student's name,
links, pipes, files of someone else, a backdated time). Changing a file's owner needs
root, as on the hub.
"""

import hashlib
import json
import os
import pwd
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grading_fixtures as fx
import nbformat
import pytest

from course_lib.cli import main as course_main
from course_lib.grading import exchange
from course_lib.grading.course import Course, CourseError

STAMP = "%Y-%m-%d %H:%M:%S.%f UTC"


@pytest.fixture(autouse=True)
def as_root():
    if os.geteuid() != 0:
        message = "the exchange tests give files to other accounts: run them as root"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set, so this is a failure, not a skip)")
        pytest.skip(message)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A course released to its exchange once (nbgrader takes seconds); tests use copies."""
    base = tmp_path_factory.mktemp("released")
    folder = fx.make_course(base / "course")
    root = base / "exchange"
    root.mkdir()
    root.chmod(0o1777)
    with open(folder / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Exchange.root = {str(root)!r}\n")
    assert course_main(["-q", "--root", str(folder), "release", fx.ASSIGNMENT,
                        "--exchange"]) == 0
    return base


@pytest.fixture
def course(released, tmp_path):
    """A copy of :func:`released` whose config points at its own copy of the exchange."""
    shutil.copytree(released / "exchange", tmp_path / "exchange", symlinks=True)
    shutil.copytree(released / "course", tmp_path / "course", symlinks=True)
    config = tmp_path / "course" / "nbgrader_config.py"
    config.write_text(config.read_text().replace(str(released / "exchange"),
                                                 str(tmp_path / "exchange")))
    return Course(tmp_path / "course")


def _release(course):
    return nbformat.read(course.release(fx.ASSIGNMENT) / f"{fx.ASSIGNMENT}.ipynb",
                         as_version=4)


def _give(path, user):
    uid = pwd.getpwnam(user).pw_uid
    for p in (path, *(path.rglob("*") if path.is_dir() and not path.is_symlink() else [])):
        os.chown(p, uid, uid, follow_symlinks=False)


def submit(course, name_as, owner, claimed, notebook, secret="s3cret"):
    """A submission folder in inbound/ named for ``name_as``, owned by ``owner``."""
    inbound = exchange.exchange_of(course).inbound
    folder = inbound / f"{name_as}+{fx.ASSIGNMENT}+{claimed.strftime(STAMP)}+{os.urandom(3).hex()}"
    folder.mkdir()
    nbformat.write(notebook, folder / f"{fx.ASSIGNMENT}.ipynb")
    (folder / "timestamp.txt").write_text(claimed.strftime(STAMP))
    (folder / "submission_secret.txt").write_text(secret)
    _give(folder, owner)
    return folder


def now():
    return datetime.now(UTC).replace(tzinfo=None)


def _collected_source(course, student):
    nb = nbformat.read(course.submitted(fx.ASSIGNMENT, student) / f"{fx.ASSIGNMENT}.ipynb",
                       as_version=4)
    return "\n".join(c.source for c in nb.cells)


def test_release_publishes_the_student_version_and_protects_inbound(course):
    where = exchange.exchange_of(course)
    released = where.course / "outbound" / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb"
    assert released.read_bytes() == (course.release(fx.ASSIGNMENT) /
                                     f"{fx.ASSIGNMENT}.ipynb").read_bytes()
    assert "BEGIN SOLUTION" not in released.read_text()
    mode = where.inbound.stat().st_mode
    assert mode & 0o1000, "inbound/ has the sticky bit: nobody deletes another's folder"
    assert not mode & 0o004, "students cannot list inbound/"


def test_latest_owned_submission_per_student_is_collected(course):
    release = _release(course)
    submit(course, "nobody", "nobody", now() - timedelta(minutes=2), fx.answer(release, fx.GOOD))
    submit(course, "nobody", "nobody", now() - timedelta(minutes=1), fx.answer(release, fx.WRONG))
    submit(course, "daemon", "daemon", now() - timedelta(minutes=3), fx.answer(release, fx.GOOD))
    done = exchange.collect(course, fx.ASSIGNMENT)
    assert done.students == {"daemon": "new", "nobody": "new"}
    assert "return x * 2" in _collected_source(course, "nobody"), "the latest one"
    assert "return x * x" in _collected_source(course, "daemon")
    again = exchange.collect(course, fx.ASSIGNMENT)
    assert again.students == {"daemon": "unchanged", "nobody": "unchanged"}


def test_a_submission_in_another_students_name_counts_for_nobody(course):
    release = _release(course)
    real = submit(course, "daemon", "daemon", now() - timedelta(minutes=3),
                  fx.answer(release, fx.WRONG))
    forged = submit(course, "daemon", "nobody", now(), fx.answer(release, fx.GOOD))
    done = exchange.collect(course, fx.ASSIGNMENT)
    assert list(done.students) == ["daemon"]
    assert "return x * 2" in _collected_source(course, "daemon"), "daemon's own, not the forgery"
    assert any(forged.name in line and "belongs to nobody" in line for line in done.ignored)
    assert real.is_dir() and forged.is_dir(), "nothing in the exchange is changed"


def test_links_pipes_and_other_peoples_files_are_not_collected(course, tmp_path):
    release = _release(course)
    secret_file = tmp_path / "instructor-only.ipynb"
    shutil.copy(course.source(fx.ASSIGNMENT) / f"{fx.ASSIGNMENT}.ipynb", secret_file)
    folder = submit(course, "nobody", "nobody", now(), fx.answer(release, fx.WRONG))
    (folder / f"{fx.ASSIGNMENT}.ipynb").unlink()
    (folder / f"{fx.ASSIGNMENT}.ipynb").symlink_to(secret_file)  # the solutions, by link
    os.mkfifo(folder / "notes.ipynb")  # would block a reader forever
    nbformat.write(fx.answer(release, fx.GOOD), folder / "other.ipynb")  # someone else's
    _give(folder, "nobody")
    _give(folder / "other.ipynb", "daemon")
    linked_dir = exchange.exchange_of(course).inbound / f"daemon+{fx.ASSIGNMENT}+{now().strftime(STAMP)}+x"
    linked_dir.symlink_to(course.source(fx.ASSIGNMENT))
    _give(linked_dir, "daemon")

    done = exchange.collect(course, fx.ASSIGNMENT)

    assert done.students == {}, "no notebook could be collected from either"
    text = "\n".join(done.ignored)
    assert f"{fx.ASSIGNMENT}.ipynb: cannot be opened" in text  # O_NOFOLLOW
    assert "notes.ipynb: not a regular file" in text
    assert "other.ipynb: belongs to daemon, not to the student" in text
    assert f"{linked_dir.name}: not a folder" in text
    assert not course.submitted(fx.ASSIGNMENT).exists() or not any(
        course.submitted(fx.ASSIGNMENT).rglob("*.ipynb"))


def test_a_backdated_claim_is_timed_by_the_exchange_and_judged_late(course):
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        gb.update_or_create_assignment(fx.ASSIGNMENT, duedate=now() - timedelta(days=1))
    release = _release(course)
    submit(course, "nobody", "nobody", now() - timedelta(days=3), fx.answer(release, fx.GOOD))
    received = now()

    done = exchange.collect(course, fx.ASSIGNMENT)

    ledger = json.loads((course.student_folder("nobody") / ".collected.json").read_text())
    assert ledger[fx.ASSIGNMENT]["late"] is True, "it reached the exchange after the due date"
    stamp = (course.submitted(fx.ASSIGNMENT, "nobody") / "timestamp.txt").read_text()
    assert abs(datetime.strptime(stamp, STAMP) - received) < timedelta(minutes=1)
    assert any("timed by the exchange" in line for line in done.ignored)


def test_an_honest_late_submission_is_late_and_an_early_one_is_not(course):
    from nbgrader.api import Gradebook

    due = now() + timedelta(minutes=1)
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_assignment(fx.ASSIGNMENT, duedate=due)
    release = _release(course)
    submit(course, "nobody", "nobody", now(), fx.answer(release, fx.GOOD))
    submit(course, "daemon", "daemon", now() + timedelta(minutes=2), fx.answer(release, fx.GOOD))
    exchange.collect(course, fx.ASSIGNMENT)
    late = {s: json.loads((course.student_folder(s) / ".collected.json").read_text())
            [fx.ASSIGNMENT]["late"] for s in ("nobody", "daemon")}
    assert late == {"nobody": False, "daemon": True}


def test_feedback_goes_where_the_students_server_looks_for_it(course):
    release = _release(course)
    submit(course, "nobody", "nobody", now(), fx.answer(release, fx.GOOD), secret="abc123")
    exchange.collect(course, fx.ASSIGNMENT)
    fx.good(course.root / "folder-collected" / "daemon", release)
    course_main(["-q", "--root", str(course.root), "collect", fx.ASSIGNMENT,
                 str(course.root / "folder-collected")])
    for student in ("nobody", "daemon"):
        page = course.feedback(fx.ASSIGNMENT, student) / f"{fx.ASSIGNMENT}.html"
        page.parent.mkdir(parents=True)
        page.write_text(f"<p>feedback for {student}</p>")

    released, skipped = exchange.release_feedback(course, fx.ASSIGNMENT, ["nobody", "daemon"])

    assert (released, skipped) == (["nobody"], ["daemon"])
    # nbgrader's fetch_feedback looks for md5(secret + notebook name)
    name = hashlib.md5(b"abc123" + fx.ASSIGNMENT.encode()).hexdigest()
    folder = exchange.exchange_of(course).feedback
    assert (folder / f"{name}.html").read_text() == "<p>feedback for nobody</p>"
    assert folder.stat().st_mode & 0o777 == 0o711, "students open their page, list none"
    assert [p.name for p in folder.iterdir()] == [f"{name}.html"]


def test_collect_needs_exactly_one_source(course, capsys):
    assert course_main(["--root", str(course.root), "collect", fx.ASSIGNMENT]) == 2
    assert "needs one source" in capsys.readouterr().err
    assert course_main(["--root", str(course.root), "collect", fx.ASSIGNMENT, "x",
                        "--exchange"]) == 2


def test_an_exchange_that_does_not_exist_is_named(tmp_path):
    folder = fx.make_course(tmp_path / "course")
    with open(folder / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Exchange.root = {str(tmp_path / 'nowhere')!r}\n")
    with pytest.raises(CourseError, match="nowhere.* does not exist"):
        exchange.release(Course(folder), fx.ASSIGNMENT)
    with pytest.raises(CourseError, match="does not exist"):
        exchange.collect(Course(folder), fx.ASSIGNMENT)
    assert not Path(tmp_path / "nowhere").exists()


def test_a_file_rewritten_after_the_folder_was_made_is_timed_by_its_change(course,
                                                                         monkeypatch):
    """Rewriting a notebook in place leaves its folder's change time alone: the file's
    own change time must count. (The tolerance is cut to 1 s so the test waits 2.)"""
    monkeypatch.setattr(exchange, "CLOCK_TOLERANCE", timedelta(seconds=1))
    release = _release(course)
    folder = submit(course, "nobody", "nobody", now(), fx.answer(release, fx.WRONG))
    folder_changed = folder.stat().st_ctime
    time.sleep(2.5)
    nbformat.write(fx.answer(release, fx.GOOD), folder / f"{fx.ASSIGNMENT}.ipynb")
    assert folder.stat().st_ctime == folder_changed, "in place: the folder is unchanged"

    done = exchange.collect(course, fx.ASSIGNMENT)

    assert "return x * x" in _collected_source(course, "nobody")
    assert any("timed by the exchange" in line for line in done.ignored), done.ignored
    stamp = (course.submitted(fx.ASSIGNMENT, "nobody") / "timestamp.txt").read_text()
    assert datetime.strptime(stamp, STAMP) > datetime.fromtimestamp(folder_changed, UTC
                                                                     ).replace(tzinfo=None)


def test_an_unreadable_latest_submission_falls_back_to_the_one_before(course, monkeypatch):
    release = _release(course)
    submit(course, "nobody", "nobody", now() - timedelta(minutes=2), fx.answer(release, fx.GOOD))
    locked = submit(course, "nobody", "nobody", now(), fx.answer(release, fx.WRONG))
    submit(course, "daemon", "daemon", now(), fx.answer(release, fx.GOOD))
    real_stage = exchange._stage

    def stage(sub, staged, ignored):  # what chmod 0 does to an unprivileged instructor
        if sub.folder == locked:
            raise PermissionError(13, "Permission denied")
        return real_stage(sub, staged, ignored)

    monkeypatch.setattr(exchange, "_stage", stage)
    done = exchange.collect(course, fx.ASSIGNMENT)
    assert set(done.students) == {"nobody", "daemon"}, done.ignored
    assert "return x * x" in _collected_source(course, "nobody"), "the earlier, readable one"
    assert any(locked.name in line and "cannot be read" in line for line in done.ignored)


def test_only_a_few_notebooks_and_bytes_are_taken_from_a_submission(course):
    release = _release(course)
    folder = submit(course, "nobody", "nobody", now(), fx.answer(release, fx.GOOD))
    for n in range(exchange.MAX_NOTEBOOKS + 3):
        with open(folder / f"big{n}.ipynb", "wb") as f:
            f.truncate(90 * 2**20)  # sparse: nothing on the exchange's disk
    _give(folder, "nobody")
    done = exchange.collect(course, fx.ASSIGNMENT)
    kept = list(course.submitted(fx.ASSIGNMENT, "nobody").glob("*.ipynb"))
    assert len(kept) <= exchange.MAX_NOTEBOOKS
    assert sum(p.stat().st_size for p in kept) <= exchange.MAX_SUBMISSION_BYTES
    assert any("not collected" in line for line in done.ignored)


def test_release_refuses_a_course_folder_someone_else_made(course):
    where = exchange.exchange_of(course)
    shutil.rmtree(where.course)
    where.course.symlink_to(course.root)  # a student's link into the instructor's course
    _give(where.course, "nobody")
    with pytest.raises(CourseError, match="not a folder of yours"):
        exchange.release(course, fx.ASSIGNMENT)
    assert not (course.root / "outbound").exists()
