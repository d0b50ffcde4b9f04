"""Set up the course hub on this machine, as root: accounts, exchange, Jupyter config.

One folder (``/srv/nn-course-hub`` by default) holds everything the hub owns::

    hub.json        the settings jupyterhub_config.py reads
    logins.json     the demo accounts' passwords (root only)
    exchange/       nbgrader's exchange: mode 1777, like /tmp
    config/common/  nbgrader_config.py: the exchange's root and the course id
    config/student/ students' servers: no formgrader, no assignment creation
    config/instructor/  nbgrader_config.py: the formgrader's course folder
    state/          JupyterHub's database and cookie secret

The accounts are system users created for the demo, ``<prefix>instructor``,
``<prefix>alice`` and ``<prefix>bob``, with private homes (mode 700). The instructor's
home gets the course (``~/nn-course``: nbgrader_config.py, solutions/ with the hidden
tests, assignments/), never visible to students. :func:`remove` takes it all away.
"""

import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from course_lib.grading.course import Course
from course_lib.grading.exchange import exchange_of
from course_lib.grading.sandbox import read_only_paths

STUDENTS = ("alice", "bob")
COURSE_PARTS = ("nbgrader_config.py", "solutions", "assignments")
ACCOUNT_COMMENT = "nn-course hub demo account"

STUDENT_SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
}}}
STUDENT_PAGE_CONFIG = {"disabledExtensions": {
    "@jupyter/nbgrader:formgrader": True,
    "@jupyter/nbgrader:create-assignment": True,
    "@jupyter/nbgrader:course-list": True,
}}


# Kernels listen on files in the user's private runtime folder, never on 127.0.0.1 where
# any user of the machine could subscribe to their output (Validate's kernels too).
KERNELS_ON_FILES = "c.KernelManager.transport = 'ipc'\n"


class HubError(Exception):
    """Something on this machine keeps the hub from being set up; says what to do."""


@dataclass(frozen=True)
class Hub:
    """Where the hub lives and how it is reached (the settings written to ``hub.json``)."""

    repo: str
    folder: str
    prefix: str = "nnc-"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001

    @property
    def instructor(self):
        return f"{self.prefix}instructor"

    @property
    def students(self):
        return [f"{self.prefix}{name}" for name in STUDENTS]

    @property
    def users(self):
        return [self.instructor, *self.students]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def path(self, *parts):
        return Path(self.folder, *parts)

    @property
    def exchange(self):
        return self.path("exchange")

    @property
    def logins_file(self):
        return self.path("logins.json")

    @property
    def settings_file(self):
        return self.path("hub.json")

    def config_path(self, user):
        """The user's ``JUPYTER_CONFIG_PATH``: their role's folder, then the common one."""
        role = "instructor" if user == self.instructor else "student"
        return [str(self.path("config", role)), str(self.path("config", "common"))]

    @staticmethod
    def home(user):
        return Path(pwd.getpwnam(user).pw_dir)

    @property
    def course_folder(self):
        """The instructor's course: solutions, release, gradebook, submissions."""
        return self.home(self.instructor) / "nn-course"

    @classmethod
    def load(cls, settings_file):
        return cls(**json.loads(Path(settings_file).read_text()))

    def logins(self):
        return json.loads(self.logins_file.read_text())


def _check_machine(hub):
    if os.geteuid() != 0:
        raise HubError("the hub creates system accounts and runs each user's server as "
                       "that user: run it as root (sudo make hub)")
    for tool in ("bwrap", "configurable-http-proxy", "useradd"):
        if not shutil.which(tool):
            raise HubError(f"{tool} is not installed: run `make system-deps` as root")
    for path in read_only_paths(sys.executable):
        if os.stat(path).st_mode & (stat.S_IROTH | stat.S_IXOTH) != stat.S_IROTH | stat.S_IXOTH:
            raise HubError(f"{path} (the course's Python environment) is not readable by "
                           "other users: the hub's users run it (chmod -R o+rX it)")


def _ensure_account(user):
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash",
                        "--comment", ACCOUNT_COMMENT, user], check=True)
    os.chmod(Hub.home(user), 0o700)


