"""What coderd's handlers share, and how a handler finds it."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from lab.faults import Faults
from lab.model import Store, User
from lab.provisioner import Provisioner
from lab.render import Renderer


@dataclass
class Deployment:
    """What coderd's handlers share; URLs are filled in once the servers listen."""

    store: Store
    faults: Faults
    render: Renderer
    provisioner: Provisioner
    access_url: str = ""
    oidc_issuer: str = ""
    signed_app_tokens: dict[str, tuple[float, str]] = field(default_factory=dict)


DEPLOYMENT = web.AppKey("deployment", Deployment)
USER = web.RequestKey("user", User)


def deployment(request: web.Request) -> Deployment:
    return request.app[DEPLOYMENT]
