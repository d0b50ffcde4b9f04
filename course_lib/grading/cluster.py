"""Grading one student is one Dask task: bytes in, bytes out, on any Dask cluster.

``course autograde`` (:mod:`.autograde`) sends each student's staged submission to
:func:`grade_student` on a Dask cluster: by default a local one of ``--workers N``
processes (nothing to start), or an existing one (``--scheduler tcp://HOST:8786`` or
``DASK_SCHEDULER_ADDRESS``: Slurm or PBS through dask-jobqueue, Kubernetes through Dask
Gateway or dask-kubernetes). Nothing is shared through the file system:

* what every student's grading needs (the course's ``nbgrader_config.py``, the
  assignment's source notebooks with their hidden tests, its released notebooks, a
  gradebook template and the tests file) is a :class:`Bundle` of bytes, shipped once to
  each worker by Dask's own plugin mechanism (:class:`GraderPlugin`), which unpacks it
  into a private folder, sets up the sandbox (refusing to run without bubblewrap, as
  locally) and starts a warm grading process (:class:`.worker.GraderProcess`);
* a :class:`Job` carries one student's files as read, unparsed; the grading process
  checks and stages them (:mod:`.preflight`), under the student's time limit and its own
  memory limit, so a notebook built to be expensive to read costs only its student.
  The task returns an :class:`Outcome`: what that check found, the graded notebooks as
  text, already sanitised for instructors' views (:func:`.sanitize.make_safe_to_show`),
  and the student's grade records
  (:func:`.gradebook.read_submission`, read by the grading process), which the
  coordinator alone merges into the course gradebook, one student at a time.

A grading process that overruns ``Limits.student_timeout`` or dies costs only its
student (the plugin starts a new one). A worker lost in the middle of a task (killed,
its machine gone) makes Dask run the task again elsewhere, once
(``distributed.scheduler.allowed-failures`` = 1 on the local cluster); a second loss
makes it fail with ``KilledWorker``, which the coordinator reports as that student's
``grader error``.
"""

import logging
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import course_lib.grading.lean  # noqa: F401 (first: it makes the imports below faster)

# isort: split
from distributed import WorkerPlugin, get_worker

from course_lib.grading import worker as grading
from course_lib.grading.course import Course
from course_lib.grading.preflight import Received

PLUGIN_NAME = "course-grader"


@dataclass
class Bundle:
    """The course files a worker needs, ``{relative path: bytes}``, and the run's settings."""

    files: dict
    assignment: str
    limits: grading.Limits
    unsafe: bool = False


@dataclass
class Job:
    """One student's submission as read, unparsed (:func:`.preflight.read_folder`)."""

    student: str
    assignment: str
    received: Received


@dataclass
class Outcome:
    """What grading one student gave; ``record`` is None when nothing could be saved."""

    student: str
    returncode: int | None
    log: str
    seconds: float
    observations: list
    peak_mb: int | None
    graded: dict  # notebook name -> graded notebook JSON text, sanitised
    record: dict | None
    withheld: list = field(default_factory=list)  # why each unsanitisable notebook was deleted
    preflight: dict | None = None  # what the grading process found (Preflight.summary)


class GraderPlugin(WorkerPlugin):
    """Unpacks a :class:`Bundle` on a worker and keeps a sandbox and a grading process."""

    name = PLUGIN_NAME

    def __init__(self, bundle):
        self.bundle = bundle

    def setup(self, worker=None):  # Dask passes the worker by this name
        self._stack = ExitStack()
        try:
            self._unpack_and_start()
        except BaseException:
            self._stack.close()
            raise

    def _unpack_and_start(self):
        self.root = Path(self._stack.enter_context(
            tempfile.TemporaryDirectory(prefix="course-worker-")))
        course_root = self.root / "course"
        for rel, data in self.bundle.files.items():
            (course_root / rel).parent.mkdir(parents=True, exist_ok=True)
            (course_root / rel).write_bytes(data)
        self.course = Course(course_root)
        limits = self.bundle.limits
        # raises RuntimeError, with the reason, on a worker without a working sandbox
        self.box = self._stack.enter_context(grading.kernel_provider(limits, self.bundle.unsafe))
        self.env, self.kernel_name = grading.grader_env(self.root, limits, self.box)
        self.ipc_dir = None if self.box is None else str(Path(self.box.folder) / "run")
        self.grader = self._new_grader()

    def _new_grader(self):
        return grading.GraderProcess(self.env, self.root, self.ipc_dir,
                                     self.bundle.limits.grader_memory_mb)

    def teardown(self, worker=None):
        self.grader.close()
        self._stack.close()

    def grade(self, job):
        """Grade ``job`` in a fresh workspace; return its :class:`Outcome`."""
        if not self.grader.alive:
            self.grader = self._new_grader()
        path = self.root / "students" / job.student
        shutil.rmtree(path, ignore_errors=True)
        try:
            ws = grading.make_workspace(path, self.course.root / TEMPLATE, job)
            grading.write_config(ws, self.course, self.bundle.limits, self.kernel_name,
                                self.course.root / TESTS, self.box)
            assignment = self.bundle.assignment
            run = self.grader.grade(ws, self.bundle.limits, self.course.source(assignment),
                                    self.course.release(assignment))
            # a process stopped or dead may have left notebooks not yet sanitised: none go
            names = run.preflight["notebooks"] if run.answered and run.preflight else []
            graded = {p.stem: p.read_text() for p in sorted(ws.autograded.glob("*.ipynb"))
                      if p.stem in names}
            return Outcome(job.student, run.returncode, run.log, run.seconds,
                           run.observations, run.peak_mb, graded, run.record, run.withheld,
                           run.preflight)
        finally:
            shutil.rmtree(path, ignore_errors=True)


TEMPLATE = "gradebook-template.db"
TESTS = "tests.json"


def grade_student(job):
    """The Dask task: grade ``job`` with this worker's :class:`GraderPlugin`."""
    return get_worker().plugins[PLUGIN_NAME].grade(job)


def local_cluster(workers):
    """A local cluster of ``workers`` single-threaded processes (a lost task retried once).

    Its processes listen on 127.0.0.1, which every user of the machine can reach (a
    student's server on the course hub, say): they speak TLS and accept only clients
    holding the certificate made for this cluster (``Security.temporary()``), since
    whoever connects to a Dask scheduler runs code as the instructor.
    """
    import dask
    from distributed import LocalCluster

    # no dashboard, so no use for the workers' statistical profiler (a stack sample of
    # every thread each 10 ms, on the CPUs the students' grading needs)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.worker.profile.enabled": False}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address=None, memory_limit=0,
                            silence_logs=logging.ERROR, security=True)


