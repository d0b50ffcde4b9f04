"""``course autograde``: grade a whole class on a Dask cluster, one bad apple at most.

For each student, the files of the submitted folder are read as bytes and nothing more
(:func:`.preflight.read_folder`: no student file is parsed in this process, which serves
the whole class) and sent as one Dask task (:mod:`.cluster`). On a worker, the student's
own grading process checks them and stages a repaired copy (:mod:`.preflight`), under
the student's time limit and its own memory limit, and grades it with nbgrader's
Autograde in a private workspace with its own gradebook, answers in the student's kernel
and tests in the trusted test process (:mod:`.execute`); it sends back what the check
found, the graded notebook, sanitised (:mod:`.sanitize`), and the grade records. This
process alone merges them into the course gradebook (:mod:`.gradebook`), one student at
a time, and writes the graded notebook to ``autograded/``.

A student whose notebook cannot run still gets a gradebook row (every grade zero) and a
status saying why; any error while reading, grading or merging one student is that
student's status (``grader error``), never the end of the run. Statuses come from what
the grader observed (a time limit, a dead kernel), never from the graded notebook, whose
error names the student controls.

The class report, ``autograded/<assignment>.status.json`` (:mod:`.status_report`),
records each student as soon as they are merged, with a digest of what was graded (the
submission, the tests, the settings): a run that was stopped is resumed by running the
same command again, which grades only the students whose digest is not there yet
(``--force`` regrades everyone). Merging a student twice changes nothing.
"""

import hashlib
import json
import re
import shutil
import tempfile
import uuid
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from tqdm import tqdm

from course_lib.grading import execute, gradebook, preflight, status_report, worker
from course_lib.grading.course import CourseError
from course_lib.grading.report import format_table, score_text

# in a grading log: an error line, "[ERROR] ..." from worker or "[Autograde | ERROR] ..."
# from nbgrader (serve.LOG_FORMAT); the last line of a traceback, "module.NameError: ..."
ERROR_LINE = re.compile(r"^\[(?:[^]|]+ \| )?ERROR\] ")
EXCEPTION_LINE = re.compile(r"^(?:\w+\.)*\w*(?:Error|Exception): ")


@dataclass
class StudentResult:
    student: str
    score: float | None = None
    max_score: float | None = None
    status: str = "ok"
    problems: list = field(default_factory=list)
    grader_peak_mb: int | None = None  # the grading process's peak memory after this student
    test_stats: dict = field(default_factory=dict)  # seconds in tests, calls that crossed
    digest: str | None = None  # of what was graded: submission, tests and settings
    graded_at: str | None = None  # when it was merged (ISO 8601, UTC, to the millisecond)
    grading_seconds: float | None = None  # on its worker, from its workspace to its grades
    pending: float = 0  # points of written answers awaiting hand grading

    def row(self):
        return (self.student, score_text(self.score, self.max_score, self.pending),
                self.status, "; ".join(self.problems))


def failure_reason(log):
    """The line of a failed grading's log that best says why, or None.

    The first exception of a traceback, skipping nbgrader's own wrapper ("Please see the
    above traceback"), which only points back at it; else the last error line.
    """
    lines = log.splitlines()
    causes = [line for line in lines
              if EXCEPTION_LINE.match(line) and "above traceback" not in line]
    if causes:
        return causes[0]
    errors = [line for line in lines if ERROR_LINE.match(line)]
    return errors[-1] if errors else None


def _observed(run):
    """``(statuses, problems)`` from what the grader observed while grading."""
    statuses, problems = [], []
    for seen in run.observations:
        if seen.get("status") == "stats":
            continue
        if seen.get("status") not in statuses and seen.get("status") != "note":
            statuses.append(seen["status"])
        problems.append(str(seen.get("detail")))
    return statuses, problems


