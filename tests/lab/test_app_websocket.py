"""WebSockets through coderd's app proxy, and the faults only a browser sees, on the lab's coderd app run in
this process in front of an app of the test's own, shaped like code-server: its page, `/healthz`, a static
asset under `/stable-<commit>/static/`, and a WebSocket at `/stable-<commit>` that echoes every frame (and
tells what it was sent). The workspace is laid into coderd's store as a finished build leaves it, so the
proxy is what is under test, in milliseconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import cast

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from lab.coderd import coderd_app
from lab.coderd.deployment import Deployment
from lab.codersdk import Renderer
from lab.faults import APP_ON_SUBDOMAIN, Faults
from lab.model import Agent, App, Build, Job, Resource, Workspace, create_store
from lab.provisioner import Provisioner

SOCKET = "/stable-0123abcd"  # where code-server's workbench opens its WebSockets
ASSET = f"{SOCKET}/static/out/vs/code/browser/workbench/workbench.js"
BASE = "/@admin/ws.main/apps/code-server/"


@dataclass
class Upstream:
    """What the app saw: each request's path, query and headers, and each socket's close code."""

    requests: list[web.Request] = field(default_factory=list)
    closes: list[int | None] = field(default_factory=list)


def upstream_app(seen: Upstream) -> web.Application:
    async def record(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        seen.requests.append(request)
        return await handler(request)

    async def page(_: web.Request) -> web.Response:
        return web.Response(text="<title>code-server</title>", content_type="text/html")

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "expired", "lastHeartbeat": 0})

    async def asset(_: web.Request) -> web.Response:
        return web.Response(text="/* workbench */", content_type="application/javascript")

    async def echo(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(protocols=("vscode",))
        await socket.prepare(request)
        async for message in socket:
            if message.type == WSMsgType.TEXT and message.data == "close":
                await socket.close(code=4001, message=b"done")
            elif message.type == WSMsgType.TEXT:
                await socket.send_str(message.data)
            elif message.type == WSMsgType.BINARY:
                await socket.send_bytes(message.data)
        seen.closes.append(socket.close_code)
        return socket

    async def forbidden(_: web.Request) -> web.Response:
        return web.Response(status=403, text="Forbidden")  # code-server's ensureOrigin refusing a socket

    app = web.Application(middlewares=[web.middleware(record)])
    app.router.add_get("/", page)
    app.router.add_get("/healthz", healthz)
    app.router.add_get(ASSET, asset)
    app.router.add_get(SOCKET, echo)
    app.router.add_get("/forbidden", forbidden)
    return app


def deployment_with_workspace(app_url: str, faults: Faults) -> Deployment:
    """coderd's state after workspace `ws` of `admin` started: agent `main` connected, code-server healthy."""
    store = create_store()
    template = store.templates[0]
    workspace = Workspace(store.owner, template, "ws", None, None, "never")
    job = Job(type="workspace_build", input={}, status="succeeded")
    build = Build(workspace.id, 1, "start", template.active_version, store.owner, job)
    app = App("code-server", "code-server", app_url, f"{app_url}healthz", health="healthy")
    app.subdomain = faults.on(APP_ON_SUBDOMAIN)
    agent = Agent(workspace.id, "resource", "/tmp", [app], status="connected", lifecycle="ready")
    build.resources.append(Resource(job.id, "start", "kubernetes_pod", "main", [agent]))
    workspace.builds.append(build)
    store.workspaces[workspace.id], store.builds[build.id], store.agents[agent.id] = workspace, build, agent
    return Deployment(store, faults, Renderer(store, faults), cast(Provisioner, None))


@dataclass
class Proxy:
    url: str  # coderd's access URL
    token: str
    seen: Upstream
    faults: Faults
    http: aiohttp.ClientSession

    @property
    def signed_in(self) -> dict[str, str]:
        return {"Coder-Session-Token": self.token}

    def socket(self, path: str = SOCKET + "?reconnectionToken=abc&skipWebSocketFrames=false") -> str:
        return f"{self.url}{BASE}{path.lstrip('/')}"


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def proxy(*faults: str) -> AsyncIterator[Proxy]:
    seen = Upstream()
    active = Faults(faults)
    async with serving(upstream_app(seen)) as upstream:
        dep = deployment_with_workspace(f"{upstream.replace('127.0.0.1', 'localhost')}/", active)
        async with serving(coderd_app(dep)) as coderd:
            dep.access_url = coderd
            token = f"{dep.store.token_id}-{dep.store.token_secret}"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
                yield Proxy(coderd, token, seen, active, http)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout=20))


def test_frames_pass_both_ways_and_coders_credentials_stay_behind() -> None:
    async def test() -> None:
        async with proxy() as p:
            cookies = f"coder_session_token={p.token}; theme=dark; coder_signed_app_token=old"
            headers = {"Cookie": cookies, "Origin": p.url}
            async with p.http.ws_connect(p.socket(), headers=headers, protocols=("vscode",)) as socket:
                assert socket.protocol == "vscode"  # the subprotocol the app chose
                issued = socket._response.cookies["coder_signed_app_token"]  # a token for the app's base
                assert issued["path"] == BASE and issued.value != p.token
                await socket.send_str("hello")
                assert (await socket.receive()).data == "hello"
                await socket.send_bytes(b"\x00\x01binary")
                assert (await socket.receive()).data == b"\x00\x01binary"
                await socket.close(code=4000, message=b"bye")
            await asyncio.sleep(0.1)
            assert p.seen.closes == [4000]
            seen = p.seen.requests[-1]
            assert seen.path == SOCKET and seen.query_string == "reconnectionToken=abc&skipWebSocketFrames=false"
            assert seen.headers["Cookie"] == "theme=dark"  # Coder's cookies stripped, the app's kept
            assert seen.headers["Host"] == p.url.removeprefix("http://")  # the browser's Host, as ReverseProxy
            assert seen.headers["Origin"] == p.url
            assert seen.headers["X-Forwarded-For"] == "127.0.0.1, 127.0.0.1"
            assert seen.headers["X-Forwarded-Proto"] == "http"

    run(test)


