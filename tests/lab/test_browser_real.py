"""VS Code opened in a real Chromium: a real code-server, directly and behind a small reverse proxy that
stands for Coder's path-based app proxy (a path prefix, the session cookie, WebSockets passed through).
How VS Code is named when the app proxy breaks it is proven on the lab's own app proxy, by the smoke's fault
rows that only the browser sees (tests/integration/test_smoke_suite.py, BROWSER_DETAILS).

Skipped without chromium and Playwright; the tests of a real code-server also need one (bin/setup --ide).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from lab.ide import find_code_server
from tests.helpers.ide import CodeServer, code_server
from tests.helpers.serving import relay, serving
from workspace_spec.browser import browser_executable, browser_unavailable, open_workbench
from workspace_spec.workbench import WorkbenchVisit

CODE_SERVER = find_code_server()
NO_CODE_SERVER = "code-server is not installed: bin/setup --ide"
pytestmark = pytest.mark.skipif(bool(browser_unavailable()), reason=browser_unavailable() or "-")

PREFIX = "/@admin/ws.main/apps/code-server"
TOKEN = "Ab3dE5gH9k-q1w2e3r4t5y6u7i8o9p0a1s2d"  # a Coder API key's shape: <10-char id>-<22-char secret>
COOKIE = "coder_session_token"
TIMEOUT = 60.0  # a busy CI machine (4 workers, 2 cores) took 20 s to show the workbench, then ran out
PNG = b"\x89PNG\r\n\x1a\n"
CLOSE_TIMEOUT = 1.0  # a WebSocket's closing handshake, when the browser on the other side has gone
# Headers that belong to one hop, not to the request or answer passed on.
HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "content-length", "host", "te", "trailer"}


@dataclass
class Proxy:
    """The stand-in app proxy, and every URL (path and query) the browser asked it for."""

    url: str = ""
    requested: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def ide(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodeServer]:
    """One real code-server for the module, opening a small repository."""
    if CODE_SERVER is None:
        pytest.skip(NO_CODE_SERVER)
    home = tmp_path_factory.mktemp("ide")
    repo = home / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "README.md").write_text("# repo\n")
    (repo / "src/main.py").write_text("print('hello')\n")
    with code_server(CODE_SERVER, home, repo) as server:
        yield server


@pytest.fixture(scope="module")
def proxy_server(ide: CodeServer) -> Iterator[Proxy]:
    proxy = Proxy()
    with serving(_proxy_app(proxy, ide.url)) as url:
        proxy.url = url
        yield proxy


@pytest.fixture
def proxy(proxy_server: Proxy) -> Iterator[Proxy]:
    """The module's proxy, with nothing requested, before the test and after it."""
    proxy_server.requested.clear()
    yield proxy_server
    proxy_server.requested.clear()


def _proxy_app(proxy: Proxy, upstream: str) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        proxy.requested.append(str(request.rel_url))
        if not request.path.startswith(PREFIX + "/"):
            return web.Response(status=404, text="not an app")
        if request.cookies.get(COOKIE) != TOKEN:
            raise web.HTTPSeeOther("/login")
        target = upstream + str(request.rel_url)[len(PREFIX) :]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP | {"cookie"}}
        headers["X-Forwarded-Host"] = request.host  # code-server checks Origin against it
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await _websocket(request, target, headers)
        async with session.request(
            request.method, target, headers=headers, data=await request.read(), allow_redirects=False
        ) as answer:
            body = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP}
            return web.Response(status=answer.status, headers=kept, body=body)

    async def _websocket(request: web.Request, target: str, headers: dict[str, str]) -> web.StreamResponse:
        client = web.WebSocketResponse(max_msg_size=0, timeout=CLOSE_TIMEOUT)
        await client.prepare(request)
        passed = {k: v for k, v in headers.items() if not k.lower().startswith("sec-websocket")}
        upstream_ws = target.replace("http", "ws", 1)
        closing = aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT)
        async with session.ws_connect(upstream_ws, headers=passed, max_msg_size=0, timeout=closing) as server:
            try:  # either side ending ends both
                await relay(client, server)
            finally:
                await client.close()
        return client

    session: aiohttp.ClientSession

    async def start(_app: web.Application) -> None:
        nonlocal session
        session = aiohttp.ClientSession(auto_decompress=False)

    async def stop(_app: web.Application) -> None:
        await session.close()

    app = web.Application()
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def _chromium() -> str:
    executable = browser_executable()
    assert executable is not None
    return executable


