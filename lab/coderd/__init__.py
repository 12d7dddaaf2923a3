"""The lab's coderd: Coder's REST API v2, the path-app proxy and the lab-only routes."""

from __future__ import annotations

from aiohttp import web

from lab import appproxy
from lab.coderd import agents, builds, external_auth, lab_routes, meta, templates, workspaces
from lab.coderd.deployment import DEPLOYMENT, Deployment
from lab.coderd.http import add_build_version, api_middleware


def coderd_app(deployment: Deployment) -> web.Application:
    app = web.Application(middlewares=[api_middleware])
    app[DEPLOYMENT] = deployment
    app.on_response_prepare.append(add_build_version)
    for module in (meta, templates, workspaces, builds, agents, external_auth, lab_routes):
        app.router.add_routes(module.routes)
    appproxy.add_routes(app)
    return app
