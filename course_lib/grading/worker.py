"""Grade one student with nbgrader, in a private workspace, in a warm grading process.

nbgrader's SQLite gradebook takes one writer at a time, and ``nbgrader autograde``
stops a whole batch on some broken notebooks. So each student is graded on its own,
as ``nbgrader autograde ASSIGNMENT --student S --force`` would be, in a workspace of
its own:

    <workspace>/nbgrader_config.py   the course's config, then the overrides below
    <workspace>/gradebook.db         a copy of the run's gradebook template (merged back later)
    <workspace>/received/            the student's files as read, unparsed (the job)
    <workspace>/received.json        what was not read, and why
    <workspace>/submitted/S/A/       what the grading process staged from them (preflight)
    <workspace>/autograded/S/A/      what nbgrader writes

Starting nbgrader costs as much as grading PS4, so each Dask worker
(:mod:`course_lib.grading.cluster`) keeps one long-lived :class:`GraderProcess`
(:mod:`course_lib.grading.serve`) grading one student after another; one that overruns
``Limits.student_timeout`` or dies is killed and replaced, so it costs only the student
it was grading. The kernel is
:mod:`course_lib.grading.kernel` (resource limits); :func:`kernel_provider` runs
it inside bubblewrap (:mod:`course_lib.grading.sandbox`, one sandboxed kernel spec for
the whole class) unless ``--unsafe`` is given, when :func:`grader_env` writes its spec.
"""

import json
import os
import select
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.grading import kernel
from course_lib.grading.testproc import kill_group


@dataclass(frozen=True)
class Limits:
    """What one student's grading may use."""

    cell_timeout: int = 60  # seconds per cell (nbgrader's Execute.timeout)
    student_timeout: int = 1800  # seconds for the whole nbgrader run of one student
    memory_mb: int = 2048  # the kernel's address space
    file_mb: int = 64  # the largest file the kernel may write
    max_file_mb: int = 50  # the largest submitted file that is read at all
    max_submission_mb: int = 200  # the most one student's files may add up to
    grader_memory_mb: int = 4096  # the grading process's address space (reading notebooks)
    max_cell_output: int = 1_000_000  # output characters kept per cell, all kinds
    max_notebook_output: int = 16_000_000  # output characters kept per notebook


@dataclass
class Workspace:
    path: Path
    student: str
    assignment: str

    @property
    def received(self):
        return self.path / "received"

    @property
    def submitted(self):
        return self.path / "submitted" / self.student / self.assignment

    @property
    def autograded(self):
        return self.path / "autograded" / self.student / self.assignment

    @property
    def db_url(self):
        return f"sqlite:///{self.path / 'gradebook.db'}"

    @property
    def observations(self):
        """What the grader observed while grading (JSON lines, see :mod:`.execute`)."""
        return self.path / "observations.jsonl"


@contextmanager
def kernel_provider(limits, unsafe):
    """Yield the sandbox's kernel (a ``SandboxedKernel``) or None when ``unsafe``.

    Raises RuntimeError saying why when the sandbox is wanted but not available.
    """
    if unsafe:
        yield None
        return
    from course_lib.grading import sandbox

    ok, reason = sandbox.sandbox_available()
    if not ok:
        raise RuntimeError(f"refusing to run student code without the sandbox: {reason} "
                           "(pass --unsafe to grade with resource limits only)")
    box_limits = sandbox.Limits(memory_bytes=limits.memory_mb * 2**20,
                                file_bytes=limits.file_mb * 2**20,
                                wall_seconds=limits.student_timeout)
    with sandbox.sandboxed_kernel(limits=box_limits, kernel_argv=kernel.kernel_argv(),
                                  kernel_env=kernel_env(limits)) as box:
        yield box


def sandbox_status():
    """``(available, reason)`` from the sandbox module."""
    from course_lib.grading import sandbox

    return sandbox.sandbox_available()


def kernel_env(limits):
    return {kernel.MEMORY_ENV: str(limits.memory_mb), kernel.FILE_ENV: str(limits.file_mb)}


