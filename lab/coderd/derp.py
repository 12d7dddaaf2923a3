"""coderd's DERP relay endpoint, `/derp`: its handshake, which needs no workspace.

Coder clients relay through `{access_url}/derp` when direct (UDP) connections fail; through an ingress
that is a WebSocket with subprotocol `derp` (tailnet.WithWebsocketSupport), so a 101 here shows that the
ingress passes WebSocket upgrades. On the WebSocket the lab does what a DERP server does first, sending
its server-key frame (one binary message: type 0x01, length 40, "DERP🔑", 32-byte public key), then it
reads and discards the client's messages until the client closes (or 30 s pass). It relays nothing.

Without an Upgrade header (or behind an ingress that strips it) `/derp` answers as derphttp.Handler does
(tailscale's derp/derphttp/derphttp_server.go, in Coder's fork):
426 "DERP requires connection upgrade". `/derp/latency-check` answers 200 with an empty body.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import struct

from aiohttp import web

routes = web.RouteTableDef()
FRAME_SERVER_KEY = 0x01
MAGIC = "DERP🔑".encode()
SERVER_KEY = secrets.token_bytes(32)  # a public key: nothing secret about it
IDLE_SECONDS = 30.0


def server_key_frame() -> bytes:
    payload = MAGIC + SERVER_KEY
    return struct.pack(">BI", FRAME_SERVER_KEY, len(payload)) + payload


@routes.get("/derp/latency-check")
async def latency_check(_: web.Request) -> web.Response:
    return web.Response(status=200)


@routes.get("/derp")
async def derp(request: web.Request) -> web.StreamResponse:
    upgrade = request.headers.get("Upgrade", "").lower()
    if upgrade not in ("websocket", "derp"):
        # Go's http.Error: text/plain, nosniff, a trailing newline.
        return web.Response(
            status=426,
            text="DERP requires connection upgrade\n",
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )
    if upgrade != "websocket" or "derp" not in request.headers.get("Sec-WebSocket-Protocol", ""):
        # coderd hijacks these for DERP's own framing (`Upgrade: DERP`), which the lab does not speak.
        return web.Response(status=501, text="lab: /derp serves DERP only over a WebSocket with subprotocol derp\n")
    socket = web.WebSocketResponse(protocols=("derp",), compress=False)
    await socket.prepare(request)
    if socket.ws_protocol != "derp":
        await socket.close(code=1008, message=b"client must speak the derp subprotocol")
        return socket
    await socket.send_bytes(server_key_frame())
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(IDLE_SECONDS):
            async for _ in socket:
                pass
    await socket.close()
    return socket