def _write_private_json(path, data):
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps(data, indent=1))


def _logins(hub):
    """Keep the passwords of an earlier set-up; give a new account a random one."""
    old = hub.logins() if hub.logins_file.is_file() else {}
    return {user: old.get(user) or secrets.token_urlsafe(12) for user in hub.users}


def _write_config(hub, course_id):
    common, student, instructor = (hub.path("config", r)
                                   for r in ("common", "student", "instructor"))
    for folder in (common, student / "labconfig", student / "jupyter_server_config.d",
                   instructor):
        folder.mkdir(parents=True, exist_ok=True)
    (common / "nbgrader_config.py").write_text(
        "# written by `make hub`: where nbgrader's exchange is, and this course's id\n"
        f"c = get_config()  # noqa: F821\nc.Exchange.root = {str(hub.exchange)!r}\n"
        f"c.CourseDirectory.course_id = {course_id!r}\n{KERNELS_ON_FILES}")
    (common / "jupyter_server_config.py").write_text(
        "# written by `make hub`\nc = get_config()  # noqa: F821\n" + KERNELS_ON_FILES)
    (student / "jupyter_server_config.d" / "nbgrader-student.json").write_text(
        json.dumps(STUDENT_SERVER_CONFIG, indent=1))
    (student / "labconfig" / "page_config.json").write_text(
        json.dumps(STUDENT_PAGE_CONFIG, indent=1))
    (instructor / "nbgrader_config.py").write_text(
        "# written by `make hub`: the formgrader's course\n"
        f"c = get_config()  # noqa: F821\nc.CourseDirectory.root = "
        f"{str(hub.course_folder)!r}\n")
    for path in hub.path("config").rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _give_course(hub):
    """Copy the course into the instructor's home, once (later runs leave it as it is)."""
    folder = hub.course_folder
    if not folder.exists():
        folder.mkdir(mode=0o700)
        for part in COURSE_PARTS:
            source = Path(hub.repo) / part
            if source.is_dir():
                shutil.copytree(source, folder / part,
                                ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            else:
                shutil.copy(source, folder / part)
        account = pwd.getpwnam(hub.instructor)
        for path in (folder, *folder.rglob("*")):
            os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    folder.chmod(0o700)


def _give_exchange_course(hub, course_id):
    """Make ``exchange/<course_id>`` the instructor's before any student can claim it."""
    folder = hub.exchange / course_id
    account = pwd.getpwnam(hub.instructor)
    if not folder.exists() and not folder.is_symlink():
        folder.mkdir(mode=0o755)
        os.chown(folder, account.pw_uid, account.pw_gid)
    st = folder.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != account.pw_uid:
        raise HubError(f"{folder} is not a folder of {hub.instructor}'s: someone else made "
                       "it; remove it and run `make hub` again")


def provision(hub):
    """Create or update everything the hub needs; returns ``{user: password}``."""
    _check_machine(hub)
    folder = hub.path()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    for user in hub.users:
        _ensure_account(user)
    course_id = exchange_of(Course(hub.repo)).course_id
    logins = _logins(hub)
    _write_private_json(hub.logins_file, logins)
    hub.exchange.mkdir(exist_ok=True)
    hub.exchange.chmod(0o1777)  # nbgrader insists on 777; the sticky bit keeps entries
    _give_exchange_course(hub, course_id)
    hub.path("state").mkdir(mode=0o700, exist_ok=True)
    _write_config(hub, course_id)
    _give_course(hub)
    hub.settings_file.write_text(json.dumps(asdict(hub), indent=1))
    return logins


def remove(hub):
    """Delete the demo accounts (homes included) and the hub's folder."""
    for user in hub.users:
        try:
            account = pwd.getpwnam(user)
        except KeyError:
            continue
        if account.pw_gecos != ACCOUNT_COMMENT:
            raise HubError(f"{user} is not an account `make hub` created: left alone")
        if shutil.which("pkill"):  # userdel refuses an account that still runs something
            subprocess.run(["pkill", "-KILL", "-u", user], check=False)
        subprocess.run(["userdel", "--remove", user], check=True, capture_output=True)
    shutil.rmtree(hub.path(), ignore_errors=True)
