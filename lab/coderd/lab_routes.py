"""Lab-only routes (no Coder counterpart), authenticated with the session token: `GET|PUT /lab/faults`,
`PATCH /lab/workspaces/{workspace}`, and `GET /api/v2/workspaceagents/{workspaceagent}/lab/ssh`, the
websocket that stands in for Coder's tailnet SSH (what the lab's `coder ssh --stdio` talks to)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from aiohttp import WSMsgType, web

from lab.coderd.deployment import deployment
from lab.coderd.http import (
    ApiError,
    read_json,
    respond,
    websocket_upgrade_required,
    workspace_param,
    workspaceagent_param,
)
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


@routes.get("/api/v2/workspaceagents/{workspaceagent}/lab/ssh")
async def ssh(request: web.Request) -> web.StreamResponse:
    """LAB ONLY: binary websocket messages carry the raw byte stream of the agent's SSH server."""
    agent = workspaceagent_param(request)
    if agent.status != "connected" or agent.ssh_port is None:
        raise ApiError(400, f'Agent state is "{agent.status}", it must be in the "connected" state.')
    socket = web.WebSocketResponse(max_msg_size=0)
    if not socket.can_prepare(request).ok:  # no upgrade (or an ingress stripped it)
        return websocket_upgrade_required(request)
    reader, writer = await asyncio.open_connection("127.0.0.1", agent.ssh_port)
    await socket.prepare(request)

    async def to_agent() -> None:
        with contextlib.suppress(ConnectionError):
            async for message in socket:
                if message.type != WSMsgType.BINARY:
                    break
                writer.write(message.data)
                await writer.drain()

    async def to_client() -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                await socket.send_bytes(data)

    tasks = {asyncio.create_task(to_agent()), asyncio.create_task(to_client())}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await socket.close()
    return socket
