"""Run a student's kernel inside bubblewrap while nbgrader autogrades the notebook.

Without this, ``nbgrader autograde`` runs a submission with the grader's rights: from
``autograded/<student>/<assignment>`` it can read ``../../../solutions`` (answers and
hidden tests), other students' work and ``gradebook.db``, rewrite them, open sockets and
fork or allocate without bound. Here the kernel runs in a bubblewrap sandbox
(https://github.com/containers/bubblewrap) with its limits set by util-linux's
``prlimit`` and coreutils' ``timeout``. What the kernel sees:

* its working directory, the student's ``autograded/<student>/<assignment>`` folder, as
  a fresh tmpfs of ``Limits.scratch_bytes`` holding read-only views of that folder's
  files (not its notebooks, which hold the hidden tests by then): it can read its data
  files and write scratch files, and nothing it writes outlives the kernel;
* read-only: ``/usr``, the Python installation (the venv and the interpreter it is built
  on) and the ``course_lib`` package folder, not the course root around them;
* a fresh tmpfs ``/tmp`` (``Limits.scratch_bytes``), its own ``/proc`` and ``/dev``;
* no network (its own empty network namespace), no other process, the root read-only.

Limits (:class:`Limits`): address space per process (``RLIMIT_AS``), processes and threads
(``RLIMIT_NPROC``), size of any file (``RLIMIT_FSIZE``), CPU seconds per process
(``RLIMIT_CPU``), open files, no core dumps, and the kernel's whole life (``timeout``).
nbgrader's ``Execute.timeout`` still bounds each cell.

``RLIMIT_NPROC`` counts processes per user and is not enforced for real root. Run by an
ordinary user, bwrap gives the kernel a user namespace of its own, where the count starts
at zero. Run by root (CI containers, this machine), bwrap sets up the mounts privileged
and ``setpriv`` then drops the kernel to a uid of its own (``SANDBOX_UID_BASE + pid``)
with no capabilities, so the count again covers only that kernel.

The kernel talks to nbgrader over IPC sockets (the sandbox has no network), whose paths
start with ``KernelManager.ip`` (one prefix per nbgrader process, in the runtime folder).
Each kernel gets a private folder holding a copy of its connection file and its sockets,
mounted at the runtime folder's path inside the sandbox; symlinks in the runtime folder
point nbgrader at those sockets. A kernel sees no other kernel's key or sockets. Once the
kernel has bound its sockets the grader binds one of its own there, owned by the kernel's
uid, mode 0600, for the kernel's agent to connect to during tests
(:class:`course_lib.grading.execute.AgentListener`), then makes that folder read-only to
the kernel (:func:`lock_runtime_folder`), and removes it when the kernel ends.

The trusted test process (:mod:`course_lib.grading.harness`) runs in a sandbox of its own
(:func:`harness_command`): the same read-only view and limits, no network, no notebook
folder, talking over its standard input and output.

How the autograde uses it (nbgrader runs as a subprocess)::

    ok, reason = sandbox_available()
    if not ok and not unsafe:
        sys.exit(f"refusing to autograde: no sandbox here ({reason}); --unsafe to "
                 "run students' code with your rights")
    with sandboxed_kernel(kernel_argv=..., kernel_env=...) as box:   # when ok
        subprocess.run(["nbgrader", "autograde", "ps4_mlp", *box.nbgrader_args],
                       env={**os.environ, **box.env}, check=True)

``box.env`` puts the sandboxed kernel spec first on ``JUPYTER_PATH`` and a
``jupyter_config.py`` (IPC transport, the socket prefix, the kernel name) first on
``JUPYTER_CONFIG_PATH``; ``box.nbgrader_args`` repeat the kernel name and transport on
the command line, where no course config can override them. ``kernel_argv`` is the
command of the kernel to sandbox (default: plain ipykernel); it must contain
``{connection_file}``; the interpreter it names must be the one running this module (its
installation is what the sandbox mounts). One ``sandboxed_kernel`` serves any number of
nbgrader processes, one after the other or at the same time.

What a hostile submission meets (tests/test_sandbox.py grades each next to good ones):
reads of solutions, hidden tests, classmates, the gradebook or /root get
FileNotFoundError; writes outside its scratch space get FileNotFoundError or
"Read-only file system"; a connection to 127.0.0.1 is refused; a fork bomb gets
BlockingIOError (and later cells "can't start new thread"); a memory bomb MemoryError; a
disk filler "No space left on device". When the kernel ends, bwrap's PID namespace takes
every process the submission started with it.

This file also runs as a script (``python -I -S sandbox.py POLICY CONNECTION_FILE ...``):
that is the kernel spec's launcher, which builds the bwrap command for the notebook's
folder and execs it. It imports only the standard library.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

KERNEL_NAME = "course-sandbox"
SANDBOX_UID_BASE = 1_500_000_000
MIB = 1024 * 1024
PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes; "-<port>" and a NUL follow the prefix
PASSED_ENV = ("NBGRADER_EXECUTION", "LANG", "LC_ALL", "TZ")


@dataclass(frozen=True)
class Limits:
    """What one sandboxed kernel may use. Sizes in bytes, times in seconds.

    memory_bytes   RLIMIT_AS of each process (a memory bomb gets ``MemoryError``)
    processes      RLIMIT_NPROC: processes plus threads (a kernel idles at about 10)
    file_bytes     RLIMIT_FSIZE: the largest file it may write
    scratch_bytes  size of each tmpfs: the working directory and ``/tmp``
    cpu_seconds    RLIMIT_CPU of each process (SIGXCPU ends it)
    wall_seconds   the kernel's whole life; then ``timeout`` kills it
    open_files     RLIMIT_NOFILE

    Worst case the sandbox holds ``processes * memory_bytes`` of address space plus
    ``2 * scratch_bytes`` of tmpfs; the defaults keep real use far below that.
    """

    memory_bytes: int = 2048 * MIB
    processes: int = 64
    file_bytes: int = 64 * MIB
    scratch_bytes: int = 64 * MIB
    cpu_seconds: int = 600
    wall_seconds: int = 1800
    open_files: int = 256

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive int, got {value!r}")

    def prlimit_args(self):
        """``prlimit`` options setting soft = hard limit for each resource."""
        return [
            f"--as={self.memory_bytes}",
            f"--nproc={self.processes}",
            f"--fsize={self.file_bytes}",
            f"--cpu={self.cpu_seconds}",
            f"--nofile={self.open_files}",
            "--core=0",
        ]


@dataclass
class SandboxedKernel:
    """What :func:`sandboxed_kernel` yields: how to point nbgrader at the sandboxed kernel.

    env            variables to add to nbgrader's environment
    nbgrader_args  command-line options for ``nbgrader autograde``
    kernel_name    the kernel spec's name (also in ``nbgrader_args``)
    folder         the temporary folder holding the kernel spec and the runtime folder
    policy_file    the sandbox's policy (for :func:`harness_command`)
    """

    env: dict
    nbgrader_args: list
    kernel_name: str
    folder: str
    policy_file: str
    limits: Limits = field(default_factory=Limits)


def default_kernel_argv(python=sys.executable):
    """Plain ipykernel on ``python``: ``python -P -m ipykernel_launcher -f {connection_file}``
    (``-P``: the working folder, where a submission's files are, is not on the path while
    the kernel starts)."""
    return [python, "-P", "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def _tool_paths(as_root):
    needed = ["bwrap", "prlimit", "timeout"] + (["setpriv"] if as_root else [])
    return {tool: shutil.which(tool) for tool in needed}


def sandbox_available():
    """``(True, description)`` if a kernel can be sandboxed here, else ``(False, reason)``.

    It checks the tools (bwrap, prlimit, timeout; setpriv when run as root) and then runs
    ``true`` in a sandbox set up as for a kernel, so a machine without user namespaces, a
    container that forbids them or a bwrap too old for these options (0.8 has them) is
    caught here rather than at the first notebook.
    """
    as_root = os.geteuid() == 0
    missing = [tool for tool, path in _tool_paths(as_root).items() if path is None]
    if missing:
        return False, (
            f"{', '.join(missing)} not found on PATH (Debian: apt-get install bubblewrap "
            "util-linux coreutils)"
        )
    uid = SANDBOX_UID_BASE + os.getpid() if as_root else None
    probe = (
        _namespace_args(uid)
        + system_mounts()
        + ["--size", str(MIB), "--perms", "1777", "--tmpfs", "/tmp"]
        + ["--remount-ro", "/", "--clearenv", "--"]
        + _drop_privileges(uid)
        + ["true"]
    )
    try:
        run = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"bubblewrap could not run: {error}"
    if run.returncode != 0:
        detail = run.stderr.strip() or f"exit status {run.returncode}"
        return False, f"bubblewrap cannot create a sandbox here: {detail}"
    version = subprocess.run(["bwrap", "--version"], capture_output=True, text=True).stdout
    mode = "as root, kernels run under their own uid" if as_root else "in a user namespace"
    return True, f"{version.strip()} ({mode})"


def _namespace_args(uid):
    """bwrap's namespace options; ``uid``: None for an ordinary user, the kernel's uid for root."""
    args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if uid is None:
        return args + ["--unshare-user", "--disable-userns"]
    return args + ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]


def _drop_privileges(uid):
    """The ``setpriv`` prefix that makes root's sandboxed kernel an unprivileged ``uid``."""
    if uid is None:
        return []
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def system_mounts():
    """/usr read-only, the merged-/usr symlinks, the dynamic linker's cache, /proc, /dev."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts"):
        args += ["--ro-bind-try", path, path]
    return args + ["--proc", "/proc", "--dev", "/dev"]


def _scratch_mounts(cwd, limits):
    """The working directory: a tmpfs with read-only views of the folder's files.

    Notebooks are left out (during autograde they contain the hidden tests). A symlink is
    recreated as a symlink, so it resolves inside the sandbox, never on the host.
    """
    args = ["--size", str(limits.scratch_bytes), "--perms", "1777", "--tmpfs", cwd]
    for entry in sorted(os.scandir(cwd), key=lambda e: e.name):
        if entry.name.endswith(".ipynb"):
            continue
        if entry.is_symlink():
            args += ["--symlink", os.readlink(entry.path), entry.path]
        else:
            args += ["--ro-bind", entry.path, entry.path]
    return args


def mount_parents(paths):
    """The proper ancestors of ``paths`` that the sandbox does not mount itself, sorted."""
    mounted = {"/", "/tmp", "/usr", "/proc", "/dev"}
    found = set()
    for path in paths:
        parent = os.path.dirname(path)
        while parent not in mounted and parent not in found:
            found.add(parent)
            parent = os.path.dirname(parent)
    return sorted(found)


def bwrap_command(policy, cwd, connection_file, private_dir, extra_arguments, uid=None):
    """The full command that starts one sandboxed kernel (a list for ``os.execvp``).

    policy           the dict :func:`sandboxed_kernel` stores next to the kernel spec:
                     ``kernel_argv``, ``read_only`` paths, ``env``, ``limits``
    cwd              the notebook's folder (the kernel's working directory)
    connection_file  the connection file nbgrader wrote (its folder is the runtime folder)
    private_dir      this kernel's folder, mounted at the runtime folder's path
    extra_arguments  what nbgrader appends to the kernel command line
    uid              the kernel's uid when run by root, else None
    """
    limits = Limits(**policy["limits"])
    runtime_dir = os.path.dirname(connection_file)
    args = _namespace_args(uid) + system_mounts()
    args += ["--size", str(limits.scratch_bytes), "--perms", "1777", "--tmpfs", "/tmp"]
    # bwrap creates missing parent folders as 0700, which root's kernel uid cannot enter
    for folder in mount_parents([*policy["read_only"], runtime_dir, cwd]):
        args += ["--perms", "0755", "--dir", folder]
    for path in policy["read_only"]:
        args += ["--ro-bind", path, path]
    if policy.get("font_cache"):
        # matplotlib's font list, built once by the grader: saves each kernel a rebuild
        args += ["--perms", "1777", "--dir", policy["env"]["MPLCONFIGDIR"]]
        args += ["--ro-bind", policy["font_cache"],
                 os.path.join(policy["env"]["MPLCONFIGDIR"],
                              os.path.basename(policy["font_cache"]))]
    args += ["--bind", private_dir, runtime_dir]
    args += _scratch_mounts(cwd, limits)
    args += ["--remount-ro", "/", "--chdir", cwd, "--clearenv"]
    for name, value in sorted(policy["env"].items()):
        args += ["--setenv", name, value]
    for name in PASSED_ENV:
        if name in os.environ and name not in policy["env"]:
            args += ["--setenv", name, os.environ[name]]
    kernel = [arg.replace("{connection_file}", connection_file) for arg in policy["kernel_argv"]]
    return (
        args
        + ["--"]
        + _drop_privileges(uid)
        + ["prlimit", *limits.prlimit_args(), "--"]
        + ["timeout", "--signal=KILL", str(limits.wall_seconds)]
        + kernel
        + list(extra_arguments)
    )


def harness_command(policy_file):
    """The bwrap command of one trusted test process (:mod:`course_lib.grading.harness`).

    The same view as a kernel's (the Python installation and course_lib read-only, no
    network, the same limits), but no notebook folder and no IPC sockets: its working
    directory is the empty scratch ``/tmp``, and ``-I`` keeps that off ``sys.path``. It
    talks over its standard input and output. Run by root, it gets a uid of its own.
    """
    with open(policy_file) as f:
        policy = json.load(f)
    limits = Limits(**policy["limits"])
    uid = SANDBOX_UID_BASE + 2**22 + os.getpid() if os.geteuid() == 0 else None
    args = _namespace_args(uid) + system_mounts()
    args += ["--size", str(limits.scratch_bytes), "--perms", "1777", "--tmpfs", "/tmp"]
    for folder in mount_parents(policy["read_only"]):
        args += ["--perms", "0755", "--dir", folder]
    for path in policy["read_only"]:
        args += ["--ro-bind", path, path]
    args += ["--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
    for name, value in sorted(policy["env"].items()):
        args += ["--setenv", name, value]
    python = policy["kernel_argv"][0]
    return (args + ["--"] + _drop_privileges(uid)
            + ["prlimit", *limits.prlimit_args(), "--"]
            + [python, "-I", "-m", "course_lib.grading.harness"])


def private_folder(ip, ports):
    """The private folder of the sandboxed kernel whose sockets start with ``ip``, or None.

    The grader binds its socket for the kernel's agent there
    (:class:`course_lib.grading.execute.AgentListener`) before :func:`lock_runtime_folder`.
    """
    link = f"{ip}-{ports[0]}"
    if not os.path.islink(link):
        return None
    return os.path.dirname(os.readlink(link))


def lock_runtime_folder(ip, ports):
    """Once a sandboxed kernel has bound its sockets, make its private folder read-only.

    That folder is the only host folder the kernel can write (it must create its IPC
    sockets there); afterwards a submission could fill the host's disk through it. Run
    by root the folder is handed back to root, mode 0555: the kernel's own uid can then
    neither write nor change it. Run by an ordinary user, the kernel shares that user's
    uid inside its namespace, so the read-only mode is a guard, not a wall. Returns the
    folder (for :func:`remove_runtime_folder`), or None if ``ip`` is not a sandbox's.
    """
    private_dir = private_folder(ip, ports)
    if private_dir is None:
        return None
    if os.geteuid() == 0:
        os.chown(private_dir, 0, 0)
    os.chmod(private_dir, 0o555)
    # what the kernel made there besides its sockets and files (a folder it could keep
    # writing to, a link) goes; rmtree never follows a link
    for entry in os.scandir(private_dir):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        elif entry.is_symlink():
            os.unlink(entry.path)
    return private_dir


def remove_runtime_folder(private_dir, ip, ports):
    """Delete a finished kernel's private folder and the socket links that point into it."""
    for port in ports:
        try:
            os.unlink(f"{ip}-{port}")
        except FileNotFoundError:
            pass
    if private_dir and os.path.isdir(private_dir):
        os.chmod(private_dir, 0o700)
        shutil.rmtree(private_dir, ignore_errors=True)


