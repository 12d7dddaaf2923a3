"""coderd's workspace agent routes: `GET /api/v2/workspaceagents/{workspaceagent}` and its `/logs`
(coderd/workspaceagents.go). The lab-only SSH websocket under the same prefix is in lab_routes.py."""

from __future__ import annotations

from aiohttp import web

from lab.coderd.deployment import deployment
from lab.coderd.http import respond, workspaceagent_param
from lab.codersdk import iso

routes = web.RouteTableDef()


@routes.get("/api/v2/workspaceagents/{workspaceagent}")
async def get(request: web.Request) -> web.Response:
    return respond(deployment(request).render.agent(workspaceagent_param(request)))


@routes.get("/api/v2/workspaceagents/{workspaceagent}/logs")
async def logs(request: web.Request) -> web.Response:
    agent = workspaceagent_param(request)
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
