"""coderd's organization routes: `GET /api/v2/organizations` and `GET /api/v2/organizations/{organization}`
(`default`, its id or its name; coderd/organizations.go)."""

from __future__ import annotations

from aiohttp import web

from lab.coderd.deployment import deployment
from lab.coderd.http import org_param, respond

routes = web.RouteTableDef()


@routes.get("/api/v2/organizations")
async def organizations(request: web.Request) -> web.Response:
    dep = deployment(request)
    return respond([dep.render.organization(dep.store.organization)])


@routes.get("/api/v2/organizations/{organization}")
async def organization(request: web.Request) -> web.Response:
    org_param(request)
    dep = deployment(request)
    return respond(dep.render.organization(dep.store.organization))
