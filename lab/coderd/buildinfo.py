"""coderd's API root and build info: `GET /api/v2/` (coderd/apiroot.go) and `GET /api/v2/buildinfo`
(coderd/deployment.go, codersdk.BuildInfoResponse); `devel-version` makes it a development
build's version."""

from __future__ import annotations

from aiohttp import web

from lab.coderd.deployment import deployment
from lab.coderd.http import respond

routes = web.RouteTableDef()


@routes.get("/api/v2/")
async def root(_: web.Request) -> web.Response:
    return respond({"message": "👋"})


@routes.get("/api/v2/buildinfo")
async def buildinfo(request: web.Request) -> web.Response:
    dep = deployment(request)
    return respond(
        {
            "external_url": "https://github.com/coder/coder/commit/lab",
            "version": dep.version(),
            "dashboard_url": dep.access_url,
            "telemetry": False,
            "workspace_proxy": False,
            "agent_api_version": "2.6",
            "provisioner_api_version": "1.6",
            "upgrade_message": "",
            "deployment_id": dep.store.deployment_id,
            # webpush_public_key is omitempty: web push is an experiment the lab does not enable.
        }
    )