def make_workspace(path, gradebook_template, job):
    """Create the workspace folders, the gradebook copy and the student's files.

    ``job`` is a :class:`.cluster.Job`: the student's files as read, unparsed; the
    grading process checks and stages them (:func:`.preflight.stage`).
    ``gradebook_template`` knows the assignment and no student.
    """
    ws = Workspace(Path(path), job.student, job.assignment)
    ws.received.mkdir(parents=True)
    shutil.copyfile(gradebook_template, ws.path / "gradebook.db")
    save_received(job.received, ws)
    return ws


def save_received(received, ws):
    """Write a :class:`.preflight.Received` into ``ws`` (:func:`load_received` reads it)."""
    inside = ws.received.resolve()
    for rel, data in received.files.items():
        target = (ws.received / rel).resolve()
        if inside not in target.parents:
            continue  # read_folder gives relative paths inside the folder; never outside
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (ws.path / "received.json").write_text(json.dumps(
        {"files": sorted(received.files), "problems": received.problems,
         "unreadable": received.unreadable}))


def load_received(ws):
    """The :class:`.preflight.Received` that :func:`save_received` wrote into ``ws``."""
    from course_lib.grading.preflight import Received

    saved = json.loads((ws.path / "received.json").read_text())
    files = {rel: (ws.received / rel).read_bytes() for rel in saved["files"]
             if (ws.received / rel).is_file()}
    return Received(files, saved["problems"], saved["unreadable"])


def grader_env(folder, limits, box=None):
    """``(env, kernel_name)`` for the grading processes of one run.

    ``box`` is the sandbox's kernel from :func:`kernel_provider`; with None the kernel
    is a plain process (:mod:`course_lib.grading.kernel` and its resource limits)
    whose spec is written into ``folder``.
    """
    env = dict(os.environ)
    if box is None:
        jupyter_dir = Path(folder) / "jupyter"
        kernel_name = kernel.write_kernel_spec(jupyter_dir, limits.memory_mb, limits.file_mb)
        env["JUPYTER_PATH"] = os.pathsep.join(
            [str(jupyter_dir), *filter(None, [os.environ.get("JUPYTER_PATH")])])
    else:
        kernel_name = box.kernel_name
        env.update(box.env)
    env["PYTHONUNBUFFERED"] = "1"
    return env, kernel_name


def write_config(ws, course, limits, kernel_name, tests_file, box=None):
    """Write ``ws/nbgrader_config.py``: the course's config, then the grading overrides.

    ``tests_file`` holds the assignment's tests (:func:`.execute.tests_of`); ``box`` is
    the sandbox (None with ``--unsafe``), whose policy the test process runs under too.
    """
    config = [
        f"load_subconfig({str(course.root / 'nbgrader_config.py')!r})",
        f"c.CourseDirectory.root = {str(ws.path)!r}",
        f"c.CourseDirectory.source_directory = {str(course.root / 'solutions')!r}",
        f"c.CourseDirectory.db_url = {ws.db_url!r}",
        "c.Autograde.create_student = True",
        "c.OverwriteCells.add_missing_cells = True",
        "from nbconvert.preprocessors import ClearMetadataPreprocessor",
        "from nbgrader.preprocessors import (AssignLatePenalties, ClearOutput,",
        "    DeduplicateIds, IgnorePattern, LimitOutput, OverwriteCells, OverwriteKernelspec,",
        "    SaveAutoGrades)",
        "from course_lib.grading.execute import FastCheckCellMetadata, SplitExecute",
        "c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds,",
        "    OverwriteKernelspec, OverwriteCells, FastCheckCellMetadata]",
        "c.Autograde.autograde_preprocessors = [SplitExecute, IgnorePattern,",
        "    ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties,",
        "    FastCheckCellMetadata]",
        f"c.SplitExecute.timeout = {limits.cell_timeout}",
        f"c.SplitExecute.kernel_name = {kernel_name!r}",
        f"c.SplitExecute.tests_file = {str(tests_file)!r}",
        f"c.SplitExecute.observations_file = {str(ws.observations)!r}",
        f"c.SplitExecute.harness_policy = {'' if box is None else box.policy_file!r}",
        f"c.SplitExecute.max_cell_output = {limits.max_cell_output}",
        f"c.SplitExecute.max_notebook_output = {limits.max_notebook_output}",
    ]
    (ws.path / "nbgrader_config.py").write_text("\n".join(config) + "\n")