def _finish(course, assignment, student, check, run):
    """Merge one student's :class:`.cluster.Outcome` (None: nothing ran); their result."""
    result = StudentResult(student, problems=list(check.problems))
    statuses = []
    if check.missing:
        statuses.append("missing")
    if check.unreadable:
        statuses.append("unreadable")
    merged = False
    dest = course.autograded(assignment, student)
    shutil.rmtree(dest, ignore_errors=True)
    if run is not None:
        if run.record is not None:  # a failed or stopped run may have left grades half-saved
            gradebook.write_submission(course.db_url, assignment, student, run.record)
            merged = True
        if run.returncode is None:
            statuses.append("timeout")
            result.problems.append(f"grading stopped after {run.seconds:.0f} s")
        elif run.returncode != 0 or len(run.graded) + len(run.withheld) < len(check.notebooks):
            statuses.append("grader error")
            reason = failure_reason(run.log)
            result.problems.append("nbgrader failed" + (f": {reason}" if reason else ""))
        if run.withheld:  # graded and merged, but not shown: a bug of ours to report
            if "grader error" not in statuses:
                statuses.append("grader error")
            result.problems += [f"{why}; its grades are kept" for why in run.withheld]
        result.grader_peak_mb, result.grading_seconds = run.peak_mb, round(run.seconds, 3)
        for seen in run.observations:
            if seen.get("status") == "stats":
                for key, value in seen["detail"].items():
                    result.test_stats[key] = result.test_stats.get(key, 0) + value
        seen_statuses, seen_problems = _observed(run)
        statuses += [s for s in seen_statuses if s not in statuses]
        result.problems += seen_problems
        dest.mkdir(parents=True)
        for name, text in run.graded.items():  # sanitised by the grading process already
            (dest / f"{name}.ipynb").write_text(text, encoding="utf-8")
    if not merged:
        gradebook.record_zero(course.db_url, assignment, student)
    if check.suspicious:
        statuses.append("flagged")
    if not statuses and check.problems:
        statuses.append("repaired")
    result.status = ", ".join(statuses) or "ok"
    marks = gradebook.marks(course.db_url, assignment, student)
    result.score, result.max_score, result.pending = marks.score, marks.max_score, marks.pending
    return result


def _failed(course, assignment, student, stage, error):
    """The result of a student whose grading raised: zero, ``grader error``, the reason."""
    result = StudentResult(student, status="grader error",
                           problems=[f"{stage} failed: {type(error).__name__}: {error}"[:500]])
    try:
        shutil.rmtree(course.autograded(assignment, student), ignore_errors=True)
        gradebook.record_zero(course.db_url, assignment, student)
        result.score, result.max_score, _ = gradebook.scores(course.db_url, assignment,
                                                              student)
    except Exception as e:  # the gradebook itself refuses this student
        result.problems.append(f"no gradebook row: {type(e).__name__}: {e}"[:500])
    return result


def _settle(course, assignment, student, check, run):
    """:func:`_finish`, or :func:`_failed` if merging this student raises."""
    try:
        return _finish(course, assignment, student, check, run)
    except Exception as e:
        return _failed(course, assignment, student, "merging the grades", e)


def _check_of(received, run):
    """What the grading process found about the submission, or what reading it found."""
    if run is not None and run.preflight is not None:
        return preflight.Preflight.from_summary(run.preflight)
    return preflight.Preflight(problems=list(received.problems),
                               unreadable=list(received.unreadable))


def _bundle(course, assignment, sources, limits, unsafe):
    """The :class:`.cluster.Bundle` every worker gets once, and the run's digest."""
    from course_lib.grading import cluster

    with tempfile.TemporaryDirectory(prefix="course-template-") as scratch:
        template = Path(scratch) / "gradebook.db"
        gradebook.make_template(course.db_url, assignment, template)
        template_bytes = template.read_bytes()
    tests = json.dumps({n: execute.tests_of(nb) for n, nb in sources.items()}, sort_keys=True)
    files = {"nbgrader_config.py": (course.root / "nbgrader_config.py").read_bytes(),
             cluster.TEMPLATE: template_bytes, cluster.TESTS: tests.encode()}
    for path in sorted(course.source(assignment).rglob("*")):
        if path.is_file():
            files[f"solutions/{assignment}/{path.relative_to(course.source(assignment))}"] = (
                path.read_bytes())
    for name in sources:  # what the graded notebooks are sanitised against
        released = course.release(assignment) / f"{name}.ipynb"
        files[str(released.relative_to(course.root))] = released.read_bytes()
    run_digest = hashlib.sha256(
        f"{tests}\n{files['nbgrader_config.py'].decode(errors='replace')}\n{limits}".encode())
    return cluster.Bundle(files, assignment, limits, unsafe), run_digest.hexdigest()


