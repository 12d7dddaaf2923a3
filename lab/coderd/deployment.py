"""What coderd's handlers share, and how a handler finds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from lab.controlplane import ControlPlane
from lab.faults import DEVEL_VERSION as DEVEL_VERSION_FAULT
from lab.faults import Faults
from lab.model import DEVEL_VERSION, VERSION, Store, User
from lab.provisioner import Provisioner
from lab.render import Renderer


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
    signed_app_tokens: dict[str, tuple[float, str]] = field(default_factory=dict)

    def version(self) -> str:
        """What buildinfo and every answer's X-Coder-Build-Version say: a release, or a devel build."""
        return DEVEL_VERSION if self.faults.on(DEVEL_VERSION_FAULT) else VERSION


DEPLOYMENT = web.AppKey("deployment", Deployment)
USER = web.RequestKey("user", User)


def deployment(request: web.Request) -> Deployment:
    return request.app[DEPLOYMENT]