@dataclass
class RunResult:
    returncode: int | None  # 0: graded; None: stopped after Limits.student_timeout
    log: str
    seconds: float
    observations: list = field(default_factory=list)  # see :mod:`.execute`
    peak_mb: int | None = None  # the grading process's peak memory so far
    record: dict | None = None  # the student's grades (:func:`.gradebook.read_submission`)
    answered: bool = False  # the process finished, sanitising included: its notebooks may go
    withheld: list = field(default_factory=list)  # why each unsanitisable notebook was deleted
    preflight: dict | None = None  # what the process's check found (Preflight.summary)


class GraderProcess:
    """One long-lived ``python -m course_lib.grading.serve``: grades students one by one.

    :meth:`grade` sends it a workspace and waits at most ``Limits.student_timeout``.
    A process that overran or died is killed with everything it started (its process
    group) and :attr:`alive` turns False: start a new one for the next student. So does
    one that grew past half its memory limit (``memory_mb``), once it has answered.
    """

    START_TIMEOUT = 300  # seconds to import nbgrader on a loaded machine

    def __init__(self, env, cwd, ipc_dir=None, memory_mb=Limits.grader_memory_mb):
        self.ipc_dir = ipc_dir
        self.stderr = open(Path(cwd) / f"grader-{time.monotonic_ns()}.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "course_lib.grading.serve", "--memory-mb", str(memory_mb)],
            cwd=cwd, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            start_new_session=True)
        self.ready = False
        self.alive = True

    def _reply(self, deadline):
        """``(the next JSON line from the process or None, whether deadline passed)``."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, True
            readable, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if readable:
                line = self.proc.stdout.readline()  # empty: the process died
                return (json.loads(line) if line else None), False

    def grade(self, ws, limits, source_dir, release_dir):
        """Check, stage and grade the student's files in ``ws``; return a :class:`RunResult`.

        ``source_dir`` and ``release_dir`` hold the assignment's source and released
        notebooks: the submission is checked against both (:mod:`.preflight`), and the
        graded notebooks are sanitised against the release before they come back
        (:func:`.sanitize.make_safe_to_show`).
        """
        start = time.monotonic()
        if not self.ready:
            self.ready = self.alive and self._reply(start + self.START_TIMEOUT)[0] is not None
            if not self.ready:
                self.kill()
                return RunResult(1, f"[ERROR] the grading process did not start:\n"
                                    f"{self._stderr_tail()}", 0.0)
            start = time.monotonic()
        request = {"root": str(ws.path), "db_url": ws.db_url, "assignment": ws.assignment,
                   "student": ws.student, "ipc_dir": self.ipc_dir,
                   "source_dir": str(source_dir), "release_dir": str(release_dir)}
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            reply, timed_out = None, False
        else:
            reply, timed_out = self._reply(start + limits.student_timeout)
        seconds = time.monotonic() - start
        if reply is not None:
            if reply.get("retiring"):  # it grew too big and exits: the next student gets a new one
                self.close()
            return RunResult(0 if reply["success"] else 1, reply["log"], seconds,
                             reply.get("observations", []), reply.get("peak_mb"),
                             reply.get("record"), True, reply.get("withheld", []),
                             reply.get("preflight"))
        self.kill()
        if timed_out:
            return RunResult(None, "", seconds)
        return RunResult(1, f"[ERROR] the grading process died (exit {self.proc.returncode})",
                         seconds)

    def _stderr_tail(self):
        self.stderr.flush()
        text = Path(self.stderr.name).read_bytes()[-2000:].decode("utf-8", errors="replace")
        return text.strip()

    def kill(self):
        """Stop the process and everything it started."""
        self.alive = False
        kill_group(self.proc)

    def close(self):
        """Let the process finish (end of input), or kill it if it does not within 30 s."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                pass
        self.kill()
        self.stderr.close()