def test_the_app_closing_its_socket_reaches_the_browser() -> None:
    async def test() -> None:
        async with proxy() as p:
            headers = {"Coder-Session-Token": p.token}
            async with p.http.ws_connect(p.socket(), headers=headers) as socket:
                await socket.send_str("close")
                message = await socket.receive()
            assert (message.type, message.data, message.extra) == (WSMsgType.CLOSE, 4001, "done")

    run(test)


def test_a_signed_app_token_alone_opens_the_socket() -> None:
    async def test() -> None:
        async with proxy() as p:
            async with p.http.get(f"{p.url}{BASE}", headers=p.signed_in) as page:
                assert page.status == 200
                signed = page.cookies["coder_signed_app_token"].value
            headers = {"Cookie": f"coder_signed_app_token={signed}"}
            async with p.http.ws_connect(p.socket(), headers=headers) as socket:
                await socket.send_str("ping")
                assert (await socket.receive()).data == "ping"
                assert "coder_signed_app_token" not in socket._response.cookies  # none issued: one was shown
            assert "Cookie" not in p.seen.requests[-1].headers

    run(test)


def test_without_a_session_the_upgrade_gets_the_login_redirect() -> None:
    async def test() -> None:
        async with proxy() as p:
            upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
            upgrade["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ=="
            async with p.http.get(p.socket(), headers=upgrade, allow_redirects=False) as refused:
                assert refused.status == 303
                assert refused.headers["Location"].startswith(f"{p.url}/login?message=You+are+signed+out")
            assert p.seen.requests == []

    run(test)


def test_an_app_refusing_the_upgrade_is_answered_as_it_answered() -> None:
    async def test() -> None:
        async with proxy() as p:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await p.http.ws_connect(p.socket("/forbidden"), headers=p.signed_in)
            assert refused.value.status == 403

    run(test)


async def _page_and_health(p: Proxy) -> tuple[tuple[int, str], tuple[int, str]]:
    headers = {"Coder-Session-Token": p.token}
    async with p.http.get(f"{p.url}{BASE}", headers=headers) as page:
        page_answer = (page.status, await page.text())
    async with p.http.get(f"{p.url}{BASE}healthz", headers=headers) as health:
        health_answer = (health.status, await health.text())
    return page_answer, health_answer


def test_websocket_dropped_refuses_the_upgrade_but_serves_the_page() -> None:
    async def test() -> None:
        async with proxy("app-websocket-dropped") as p:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await p.http.ws_connect(p.socket(), headers=p.signed_in)
            assert refused.value.status == 400  # the app's answer to a GET that lost its upgrade
            assert "Upgrade" not in p.seen.requests[-1].headers
            page, health = await _page_and_health(p)
            assert page == (200, "<title>code-server</title>")
            assert health == (200, '{"status": "expired", "lastHeartbeat": 0}')

    run(test)


def test_websocket_cut_drops_an_open_socket_after_a_second() -> None:
    async def test() -> None:
        async with proxy("app-websocket-cut") as p:
            async with p.http.ws_connect(p.socket(), headers=p.signed_in) as socket:
                opened = time.monotonic()
                await socket.send_str("still there?")
                assert (await socket.receive()).data == "still there?"
                message = await socket.receive()
                lasted = time.monotonic() - opened
            assert message.type in (WSMsgType.CLOSED, WSMsgType.CLOSE, WSMsgType.ERROR)
            assert socket.close_code == 1006  # no close frame: the connection was dropped
            assert 0.8 < lasted < 3
            assert (await _page_and_health(p))[0][0] == 200

    run(test)


def test_assets_404_answers_static_paths_only() -> None:
    async def test() -> None:
        async with proxy() as p, p.http.get(f"{p.url}{BASE}{ASSET[1:]}", headers=p.signed_in) as asset:
            assert (asset.status, await asset.text()) == (200, "/* workbench */")
        async with proxy("app-assets-404") as p:
            async with p.http.get(f"{p.url}{BASE}{ASSET[1:]}", headers=p.signed_in) as asset:
                assert asset.status == 404 and asset.headers["Server"] == "nginx"
                assert "<title>404 Not Found</title>" in await asset.text()
                assert "X-Coder-Build-Version" not in asset.headers  # the ingress answered, not coderd
            page, health = await _page_and_health(p)
            assert page[0] == 200 and health[0] == 200
            async with p.http.ws_connect(p.socket(), headers=p.signed_in) as socket:
                await socket.send_str("x")
                assert (await socket.receive()).data == "x"

    run(test)


def test_a_subdomain_app_passes_websockets_too() -> None:
    async def test() -> None:
        async with proxy("app-on-subdomain") as p:
            port = p.url.rsplit(":", 1)[1]
            host = f"code-server--main--ws--admin.apps.localhost:{port}"
            headers = {"Host": host, "Coder-Session-Token": p.token}
            url = f"{p.url}{SOCKET}?reconnectionToken=abc"
            async with p.http.ws_connect(url, headers=headers) as socket:
                await socket.send_str("over the app host")
                assert (await socket.receive()).data == "over the app host"
                assert socket._response.cookies["coder_signed_app_token"]["path"] == "/"
            seen = p.seen.requests[-1]
            assert (seen.path, seen.headers["Host"]) == (SOCKET, host)

    run(test)
