"""The course hub (``make hub``) started for a test: real accounts, JupyterHub, its proxy.

:class:`RunningHub` provisions a hub with the test accounts ``nnt-instructor``,
``nnt-alice`` and ``nnt-bob`` (removed first if an earlier run left them, and at the
end), starts JupyterHub on free ports and stops it afterwards. What users do outside
the browser goes through the hub too: :meth:`RunningHub.run_as` runs a command exactly
as a terminal in that user's hub server would (same sandbox, same environment), and
:meth:`RunningHub.execute` runs Python in a kernel of the user's server, reached
through the hub's proxy with the user's own API token.
"""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import browser_helpers as lab

from course_lib.hub.__main__ import hub_command
from course_lib.hub.provision import Hub, provision, remove
from course_lib.hub.spawner import server_environment, server_sandbox


def require_hub_machine():
    """Root, bubblewrap and the proxy; without them skip loudly (fail when CI is set)."""
    if os.geteuid() != 0:
        lab.unavailable("the course hub creates system accounts: run as root")
    for tool in ("bwrap", "configurable-http-proxy"):
        if not shutil.which(tool):
            lab.unavailable(f"{tool} is not installed (make system-deps)")


class RunningHub:
    def __init__(self, folder, prefix="nnt-"):
        self.hub = Hub(repo=str(lab.REPO_ROOT), folder=str(folder), prefix=prefix,
                       port=lab.free_port(), hub_port=lab.free_port(),
                       proxy_api_port=lab.free_port())
        self.log_path = Path(folder).parent / f"{Path(folder).name}-jupyterhub.log"
        self.process = None
        self.tokens = {}

    def __enter__(self):
        remove(self.hub)  # accounts an interrupted earlier run left behind
        self.logins = provision(self.hub)
        argv, env, cwd = hub_command(self.hub)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_for(lambda: self._get("/hub/api")[0] == 200, "JupyterHub to answer", 90)
        return self

    def __exit__(self, *exc_info):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        lab.keep_artifact(self.log_path)
        remove(self.hub)

    def _wait_for(self, ready, what, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterHub exited:\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.5)
        raise TimeoutError(f"waited {timeout} s for {what}:\n{self.log_tail()}")

    def log_tail(self, lines=60):
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _get(self, path, token=None, method="GET", body=None):
        request = urllib.request.Request(self.hub.url + path, method=method, data=body,
                                         headers={"Authorization": f"token {token}"}
                                         if token else {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except OSError:
            return None, b""

    def token(self, user):
        """An API token of ``user`` (``jupyterhub token``, the hub's own command)."""
        if user not in self.tokens:
            argv, env, cwd = hub_command(self.hub)
            done = subprocess.run([*argv[:3], "token", *argv[3:], user], env=env, cwd=cwd,
                                  capture_output=True, text=True, timeout=120, check=True)
            self.tokens[user] = done.stdout.strip().splitlines()[-1]
        return self.tokens[user]

    def start_server(self, user, timeout=120):
        """Start ``user``'s server through the hub's API; wait until it answers."""
        token = self.token(user)
        self._get(f"/hub/api/users/{user}/server", token, method="POST", body=b"{}")
        self._wait_for(lambda: self._get(f"/user/{user}/api/status", token)[0] == 200,
                       f"{user}'s server", timeout)

    def run_as(self, user, command, timeout=600):
        """Run shell ``command`` as ``user`` in their server's sandbox and environment."""
        login = {"HOME": str(self.hub.home(user)), "USER": user, "SHELL": "/bin/bash"}
        done = subprocess.run([*server_sandbox(self.hub, user), "bash", "-c", command],
                              env={**login, **server_environment(self.hub, user)},
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, (f"as {user}: {command}\n{done.stdout[-3000:]}\n"
                                      f"{done.stderr[-3000:]}")
        return done.stdout

    def execute(self, user, code, timeout=120):
        """Run ``code`` in a new kernel of ``user``'s server; return what it printed."""
        return asyncio.run(asyncio.wait_for(self._execute(user, code), timeout))

    async def _execute(self, user, code):
        from tornado.httpclient import AsyncHTTPClient, HTTPRequest
        from tornado.websocket import websocket_connect

        base = f"{self.hub.url}/user/{user}/api/kernels"
        headers = {"Authorization": f"token {self.token(user)}"}
        reply = await AsyncHTTPClient().fetch(base, method="POST", headers=headers, body="{}")
        kernel = json.loads(reply.body)["id"]
        socket = await websocket_connect(HTTPRequest(
            f"{base.replace('http', 'ws', 1)}/{kernel}/channels", headers=headers))
        msg_id = uuid.uuid4().hex
        socket.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": user,
                       "session": uuid.uuid4().hex, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False,
                        "stop_on_error": True}}))
        printed = []
        while True:
            message = json.loads(await socket.read_message())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind == "error":
                printed.append("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                break
        socket.close()
        await AsyncHTTPClient().fetch(f"{base}/{kernel}", method="DELETE", headers=headers)
        return "".join(printed)