def _open(
    ide: CodeServer, base: str, token: str = TOKEN, stay_connected: float = 3.0, folder: Path | None = None
) -> WorkbenchVisit:
    """Open VS Code at `base` (code-server's URL, or the proxy's app path), signed in to the proxy's host."""
    folder = folder or ide.folder
    return open_workbench(
        f"{base}/?folder={folder}",
        base.split(PREFIX)[0],
        token,
        str(folder),
        TIMEOUT,
        executable=_chromium(),
        stay_connected=stay_connected,
    )


def _no_secrets_in(visit: WorkbenchVisit) -> None:
    text = visit.problem + "\n" + visit.describe()
    assert TOKEN not in text and TOKEN.split("-")[1] not in text
    assert "?" not in visit.problem and "reconnectionToken" not in text


def test_a_folder_that_is_not_there_is_named_with_what_vs_code_says(ide: CodeServer):
    visit = _open(ide, ide.url, folder=ide.folder.parent / "gone", stay_connected=0)
    assert visit.problem.startswith(f"VS Code loaded, but the repository {ide.folder.parent / 'gone'} is not open")
    assert "Workspace does not exist" in visit.problem, visit.describe()


def test_a_healthy_code_server_opens_through_the_app_proxy_signed_in_by_cookie_never_by_url(
    ide: CodeServer, proxy: Proxy
):
    visit = _open(ide, proxy.url + PREFIX)
    assert visit.problem == "", visit.describe()
    assert visit.seen.repository_open and visit.seen.explorer == "repo" and visit.seen.files >= 2
    assert visit.seconds_to_interactive is not None and 0 < visit.seconds_to_interactive < TIMEOUT
    assert visit.screenshot.startswith(PNG)
    assert any(ws.connected and ws.closed_at is None for ws in visit.seen.sockets)
    # VS Code's window title is "[active editor - ]folder - code-server"; the Welcome tab may not be open yet.
    assert visit.seen.title == "repo - code-server" or visit.seen.title.endswith(" - repo - code-server")
    assert all(ws.path.startswith(PREFIX + "/stable-") for ws in visit.seen.sockets)
    assert any("/static/" in url for url in proxy.requested)  # the assets came through the proxy...
    assert not [url for url in proxy.requested if TOKEN in url or TOKEN.split("-")[1] in url]  # ...signed in
    _no_secrets_in(visit)


def test_without_an_accepted_session_the_developer_lands_on_the_login_page(ide: CodeServer, proxy: Proxy):
    visit = _open(ide, proxy.url + PREFIX, token="Zz9yX8wV7u-not-the-session-token-at-all")
    assert visit.problem.startswith("the app proxy sent the signed-in developer to the login page"), visit.describe()
    assert visit.seconds_to_interactive is None


def test_an_app_url_nobody_answers_is_a_problem_not_a_traceback():
    with socket.socket() as probe:  # a port nothing listens on, once closed
        probe.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{probe.getsockname()[1]}"
    visit = open_workbench(f"{base}{PREFIX}/?folder=/repo", base, TOKEN, "/repo", 10, executable=_chromium())
    assert visit.problem == (
        f"the app URL {base}{PREFIX}/ did not answer in the browser: Page.goto: net::ERR_CONNECTION_REFUSED at"
        f" {base}{PREFIX}/"
    )


def test_a_browser_that_does_not_start_is_a_problem_not_a_traceback(tmp_path: Path):
    not_a_browser = tmp_path / "chromium"
    not_a_browser.write_text("#!/bin/sh\nexit 3\n")
    not_a_browser.chmod(0o755)
    visit = open_workbench(
        "http://127.0.0.1:9/", "http://127.0.0.1:9", TOKEN, "/repo", 10, executable=str(not_a_browser)
    )
    assert visit.problem.startswith("the browser did not start: BrowserType.launch:"), visit.problem
