"""The IDE server of a workspace: answers like code-server (`/healthz`, the workbench page)."""

from __future__ import annotations

import html
import json
import time

from aiohttp import web

from lab.faults import Faults

PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>code-server</title></head>
<body data-folder="{folder}"><div id="workbench">code-server (lab) — {folder}</div></body>
</html>
"""


def ide_app(faults: Faults, folder: str) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        # code-server keeps answering 200 with "expired" once its heartbeat is stale.
        status = "expired" if faults.on("ide-health-down") else "alive"
        body = {"status": status, "lastHeartbeat": int(time.time() * 1000)}
        return web.json_response(body, dumps=lambda value: json.dumps(value, separators=(",", ":")))

    async def workbench(_: web.Request) -> web.Response:
        return web.Response(text=PAGE.format(folder=html.escape(folder)), content_type="text/html")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/", workbench)
    return app
