"""Each user's Jupyter server, run as that user inside a bubblewrap sandbox.

The sandbox shows the server the system (read-only: /usr, /etc), the course's Python
environment and course_lib (read-only), the user's own home, nbgrader's exchange and
the hub's Jupyter config, and a private /tmp. Nothing else of the machine exists in it:
not the other homes, not the course repository (whose ``solutions/`` hold the hidden
tests), not the hub's logins. The network is shared: the server must reach the hub.
File permissions (homes of mode 700, the exchange's own modes) are a second wall.
"""

import os
import pwd
import shutil
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Unicode

from course_lib.grading.sandbox import mount_parents, read_only_paths, system_mounts
from course_lib.hub.provision import Hub


def server_sandbox(hub, user):
    """The command prefix for ``user``'s server (a list; the server's command follows).

    bwrap runs as root, so it can show the server a Python installed under a private
    folder (/root/.pyenv, say); inside, ``setpriv`` makes the process the user, without
    any capability and with no way to gain one (``no_new_privs``).
    """
    account = pwd.getpwnam(user)
    home = account.pw_dir
    mounts = system_mounts()
    if user == hub.instructor:
        # `course autograde` nests the grading sandbox, which mounts its own /proc: the
        # kernel allows that only under a /proc with nothing mounted over it, the host's
        at = mounts.index("--proc")
        mounts[at:at + 2] = ["--bind", "/proc", "/proc"]
    else:
        mounts = ["--unshare-pid", *mounts]
    args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-uts",
            "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", *mounts,
            "--ro-bind", "/etc", "/etc", "--perms", "1777", "--tmpfs", "/tmp",
            "--perms", "1777", "--tmpfs", "/dev/shm"]  # multiprocessing's semaphores
    read_only = [*read_only_paths(sys.executable), str(hub.path("config"))]
    writable = [str(hub.exchange), home]
    # bwrap would create the folders above the mounts as 0700: the user could not enter
    for folder in mount_parents([*read_only, *writable]):
        args += ["--perms", "0755", "--dir", folder]
    for path in read_only:
        args += ["--ro-bind", path, path]
    for path in writable:
        args += ["--bind", path, path]
    args += ["--chdir", home]
    return args + ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
                   "--init-groups", "--inh-caps=-all", "--bounding-set=-all",
                   "--no-new-privs", "--"]


def give_lectures(hub, user):
    """Copy the lectures into ``~/lectures`` on first login; never touch a student's copy."""
    target = Hub.home(user) / "lectures"
    if target.exists():
        return
    shutil.copytree(Path(hub.repo) / "lectures", target,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    account = pwd.getpwnam(user)
    for path in (target, *target.rglob("*")):
        os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)


def server_environment(hub, user):
    """What the hub adds to ``user``'s environment: the role's Jupyter config, the
    course's tools first on PATH, one BLAS thread."""
    return {"JUPYTER_CONFIG_PATH": os.pathsep.join(hub.config_path(user)),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin",
                                     "/usr/bin", "/bin"]),
            "OPENBLAS_NUM_THREADS": "1"}


class SandboxedSpawner(LocalProcessSpawner):
    """:class:`LocalProcessSpawner` with the server inside :func:`server_sandbox`."""

    hub_settings = Unicode(help="the hub.json written by `make hub`").tag(config=True)

    async def start(self):
        hub = Hub.load(self.hub_settings)
        user = self.user.name
        give_lectures(hub, user)
        self.cmd = [*server_sandbox(hub, user), str(Path(sys.executable).parent /
                                                    "jupyterhub-singleuser")]
        self.environment.update(server_environment(hub, user))
        return await super().start()

    def make_preexec_fn(self, name):
        """No change of user before exec: :func:`server_sandbox` drops to the user."""
        return None