def _digest(run_digest, received):
    """A digest of what is graded. Names are the file system's: any bytes, which Python
    holds as lone surrogates (``b"\\xff"`` as ``"\\udcff"``) and UTF-8 cannot encode as is."""
    h = hashlib.sha256(run_digest.encode())
    for rel, data in sorted(received.files.items()):
        h.update(f"\0{rel}\0".encode("utf-8", "surrogatepass") + data)
    for problem in received.problems:  # a file left out, which a limit may let in later
        h.update(f"\0{problem}".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


class StatusFile:
    """The class report (:mod:`.status_report`): each finished student is appended to it."""

    def __init__(self, course, assignment):
        self.course, self.assignment = course, assignment
        status_report.fold(course, assignment)  # what a killed run left: a fresh journal
        self.known = status_report.load(course, assignment) or {}

    def finished(self, student, digest):
        """The stored result of ``student`` if it was graded from exactly ``digest``."""
        info = self.known.get(student)
        if not info or info.get("digest") != digest:
            return None
        names = {f.name for f in fields(StudentResult)}
        return StudentResult(**{k: v for k, v in info.items() if k in names})

    def save(self, result):
        result.graded_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        self.known[result.student] = asdict(result)
        status_report.record(self.course, self.assignment, self.known[result.student])

    def close(self):
        """Fold what this run appended into the report."""
        status_report.fold(self.course, self.assignment)


def _client(stack, workers, scheduler):
    """A Dask client: on ``scheduler`` (an address) or on a new local cluster."""
    from distributed import Client

    from course_lib.grading import cluster

    if scheduler:
        return stack.enter_context(Client(scheduler, timeout=60))
    return stack.enter_context(Client(stack.enter_context(cluster.local_cluster(workers))))


def autograde(course, assignment, students=None, workers=2, limits=None, unsafe=False,
              progress=True, scheduler=None, force=False):
    """Grade ``students`` (default: everyone under submitted/); return StudentResults.

    ``scheduler``: a Dask scheduler address (default: a local cluster of ``workers``
    processes). Students already graded from the same submission, tests and settings are
    not graded again unless ``force`` (or named in ``students``). Each student is sent to
    Dask as soon as their submission is read, and recorded in the class report
    (:mod:`.status_report`) as soon as they are merged.
    """
    limits = limits or worker.Limits()
    if not gradebook.assignment_exists(course.db_url, assignment):
        raise CourseError(f"{assignment!r} is not in the gradebook: run "
                          f"`course release {assignment}` first")
    if not unsafe and not scheduler:
        ok, why = worker.sandbox_status()
        if not ok:
            raise CourseError(f"refusing to run student code without the sandbox: {why} "
                              "(pass --unsafe to grade with resource limits only)")
    force = force or bool(students)
    names = course.notebook_names(assignment)
    sources = {n: course.source_notebook(assignment, n) for n in names}
    releases = {n: nbformat.read(course.release(assignment) / f"{n}.ipynb", as_version=4)
                for n in names}
    students = students or course.students(assignment)
    if not students:
        raise CourseError(f"no submissions in {course.submitted(assignment)}: "
                          f"run `course collect {assignment} ZIP_OR_DIR` first")
    status = StatusFile(course, assignment)
    results, digests = {}, {}
    with ExitStack() as stack:
        stack.callback(status.close)  # also when the run stops early
        stack.enter_context(gradebook.shared_engines())
        bundle, run_digest = _bundle(course, assignment, sources, limits, unsafe)
        bar = stack.enter_context(tqdm(total=len(students), desc=f"autograde {assignment}",
                                       unit="student", disable=not progress))
        grading = _DaskGrading(stack, bundle, min(workers, len(students)), scheduler)

        def record(student, result):
            results[student] = result
            status.save(result)
            bar.set_postfix_str(student)
            bar.update()

        def merge(keep):
            for student, received, future in grading.finished(keep):
                result = _merge_graded(course, assignment, student, received, future)
                if "grader error" not in result.status:  # else the next run tries again
                    result.digest = digests[student]
                record(student, result)

        for s in students:  # each student is sent as soon as read: reading overlaps grading
            merge(keep=grading.window - 1)
            try:  # whatever a student's files break here is that student's problem only
                received = preflight.read_folder(course.submitted(assignment, s),
                                                 limits.max_file_mb * 2**20,
                                                 limits.max_submission_mb * 2**20)
                if not received.has_notebook:  # nothing to run, nothing to parse
                    check = preflight.inspect_files(received, sources, releases)
                    record(s, _settle(course, assignment, s, check, None))
                    continue
                digests[s] = _digest(run_digest, received)
                done = None if force else status.finished(s, digests[s])
                marks = done and gradebook.marks(course.db_url, assignment, s)
            except Exception as e:
                record(s, _failed(course, assignment, s, "reading the submission", e))
                continue
            if marks:  # graded already; the gradebook may hold hand grades since
                done.score, done.max_score, done.pending = (marks.score, marks.max_score,
                                                            marks.pending)
                results[s] = done
                bar.update()
            else:
                grading.submit(s, received)
        merge(keep=0)
    return [results[s] for s in students]


class _DaskGrading:
    """Students graded on Dask: the cluster starts with the first, results come as ready.

    At most :attr:`window` students are in flight (sent and not merged yet): enough to
    keep every worker busy, few enough that the submissions waiting for a worker do not
    pile up in this process's memory.
    """

    def __init__(self, stack, bundle, workers, scheduler):
        self.stack, self.bundle, self.workers, self.scheduler = stack, bundle, workers, scheduler
        self.client = self.completed = None
        self.window = 2 * workers
        self.students = {}  # future -> (student, what reading their files found)
        self.run_id = uuid.uuid4().hex[:8]

    def _start(self):
        from distributed import as_completed

        from course_lib.grading import cluster

        self.client = _client(self.stack, self.workers, self.scheduler)
        try:
            self.client.register_plugin(cluster.GraderPlugin(self.bundle),
                                        name=cluster.PLUGIN_NAME)
        except Exception as e:  # a worker without the sandbox, or a broken environment
            raise CourseError(f"a grading worker could not start: {type(e).__name__}: "
                              f"{e}") from e
        self.window = 2 * max(1, sum(self.client.nthreads().values()))
        self.completed = as_completed()

    def submit(self, student, received):
        from course_lib.grading import cluster

        if self.client is None:
            self._start()
        job = cluster.Job(student, self.bundle.assignment, received)
        future = self.client.submit(cluster.grade_student, job, pure=False,
                                    key=f"grade-{self.run_id}-{student}")
        unread = preflight.Received(problems=received.problems, unreadable=received.unreadable)
        self.students[future] = (student, unread)
        self.completed.add(future)

    def finished(self, keep):
        """``(student, Received without files, future)`` of each student done.

        Those done already, and then, while more than ``keep`` are in flight, the next
        to finish (``keep=0``: every one).
        """
        while self.completed is not None and not self.completed.is_empty():
            wait = self.completed.count() > keep
            if not wait and not self.completed.has_ready():
                return
            for future in self.completed.next_batch(block=wait):
                yield *self.students.pop(future), future


def _merge_graded(course, assignment, student, received, future):
    """Merge what Dask returned for ``student``; a lost worker or an error is their status."""
    from distributed import KilledWorker

    try:
        outcome = future.result()
    except KilledWorker:
        return _failed(course, assignment, student, "grading", RuntimeError(
            "the Dask worker grading this student was lost twice (it died, or its machine "
            "went away); run the command again to retry"))
    except Exception as e:  # a bug of ours: this student's problem only
        return _failed(course, assignment, student, "grading", e)
    return _settle(course, assignment, student, _check_of(received, outcome), outcome)


def table(results):
    return format_table([r.row() for r in results])
