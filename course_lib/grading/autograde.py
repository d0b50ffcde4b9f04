"""``course autograde``: grade a whole class, N students at a time, one bad apple at most.

For each student: :mod:`.preflight` stages a repaired copy of the submission, one of
N warm grading processes (:class:`.worker.GraderProcess`) grades it with nbgrader's
Autograde in a private workspace with its own gradebook (a copy of one template made
per run), answers in the student's kernel and tests in the trusted test process
(:mod:`.execute`), and the main process merges that gradebook into ``gradebook.db``
(:mod:`.gradebook`) and copies the graded notebook to ``autograded/``. A student whose
notebook cannot run still gets a gradebook row (every grade zero) and a status saying
why; any error while reading, grading or merging one student is that student's status
(``grader error``), never the end of the run. The submitted folder is only read.
Statuses come from what the grader observed (a time limit, a dead kernel), never from
the graded notebook, whose error names the student controls.
"""

import json
import queue
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from tqdm import tqdm

from course_lib.grading import execute, gradebook, preflight, worker
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

    def row(self):
        return (self.student, score_text(self.score, self.max_score), self.status,
                "; ".join(self.problems))


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


class GraderPool:
    """``size`` warm :class:`.worker.GraderProcess` es shared by the grading threads."""

    def __init__(self, size, env, folder, ipc_dir):
        self.env, self.folder, self.ipc_dir = env, folder, ipc_dir
        self.idle = queue.SimpleQueue()
        self.started = []
        for _ in range(size):
            self.idle.put(self._start())

    def _start(self):
        grader = worker.GraderProcess(self.env, self.folder, self.ipc_dir)
        self.started.append(grader)
        return grader

    def grade(self, ws, limits):
        """Grade ``ws`` in an idle process; a process that failed is replaced by a fresh one."""
        grader = self.idle.get()
        try:
            return grader.grade(ws, limits)
        finally:
            self.idle.put(grader if grader.alive else self._start())

    def close(self):
        for grader in self.started:
            grader.close()


def _grade_one(pool, run, course, assignment, student, check, limits):
    ws = worker.make_workspace(run.root / "students" / student, run.template, assignment,
                               student, check, course.submitted(assignment, student))
    worker.write_config(ws, course, limits, run.kernel_name, run.tests_file, run.box)
    return ws, pool.grade(ws, limits)


@dataclass
class _Run:
    """What every student's grading in one run shares."""

    root: Path
    template: Path
    tests_file: Path
    kernel_name: str
    box: object


def _observed(run):
    """``(statuses, problems)`` from what the grader observed while grading."""
    statuses, problems = [], []
    for seen in run.observations:
        if seen.get("status") == "stats":
            continue
        if seen.get("status") not in statuses:
            statuses.append(seen["status"])
        problems.append(str(seen.get("detail")))
    return statuses, problems


def _finish(course, assignment, student, check, ws, run):
    """Merge one worker's results; return the student's StudentResult."""
    result = StudentResult(student, problems=list(check.problems))
    statuses = []
    if check.missing:
        statuses.append("missing")
    if check.unreadable:
        statuses.append("unreadable")
    merged = False
    dest = course.autograded(assignment, student)
    shutil.rmtree(dest, ignore_errors=True)
    if ws is not None:
        graded = [p for p in sorted(ws.autograded.glob("*.ipynb")) if p.stem in check.notebooks]
        if run.returncode == 0:  # a failed or stopped run may have left grades half-saved
            merged = gradebook.merge_submission(course.db_url, ws.db_url, assignment, student)
        if run.returncode is None:
            statuses.append("timeout")
            result.problems.append(f"grading stopped after {run.seconds:.0f} s")
        elif run.returncode != 0 or len(graded) < len(check.notebooks):
            statuses.append("grader error")
            reason = failure_reason(run.log)
            result.problems.append("nbgrader failed" + (f": {reason}" if reason else ""))
        result.grader_peak_mb = run.peak_mb
        for seen in run.observations:
            if seen.get("status") == "stats":
                for key, value in seen["detail"].items():
                    result.test_stats[key] = result.test_stats.get(key, 0) + value
        seen_statuses, seen_problems = _observed(run)
        statuses += [s for s in seen_statuses if s not in statuses]
        result.problems += seen_problems
        dest.mkdir(parents=True)
        for path in graded:
            shutil.copyfile(path, dest / path.name)
    if not merged:
        gradebook.record_zero(course.db_url, assignment, student)
    if check.suspicious:
        statuses.append("flagged")
    if not statuses and check.problems:
        statuses.append("repaired")
    result.status = ", ".join(statuses) or "ok"
    result.score, result.max_score, _ = gradebook.scores(course.db_url, assignment, student)
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


