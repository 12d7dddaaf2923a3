"""The lab's coderd: Coder's REST API v2, the app proxy (path and subdomain apps), the site's pages,
DERP's handshake and the lab-only routes, behind the lab's stand-in for the ingress.

One module per part of coderd, each with a route table (`routes`) whose handlers find the deployment
through the application (`deployment(request)`); lab/README.md lists which module serves which paths.
"""

from __future__ import annotations

from aiohttp import web

from lab.coderd import (
    agents,
    applications,
    appproxy,
    buildinfo,
    builds,
    deployment_config,
    derp,
    external_auth,
    files,
    lab_routes,
    organizations,
    site,
    templates,
    users,
    workspaces,
)
from lab.coderd.deployment import DEPLOYMENT, Deployment
from lab.coderd.http import add_build_version, api_middleware
from lab.coderd.httplog import request_log_middleware
from lab.coderd.ingress import FLAKY, Flaky, ingress_middleware
from lab.coderd.record import recording_middleware


def coderd_app(deployment: Deployment) -> web.Application:
    # Outermost first: the ingress, then coderd's request logger, then subdomain apps (any path on an app
    # host is the app's), the recording of its answers (LAB_RECORD, off by default), then its API conventions.
    middlewares = [
        ingress_middleware,
        request_log_middleware,
        appproxy.subdomain_middleware,
        *recording_middleware(),
        api_middleware,
    ]
    app = web.Application(middlewares=middlewares)
    app[DEPLOYMENT] = deployment
    app[FLAKY] = Flaky()
    app.on_response_prepare.append(add_build_version)
    app.cleanup_ctx.append(appproxy.http_client)
    for module in (
        buildinfo,
        users,
        deployment_config,
        organizations,
        files,
        templates,
        workspaces,
        builds,
        agents,
        external_auth,
        applications,
        derp,
        lab_routes,
        appproxy,
        site,
    ):
        app.router.add_routes(module.routes)
    return app
