"""The grader's end of the trusted test process (:mod:`course_lib.grading.harness`).

:class:`TestProcess` starts ``python -I -m course_lib.grading.harness`` (inside the
sandbox when :mod:`course_lib.grading.sandbox` gives a command for it) and exchanges its
JSON lines with a deadline on every read: a test process that overruns or dies is killed
and replaced for the next test, and the test it was running fails.
"""

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

MAX_LINE = 80 * 2**20  # the longest message line accepted from the test process


class TestProcessError(RuntimeError):
    """The test process overran its deadline, died or sent something malformed."""


def kill_group(proc):
    """Kill a process started with ``start_new_session=True`` and all it started; reap it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def harness_argv(python=sys.executable):
    """The unsandboxed command (``--unsafe``): isolated mode keeps cwd off ``sys.path``."""
    return [python, "-I", "-m", "course_lib.grading.harness"]


class TestProcess:
    """One running test process; :meth:`ensure` (re)starts it when needed.

    ``make_argv()`` returns the command to start (a fresh one each time: the sandbox
    gives each process its own uid); it runs in an empty scratch folder.
    """

    START_TIMEOUT = 120

    def __init__(self, make_argv, env=None):
        self.make_argv, self.env = make_argv, env
        self.proc = None
        self._scratch = tempfile.TemporaryDirectory(prefix="course-tests-")
        self._buffer, self._ready = b"", False

    def start(self):
        """Start the process if it is not running, without waiting for it."""
        if self.proc is not None and self.proc.poll() is None:
            return
        self._buffer, self._ready = b"", False
        self.proc = subprocess.Popen(
            self.make_argv(), cwd=self._scratch.name, env=self.env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)

    def ensure(self):
        """Start the process if it is not running; wait until it says it is ready."""
        self.start()
        if self._ready:
            return
        message = self.receive(time.monotonic() + self.START_TIMEOUT)
        if message.get("op") != "ready":
            self.kill()
            raise TestProcessError("the test process did not start")
        self._ready = True

    def send(self, **message):
        try:
            self.proc.stdin.write((json.dumps(message) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.kill()
            raise TestProcessError("the test process stopped") from None

    def receive(self, deadline):
        """The next message, or :class:`TestProcessError` once ``deadline`` passes."""
        out = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise TestProcessError("the test did not finish in time")
            readable, _, _ = select.select([out], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(out, 2**20)
            if not chunk or len(self._buffer) > MAX_LINE:
                self.kill()
                raise TestProcessError("the test process stopped")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            self.kill()
            raise TestProcessError("the test process sent a malformed message") from None

    def kill(self):
        if self.proc is not None:
            kill_group(self.proc)

    def close(self):
        self.kill()
        self._scratch.cleanup()
