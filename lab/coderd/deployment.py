"""What coderd's handlers share, and how a handler finds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from yarl import URL

from lab.codersdk import Renderer
from lab.controlplane import ControlPlane
from lab.faults import APP_ON_SUBDOMAIN, Faults
from lab.faults import DEVEL_VERSION as DEVEL_VERSION_FAULT
from lab.model import DEVEL_VERSION, VERSION, Store, User
from lab.provisioner import Provisioner

WILDCARD = "*.apps.localhost"


@dataclass
class GitHubLink:
    """The owner's link to the lab's GitHub through Coder's external auth provider `github`."""

    token: str
    login: str
    name: str
    user_id: int
    web_url: str  # the GitHub host's web base (the provider's URLs and regex name it)
    linked_at: datetime


@dataclass
class Deployment:
    """What coderd's handlers share; URLs are filled in once the servers listen."""

    store: Store
    faults: Faults
    render: Renderer
    provisioner: Provisioner
    access_url: str = ""
    oidc_issuer: str = ""
    github: GitHubLink | None = None  # no link (and no provider) when None
    control_plane: ControlPlane | None = None  # coderd's own pod, whose log coderd writes
    signed_app_tokens: dict[str, tuple[float, str]] = field(default_factory=dict)  # token -> (expiry, app)
    # application_connect API keys that auth-redirect minted for app hosts, and their encrypted forms in
    # flight (the one-minute query parameter that carries one to the app host: value -> (expiry, key)).
    app_connect_keys: set[str] = field(default_factory=set)
    smuggled_keys: dict[str, tuple[float, str]] = field(default_factory=dict)

    def version(self) -> str:
        """What buildinfo and every answer's X-Coder-Build-Version say: a release, or a devel build."""
        return DEVEL_VERSION if self.faults.on(DEVEL_VERSION_FAULT) else VERSION

    def app_hostname(self) -> str:
        """CODER_WILDCARD_ACCESS_URL, '' when subdomain apps are not configured (the default). Under
        app-on-subdomain `*.apps.localhost:<coderd's port>`: browsers resolve `*.localhost` to loopback
        (RFC 6761), and the port is given as `--wildcard-access-url` allows, since an app URL built from a
        wildcard without one loses the access URL's port (workspaceapps/request.go `AppBaseURL`)."""
        if not self.faults.on(APP_ON_SUBDOMAIN):
            return ""
        return f"{WILDCARD}:{URL(self.access_url).port}"


DEPLOYMENT = web.AppKey("deployment", Deployment)
USER = web.RequestKey("user", User)


def deployment(request: web.Request) -> Deployment:
    return request.app[DEPLOYMENT]
