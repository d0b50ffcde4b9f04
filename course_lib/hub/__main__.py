"""``python -m course_lib.hub up|remove``: the course hub on this machine (``make hub``)."""

import argparse
import os
import sys
from pathlib import Path

from course_lib.hub.provision import Hub, HubError, provision, remove

CONFIG = Path(__file__).with_name("jupyterhub_config.py")


def hub_command(hub):
    """``(argv, env, cwd)`` that runs JupyterHub for ``hub`` (already provisioned)."""
    env = {**os.environ, "NN_COURSE_HUB": str(hub.settings_file),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                    os.environ.get("PATH", "")])}
    return ([sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)], env,
            hub.path("state"))


def _welcome(hub, logins):
    lines = [f"course hub: {hub.url}  (stop it with Ctrl-C; `make hub-remove` deletes the "
             "demo accounts)", "logins:"]
    lines += [f"  {user:<20} {password}   ({'instructor' if user == hub.instructor else 'student'})"
              for user, password in logins.items()]
    lines += ["the instructor's course is ~/nn-course; in a terminal on the hub:",
              "  cd ~/nn-course && course release ps4_mlp --exchange",
              "  course collect ps4_mlp --exchange && course autograde ps4_mlp",
              "  course feedback ps4_mlp --exchange && course grades ps4_mlp"]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.hub", description=__doc__)
    parser.add_argument("action", choices=("up", "remove"))
    parser.add_argument("--repo", type=Path, default=Path.cwd(),
                        help="the course repository (default: the current folder)")
    parser.add_argument("--folder", default="/srv/nn-course-hub",
                        help="where the hub keeps its state (default: /srv/nn-course-hub)")
    parser.add_argument("--port", type=int, default=8000, help="the hub's address port")
    parser.add_argument("--prefix", default="nnc-", help="the demo accounts' name prefix")
    args = parser.parse_args(argv)
    hub = Hub(repo=str(args.repo.resolve()), folder=args.folder, prefix=args.prefix,
              port=args.port)
    try:
        if args.action == "remove":
            remove(Hub.load(hub.settings_file) if hub.settings_file.is_file() else hub)
            print(f"removed the demo accounts {', '.join(hub.users)} and {hub.folder}")
            return 0
        logins = provision(hub)
    except HubError as e:
        print(f"hub: {e}", file=sys.stderr)
        return 2
    print(_welcome(hub, logins), flush=True)
    argv, env, cwd = hub_command(hub)
    os.chdir(cwd)
    os.execve(argv[0], argv, env)


if __name__ == "__main__":
    sys.exit(main())
