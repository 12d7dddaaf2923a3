"""Lab-only routes (no Coder counterpart), authenticated with the session token."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from lab.coderd.deployment import deployment
from lab.coderd.http import ApiError, read_json, respond, workspace_param
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


@routes.patch("/lab/workspaces/{workspace}")
async def patch_workspace(request: web.Request) -> web.Response:
    """Age a workspace: `{"created_at": "<RFC 3339>"}` sets when it was created (for sweeper tests)."""
    workspace = workspace_param(request)
    raw = (await read_json(request)).get("created_at")
    try:
        created = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        created = None
    if created is None or created.tzinfo is None:
        raise ApiError(400, 'Body must be {"created_at": "<RFC 3339 time with offset>"}.', f"got {raw!r}")
    workspace.created_at = created.astimezone(UTC)
    workspace.changed()
    dep = deployment(request)
    return respond(dep.render.workspace(workspace))