def _font_cache():
    """The grader's matplotlib font list (``fontlist-v*.json``), or None."""
    try:
        import matplotlib
        from matplotlib import font_manager  # builds the list if this user has none yet
    except ImportError:
        return None
    name = f"fontlist-v{font_manager.FontManager.__version__}.json"
    path = os.path.join(matplotlib.get_cachedir(), name)
    return path if os.path.isfile(path) else None


def read_only_paths(python):
    """The Python installation and course_lib's folder, outermost first, without repeats."""
    import course_lib

    candidates = [
        os.path.realpath(sys.prefix),
        os.path.realpath(sys.base_prefix),
        os.path.realpath(sys.exec_prefix),
        os.path.realpath(python),
        os.path.dirname(os.path.realpath(course_lib.__file__)),
    ]
    kept = []
    for path in sorted(set(candidates), key=len):
        inside = any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept)
        if not inside and not path.startswith("/usr/"):
            kept.append(path)
    return kept


_JUPYTER_CONFIG = """# written by course_lib.grading.sandbox: the sandboxed kernel speaks IPC
import os

c.KernelManager.transport = "ipc"
c.KernelManager.ip = os.path.join({runtime!r}, "p%d-ipc" % os.getpid())
c.Execute.kernel_name = {kernel_name!r}
"""


