"""The lab's coderd: Coder's REST API v2, the path-app proxy, DERP's handshake and the lab-only routes,
behind the lab's stand-in for the ingress."""

from __future__ import annotations

from aiohttp import web

from lab import appproxy
from lab.coderd import agents, builds, derp, external_auth, files, lab_routes, meta, templates, workspaces
from lab.coderd.deployment import DEPLOYMENT, Deployment
from lab.coderd.http import add_build_version, api_middleware
from lab.coderd.httplog import request_log_middleware
from lab.coderd.ingress import FLAKY, Flaky, ingress_middleware


def coderd_app(deployment: Deployment) -> web.Application:
    # Outermost first: the ingress, then coderd's request logger, then its API conventions.
    app = web.Application(middlewares=[ingress_middleware, request_log_middleware, api_middleware])
    app[DEPLOYMENT] = deployment
    app[FLAKY] = Flaky()
    app.on_response_prepare.append(add_build_version)
    for module in (meta, files, templates, workspaces, builds, agents, external_auth, derp, lab_routes):
        app.router.add_routes(module.routes)
    appproxy.add_routes(app)
    return app
