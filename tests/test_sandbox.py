"""The autograding sandbox (course_lib.grading.sandbox) against hostile submissions.

A tiny nbgrader course (tests/sandbox_fixtures.py) is graded twice with
``nbgrader autograde``: once in the sandbox, with three good submissions and six hostile
ones (read, write, network, fork bomb, memory bomb, disk filler), and once without it
(the control), with the good submissions and the harmless probes only. The control shows
that each probe does find what it looks for when nothing stops it.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import sandbox_fixtures as fx

from course_lib.grading import sandbox
from course_lib.grading.sandbox import Limits, bwrap_command, sandbox_available, sandboxed_kernel

BOMBS = {"a0_forkbomb": fx.FORK_BOMB, "a1_memorybomb": fx.MEMORY_BOMB,
         "a2_diskfiller": fx.DISK_FILLER}
# what the bomb's own cell must end with: the limit, reported as an ordinary error
BOMB_ERRORS = {"a0_forkbomb": "BlockingIOError", "a1_memorybomb": "MemoryError",
               "a2_diskfiller": "OSError"}
REFUSED = {"FileNotFoundError", "PermissionError", "OSError"}


@pytest.fixture(scope="module")
def course_template(tmp_path_factory):
    root = tmp_path_factory.mktemp("template") / "course"
    fx.make_course(root)
    return root


@pytest.fixture(scope="module")
def listener():
    """A TCP listener on 127.0.0.1 that no submission should reach."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sock.setblocking(False)
        yield sock


def _copy(template, tmp_path_factory, name):
    root = tmp_path_factory.mktemp(name) / "course"
    shutil.copytree(template, root)
    return root


@pytest.fixture(scope="module")
def control(course_template, tmp_path_factory, listener):
    """The class graded by plain nbgrader: good submissions and harmless probes only."""
    root = _copy(course_template, tmp_path_factory, "control")
    for student, answer in fx.GOOD.items():
        fx.submit(root, student, answer)
    fx.submit(root, "mallory_read", fx.read_attack(root))
    fx.submit(root, "mallory_net", fx.network_attack(listener.getsockname()[1]))
    fx.run_nbgrader(root, ["autograde", fx.ASSIGNMENT])
    _drain(listener)
    return root


def _drain(listener):
    """Accept and close whatever connected; return how many did."""
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


@pytest.fixture(scope="module")
def sandboxed(course_template, tmp_path_factory, listener, control):
    """The class graded in the sandbox: (root, nbgrader run, digests before, connections
    the listener got, sandboxed processes still alive after nbgrader ended)."""
    available, reason = sandbox_available()
    assert available, reason
    root = _copy(course_template, tmp_path_factory, "sandboxed")
    for student, answer in {**BOMBS, **fx.GOOD}.items():
        fx.submit(root, student, answer)
    fx.submit(root, "mallory_read", fx.read_attack(root))
    fx.submit(root, "mallory_write", fx.write_attack(root))
    fx.submit(root, "mallory_net", fx.network_attack(listener.getsockname()[1]))
    before = {name: fx.tree_digest(root / name) for name in ("submitted", "solutions")}
    with sandboxed_kernel() as box:
        run = fx.run_nbgrader(root, ["autograde", fx.ASSIGNMENT, *box.nbgrader_args],
                              env={**os.environ, **box.env}, check=False)
        survivors = fx.sandbox_processes(Path(box.folder).name)
    (root / "nbgrader.log").write_text(run.stderr)
    return root, run, before, _drain(listener), survivors


def _nbgrader_errors(log):
    """nbgrader's error lines and the last line of each traceback it logged."""
    lines = log.splitlines()
    keep = [line for line in lines if "| ERROR]" in line]
    keep += [lines[i - 1] for i, line in enumerate(lines) if "Please see the" in line]
    keep += [line for line in lines if line.strip().startswith(("nbclient.", "RuntimeError",
                                                                 "TimeoutError"))]
    return "\n".join(keep)


@pytest.mark.slow
def test_the_whole_class_is_graded_and_no_sandboxed_process_outlives_it(sandboxed):
    root, run, _, _, survivors = sandboxed
    # nbgrader may give up on a bomb's notebook (a fork bomb's copies of the kernel can
    # hold up its messages past nbgrader's IOPub timeout); never on anyone else's
    gave_up = set(re.findall(r"for student '([^']+)'", run.stderr))
    assert gave_up <= set(BOMBS), _nbgrader_errors(run.stderr)
    graded = fx.scores(root)
    assert sorted(graded) == sorted([*BOMBS, *fx.GOOD, "mallory_read", "mallory_write",
                                     "mallory_net"])
    assert survivors == []


