"""Grade one student with nbgrader, in a private copy of the course.

nbgrader's SQLite gradebook takes one writer at a time, and ``nbgrader autograde``
stops a whole batch on some broken notebooks. So each student is graded by its own
``nbgrader autograde ASSIGNMENT --student S`` subprocess in a workspace of its own:

    <workspace>/nbgrader_config.py   the course's config, then the overrides below
    <workspace>/gradebook.db         a copy of the course gradebook (merged back later)
    <workspace>/submitted/S/A/       the staged (preflighted) submission, never the original
    <workspace>/autograded/S/A/      what nbgrader writes
    <workspace>/jupyter/kernels/     the grading kernel spec (unsafe mode only)

:func:`grading_command` builds the command, the environment and the config for a
workspace. The kernel is :mod:`course_lib.grading.kernel` (resource limits, guard);
:func:`kernel_provider` runs it inside bubblewrap (:mod:`course_lib.grading.sandbox`,
one sandboxed kernel spec for the whole class) unless ``--unsafe`` is given.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_lib.grading import kernel


@dataclass(frozen=True)
class Limits:
    """What one student's grading may use."""

    cell_timeout: int = 60  # seconds per cell (nbgrader's Execute.timeout)
    student_timeout: int = 1800  # seconds for the whole nbgrader run of one student
    memory_mb: int = 2048  # the kernel's address space
    file_mb: int = 64  # the largest file the kernel may write
    max_file_mb: int = 50  # the largest submitted file that is read at all
    max_stream_chars: int = 200_000  # printed characters kept per cell


@dataclass
class Workspace:
    path: Path
    student: str
    assignment: str

    @property
    def submitted(self):
        return self.path / "submitted" / self.student / self.assignment

    @property
    def autograded(self):
        return self.path / "autograded" / self.student / self.assignment

    @property
    def db_url(self):
        return f"sqlite:///{self.path / 'gradebook.db'}"


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


def make_workspace(path, course, assignment, student, preflight, submitted_folder):
    """Create the workspace folders, the gradebook copy and the staged submission."""
    ws = Workspace(Path(path), student, assignment)
    ws.submitted.mkdir(parents=True)
    shutil.copyfile(course.db_path, ws.path / "gradebook.db")
    for name, nb in preflight.notebooks.items():
        nbformat.write(nb, ws.submitted / f"{name}.ipynb")
    for rel in preflight.files:
        (ws.submitted / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(submitted_folder) / rel, ws.submitted / rel)
    return ws


def grading_command(ws, course, limits, box=None):
    """``(argv, env)`` running nbgrader autograde for ``ws``; writes its config.

    ``box`` is the sandbox's kernel from :func:`kernel_provider`; with None the kernel
    is a plain process (:mod:`course_lib.grading.kernel`, its resource limits and guard)
    whose spec is written into the workspace.
    """
    env = dict(os.environ)
    if box is None:
        jupyter_dir = ws.path / "jupyter"
        kernel_name = kernel.write_kernel_spec(jupyter_dir, limits.memory_mb, limits.file_mb)
        env["JUPYTER_PATH"] = os.pathsep.join(
            [str(jupyter_dir), *filter(None, [os.environ.get("JUPYTER_PATH")])])
        extra_config = []
    else:
        kernel_name = box.kernel_name
        env.update(box.env)
        extra_config = ["c.KernelManager.transport = 'ipc'"]
    config = [
        f"load_subconfig({str(course.root / 'nbgrader_config.py')!r})",
        f"c.CourseDirectory.root = {str(ws.path)!r}",
        f"c.CourseDirectory.source_directory = {str(course.root / 'solutions')!r}",
        f"c.CourseDirectory.db_url = {ws.db_url!r}",
        "c.Autograde.create_student = True",
        "c.OverwriteCells.add_missing_cells = True",
        "from nbconvert.preprocessors import ClearMetadataPreprocessor",
        "from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata,",
        "    IgnorePattern, LimitOutput, SaveAutoGrades)",
        "from course_lib.grading.execute import GuardedExecute",
        "c.Autograde.autograde_preprocessors = [GuardedExecute, IgnorePattern,",
        "    ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties,",
        "    CheckCellMetadata]",
        f"c.GuardedExecute.timeout = {limits.cell_timeout}",
        f"c.GuardedExecute.kernel_name = {kernel_name!r}",
        "c.GuardedExecute.extra_arguments = ['--HistoryManager.hist_file=:memory:']",
        f"c.GuardedExecute.max_stream_chars = {limits.max_stream_chars}",
        *extra_config,
    ]
    (ws.path / "nbgrader_config.py").write_text("\n".join(config) + "\n")
    env["PYTHONUNBUFFERED"] = "1"
    command = [sys.executable, "-m", "nbgrader", "autograde", ws.assignment,
               "--student", ws.student, "--force"]
    return command, env


@dataclass
class RunResult:
    returncode: int | None  # None: stopped after Limits.student_timeout
    log: str
    seconds: float


def run(ws, command, env, limits):
    """Run the grading command in ``ws``; its log goes to ``ws/autograde.log``."""
    log_path = ws.path / "autograde.log"
    start = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=ws.path, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode = proc.wait(timeout=limits.student_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            returncode = None
    text = log_path.read_bytes()[-20_000:].decode("utf-8", errors="replace")
    return RunResult(returncode, text, time.monotonic() - start)