def _settle(course, assignment, student, check, ws, run):
    """:func:`_finish`, or :func:`_failed` if merging this student raises."""
    try:
        return _finish(course, assignment, student, check, ws, run)
    except Exception as e:
        return _failed(course, assignment, student, "merging the grades", e)


def _inspect(course, assignment, student, sources, releases, limits):
    try:
        return preflight.inspect_submission(course.submitted(assignment, student), sources,
                                            releases, limits.max_file_mb * 2**20), None
    except Exception as e:  # a file no reader expected: this student's problem only
        return None, e


def autograde(course, assignment, students=None, workers=2, limits=None, unsafe=False,
              progress=True):
    """Grade ``students`` (default: everyone under submitted/); return StudentResults.

    Also writes ``autograded/<assignment>.status.json`` for ``course feedback``/``grades``.
    """
    limits = limits or worker.Limits()
    if not gradebook.assignment_exists(course.db_url, assignment):
        raise CourseError(f"{assignment!r} is not in the gradebook: run "
                          f"`course release {assignment}` first")
    names = course.notebook_names(assignment)
    sources = {n: course.source_notebook(assignment, n) for n in names}
    releases = {n: nbformat.read(course.release(assignment) / f"{n}.ipynb", as_version=4)
                for n in names}
    students = students or course.students(assignment)
    if not students:
        raise CourseError(f"no submissions in {course.submitted(assignment)}: "
                          f"run `course collect {assignment} ZIP_OR_DIR` first")
    results, checks = {}, {}
    for s in students:
        checks[s], error = _inspect(course, assignment, s, sources, releases, limits)
        if error is not None:
            results[s] = _failed(course, assignment, s, "reading the submission", error)
    with ExitStack() as stack:
        try:
            box = stack.enter_context(worker.kernel_provider(limits, unsafe))
        except RuntimeError as e:
            raise CourseError(str(e)) from e
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="course-autograde-")))
        template = root / "gradebook.db"
        shutil.copyfile(course.db_path, template)
        tests_file = root / "tests.json"
        tests_file.write_text(json.dumps({n: execute.tests_of(nb) for n, nb in sources.items()}))
        env, kernel_name = worker.grader_env(root, limits, box)
        run = _Run(root, template, tests_file, kernel_name, box)
        to_grade = [s for s in students if s not in results and checks[s].notebooks]
        size = max(1, min(workers, len(to_grade)))
        # the sandbox's runtime folder: kernels' IPC sockets must live there
        ipc_dir = None if box is None else str(Path(box.folder) / "run")
        graders = GraderPool(size, env, root, ipc_dir)
        stack.callback(graders.close)
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=size))
        bar = stack.enter_context(tqdm(total=len(students), desc=f"autograde {assignment}",
                                       unit="student", disable=not progress))
        bar.update(sum(s in results for s in students))
        futures = {pool.submit(_grade_one, graders, run, course, assignment, s, checks[s],
                               limits): s for s in to_grade}
        for s in students:
            if s not in results and s not in to_grade:
                results[s] = _settle(course, assignment, s, checks[s], None, None)
                bar.update()
        for future in as_completed(futures):
            s = futures[future]
            try:
                ws, outcome = future.result()
            except Exception as e:
                results[s] = _failed(course, assignment, s, "grading", e)
            else:
                results[s] = _settle(course, assignment, s, checks[s], ws, outcome)
            bar.set_postfix_str(s)
            bar.update()
    ordered = [results[s] for s in students]
    status_file = course.status_file(assignment)
    status_file.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(status_file.read_text()) if status_file.is_file() else {}
    known.update({r.student: asdict(r) for r in ordered})  # --student regrades a few
    status_file.write_text(json.dumps(dict(sorted(known.items())), indent=1))
    return ordered


def table(results):
    return format_table([r.row() for r in results])
