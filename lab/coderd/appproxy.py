"""coderd's app proxy (coderd/workspaceapps/proxy.go, v2.24): path apps at
`/@{owner}/{workspace}[.{agent}]/apps/{slug}[/...]`, and subdomain apps on the wildcard access URL,
`{slug}--{agent}--{workspace}--{owner}.<wildcard>` on coderd's own listener, told apart by their Host
header before any route (`HandleSubdomain`, `parseHostname`; appurl/appurl.go). Any method, WebSocket
upgrades included (appwebsocket.py).

In coderd's order (provider.go `ResolveRequest`, db.go `Issue`, proxy.go `proxyWorkspaceApp`): a signed
app token for this very app lets a request through; else the app is resolved (404 not found, 400
workspace offline), then a request without a valid session is sent to sign in (303: a path app to
/login, a subdomain app to `/api/v2/applications/auth-redirect` on the access URL, which comes back with
a one-minute key that the app host trades for its own cookie, 303 again), then the agent must be
connected (502), and only then the slash and query redirects (307). What goes to the app is what Go's
httputil.ReverseProxy (NewSingleHostReverseProxy) sends: the path below the app's base, the request's
own query and Host, X-Forwarded-For and -Proto, and every header but hop-by-hop ones and Coder's
cookies (httpapi.StripCoderCookies); the app's CORS headers are dropped from its answer.

Faults: `app-proxy-502`, `app-open-without-login`, `app-foreign-page` (the dashboard's page of site.py
answers on the path route), and three only a browser notices, which plain requests for the page and its
health pass: `app-websocket-dropped`, `app-websocket-cut`, `app-assets-404`.
"""

from __future__ import annotations

import email.utils
import html
import posixpath
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from lab.coderd import appwebsocket
from lab.coderd.deployment import USER, Deployment, deployment
from lab.coderd.http import SESSION_COOKIE, SIGNED_OUT, check_token, dumps, session_token
from lab.coderd.ingress import nginx_page
from lab.coderd.site import DASHBOARD_PAGE
from lab.faults import (
    APP_ASSETS_404,
    APP_FOREIGN_PAGE,
    APP_OPEN_WITHOUT_LOGIN,
    APP_PROXY_502,
    APP_WEBSOCKET_CUT,
    APP_WEBSOCKET_DROPPED,
)
from lab.model import Agent, App

