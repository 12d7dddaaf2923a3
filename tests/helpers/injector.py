"""A fault injector between the suite and the lab's coderd: an HTTP reverse proxy on loopback.

The suite is pointed at it with `CODER_URL=<injector.url>`; it forwards every request to the lab (JSON, the
`/watch` Server-Sent Events streams, path apps, and WebSocket upgrades such as `/derp` and the `coder ssh`
stand-in's `/api/v2/workspaceagents/{id}/lab/ssh`), and, on the requests a `Rule` matches, does what a real
platform (an ingress, a proxy, a coderd under load) sometimes does instead: the faults the lab's own named
faults do not cover.

    lost_after_create  the request reaches coderd (the workspace IS created), the suite gets an ingress's 502
                       or 504 page, or the answer only after its request timeout (`slow`)
    not_json           a 200 whose body is cut short (`truncated`) or an HTML error page (`html`)
    html_sse_error     a /watch stream whose `event: error` carries an HTML page
    null_fields        Coder's JSON with `latest_build` null (`null`) or a field of another type (`wrong_type`)
    token_echo         a 500 whose `detail` carries the session token the request came with
    rate_limited       a 429 with `Retry-After: <delay>` (use `times` to say how often)
    hold               the request is held `delay` seconds, then forwarded even if the suite gave up on it
                       (a create in flight during a signal)

Faults of a platform that stays broken (use `times=None` and `nth` for "from the nth request on"):

    sso                an SSO page in front of the API: a 200 HTML login page (`html`) or a 302 to it (`302`)
    token_expired      401 with coderd's own message for an expired session
    reset              the connection is reset before any answer
    hang               the request is never answered (held `delay` seconds, then the connection is dropped)
    error_status       a 4xx error body in Coder's shape (`variant` the status, 400 by default), not forwarded
    buffered_sse       a /watch stream held back by a buffering proxy: no event until `delay` seconds have
                       passed, then all of them at once
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.helpers.serving import relay

FAULTS = frozenset(
    {"lost_after_create", "not_json", "html_sse_error", "null_fields", "token_echo", "rate_limited", "hold"}
    | {"sso", "token_expired", "reset", "hang", "error_status", "buffered_sse"}
)
SSO_PAGE = "<html><head><title>Sign in</title></head><body><form action='/sso/login'></form></body></html>"
# coderd/httpmw/apikey.go: what Coder answers to a session whose API key has expired.
SIGNED_OUT = "You are signed out or your session has expired. Please sign in again to continue."
# Headers that belong to one connection, not to the message (RFC 9110 §7.6.1), and those aiohttp sets.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"}
)
INGRESS_PAGE = """<html>
<head><title>{status} {reason}</title></head>
<body>
<center><h1>{status} {reason}</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""
REASONS = {502: "Bad Gateway", 504: "Gateway Time-out", 500: "Internal Server Error"}


@dataclass
class Rule:
    """Which requests get which fault: `method` (`*`: any) and a `path` regex (matched in full), from the
    `nth` matching request on, `times` times (None: always)."""

    fault: str
    method: str = "GET"
    path: str = ".*"
    nth: int = 1
    times: int | None = 1
    variant: str = ""
    delay: float = 2.0

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}: one of {sorted(FAULTS)}")


@dataclass(frozen=True)
class Hit:
    """One request that got the fault."""

    at: float  # time.monotonic()
    method: str
    path: str
    fault: str


