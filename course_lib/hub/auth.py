"""The demo hub's logins: a fixed set of accounts, each with its own random password."""

import hmac
import json
from pathlib import Path

from jupyterhub.auth import Authenticator
from traitlets import Unicode


class DemoAuthenticator(Authenticator):
    """Accept exactly the ``{user: password}`` pairs of :attr:`logins_file`.

    The file is written by :func:`.provision.provision`, readable by root only; the users
    are the hub's system accounts, created for the demo. Passwords are compared in
    constant time.
    """

    logins_file = Unicode(help="JSON file {user: password}").tag(config=True)

    def _logins(self):
        return json.loads(Path(self.logins_file).read_text())

    async def authenticate(self, handler, data):
        name, password = data.get("username", ""), data.get("password", "")
        expected = self._logins().get(name)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            return None
        return name
