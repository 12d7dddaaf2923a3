"""coderd's path-based app proxy: `/@{owner}/{workspace}[.{agent}]/apps/{slug}[/...]`, any method.

Answers like coderd/workspaceapps (proxy.go, db.go, errors.go): 307 to add the slug's trailing slash,
303 to /login without a valid session, HTML error pages (404 not found, 400 workspace offline, 502 agent
unavailable, with coderd's log line for it), else a real reverse proxy to the app's URL with Coder's
credentials stripped and a signed app token set. Faults: `app-proxy-502`, `app-open-without-login`,
`app-foreign-page` (the dashboard's page of site.py answers instead).
"""

from __future__ import annotations

import html
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from lab.coderd.deployment import USER, Deployment, deployment
from lab.coderd.http import SESSION_COOKIE, SESSION_HEADER, SIGNED_OUT, check_token, session_token
from lab.coderd.site import DASHBOARD_PAGE
from lab.faults import APP_FOREIGN_PAGE, APP_OPEN_WITHOUT_LOGIN, APP_PROXY_502
from lab.model import Agent, App

SIGNED_APP_COOKIE = "coder_signed_app_token"
SIGNED_APP_TTL = 60.0
# Cookies coderd removes before a request reaches the app.
CODER_COOKIES = (SESSION_COOKIE, SIGNED_APP_COOKIE, "coder_path_app_session_token", "coder_subdomain_app_session_token")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
}
routes = web.RouteTableDef()
HTTP = web.AppKey("app-proxy-http", aiohttp.ClientSession)
NOT_FOUND_TEXT = (
    "The application or workspace you are trying to access does not exist or you do not have permission to access it."
)


def error_page(status: int, title: str, description: str) -> web.Response:
    body = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title></head>\n<body><h1>{html.escape(title)}</h1><p>{html.escape(description)}</p>"
        f'<a href="/">Back to site</a></body></html>\n'
    )
    return web.Response(status=status, text=body, content_type="text/html")


def _redirect(status: int, location: str) -> web.Response:
    # Not aiohttp's HTTPFound family: yarl would re-normalise the query's percent-encoding.
    return web.Response(status=status, headers={"Location": location})