@dataclass
class Injector:
    upstream: str
    rule: Rule | None = None
    hits: list[Hit] = field(default_factory=list)
    # Set when a `hold` rule starts holding a request (the test may then signal the suite), and once the held
    # request has reached the lab and been answered (the test may then look at what it made).
    holding: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)
    upgrades: list[str] = field(default_factory=list)  # paths of the WebSockets passed through
    port: int = 0

    def __post_init__(self) -> None:
        self.upstream = self.upstream.rstrip("/")
        self._matches = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="injector", daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._held_tasks: set[asyncio.Future[Any]] = set()  # held requests on their way, whoever still waits

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- control (from the test's thread) -------------------------------------------------------
    def start(self) -> Injector:
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def inject(self, rule: Rule | None) -> None:
        """Set the rule (None: pass everything), counting matches afresh."""
        with self._lock:
            self.rule, self._matches = rule, 0
            self.hits.clear()
            self.holding.clear()
            self.held.clear()

    def _claim(self, method: str, path: str) -> Rule | None:
        """The rule, when this request is one it faults."""
        with self._lock:
            rule = self.rule
            if rule is None or rule.method not in ("*", method) or not re.fullmatch(rule.path, path):
                return None
            self._matches += 1
            if self._matches < rule.nth or (rule.times is not None and len(self.hits) >= rule.times):
                return None
            self.hits.append(Hit(time.monotonic(), method, path, rule.fault))
            return rule

    # -- server ---------------------------------------------------------------------------------
    async def _serve(self) -> int:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
        self._session = aiohttp.ClientSession(
            timeout=timeout, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
        )
        app = web.Application(client_max_size=0)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        body = await request.read()
        rule = self._claim(request.method, request.path)
        if rule is None:
            return await self._forward(request, body)
        return await getattr(self, f"_{rule.fault}")(request, body, rule)

    def _headers(self, request: web.Request) -> dict[str, str]:
        return {name: value for name, value in request.headers.items() if name.lower() not in HOP_BY_HOP}

    def _upstream(self, request: web.Request, body: bytes) -> Any:
        """The same request, sent on to the lab."""
        assert self._session is not None
        return self._session.request(
            request.method,
            self.upstream + request.path_qs,
            headers=self._headers(request),
            data=body or None,
            allow_redirects=False,
        )

    async def _forward(self, request: web.Request, body: bytes) -> web.StreamResponse:
        """Pass the request to the lab and its answer back as it comes (so event streams flow)."""
        async with self._upstream(request, body) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in upstream.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    response.headers.add(name, value)
            await response.prepare(request)
            with contextlib.suppress(ConnectionResetError):
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
            return response

    async def _answer(self, request: web.Request, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """The lab's whole answer, read here (the request has reached coderd, whatever the suite is told)."""
        async with self._upstream(request, body) as upstream:
            headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP | {"content-length"}}
            return upstream.status, headers, await upstream.read()

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        """Open the same WebSocket to the lab, then pass every message both ways until either side closes."""
        assert self._session is not None
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        self.upgrades.append(request.path)
        passed = {
            k: v for k, v in request.headers.items() if k.lower() in ("coder-session-token", "cookie", "authorization")
        }
        try:
            upstream = await self._session.ws_connect(
                self.upstream + request.path_qs, protocols=offered, headers=passed, max_msg_size=0
            )
        except aiohttp.WSServerHandshakeError as error:
            return web.Response(status=error.status, text=error.message)
        socket = web.WebSocketResponse(protocols=[upstream.protocol] if upstream.protocol else (), max_msg_size=0)
        await socket.prepare(request)

        try:
            await relay(socket, upstream)
        finally:
            with contextlib.suppress(Exception):
                await upstream.close()
            with contextlib.suppress(Exception):
                await socket.close()
        return socket

    # -- faults ---------------------------------------------------------------------------------
    async def _lost_after_create(self, request: web.Request, body: bytes, rule: Rule) -> web.StreamResponse:
        status, headers, answer = await self._answer(request, body)  # coderd acted on it
        if rule.variant == "slow":  # past the client's request timeout
            await asyncio.sleep(rule.delay)
            return web.Response(status=status, headers=headers, body=answer)
        code = int(rule.variant or 502)
        page = INGRESS_PAGE.format(status=code, reason=REASONS[code])
        return web.Response(status=code, text=page, content_type="text/html")

    async def _not_json(self, request: web.Request, body: bytes, rule: Rule) -> web.StreamResponse:
        _, _, answer = await self._answer(request, body)
        if rule.variant == "html":
            page = INGRESS_PAGE.format(status=500, reason=REASONS[500])
            return web.Response(status=200, text=page, content_type="text/html")
        return web.Response(status=200, body=answer[: len(answer) // 2], content_type="application/json")

    async def _html_sse_error(self, request: web.Request, body: bytes, rule: Rule) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        page = INGRESS_PAGE.format(status=502, reason=REASONS[502])
        event = "event: error\n" + "".join(f"data: {line}\n" for line in page.splitlines()) + "\n"
        with contextlib.suppress(ConnectionResetError):
            await response.write(event.encode())
            await response.write_eof()
        return response

    async def _null_fields(self, request: web.Request, body: bytes, rule: Rule) -> web.StreamResponse:
        status, headers, answer = await self._answer(request, body)
        data = json.loads(answer)
        if rule.variant == "wrong_type":
            data["latest_build"]["resources"] = "none"  # a list in Coder's API
        else:
            data["latest_build"] = None
        headers.pop("Content-Type", None)
        return web.json_response(data, status=status, headers=headers)

    async def _token_echo(self, request: web.Request, body: bytes, rule: Rule) -> web.StreamResponse:
        token = request.headers.get("Coder-Session-Token", "")
        detail = f'pq: query workspace: invalid api key "{token}" for Coder-Session-Token: {token}'
        return web.json_response({"message": "Internal error fetching workspace.", "detail": detail}, status=500)

    async def _rate_limited(self, request: web.Request, body: bytes, rule: Rule) -> web.StreamResponse:
        message = "You've been rate limited for sending more than 600 requests in 1m0s."
        return web.json_response({"message": message}, status=429, headers={"Retry-After": f"{rule.delay:.0f}"})

    async def _hold(self, request: web.Request, body: bytes, rule: Rule) -> web.StreamResponse:
        self.holding.set()
        # Sent is sent: the request reaches coderd after the hold even when the suite stops waiting for it
        # (a signal, the process ending), as it would through a slow ingress; `held` tells the test when.
        task = asyncio.ensure_future(self._after_hold(request, body, rule.delay))
        self._held_tasks.add(task)
        task.add_done_callback(self._held_tasks.discard)
        status, headers, content = await asyncio.shield(task)
        return web.Response(status=status, headers=headers, body=content)

    async def _after_hold(self, request: web.Request, body: bytes, delay: float) -> tuple[int, dict[str, str], bytes]:
        try:
            await asyncio.sleep(delay)
            return await self._answer(request, body)
        finally:
            self.held.set()

    async def _sso(self, request: web.Request, body: bytes, rule: Rule) -> web.StreamResponse:
        if rule.variant == "302":
            return web.Response(status=302, headers={"Location": "/sso/login?next=" + request.path})
        return web.Response(status=200, text=SSO_PAGE, content_type="text/html")

    async def _token_expired(self, request: web.Request, body: bytes, rule: Rule) -> web.StreamResponse:
        answer = {"message": SIGNED_OUT, "detail": "API key expired."}
        return web.json_response(answer, status=401)

    async def _reset(self, request: web.Request, body: bytes, rule: Rule) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.abort()  # a TCP reset, no answer at all
        raise ConnectionResetError("reset by the injector")

    async def _hang(self, request: web.Request, body: bytes, rule: Rule) -> web.StreamResponse:
        await asyncio.sleep(rule.delay)
        return await self._reset(request, body, rule)

    async def _error_status(self, request: web.Request, body: bytes, rule: Rule) -> web.StreamResponse:
        status = int(rule.variant or 400)
        answer = {"message": "Invalid workspace request.", "detail": "injected: the read is refused"}
        return web.json_response(answer, status=status)

    async def _buffered_sse(self, request: web.Request, body: bytes, rule: Rule) -> web.StreamResponse:
        """Headers at once (nginx sends them), the events only when `delay` has passed."""
        held: list[bytes] = []
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError, asyncio.TimeoutError):
            async with asyncio.timeout(rule.delay), self._upstream(request, body) as upstream:
                async for chunk in upstream.content.iter_any():
                    held.append(chunk)
        with contextlib.suppress(ConnectionResetError):
            await response.write(b"".join(held))
            await response.write_eof()
        return response
