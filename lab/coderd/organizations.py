"""coderd's organization routes: `GET /api/v2/organizations` and `GET /api/v2/organizations/{organization}`
(`default`, its id or its name; coderd/organizations.go), and a user's organizations, `GET
/api/v2/users/{user}/organizations[/{organizationname}]` (coderd/users.go organizationsByUser,
organizationByUserAndName: by name only), where the CLI looks up the organization it works in."""

from __future__ import annotations

from aiohttp import web

from lab.coderd.deployment import deployment
from lab.coderd.http import NOT_FOUND, ApiError, org_param, respond, user_param

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


@routes.get("/api/v2/users/{user}/organizations")
async def organizations_of_user(request: web.Request) -> web.Response:
    user_param(request)
    dep = deployment(request)
    return respond([dep.render.organization(dep.store.organization)])


@routes.get("/api/v2/users/{user}/organizations/{organizationname}")
async def organization_of_user(request: web.Request) -> web.Response:
    user_param(request)
    dep = deployment(request)
    if request.match_info["organizationname"] != dep.store.organization.name:
        raise ApiError(404, NOT_FOUND)
    return respond(dep.render.organization(dep.store.organization))