@pytest.mark.slow
def test_good_submissions_score_what_they_score_without_the_sandbox(sandboxed, control):
    with_sandbox, without = fx.scores(sandboxed[0]), fx.scores(control)
    good = sorted(fx.GOOD)
    assert {s: with_sandbox[s] for s in good} == {s: without[s] for s in good}
    # the three good submissions earn three different scores, so equality means something
    assert len({without[s] for s in good}) == 3


@pytest.mark.slow
def test_reading_solutions_hidden_tests_classmates_gradebook_and_home_finds_nothing(
        sandboxed, control):
    root = sandboxed[0]
    found = fx.attempt(root, "mallory_read")
    # a folder may list only the path down to what the sandbox mounts: the student's own
    # folder, the Python installation, course_lib
    mounted = [*sandbox.read_only_paths(sys.executable),
               str(root / "autograded" / "mallory_read" / fx.ASSIGNMENT)]
    on_the_way = {part for path in mounted for part in Path(path).parts}
    for name in ("course_root", "root_home"):
        result = found.pop(name)
        listed = set(result.split()[1:]) if result.startswith("LISTED") else set()
        assert listed <= on_the_way, (name, result)
    assert found.pop("own_data_file") == "READ 26 bytes"
    assert set(found.values()) <= REFUSED, found
    # without the sandbox the same probe finds the hidden tests and the course
    unguarded = fx.attempt(control, "mallory_read")
    assert unguarded["solutions_relative"] == "FOUND HIDDEN TEST"
    assert unguarded["own_notebook_with_hidden_tests"] == "FOUND HIDDEN TEST"
    assert unguarded["course_root"].startswith("LISTED")


@pytest.mark.slow
def test_writing_outside_the_scratch_space_is_refused_and_changes_nothing(sandboxed):
    root, _, before, _, _ = sandboxed
    found = fx.attempt(root, "mallory_write")
    outside = {k: v for k, v in found.items() if k not in ("scratch_file", "tmp_file")}
    assert set(outside.values()) <= REFUSED, outside
    assert found["scratch_file"] == found["tmp_file"] == "WROTE"
    assert {name: fx.tree_digest(root / name) for name in before} == before
    assert b"PWNED" not in (root / "gradebook.db").read_bytes()
    assert not list(root.glob("pwned*"))
    # scratch files vanish with the kernel: the student's folder holds what nbgrader put
    folder = root / "autograded" / "mallory_write" / fx.ASSIGNMENT
    assert sorted(p.name for p in folder.iterdir()) == ["data.txt", f"{fx.ASSIGNMENT}.ipynb"]


@pytest.mark.slow
def test_a_connection_to_loopback_fails(sandboxed, control):
    root, _, _, connections, _ = sandboxed
    assert fx.attempt(root, "mallory_net")["loopback"] != "CONNECTED"
    assert connections == 0
    assert fx.attempt(control, "mallory_net")["loopback"] == "CONNECTED"


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(BOMBS))
def test_a_bomb_fails_its_own_submission_only(sandboxed, student):
    root = sandboxed[0]
    assert fx.scores(root)[student] == 0
    folder = root / "autograded" / student / fx.ASSIGNMENT
    if folder.exists():  # else nbgrader gave up on it, see the whole-class test
        _, errors = fx.autograded_outputs(root, student)
        assert errors and errors[-1] == BOMB_ERRORS[student]
        assert not list(folder.glob("fill*"))


def test_limits_must_be_positive_ints():
    with pytest.raises(ValueError, match="Limits.processes"):
        Limits(processes=0)
    assert "--nproc=7" in Limits(processes=7).prlimit_args()


def test_a_missing_bwrap_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    available, reason = sandbox_available()
    assert not available
    assert "bwrap" in reason


def test_sandbox_available_here():
    available, reason = sandbox_available()
    assert available, reason


def _policy():
    return {"kernel_argv": ["/venv/bin/python", "-m", "ipykernel_launcher", "-f",
                            "{connection_file}"],
            "read_only": ["/venv", "/opt/course_lib"], "env": {"HOME": "/tmp"},
            "limits": vars(Limits()), "private_root": "/unused"}


