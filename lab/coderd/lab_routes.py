"""Lab-only routes (no Coder counterpart), authenticated with the session token."""

from __future__ import annotations

from aiohttp import web

from lab.coderd.deployment import deployment
from lab.coderd.http import ApiError, read_json, respond
from lab.faults import REGISTRY, UnknownFault

routes = web.RouteTableDef()


@routes.get("/lab/faults")
async def get_faults(request: web.Request) -> web.Response:
    return respond({"faults": deployment(request).faults.active})


@routes.put("/lab/faults")
async def put_faults(request: web.Request) -> web.Response:
    """Replace the active faults; they apply to the next operations."""
    names = (await read_json(request)).get("faults")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ApiError(400, 'Body must be {"faults": [<name>, ...]}.', f"known faults: {', '.join(REGISTRY)}")
    faults = deployment(request).faults
    try:
        faults.replace(names)
    except UnknownFault as error:
        raise ApiError(400, "Unknown fault.", str(error)) from error
    return respond({"faults": faults.active})
