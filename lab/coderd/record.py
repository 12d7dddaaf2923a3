"""A recording of coderd's JSON answers, for the contract tests (tests/lab/test_contracts_coder.py).

With `LAB_RECORD=<file>` in the lab's environment, every JSON answer under `/api/v2` (errors too) is
appended to that file as one JSON line: `{"method", "route", "path", "status", "body"}`, `route` being the
route's pattern (`/api/v2/workspaces/{workspace}`), so a test can hold each body to the codersdk type that
route answers with. Streams (the `/watch` events, followed logs) are not recorded. Off by default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from aiohttp import web

from lab.coderd.http import Handler

RECORD_ENV = "LAB_RECORD"


def recording_middleware() -> list[web.Middleware]:
    """The middleware that records, when LAB_RECORD names a file; none otherwise."""
    target = os.environ.get(RECORD_ENV)
    if not target:
        return []
    path = Path(target)

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if (
            request.path.startswith("/api/v2")
            and isinstance(response, web.Response)
            and response.content_type == "application/json"
            and isinstance(response.body, bytes)
        ):
            resource = request.match_info.route.resource
            entry = {
                "method": request.method,
                "route": resource.canonical if resource is not None else request.path,
                "path": request.path,
                "status": response.status,
                "body": json.loads(response.body) if response.body else None,
            }
            with path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")
        return response

    return [record]
