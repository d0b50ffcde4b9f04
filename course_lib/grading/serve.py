"""A long-lived grading process: ``python -m course_lib.grading.serve``.

Starting ``nbgrader autograde`` costs seconds of imports and configuration before the
first cell runs, as much as grading PS4 itself. So ``course autograde`` starts one such
process per worker (:class:`course_lib.grading.worker.GraderProcess`), which imports
nbgrader once and then grades one student after another in-process, each in the
workspace :func:`course_lib.grading.worker.make_workspace` prepared, through nbgrader's
own :class:`nbgrader.converters.Autograde` configured by the workspace's
``nbgrader_config.py`` (exactly what ``nbgrader autograde ASSIGNMENT --student S
--force`` would load there).

Protocol, one JSON object a line: the process writes ``{"ready": true}`` once imported;
then for each request ``{"root", "db_url", "assignment", "student", "ipc_dir",
"source_dir", "release_dir"}`` on stdin it checks and stages the
student's files (:mod:`.preflight`), grades, makes each graded notebook safe to show
(:func:`.sanitize.make_safe_to_show`) and answers ``{"success": bool, "log": str,
"preflight": dict, "record": dict or null, "withheld": [str], "observations": [...],
"peak_mb": int, "retiring": bool}`` on stdout: what the check found
(:meth:`.preflight.Preflight.summary`), the student's grades as plain data
(:func:`course_lib.grading.gradebook.read_submission`, null when grading failed), why
each graded notebook that could not be sanitised was deleted, what the grader observed
(:mod:`course_lib.grading.execute`) and the most memory this process has held so far
(its peak resident set, MB). nbgrader's own log goes to ``<root>/autograde.log``.
Student code never runs here (it runs in the kernel), and a student whose grading
crashes this process costs only this process: the main process starts a fresh one for
the next student.

Student files are parsed here, not in the coordinator, and under limits: the student's
time limit, and this process's address space (``--memory-mb``; a notebook of a few MB
can take GBs once parsed, which here is a ``MemoryError`` and an unreadable notebook,
not the whole class's coordinator killed). A process whose peak memory passed half that
limit, or whose grading of a student raised, answers ``"retiring": true`` and exits, so
the next student starts in a fresh one.

Sanitising happens here, not in the coordinator, so that it counts against the
student's time limit like the rest of their grading (a submission built to make the
sanitiser slow stops only its own grading), and so that the coordinator, which merges
every student one after another, does no per-notebook work at all. Until this process
has answered, its graded notebooks may not be sanitised yet: a worker whose grading
process was stopped or died sends none (:class:`.worker.RunResult`).
"""

import functools
import json
import logging
import os
import resource
import shutil
import sys
import traceback
from pathlib import Path

import course_lib.grading.lean  # noqa: F401 (first: it makes the imports below faster)

# isort: split
import nbformat
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from course_lib.grading import (
    execute,  # noqa: F401 (imported once, used by the config)
    gradebook,
    preflight,
)
from course_lib.grading.sanitize import make_safe_to_show
from course_lib.grading.worker import Workspace, load_received

LOG_FORMAT = "[%(name)s | %(levelname)s] %(message)s"


def load_config(root, ipc_prefix=None):
    """The workspace's ``nbgrader_config.py`` as a Config; IPC sockets at ``ipc_prefix``."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    if ipc_prefix:
        # what the sandbox's jupyter_config.py sets for an nbgrader app: a socket prefix
        # in the sandbox's runtime folder, one per kernel this process starts
        config.merge(Config({"KernelManager": {"transport": "ipc", "ip": ipc_prefix}}))
    return config


def grade(root, assignment, student, ipc_prefix=None):
    """Autograde ``student`` in the workspace ``root``; return ``(success, log text)``."""
    root = Path(root)
    config = load_config(root, ipc_prefix)
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    coursedir.student_id = student
    converter = Autograde(coursedir=coursedir, config=config)
    converter.force = True
    handler = logging.FileHandler(root / "autograde.log")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    converter.log.addHandler(handler)
    converter.log.setLevel(logging.INFO)
    os.chdir(root)
    try:
        converter.start()
        success = True
    except Exception:  # nbgrader raises several kinds; the log says which
        converter.log.error("autograde failed:\n%s", traceback.format_exc())
        success = False
    finally:
        converter.log.removeHandler(handler)
        handler.close()
    text = (root / "autograde.log").read_bytes()[-20_000:].decode("utf-8", errors="replace")
    return success, text


@functools.cache
def assignment_notebooks(source_dir, release_dir):
    """``(sources, releases)``: ``{name: NotebookNode}`` of the assignment's notebooks."""
    names = sorted(p.stem for p in Path(source_dir).glob("*.ipynb"))
    read = functools.partial(nbformat.read, as_version=4)
    return ({n: read(Path(source_dir) / f"{n}.ipynb") for n in names},
            {n: read(Path(release_dir) / f"{n}.ipynb") for n in names})


def check_and_stage(ws, source_dir, release_dir):
    """Check the student's files in ``ws`` and stage what to grade; a Preflight."""
    sources, releases = assignment_notebooks(source_dir, release_dir)
    received = load_received(ws)
    check = preflight.inspect_files(received, sources, releases)
    preflight.stage(check, received, ws.submitted)
    return check


def handle(request, ws, count):
    """Answer one request (see the module doc) about the workspace ``ws``, as a dict."""
    ipc_prefix = None
    if request.get("ipc_dir"):
        ipc_prefix = os.path.join(request["ipc_dir"], f"p{os.getpid()}-{count}-ipc")
    check = check_and_stage(ws, request["source_dir"], request["release_dir"])
    success, log, withheld, record = True, "", [], None
    if check.notebooks:
        success, log = grade(ws.path, ws.assignment, ws.student, ipc_prefix)
        withheld = make_safe_to_show(ws.autograded, request["release_dir"])
        if success:
            record = gradebook.read_submission(request["db_url"], ws.assignment, ws.student)
    lines = ws.observations.read_text().splitlines() if ws.observations.is_file() else []
    return {"success": success, "log": log, "preflight": check.summary(), "record": record,
            "withheld": withheld, "observations": [json.loads(x) for x in lines]}


def main():
    memory_mb = int(sys.argv[sys.argv.index("--memory-mb") + 1])
    _, hard = resource.getrlimit(resource.RLIMIT_AS)  # the soft limit: kernels set their own
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2**20, hard))
    # answers go to the original stdout; anything else printed here goes to stderr
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    for count, line in enumerate(sys.stdin):
        request = json.loads(line)
        ws = Workspace(Path(request["root"]), request["student"], request["assignment"])
        try:
            reply, failed = handle(request, ws, count), False
        except Exception as e:  # a bug of ours, or files too big for this process's memory
            # what nbgrader wrote may not be sanitised yet: none of it goes back
            shutil.rmtree(ws.autograded, ignore_errors=True)
            reply, failed = {"success": False, "preflight": None, "record": None,
                             "withheld": [], "observations": [],
                             "log": f"[ERROR] grading stopped: {type(e).__name__}: "
                                    f"{str(e)[:500]}"}, True
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        reply.update(peak_mb=round(peak_mb), retiring=failed or peak_mb > memory_mb / 2)
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
        if reply["retiring"]:
            return


if __name__ == "__main__":
    main()
