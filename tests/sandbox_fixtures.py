"""A tiny nbgrader course built by code, and the submissions the sandbox tests grade.

The assignment ``ps_mini`` asks for ``add(a, b)``: one visible test (1 point) and one
test with a hidden part (1 point) whose hidden line carries :data:`HIDDEN_MARKER`, so a
submission that manages to read a hidden test can say so. Each hostile submission prints
``ATTEMPT <json>`` describing what its attempts got, and the tests read that line from
the autograded notebook.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.api import Gradebook

ASSIGNMENT = "ps_mini"
HIDDEN_MARKER = "HIDDEN-MARKER-7f3a"
NBGRADER = str(Path(sys.executable).parent / "nbgrader")
CELL_TIMEOUT = 20

CONFIG = """c = get_config()
c.CourseDirectory.course_id = "sandbox-test"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.Execute.timeout = {timeout}
"""

SOLUTION = """### BEGIN SOLUTION
def add(a, b):
    return a + b
### END SOLUTION"""

HIDDEN_TEST = f"""\"\"\"add works for negative numbers too\"\"\"
assert add(2, 2) == 4
### BEGIN HIDDEN TESTS
assert add(-5, 5) == 0  # {HIDDEN_MARKER}
### END HIDDEN TESTS"""


def _nbgrader_cell(source, grade_id, solution=False, grade=False, points=0):
    meta = {"grade": grade, "solution": solution, "locked": not solution,
            "grade_id": grade_id, "schema_version": 3}
    if grade:
        meta["points"] = points
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = meta
    return cell


