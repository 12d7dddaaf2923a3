"""coderd's agent routes, and the lab-only websocket that stands in for Coder's tailnet SSH."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import WSMsgType, web

from lab.coderd.deployment import deployment
from lab.coderd.http import NOT_FOUND, ApiError, respond, uuid_param, websocket_upgrade_required
from lab.model import Agent
from lab.render import iso

routes = web.RouteTableDef()


def _agent(request: web.Request) -> Agent:
    agent = deployment(request).store.agents.get(uuid_param(request, "workspaceagent"))
    if agent is None:
        raise ApiError(404, NOT_FOUND)
    return agent


@routes.get("/api/v2/workspaceagents/{workspaceagent}")
async def get(request: web.Request) -> web.Response:
    return respond(deployment(request).render.agent(_agent(request)))


@routes.get("/api/v2/workspaceagents/{workspaceagent}/logs")
async def logs(request: web.Request) -> web.Response:
    agent = _agent(request)
    return respond(
        [
            {
                "id": line.id,
                "created_at": iso(line.created_at),
                "output": line.output,
                "level": line.level,
                "source_id": agent.log_source_id,
            }
            for line in agent.logs
        ]
    )


@routes.get("/api/v2/workspaceagents/{workspaceagent}/lab/ssh")
async def ssh(request: web.Request) -> web.StreamResponse:
    """LAB ONLY: binary websocket messages carry the raw byte stream of the agent's SSH server."""
    agent = _agent(request)
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
