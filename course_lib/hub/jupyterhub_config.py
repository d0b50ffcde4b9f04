"""JupyterHub's configuration for the course hub (``jupyterhub -f`` this file).

Everything machine-specific comes from the ``hub.json`` named by ``NN_COURSE_HUB``,
written by ``python -m course_lib.hub up`` (:mod:`course_lib.hub.provision`).
"""

import os

from course_lib.hub.auth import DemoAuthenticator
from course_lib.hub.provision import Hub
from course_lib.hub.spawner import SandboxedSpawner

c = get_config()  # noqa: F821 (injected by traitlets)
hub = Hub.load(os.environ["NN_COURSE_HUB"])
state = hub.path("state")

c.JupyterHub.bind_url = hub.url
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{hub.hub_port}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub.proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True

c.JupyterHub.authenticator_class = DemoAuthenticator
c.DemoAuthenticator.logins_file = str(hub.logins_file)
c.Authenticator.allowed_users = set(hub.users)
c.Authenticator.admin_users = {hub.instructor}

c.JupyterHub.spawner_class = SandboxedSpawner
c.SandboxedSpawner.hub_settings = str(hub.settings_file)
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120