def source_notebook():
    """The instructor's version of ``ps_mini``, with its solution and hidden test."""
    nb = new_notebook(cells=[
        new_markdown_cell("# ps_mini\nWrite `add(a, b)`."),
        _nbgrader_cell(SOLUTION, "answer", solution=True),
        _nbgrader_cell('"""add adds"""\nassert add(1, 2) == 3', "test_visible",
                       grade=True, points=1),
        _nbgrader_cell(HIDDEN_TEST, "test_hidden", grade=True, points=1),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def make_course(root, timeout=CELL_TIMEOUT):
    """Write the course (config, solutions) at ``root`` and release ``ps_mini``.

    The config names no root (nbgrader uses its working directory), so a copy of the
    folder is a course of its own.
    """
    root = Path(root)
    (root / "solutions" / ASSIGNMENT).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(CONFIG.format(timeout=timeout))
    nbformat.write(source_notebook(), root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    (root / "solutions" / ASSIGNMENT / "data.txt").write_text("data shipped with ps_mini\n")
    run_nbgrader(root, ["generate_assignment", ASSIGNMENT])


def run_nbgrader(root, args, env=None, check=True):
    """Run ``nbgrader *args`` in ``root``; with ``check``, raise with its log if it fails."""
    env = dict(env or os.environ)
    # nbgrader runs `alembic` from PATH when it opens a gradebook
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    done = subprocess.run([NBGRADER, *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    if check and done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def submit(root, student, answer_source):
    """Hand in the released notebook with its answer cell replaced by ``answer_source``."""
    release = Path(root) / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer":
            cell.source = answer_source
    folder = Path(root) / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")


def scores(root):
    """``{student: score}`` for ``ps_mini`` from the course's gradebook."""
    with Gradebook(f"sqlite:///{Path(root) / 'gradebook.db'}") as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}


def autograded_outputs(root, student):
    """The text the autograded notebook's answer cell printed, and its error names."""
    path = Path(root) / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(path, as_version=4)
    answer = next(c for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "answer")
    text = "".join(o.get("text", "") for o in answer.outputs if o.output_type == "stream")
    errors = [o.ename for o in answer.outputs if o.output_type == "error"]
    return text, errors


def attempt(root, student):
    """The ``ATTEMPT`` record a hostile submission printed (a dict)."""
    text, _ = autograded_outputs(root, student)
    line = next(line for line in text.splitlines() if line.startswith("ATTEMPT "))
    return json.loads(line[len("ATTEMPT "):])


def sandbox_processes(folder_name):
    """Pids of live processes that mount something from the sandbox folder ``folder_name``.

    Every process of a sandboxed kernel has its private folder mounted, so this finds
    them, and only them, whoever else runs sandboxes on the machine.
    """
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            mounts = Path(entry.path, "mountinfo").read_text()
        except OSError:
            continue
        if folder_name in mounts:
            found.append(int(entry.name))
    return found


def tree_digest(folder):
    """``{relative path: sha256}`` of every file under ``folder``."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


ADD = "\ndef add(a, b):\n    return a + b\n"

GOOD = {
    "alice": SOLUTION.replace("### BEGIN SOLUTION\n", "").replace("\n### END SOLUTION", ""),
    "bob": "def add(a, b):\n    return abs(a) + b\n",  # passes the visible test only
    "carol": "# YOUR CODE HERE\nraise NotImplementedError()",
}


def read_attack(root):
    """Try to read what a student must not see; record what each attempt got."""
    targets = {
        "solutions_relative": f"../../../solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
        "solutions_absolute": f"{root}/solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
        "own_notebook_with_hidden_tests": f"{ASSIGNMENT}.ipynb",
        "other_student_submitted": f"{root}/submitted/alice/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
        "other_student_autograded": f"{root}/autograded/alice/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
        "gradebook": f"{root}/gradebook.db",
        "course_root": str(root),
        "root_home": "/root",
    }
    return f'''import json, os
MARKER = "HIDDEN-" + "MARKER"

def probe(path):
    try:
        if os.path.isdir(path):
            return "LISTED " + " ".join(sorted(os.listdir(path)))
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        return type(error).__name__
    if MARKER.encode() in data:
        return "FOUND HIDDEN TEST"
    return "FOUND SQLITE" if data.startswith(b"SQLite format") else f"READ {{len(data)}} bytes"

found = {{name: probe(path) for name, path in {targets!r}.items()}}
found["own_data_file"] = probe("data.txt")
print("ATTEMPT " + json.dumps(found))
''' + ADD


def write_attack(root):
    """Try to change the gradebook, submissions, solutions; write in scratch space."""
    targets = {
        "gradebook": f"{root}/gradebook.db",
        "other_student_submitted": f"{root}/submitted/alice/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
        "own_submitted": f"{root}/submitted/mallory_write/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
        "solutions": f"{root}/solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
        "course_root_new_file": f"{root}/pwned.txt",
        "relative_course_root": "../../../pwned_relative.txt",
        "root_home": "/root/pwned.txt",
        "scratch_file": "scratch.txt",
        "tmp_file": "/tmp/scratch.txt",
    }
    return f'''import json, os

def write(path):
    try:
        with open(path, "ab") as f:
            f.write(b"PWNED")
        return "WROTE"
    except OSError as error:
        return type(error).__name__

found = {{name: write(path) for name, path in {targets!r}.items()}}
try:
    os.remove({f"{root}/gradebook.db"!r})
    found["remove_gradebook"] = "REMOVED"
except OSError as error:
    found["remove_gradebook"] = type(error).__name__
print("ATTEMPT " + json.dumps(found))
''' + ADD


def network_attack(port):
    """Try to connect to a listener on 127.0.0.1:``port`` (the test opens it)."""
    return f'''import json, socket

def connect(host, port):
    try:
        socket.create_connection((host, port), timeout=3).close()
        return "CONNECTED"
    except OSError as error:
        return type(error).__name__

print("ATTEMPT " + json.dumps({{"loopback": connect("127.0.0.1", {port})}}))
''' + ADD


FORK_BOMB = '''import os
while True:
    os.fork()
''' + ADD

MEMORY_BOMB = '''hog = []
while True:
    hog.append(bytearray(256 * 2**20))
''' + ADD

DISK_FILLER = '''n = 0
while True:
    with open(f"fill{n}.bin", "wb") as f:
        f.write(b"x" * 2**24)
    n += 1
''' + ADD
