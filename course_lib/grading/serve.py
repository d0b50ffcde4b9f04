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
"release_dir"}`` on stdin it grades, makes each graded notebook safe to show
(:func:`.sanitize.make_safe_to_show`) and answers ``{"success": bool, "log": str,
"record": dict or null, "withheld": [str], "observations": [...], "peak_mb": int}`` on
stdout: the student's grades as plain data
(:func:`course_lib.grading.gradebook.read_submission`, null when grading failed), why
each graded notebook that could not be sanitised was deleted, what
the grader observed (:mod:`course_lib.grading.execute`) and the most memory this process
has held so far (its peak resident set, MB). nbgrader's own log goes to
``<root>/autograde.log``. Student code never runs here (it runs in the kernel), and a
student whose grading crashes this process costs only this process: the main process
starts a fresh one for the next student.

Sanitising happens here, not in the coordinator, so that it counts against the
student's time limit like the rest of their grading (a submission built to make the
sanitiser slow stops only its own grading), and so that the coordinator, which merges
every student one after another, does no per-notebook work at all. Until this process
has answered, its graded notebooks may not be sanitised yet: a worker whose grading
process was stopped or died sends none (:class:`.worker.RunResult`).
"""

import json
import logging
import os
import resource
import sys
import traceback
from pathlib import Path

import course_lib.grading.lean  # noqa: F401 (first: it makes the imports below faster)

# isort: split
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from course_lib.grading import (
    execute,  # noqa: F401 (imported once, used by the config)
    gradebook,
)
from course_lib.grading.sanitize import make_safe_to_show

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


def main():
    # answers go to the original stdout; anything else printed here goes to stderr
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    for count, line in enumerate(sys.stdin):
        request = json.loads(line)
        ipc_prefix = None
        if request.get("ipc_dir"):
            ipc_prefix = os.path.join(request["ipc_dir"], f"p{os.getpid()}-{count}-ipc")
        success, log = grade(request["root"], request["assignment"], request["student"],
                             ipc_prefix)
        root = Path(request["root"])
        graded = root / "autograded" / request["student"] / request["assignment"]
        withheld = make_safe_to_show(graded, request["release_dir"])
        record = (gradebook.read_submission(request["db_url"], request["assignment"],
                                            request["student"]) if success else None)
        observed = root / "observations.jsonl"
        lines = observed.read_text().splitlines() if observed.is_file() else []
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        replies.write(json.dumps({"success": success, "log": log, "record": record,
                                  "withheld": withheld, "peak_mb": round(peak_mb),
                                  "observations": [json.loads(x) for x in lines]}) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
