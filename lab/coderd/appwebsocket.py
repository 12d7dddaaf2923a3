"""A WebSocket upgrade passed through coderd's app proxy to the app.

coderd hands the upgrade to Go's httputil.ReverseProxy, which sends it on with its Upgrade headers and,
once the app answers 101, copies raw bytes both ways (net/http/httputil reverseproxy.go
`handleUpgradeResponse`). The lab does the same one message at a time: it opens the app's WebSocket
first (an app that refuses the upgrade has its status passed back, as ReverseProxy passes a non-101
answer), then accepts the browser's with the subprotocol the app chose and pumps text, binary and close
frames both ways, uncompressed, until either side closes. `cut_after` (the `app-websocket-cut` fault) drops the
browser's connection that many seconds after it opened, as a proxy's timeout does: no close frame, so
the browser sees 1006.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from multidict import CIMultiDict, MultiMapping
from yarl import URL

# The handshake's own headers: each hop negotiates its key, version, extensions and subprotocol.
HANDSHAKE = {"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol"}


def wants_websocket(request: web.Request) -> bool:
    connection = request.headers.get("Connection", "").lower()
    return "upgrade" in connection and request.headers.get("Upgrade", "").lower() == "websocket"


async def pass_through(
    request: web.Request,
    url: URL,
    headers: CIMultiDict[str],
    http: aiohttp.ClientSession,
    prepare: Callable[[web.StreamResponse], None],
    cut_after: float | None = None,
) -> web.StreamResponse:
    """Connect the browser's WebSocket to the app's; `prepare` adds coderd's own headers to the 101.
    A failed connection raises aiohttp.ClientConnectorError for the caller's 502."""
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    forwarded = CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in HANDSHAKE)
    try:
        upstream = await http.ws_connect(
            url, headers=forwarded, protocols=offered, autoclose=False, max_msg_size=0, heartbeat=None, compress=0
        )
    except aiohttp.WSServerHandshakeError as refused:
        answer = web.Response(status=refused.status, headers=_refusal_headers(refused.headers))
        prepare(answer)
        return answer
    # Uncompressed on both hops: frames pass as the app sent them (ReverseProxy copies bytes, so any
    # compression is the browser's and the app's business, which a relay of messages cannot keep).
    protocols = (upstream.protocol,) if upstream.protocol else ()
    browser = web.WebSocketResponse(protocols=protocols, autoclose=False, max_msg_size=0, compress=False)
    prepare(browser)
    async with upstream:
        await browser.prepare(request)
        await _pump(request, browser, upstream, cut_after)
    return browser


def _refusal_headers(headers: MultiMapping[str] | None) -> CIMultiDict[str]:
    """The app's headers of a non-101 answer, without those of its (unread) body and connection."""
    kept: CIMultiDict[str] = CIMultiDict()
    for key, value in (headers or {}).items():
        if key.lower() not in ("content-length", "transfer-encoding", "connection", "upgrade"):
            kept.add(key, value)
    return kept


async def _pump(
    request: web.Request,
    browser: web.WebSocketResponse,
    upstream: aiohttp.ClientWebSocketResponse,
    cut_after: float | None,
) -> None:
    tasks = [
        asyncio.create_task(_copy(browser, upstream)),
        asyncio.create_task(_copy(upstream, browser)),
    ]
    if cut_after is not None:
        tasks.append(asyncio.create_task(_cut(request, cut_after)))
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for side in (upstream, browser):
            with contextlib.suppress(Exception):
                await side.close()


async def _copy(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    """Every message from `source` to `sink`, until `source` closes; its close code goes on to `sink`."""
    while True:
        message = await source.receive()
        if message.type == WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type == WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        elif message.type == WSMsgType.CLOSE:
            code, reason = _sendable(message.data), (message.extra or "").encode()
            await source.close(code=code, message=reason)
            await sink.close(code=code, message=reason)
            return
        elif message.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return
        # PING and PONG are answered on each hop (autoping), as a proxy that terminates the socket does.


def _sendable(code: int | None) -> int:
    """A close code that may go on the wire: 'no status' (0, 1005) and 'abnormal' (1006) never do."""
    return WSCloseCode.OK if not code or code in (1005, 1006) else code


async def _cut(request: web.Request, after: float) -> None:
    await asyncio.sleep(after)
    if request.transport is not None:
        request.transport.abort()