def test_the_scratch_space_shows_files_but_not_notebooks_and_rebuilds_symlinks(tmp_path):
    (tmp_path / "data.txt").write_text("x")
    (tmp_path / "ps.ipynb").write_text("{}")
    (tmp_path / "escape").symlink_to("../../../solutions")
    cmd = bwrap_command(_policy(), str(tmp_path), "/run/k.json", "/private", ["--x"], None)
    text = " ".join(cmd)
    assert f"--ro-bind {tmp_path}/data.txt {tmp_path}/data.txt" in text
    assert "ps.ipynb" not in text
    assert f"--symlink ../../../solutions {tmp_path}/escape" in text
    assert "--bind /private /run" in text
    # the kernel command comes last, with its connection file and nbgrader's arguments
    assert cmd[-3:] == ["-f", "/run/k.json", "--x"]


def test_mounts_come_in_an_order_that_keeps_them_visible(tmp_path):
    cmd = bwrap_command(_policy(), str(tmp_path), "/tmp/run/k.json", "/private", [], None)
    tmp_mount = cmd.index("/tmp", cmd.index("--tmpfs"))
    # whatever goes under /tmp comes after its tmpfs (which would hide it otherwise)
    under_tmp = [i for i, arg in enumerate(cmd) if arg.startswith("/tmp/")]
    assert under_tmp and min(under_tmp) > tmp_mount
    assert cmd[cmd.index(str(tmp_path)) - 1] == "--tmpfs"
    # and the root turns read-only after the last mount
    last_mount = max(i for i, arg in enumerate(cmd) if arg in ("--ro-bind", "--bind", "--tmpfs"))
    assert cmd.index("--remount-ro") > last_mount
    assert "--unshare-user" in cmd and "setpriv" not in cmd


def test_root_runs_the_kernel_as_its_own_uid_without_capabilities(tmp_path):
    uid = sandbox.SANDBOX_UID_BASE + 42
    cmd = bwrap_command(_policy(), str(tmp_path), "/run/k.json", "/private", [], uid)
    drop = cmd[cmd.index("setpriv"):cmd.index("prlimit")]
    assert f"--reuid={uid}" in drop and "--no-new-privs" in drop
    assert "--unshare-user" not in cmd


def test_a_kernel_command_without_a_connection_file_is_refused():
    with pytest.raises(ValueError, match="connection_file"):
        with sandboxed_kernel(kernel_argv=["python", "-m", "ipykernel_launcher"]):
            pass


def test_the_kernel_spec_and_environment_point_nbgrader_at_the_launcher():
    with sandboxed_kernel() as box:
        spec_dir = Path(box.folder) / "jupyter" / "kernels" / box.kernel_name
        assert (spec_dir / "kernel.json").is_file()
        assert box.env["JUPYTER_PATH"].split(os.pathsep)[0] == str(Path(box.folder) / "jupyter")
        assert "--KernelManager.transport=ipc" in box.nbgrader_args
    assert not Path(box.folder).exists()


FORK_COUNT = """import json, os, time
forks = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(2)
            os._exit(0)
        forks += 1
except BlockingIOError:
    pass
open("scratch.txt", "w").write("ok")
print(json.dumps([forks, sorted(os.listdir(".")), open("data.txt").read(), os.listdir("/")]))
"""


def test_an_ordinary_user_gets_a_user_namespace_with_the_same_limits():
    """The mode for instructors who are not root: bwrap makes a user namespace.

    Run by root, the test becomes ``nobody`` first (with Debian's /usr/bin/python3, as
    root's venv may sit where nobody cannot read).
    """
    as_root = os.geteuid() == 0
    python = "/usr/bin/python3" if as_root else os.path.realpath(sys.executable)
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        work, private = Path(folder, "work"), Path(folder, "private")
        work.mkdir()
        private.mkdir()
        (work / "data.txt").write_text("shipped")
        policy = {**_policy(), "kernel_argv": [python, "-c", FORK_COUNT, "{connection_file}"],
                  "read_only": [] if as_root else sandbox.read_only_paths(python),
                  "limits": vars(Limits(processes=12))}
        cmd = bwrap_command(policy, str(work), f"{folder}/run/k.json", str(private), [])
        become_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        run = subprocess.run([*become_nobody, *cmd] if as_root else cmd, capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        forks, listing, data, top = json.loads(run.stdout)
        assert 0 < forks < 12
        assert listing == ["data.txt", "scratch.txt"] and data == "shipped"
        assert sorted(work.iterdir()) == [work / "data.txt"]
        assert not {"root", "work", "home"} & set(top)