def _prepend(folder, variable):
    """``folder`` first on the search path in environment ``variable``."""
    return os.pathsep.join(p for p in (folder, os.environ.get(variable)) if p)


@contextmanager
def sandboxed_kernel(limits=None, kernel_argv=None, kernel_env=None, kernel_name=KERNEL_NAME):
    """Write a sandboxed kernel spec in a temporary folder; yield a :class:`SandboxedKernel`.

    limits       a :class:`Limits` (default ``Limits()``)
    kernel_argv  the kernel command to sandbox; must contain ``{connection_file}``
                 (default :func:`default_kernel_argv`)
    kernel_env   extra variables for the kernel (the sandbox starts from an empty
                 environment: HOME and TMPDIR are /tmp, one BLAS thread)

    The folder (kernel spec, runtime folder, one private folder per kernel) is removed on
    exit. Check :func:`sandbox_available` first: this function does not.
    """
    limits = limits or Limits()
    kernel_argv = list(kernel_argv or default_kernel_argv())
    if not any("{connection_file}" in arg for arg in kernel_argv):
        raise ValueError(f"kernel_argv must contain '{{connection_file}}', got {kernel_argv}")
    folder = os.path.realpath(tempfile.mkdtemp(prefix="course-sandbox-"))
    try:
        runtime = os.path.join(folder, "run")
        spec_dir = os.path.join(folder, "jupyter", "kernels", kernel_name)
        private_root = os.path.join(folder, "kernels")
        for path in (runtime, spec_dir, private_root):
            os.makedirs(path, mode=0o700)
        # sockets are "<runtime>/p<pid>-ipc-<n>"; Unix socket paths are short
        if len(runtime) + len("/p4194304-ipc") > SOCKET_PATH_MAX:
            raise ValueError(f"temporary folder {folder!r} is too long for IPC socket paths; "
                             "set TMPDIR to a shorter folder")
        python = kernel_argv[0]
        venv_bin = os.path.join(sys.prefix, "bin")
        env = {
            "HOME": "/tmp",
            "TMPDIR": "/tmp",
            "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
            "MPLCONFIGDIR": "/tmp/matplotlib",
            "IPYTHONDIR": "/tmp/ipython",
            "PYTHONDONTWRITEBYTECODE": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            # no shared-memory semaphores in the sandbox: joblib (under scikit-learn) would
            # warn on stderr that it runs serially; say so up front instead
            "JOBLIB_MULTIPROCESSING": "0",
            **(kernel_env or {}),
        }
        policy = {
            "kernel_argv": kernel_argv,
            "read_only": read_only_paths(python),
            "env": env,
            "limits": asdict(limits),
            "private_root": private_root,
            "font_cache": _font_cache(),
        }
        policy_file = os.path.join(spec_dir, "policy.json")
        with open(policy_file, "w") as f:
            json.dump(policy, f, indent=1)
        spec = {
            "argv": [sys.executable, "-I", "-S", os.path.abspath(__file__), policy_file,
                     "{connection_file}"],
            "display_name": "Python 3 (sandboxed for grading)",
            "language": "python",
            # SIGINT would reach bwrap, not the kernel: interrupt over the control channel
            "interrupt_mode": "message",
            "metadata": {"debugger": False},
        }
        with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
            json.dump(spec, f, indent=1)
        # IPC socket paths derive from KernelManager.ip: one prefix per nbgrader process
        config_dir = os.path.join(folder, "config")
        os.makedirs(config_dir, mode=0o700)
        with open(os.path.join(config_dir, "jupyter_config.py"), "w") as f:
            f.write(_JUPYTER_CONFIG.format(runtime=runtime, kernel_name=kernel_name))
        yield SandboxedKernel(
            env={
                "JUPYTER_PATH": _prepend(os.path.join(folder, "jupyter"), "JUPYTER_PATH"),
                "JUPYTER_CONFIG_PATH": _prepend(config_dir, "JUPYTER_CONFIG_PATH"),
            },
            nbgrader_args=[f"--Execute.kernel_name={kernel_name}",
                           "--KernelManager.transport=ipc"],
            kernel_name=kernel_name,
            folder=folder,
            policy_file=policy_file,
            limits=limits,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _launch(policy_file, connection_file, extra_arguments):
    """The kernel spec's launcher: prepare this kernel's private folder, exec bwrap."""
    with open(policy_file) as f:
        policy = json.load(f)
    connection_file = os.path.realpath(connection_file)
    with open(connection_file) as f:
        info = json.load(f)
    if info.get("transport") != "ipc":
        sys.exit("the sandboxed kernel has no network: run nbgrader with "
                 "--KernelManager.transport=ipc")
    private_dir = tempfile.mkdtemp(prefix="k", dir=policy["private_root"])
    private_copy = os.path.join(private_dir, os.path.basename(connection_file))
    shutil.copyfile(connection_file, private_copy)
    if not os.path.isabs(info["ip"]):
        sys.exit("the sandboxed kernel needs KernelManager.ip set to an absolute socket "
                 "prefix: run nbgrader with the environment sandboxed_kernel() gives")
    for port in PORT_NAMES:
        socket_path = f"{info['ip']}-{info[port]}"
        try:
            os.symlink(os.path.join(private_dir, os.path.basename(socket_path)), socket_path)
        except FileExistsError:
            sys.exit(f"{socket_path} is taken: two nbgrader processes share one socket prefix")
    uid = None
    if os.geteuid() == 0:
        uid = SANDBOX_UID_BASE + os.getpid()
        for path in (private_dir, private_copy):
            os.chown(path, uid, uid)
    sandbox_connection_file = os.path.join(os.path.dirname(info["ip"]),
                                           os.path.basename(connection_file))
    command = bwrap_command(policy, os.getcwd(), sandbox_connection_file, private_dir,
                            extra_arguments, uid)
    # the kernel's own stdout is not the notebook's (that goes over IOPub): drop it, so a
    # submission cannot flood the grader's log through file descriptor 1
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.execvp(command[0], command)


if __name__ == "__main__":
    _launch(sys.argv[1], sys.argv[2], sys.argv[3:])