class _Refused(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


def _resolve(dep: Deployment, owner: str, target: str, slug: str) -> tuple[Agent, App]:
    not_found = _Refused(error_page(404, "Application Not Found", NOT_FOUND_TEXT))
    store = dep.store
    if owner.lower() not in (store.owner.username, store.owner.id):
        raise not_found
    name, _, agent_name = target.partition(".")
    workspace = store.live_workspace(store.owner, name)
    if workspace is None:
        raise not_found
    latest = workspace.latest_build
    if latest.transition == "stop":
        raise _Refused(
            error_page(
                400,
                "Workspace Offline",
                'Last workspace transition was to the "stop" state. Start the workspace to access its applications.',
            )
        )
    agents = [a for a in latest.agents if not agent_name or a.name == agent_name]
    if len(agents) != 1:
        raise not_found
    app = next((a for a in agents[0].apps if a.slug == slug), None)
    if app is None:
        raise not_found
    return agents[0], app


def _authenticated(request: web.Request, dep: Deployment, base: str) -> bool:
    signed = dep.signed_app_tokens.get(request.cookies.get(SIGNED_APP_COOKIE, ""))
    if signed is not None and signed[0] > time.monotonic() and signed[1] == base:
        return True
    return check_token(dep.store, session_token(request)) is None


def _unavailable(dep: Deployment, agent: Agent, app: App, error: str) -> web.Response:
    """The 502 page, and the line coderd's app proxy leaves in its log for it."""
    if dep.control_plane is not None:
        fields = [
            ("request_id", str(uuid.uuid4())),
            ("workspace_id", agent.workspace_id),
            ("agent_id", agent.id),
            ("app_slug", app.slug),
            ("error", error),
        ]
        dep.control_plane.log("warn", "coderd.workspaceapps", "failed to proxy request to application", fields)
    return error_page(502, "Application Unavailable", f"Failed to proxy request to application: {error}")


def _refused_port(app: App) -> str:
    url = URL(app.url)
    return f"dial tcp 127.0.0.1:{url.port}: connect: connection refused"


def _sign(dep: Deployment, base: str) -> str:
    clock = time.monotonic()
    for token in [t for t, (expires, _) in dep.signed_app_tokens.items() if expires <= clock]:
        del dep.signed_app_tokens[token]
    token = secrets.token_urlsafe(32)
    dep.signed_app_tokens[token] = (clock + SIGNED_APP_TTL, base)
    return token


def _forward_headers(request: web.Request, token: str | None) -> CIMultiDict[str]:
    headers = CIMultiDict(
        (k, v)
        for k, v in request.headers.items()
        if k.lower() not in HOP_BY_HOP and k.lower() != SESSION_HEADER.lower()
    )
    if token and headers.get("Authorization", "").partition(" ")[2].strip() == token:
        del headers["Authorization"]
    cookies = [
        c
        for c in request.headers.get("Cookie", "").split(";")
        if c.strip() and not c.strip().split("=", 1)[0].startswith(CODER_COOKIES)
    ]
    headers.popall("Cookie", None)
    if cookies:
        headers["Cookie"] = ";".join(cookies).strip()
    headers["X-Forwarded-For"] = request.remote or ""
    headers["X-Forwarded-Host"] = request.host
    headers["X-Forwarded-Proto"] = request.scheme
    return headers


def _upstream_url(app: App, tail: str, request: web.Request) -> URL:
    base = URL(app.url)
    # Only the request's own query goes upstream; the app URL's query was a redirect's business.
    query = [(k, v) for k, v in request.query.items() if k != SESSION_COOKIE]
    host = "127.0.0.1" if base.host == "localhost" else base.host
    return base.with_host(host or "127.0.0.1").with_path("/" + tail, encoded=False).with_query(query)


async def http_client(app: web.Application) -> AsyncIterator[None]:
    """The proxy's HTTP client to the apps, for the life of coderd's app (one of its cleanup contexts)."""
    app[HTTP] = aiohttp.ClientSession(auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar())
    yield
    await app[HTTP].close()


@routes.route("*", "/@{owner}/{target}/apps/{slug}/{tail:.*}")
@routes.route("*", "/@{owner}/{target}/apps/{slug}")
async def proxy(request: web.Request) -> web.StreamResponse:
    """In coderd's order (workspaceapps db.go Issue, proxy.go): resolve the app (404, 400 offline), then
    authorize (303 to login), then the agent (502), and only then the slash and query redirects (307)."""
    if deployment(request).faults.on(APP_FOREIGN_PAGE):
        # The path-app route never reaches the proxy (mis-routed, or path apps not mounted): the
        # dashboard's SPA answers instead, 200 for any path, as coderd's site handler does.
        return web.Response(text=DASHBOARD_PAGE, content_type="text/html")
    owner, target, slug = (request.match_info[k] for k in ("owner", "target", "slug"))
    tail = request.match_info.get("tail")
    base = f"/@{owner}/{target}/apps/{slug}/"
    dep = deployment(request)
    if owner == "me":
        return error_page(
            404, "Application Not Found", "Applications must be accessed with the full username, not @me."
        )
    try:
        agent, app = _resolve(dep, owner, target, slug)
    except _Refused as refused:
        return refused.response
    authenticated = _authenticated(request, dep, base)
    # app-open-without-login: as if path-app auth were off, anonymous requests reach the app.
    if not authenticated and not dep.faults.on(APP_OPEN_WITHOUT_LOGIN):
        back = request.path + (f"?{request.query_string}" if request.query_string else "")
        return _redirect(303, f"{dep.access_url}/login?" + urlencode({"message": SIGNED_OUT, "redirect": back}))
    if authenticated:
        request[USER] = dep.store.owner  # for coderd's request log
    if dep.faults.on(APP_PROXY_502):
        return _unavailable(dep, agent, app, _refused_port(app))
    if agent.status != "connected":
        return _unavailable(dep, agent, app, f'agent state is "{agent.status}", not "connected"')
    if tail is None:
        return _redirect(307, request.path + "/")
    app_query = URL(app.url).query_string
    if tail == "" and not request.query_string and app_query:
        # The app's own URL has a query (code-server's ?folder=): coderd sends the browser there first.
        return _redirect(307, f"{base}?{app_query}")
    try:
        async with request.app[HTTP].request(
            request.method,
            _upstream_url(app, tail, request),
            data=await request.read() or None,
            headers=_forward_headers(request, session_token(request)),
            allow_redirects=False,
        ) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    response.headers.add(key, value)
            response.set_cookie(
                SIGNED_APP_COOKIE,
                _sign(dep, base),
                path=base,
                httponly=True,
                samesite="Lax",
                max_age=int(SIGNED_APP_TTL),
            )
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
    except aiohttp.ClientConnectorError:
        return _unavailable(dep, agent, app, _refused_port(app))  # as Go's dialer words it
    except (aiohttp.ClientError, TimeoutError) as error:
        return _unavailable(dep, agent, app, str(error) or type(error).__name__)
