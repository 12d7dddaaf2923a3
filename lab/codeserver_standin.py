"""The IDE server of a workspace, answering like code-server (github.com/coder/code-server): `GET /healthz`
and the workbench page at `GET /`.

Its health follows code-server's heart (src/node/heart.ts, src/node/routes/health.ts): `/healthz`
answers `{"status": "alive" | "expired", "lastHeartbeat": <ms>}`, where alive means a client request
came in during the last 60 s. `/healthz` itself does not beat (src/node/routes/index.ts), so a fresh
server that nobody opened says `expired` with `lastHeartbeat` 0, as Coder's health check leaves it.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from lab.faults import IDE_WEDGED, Faults

HEARTBEAT_INTERVAL_MS = 60_000
routes = web.RouteTableDef()
PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>code-server</title></head>
<body data-folder="{folder}"><div id="workbench">code-server (lab) — {folder}</div></body>
</html>
"""


class Heart:
    """code-server's Heart: the time of the last beat, and whether it is recent enough to be alive."""

    def __init__(self) -> None:
        self.last_heartbeat_ms = 0

    def alive(self) -> bool:
        return int(time.time() * 1000) - self.last_heartbeat_ms <= HEARTBEAT_INTERVAL_MS

    def beat(self) -> None:
        self.last_heartbeat_ms = int(time.time() * 1000)


HEART = web.AppKey("heart", Heart)
FAULTS = web.AppKey("faults", Faults)
FOLDER = web.AppKey("folder", str)  # the folder the workbench opens (code-server's ?folder=)


@web.middleware
async def _wedged(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.app[FAULTS].on(IDE_WEDGED):
        return web.Response(status=503, text="Service Unavailable\n")
    return await handler(request)


@web.middleware
async def _beat(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path != "/healthz":
        request.app[HEART].beat()
    return await handler(request)


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    heart = request.app[HEART]
    body = {"status": "alive" if heart.alive() else "expired", "lastHeartbeat": heart.last_heartbeat_ms}
    return web.json_response(body, dumps=lambda value: json.dumps(value, separators=(",", ":")))


@routes.get("/")
async def workbench(request: web.Request) -> web.Response:
    return web.Response(text=PAGE.format(folder=html.escape(request.app[FOLDER])), content_type="text/html")


def codeserver_app(folder: str, faults: Faults) -> web.Application:
    app = web.Application(middlewares=[_wedged, _beat])
    app[HEART] = Heart()
    app[FAULTS] = faults
    app[FOLDER] = folder
    app.router.add_routes(routes)
    return app
