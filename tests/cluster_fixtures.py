"""Real parts for the cluster test: a PostgreSQL server and a Dask cluster, on this machine.

:func:`postgres` runs ``initdb`` and ``pg_ctl`` (Debian's ``postgresql``) into a temporary
folder, listening on a Unix socket only; run by root it runs them as the ``postgres``
user, since the server refuses to run as root. :class:`DaskCluster` starts a
``dask scheduler`` and ``dask worker`` processes from a working folder of their own (they
see no course folder: everything reaches them through Dask), each in its own process
group so that a test can kill one whole worker.
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent


def unavailable(reason):
    """Skip loudly on a developer's machine; fail in CI, where everything must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run this test: `make system-deps` installs it)")
    pytest.skip(reason)


def _as_postgres(args, **kwargs):
    command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


@contextmanager
def postgres():
    """Yield the SQLAlchemy URL of an empty database ``course`` on a fresh server."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        unavailable("PostgreSQL's server is not installed (Debian package postgresql)")
    bin_dir = Path(binaries[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="course-pg-"))
    (folder / "sock").mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(folder / "sock", "postgres")
    folder.chmod(0o755)
    data, sock = folder / "data", folder / "sock"
    try:
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "--auth=trust",
                      "-U", "postgres"])
        _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"),
                      "-o", f"-k {sock} -c listen_addresses=''", "-w", "start"])
        _as_postgres([str(bin_dir / "createdb"), "-h", str(sock), "-U", "postgres", "course"])
        yield f"postgresql+psycopg://postgres@/course?host={sock}"
    finally:
        subprocess.run((["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else [])
                       + [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                          "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


class DaskCluster:
    """A scheduler and ``n`` single-threaded workers, started as a cluster admin would."""

    def __init__(self, workers=2):
        self.folder = Path(tempfile.mkdtemp(prefix="course-dask-"))
        self.env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
                    # a task whose worker dies is tried once more elsewhere, then fails
                    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
        self.scheduler_file = self.folder / "scheduler.json"
        self.scheduler = self._start(["scheduler", "--scheduler-file", str(self.scheduler_file),
                                      "--host", "127.0.0.1", "--no-dashboard"], "scheduler")
        deadline = time.monotonic() + 60
        while not self.scheduler_file.is_file():
            if time.monotonic() > deadline or self.scheduler.poll() is not None:
                raise RuntimeError(f"dask scheduler did not start:\n{self.log('scheduler')}")
            time.sleep(0.2)
        self.address = json.loads(self.scheduler_file.read_text())["address"]
        self.workers = [self._start(["worker", "--scheduler-file", str(self.scheduler_file),
                                     "--nthreads", "1", "--no-dashboard", "--name", f"w{i}"],
                                    f"worker{i}") for i in range(workers)]

    def _start(self, args, name):
        log = open(self.folder / f"{name}.log", "wb")
        return subprocess.Popen([str(VENV_BIN / "dask"), *args], cwd=self.folder, env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self, name):
        return (self.folder / f"{name}.log").read_text(errors="replace")[-3000:]

    def wait_for_workers(self, n, timeout=120):
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(n, timeout=timeout)

    def kill_worker(self, index):
        """Kill worker ``index`` with its nanny and everything it started."""
        os.killpg(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait()

    def close(self):
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
