"""coderd's request logger (coderd/httpmw/loggermw): every answer of 500 or more is a `[warn]` line
in the coder pod's log, with the response body; lower statuses are debug lines, which coderd's default
verbosity leaves out. Only the path is logged, never the query (it may carry a session token)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from aiohttp import web

from lab.coderd.deployment import USER, deployment
from lab.slog import Field

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _remote_addr(request: web.Request) -> str:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else request.remote or ""


@web.middleware
async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started, clock = datetime.now(UTC), time.monotonic()
    status: int = 0
    body: str | None = None
    try:
        response = await handler(request)
        status = response.status
        if status >= 500 and isinstance(response, web.Response) and response.body is not None:
            body = response.text
        return response
    except web.HTTPException as error:
        status, body = error.status, error.text
        raise
    except Exception:
        status = 500
        raise
    finally:
        control_plane = deployment(request).control_plane
        if status >= 500 and control_plane is not None:
            took = timedelta(seconds=time.monotonic() - clock)
            fields: list[Field] = [
                ("host", request.host),
                ("path", request.path),
                ("proto", f"HTTP/{request.version.major}.{request.version.minor}"),
                ("remote_addr", _remote_addr(request)),
                ("start", started),
            ]
            if body is not None:
                fields.append(("response_body", body))
            user = request.get(USER)
            if user is not None:
                fields += [
                    ("requestor_id", user.id),
                    ("requestor_name", user.username),
                    ("requestor_email", user.email),
                ]
            fields += [
                ("took", took),
                ("status_code", status),
                ("latency_ms", float(took // timedelta(milliseconds=1))),
            ]
            control_plane.log("warn", "coderd", request.method, fields)