PATH, SUBDOMAIN = "path", "subdomain"  # workspaceapps.AccessMethod
SIGNED_APP_COOKIE = "coder_signed_app_token"
PATH_APP_COOKIE = "coder_path_app_session_token"
SUBDOMAIN_APP_COOKIE = "coder_subdomain_app_session_token"  # its per-proxy hash suffix came later (#19930)
SMUGGLED_KEY_PARAM = "coder_application_connect_api_key_35e783"  # workspaceapps.SubdomainProxyAPIKeyParam
SIGNED_APP_TTL = 60.0  # workspaceapps.DefaultTokenExpiry
# codersdk's cookie names that StripCoderCookies removes before a request reaches the app.
CODER_COOKIES = frozenset(
    {SESSION_COOKIE, "oauth_state", "oauth_redirect", PATH_APP_COOKIE, SUBDOMAIN_APP_COOKIE, SIGNED_APP_COOKIE}
)
HOP_BY_HOP = {
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
# proxyWorkspaceApp's ModifyResponse: the app's own CORS answer never reaches the browser.
CORS_HEADERS = {
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
}
CORS_VARY = {"origin", "access-control-request-methods", "access-control-request-headers"}
NAME = r"[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*"  # appurl's nameRegex
APP_LABEL = re.compile(rf"^(?P<slug>{NAME})--(?P<agent>{NAME})--(?P<workspace>{NAME})--(?P<owner>{NAME})$")
LOGOUT_LABEL = "coder-logout"  # proxy.go appLogoutHostname: the deprecated logout flow
WEBSOCKET_CUT_AFTER = 1.0
routes = web.RouteTableDef()
HTTP = web.AppKey("app-proxy-http", aiohttp.ClientSession)
NOT_FOUND_TEXT = (
    "The application or workspace you are trying to access does not exist or you do not have permission to access it."
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class AppRequest:
    """Which app a request names and how (workspaceapps.Request)."""

    access_method: str  # PATH | SUBDOMAIN
    owner: str
    workspace: str
    agent: str  # '' when a path app's URL names none
    slug: str
    base_path: str  # `/@owner/ws.agent/apps/slug/`, or `/` on an app host
    prefix: str = ""  # a subdomain's optional `<prefix>---`

    @property
    def label(self) -> str:
        """The app host's first label (appurl.ApplicationURL.String)."""
        return f"{self.prefix}{self.slug}--{self.agent}--{self.workspace}--{self.owner}"

    @property
    def token_key(self) -> str:
        """What a signed app token must match (SignedToken.MatchesRequest)."""
        names = (self.access_method, self.base_path, self.prefix, self.owner, self.workspace, self.agent, self.slug)
        return "|".join(names)


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


def _raw_query(request: web.Request) -> str:
    """The query as the client sent it (Go's URL.RawQuery); aiohttp's own forms are decoded."""
    return request.raw_path.partition("?")[2]


class _Refused(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


# -- which app, and may this request have it -----------------------------------------------------------


def _resolve(dep: Deployment, wanted: AppRequest) -> tuple[Agent, App]:
    not_found = _Refused(error_page(404, "Application Not Found", NOT_FOUND_TEXT))
    store = dep.store
    if wanted.owner.lower() not in (store.owner.username, store.owner.id):
        raise not_found
    workspace = store.live_workspace(store.owner, wanted.workspace)
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
    agents = [a for a in latest.agents if not wanted.agent or a.name == wanted.agent]
    if len(agents) != 1:
        raise not_found
    app = next((a for a in agents[0].apps if a.slug == wanted.slug), None)
    if app is None:
        raise not_found
    return agents[0], app


def _signed(request: web.Request, dep: Deployment, wanted: AppRequest) -> bool:
    """Whether the request carries a live signed app token for this app."""
    signed = dep.signed_app_tokens.get(request.cookies.get(SIGNED_APP_COOKIE, ""))
    return signed is not None and signed[0] > time.monotonic() and signed[1] == wanted.token_key


def _signed_in(request: web.Request, dep: Deployment, wanted: AppRequest) -> bool:
    """AppConnectSessionTokenFromRequest: Coder's usual token places first, then the access method's own
    cookie; the owner's session key or an application_connect key that auth-redirect minted."""
    cookie = PATH_APP_COOKIE if wanted.access_method == PATH else SUBDOMAIN_APP_COOKIE
    token = session_token(request) or request.cookies.get(cookie)
    return bool(token) and (check_token(dep.store, token) is None or token in dep.app_connect_keys)


def _sign(dep: Deployment, wanted: AppRequest) -> str:
    clock = time.monotonic()
    for token in [t for t, (expires, _) in dep.signed_app_tokens.items() if expires <= clock]:
        del dep.signed_app_tokens[token]
    token = secrets.token_urlsafe(32)
    dep.signed_app_tokens[token] = (clock + SIGNED_APP_TTL, wanted.token_key)
    return token


def _set_signed_cookie(response: web.StreamResponse, token: str, wanted: AppRequest) -> None:
    # ResolveRequest's cookie: the app's base path, an Expires, and nothing else (no HttpOnly, no SameSite).
    expires = email.utils.formatdate(time.time() + SIGNED_APP_TTL, usegmt=True)
    response.set_cookie(SIGNED_APP_COOKIE, token, path=wanted.base_path, expires=expires)


def _to_sign_in(
    request: web.Request, dep: Deployment, wanted: AppRequest, app: App, app_path: str | None
) -> web.Response:
    """db.go Issue for an anonymous visitor: a path app on the access URL goes to /login (httpmw
    RedirectToLogin), a subdomain app to auth-redirect with the URL it asked for (request.go AppBaseURL)."""
    query = _raw_query(request)
    if wanted.access_method == PATH:
        back = request.path + (f"?{query}" if query else "")
        return _redirect(303, f"{dep.access_url}/login?" + urlencode({"message": SIGNED_OUT, "redirect": back}))
    access = URL(dep.access_url)
    host = dep.app_hostname().replace("*", wanted.label, 1)
    # path.Join(base, AppPath) cleans the path; a query meets the app URL's own query as Issue writes it.
    path = "/" + posixpath.normpath("/" + (app_path or "")).lstrip("/")
    app_query = URL(app.url).raw_query_string
    query = app_query if query and app_query else query
    back = str(URL.build(scheme=access.scheme, authority=host, path=path)) + (f"?{query}" if query else "")
    location = f"{dep.access_url}/api/v2/applications/auth-redirect?" + urlencode({"redirect_uri": back})
    return _redirect(303, location)


# -- what the faults only a browser sees change ---------------------------------------------------------


def _ingress_answer(request: web.Request, dep: Deployment) -> web.Response | None:
    """app-assets-404: an ingress whose rule routes the app's page but not its assets answers for them."""
    if dep.faults.on(APP_ASSETS_404) and "/static/" in request.path:
        return nginx_page(404, "Not Found")
    return None


@dataclass(frozen=True)
class _Upgrade:
    cut_after: float | None  # app-websocket-cut: seconds until the proxy drops the socket


def _upgrade(request: web.Request, dep: Deployment) -> _Upgrade | None:
    """The WebSocket upgrade to pass through, or None: a plain request, or an upgrade that an ingress
    without upgrade support passes on as a plain request (app-websocket-dropped)."""
    if not appwebsocket.wants_websocket(request) or dep.faults.on(APP_WEBSOCKET_DROPPED):
        return None
    return _Upgrade(WEBSOCKET_CUT_AFTER if dep.faults.on(APP_WEBSOCKET_CUT) else None)


# -- the request flow, for both access methods ---------------------------------------------------------


async def _serve(request: web.Request, wanted: AppRequest, app_path: str | None) -> web.StreamResponse:
    """An app request, from resolving the app to the app's answer; `app_path` is the path below the
    app's base (None: a path app's URL without its trailing slash)."""
    dep = deployment(request)
    ingress = _ingress_answer(request, dep)
    if ingress is not None:
        return ingress
    try:
        agent, app = _resolve(dep, wanted)
    except _Refused as refused:
        return refused.response
    signed = _signed(request, dep, wanted)
    authenticated = signed or _signed_in(request, dep, wanted)
    # app-open-without-login: as if app auth were off (sharing level public), anonymous requests reach the app.
    if not authenticated and not dep.faults.on(APP_OPEN_WITHOUT_LOGIN):
        return _to_sign_in(request, dep, wanted, app, app_path)
    if authenticated:
        request[USER] = dep.store.owner  # for coderd's request log
    if dep.faults.on(APP_PROXY_502):
        return _unavailable(dep, agent, app, _refused_port(app))
    if agent.status != "connected":
        return _unavailable(dep, agent, app, f'agent state is "{agent.status}", not "connected"')
    if app_path is None:
        return _redirect(307, request.path + "/")
    app_query = URL(app.url).raw_query_string
    if app_path == "/" and not _raw_query(request) and app_query:
        # The app's own URL has a query (code-server's ?folder=): coderd sends the browser there first.
        return _redirect(307, f"{request.path}?{app_query}")
    token = None if signed else _sign(dep, wanted)  # a token is issued only when none was presented

    def prepare(response: web.StreamResponse) -> None:
        if token is not None:
            _set_signed_cookie(response, token, wanted)

    url, headers = _upstream_url(app, app_path, request), _forward_headers(request)
    upgrade = _upgrade(request, dep)
    try:
        if upgrade is not None:
            http = request.app[HTTP]
            return await appwebsocket.pass_through(request, url, headers, http, prepare, upgrade.cut_after)
        return await _forward(request, url, headers, prepare)
    except aiohttp.ClientConnectorError:
        return _unavailable(dep, agent, app, _refused_port(app))  # as Go's dialer words it
    except (aiohttp.ClientError, TimeoutError) as error:
        return _unavailable(dep, agent, app, str(error) or type(error).__name__)


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


def _strip_coder_cookies(header: str) -> str:
    kept = [part.strip() for part in header.split(";") if part.strip()]
    return "; ".join(part for part in kept if part.split("=", 1)[0] not in CODER_COOKIES)


def _forward_headers(request: web.Request) -> CIMultiDict[str]:
    headers = CIMultiDict(
        (k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "cookie"
    )
    for header in request.headers.getall("Cookie", []):
        if stripped := _strip_coder_cookies(header):
            headers.add("Cookie", stripped)
    # httpmw.EnsureXForwardedForHeader sets the client's address, and ReverseProxy appends it once more.
    remote = request.remote or ""
    headers["X-Forwarded-For"] = f"{remote}, {remote}"
    headers.setdefault("X-Forwarded-Proto", request.scheme)
    headers["Host"] = request.host  # NewSingleHostReverseProxy's director leaves the client's Host
    return headers


def _upstream_url(app: App, app_path: str, request: web.Request) -> URL:
    base = URL(app.url)
    host = "127.0.0.1" if base.host == "localhost" else base.host
    # Only the request's own query goes upstream; the app URL's query was a redirect's business.
    target = base.with_host(host or "127.0.0.1").with_path(app_path).with_query(None)
    query = _raw_query(request)
    return URL(str(target) + (f"?{query}" if query else ""), encoded=True)


def _app_headers(upstream: aiohttp.ClientResponse) -> CIMultiDict[str]:
    kept: CIMultiDict[str] = CIMultiDict()
    for key, value in upstream.headers.items():
        lowered = key.lower()
        if lowered in HOP_BY_HOP or lowered in CORS_HEADERS:
            continue
        if lowered == "vary":
            value = ", ".join(v.strip() for v in value.split(",") if v.strip().lower() not in CORS_VARY)
            if not value:
                continue
        kept.add(key, value)
    return kept


async def _forward(
    request: web.Request, url: URL, headers: CIMultiDict[str], prepare: Callable[[web.StreamResponse], None]
) -> web.StreamResponse:
    async with request.app[HTTP].request(
        request.method, url, data=await request.read() or None, headers=headers, allow_redirects=False
    ) as upstream:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=_app_headers(upstream))
        prepare(response)
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response


async def http_client(app: web.Application) -> AsyncIterator[None]:
    """The proxy's HTTP client to the apps, for the life of coderd's app (one of its cleanup contexts)."""
    app[HTTP] = aiohttp.ClientSession(auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar())
    yield
    await app[HTTP].close()


# -- path apps -----------------------------------------------------------------------------------------


@routes.route("*", "/@{owner}/{target}/apps/{slug}/{tail:.*}")
@routes.route("*", "/@{owner}/{target}/apps/{slug}")
async def path_app(request: web.Request) -> web.StreamResponse:
    """proxy.go workspaceAppsProxyPath."""
    if deployment(request).faults.on(APP_FOREIGN_PAGE):
        # The path-app route never reaches the proxy (mis-routed, or path apps not mounted): the
        # dashboard's SPA answers instead, 200 for any path, as coderd's site handler does.
        return web.Response(text=DASHBOARD_PAGE, content_type="text/html")
    owner, target, slug = (request.match_info[k] for k in ("owner", "target", "slug"))
    if owner == "me":
        return error_page(
            404, "Application Not Found", "Applications must be accessed with the full username, not @me."
        )
    if SMUGGLED_KEY_PARAM in request.query:
        return error_page(
            400,
            "Bad Request",
            "Could not decrypt API key. Workspace app API key smuggling is not permitted on the primary access "
            "URL. Please remove the query parameter and try again.",
        )
    workspace, _, agent = target.partition(".")
    wanted = AppRequest(PATH, owner, workspace, agent, slug, f"/@{owner}/{target}/apps/{slug}/")
    tail = request.match_info.get("tail")
    return await _serve(request, wanted, None if tail is None else "/" + tail)


# -- subdomain apps ------------------------------------------------------------------------------------


def parse_label(label: str) -> AppRequest:
    """appurl.ParseSubdomainAppURL (v2.24: the agent's name is required); ValueError as it words it."""
    prefix, separator, rest = label.rpartition("---")
    match = APP_LABEL.match(rest)
    if match is None:
        raise ValueError(f"invalid application url format: {dumps(rest)}")
    names = match.groupdict()
    return AppRequest(
        SUBDOMAIN, names["owner"], names["workspace"], names["agent"], names["slug"], "/", prefix + separator
    )


def wildcard_match(wildcard: str, host: str) -> str | None:
    """What the wildcard's `*` stands for in `host` (any port), or None: appurl.CompileHostnamePattern,
    which lowercases the pattern (not the host) and drops its port, then ExecuteHostnamePattern."""
    if not wildcard:
        return None
    pattern = re.sub(r":\d+$", "", wildcard.lower())
    match = re.match(rf"^\s*([^.]+){re.escape(pattern[1:])}\.?(:\d+)?\s*$", host)
    return match.group(1) if match else None


def _app_label(dep: Deployment, host: str) -> str | None:
    """An app host's first label (parseHostname), or None for a host that is not one: the access URL's
    (ports aside), one without a dot, or one outside the wildcard."""
    hostname = re.sub(r":\d+$", "", host).strip(".").lower()
    if "." not in host or hostname == (URL(dep.access_url).host or "").lower():
        return None
    return wildcard_match(dep.app_hostname(), host)


def _trade_smuggled_key(request: web.Request, dep: Deployment) -> web.Response | None:
    """handleAPIKeySmuggling: the key auth-redirect sent becomes the app host's own cookie, and a 303
    takes the key out of the URL. None when the request carries no key."""
    value = request.query.get(SMUGGLED_KEY_PARAM)
    if not value:
        return None
    smuggled = dep.smuggled_keys.get(value)
    if smuggled is None or smuggled[0] <= time.monotonic():
        return error_page(
            400, "Bad Request", "Could not decrypt API key. Please remove the query parameter and try again."
        )
    rest = sorted((k, v) for k, v in parse_qsl(_raw_query(request), keep_blank_values=True) if k != SMUGGLED_KEY_PARAM)
    answer = _redirect(303, (request.path or "/") + (f"?{urlencode(rest)}" if rest else ""))
    # Domain would be "." + the wildcard after its first dot; with the port in the wildcard that is no
    # domain name, and Go's http.SetCookie drops it: the cookie stays the app host's own.
    answer.set_cookie(SUBDOMAIN_APP_COOKIE, smuggled[1], path="/", httponly=True, samesite="Lax")
    return answer


@web.middleware
async def subdomain_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """proxy.go HandleSubdomain: a request for an app host is the app's, whatever its path."""
    dep = deployment(request)
    label = _app_label(dep, request.host)
    if label is None:
        return await handler(request)
    if label == LOGOUT_LABEL:
        return _redirect(303, dep.access_url)
    try:
        wanted = parse_label(label)
    except ValueError as error:
        return error_page(
            400, "Invalid Application URL", f"Could not parse subdomain application URL {dumps(label)}: {error}"
        )
    return _trade_smuggled_key(request, dep) or await _serve(request, wanted, request.path)
