"""The ingress in front of coderd, and coderd's rate limiter: where the `coder-flaky` and
`websocket-blocked` faults break things.

`coder-flaky` (a restarting coderd behind ingress-nginx, and a busy rate limiter): per API route and
method, the 1st, 4th, 7th, ... request fails on its first attempt, alternately with ingress-nginx's
own 503 page (no endpoints ready; it never reached coderd, so no X-Coder-Build-Version) and coderd's
429. The next attempt of a failed request (same method, path and query) always goes through, so a
client that retries once or more rides through and one that never retries fails. `/watch` streams,
websocket upgrades, the agent's own routes, the app proxy and `/lab/` are never touched.

`websocket-blocked`: an ingress without the Upgrade/Connection proxy headers passes an upgrade request
on as a plain one (nginx drops hop-by-hop headers and sends `Connection: close`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from multidict import CIMultiDict

from lab.coderd.deployment import deployment
from lab.coderd.http import AGENT_PREFIX, FROM_INGRESS, check_token, dumps, session_token
from lab.faults import CODER_FLAKY, WEBSOCKET_BLOCKED

EVERY = 3
# coderd/httpmw/ratelimit.go with the default --api-rate-limit (coder-api.md §12).
RATE_LIMIT = 512
RATE_LIMITED = f"You've been rate limited for sending more than {RATE_LIMIT} requests in 1m0s."
BYPASS_HEADER = "X-Coder-Bypass-Ratelimit"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def upgrade_requested(request: web.Request) -> bool:
    return "upgrade" in request.headers.get("Connection", "").lower() and bool(request.headers.get("Upgrade"))


def _exempt(request: web.Request) -> bool:
    path = request.path
    return (
        not path.startswith("/api/v2")
        or path.startswith(AGENT_PREFIX)
        or path.endswith(("/watch", "/watch-ws"))
        or upgrade_requested(request)
        or request.match_info.http_exception is not None  # unknown routes: coderd's own 404
    )


def nginx_page(status: int, reason: str) -> web.Response:
    """ingress-nginx's own error page (ngx_http_error_<status>_page and ngx_http_error_tail, server_tokens
    off): an answer that never reached coderd, so without X-Coder-Build-Version."""
    title = f"{status} {reason}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    # Bytes, so that aiohttp adds no charset: nginx sends a bare text/html.
    headers = {"Server": "nginx", "Content-Type": "text/html"}
    response = web.Response(status=status, body=page.encode(), headers=headers)
    response[FROM_INGRESS] = True
    return response


def ingress_503() -> web.Response:
    return nginx_page(503, "Service Temporarily Unavailable")


def rate_limited() -> web.Response:
    # httprate's headers, as Go's http.Header canonicalises them.
    reset = (int(time.time()) // 60 + 1) * 60
    headers = {
        "X-Ratelimit-Limit": str(RATE_LIMIT),
        "X-Ratelimit-Remaining": "0",
        "X-Ratelimit-Reset": str(reset),
        "Retry-After": "60",
    }
    return web.Response(
        status=429,
        text=dumps({"message": RATE_LIMITED}),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


class Flaky:
    """The deterministic schedule of `coder-flaky`; restarts whenever the fault set is replaced."""

    def __init__(self) -> None:
        self._generation = -1
        self._counts: dict[tuple[str, str], int] = {}  # requests per (method, route)
        self._failures: dict[tuple[str, str], int] = {}  # transient answers per (method, route)
        self._retry_passes: set[tuple[str, str]] = set()  # (method, path and query) that failed last time

    def answer(self, request: web.Request, generation: int) -> web.Response | None:
        """The transient answer this request gets, or None to let it through."""
        if generation != self._generation:
            self._generation = generation
            self._counts, self._failures, self._retry_passes = {}, {}, set()
        resource = request.match_info.route.resource
        route = (request.method, resource.canonical if resource is not None else request.path)
        attempt = (request.method, request.path_qs)
        count = self._counts[route] = self._counts.get(route, 0) + 1
        if attempt in self._retry_passes:  # the retry of a request that failed: never fail it twice
            self._retry_passes.discard(attempt)
            return None
        if count % EVERY != 1:
            return None
        failures = self._failures.get(route, 0)
        if failures % 2 and self._bypasses(request):
            return None
        self._failures[route] = failures + 1
        self._retry_passes.add(attempt)
        return rate_limited() if failures % 2 else ingress_503()

    @staticmethod
    def _bypasses(request: web.Request) -> bool:
        """Owners may skip the rate limiter (coderd honours the header only for owners)."""
        if request.headers.get(BYPASS_HEADER, "").lower() not in ("true", "1", "t"):
            return False
        return check_token(deployment(request).store, session_token(request)) is None


FLAKY = web.AppKey("flaky", Flaky)


@web.middleware
async def ingress_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    faults = deployment(request).faults
    if faults.on(WEBSOCKET_BLOCKED) and upgrade_requested(request):
        headers = CIMultiDict(request.headers)
        headers.popall("Upgrade", None)
        headers["Connection"] = "close"
        request = request.clone(headers=headers)
    if faults.on(CODER_FLAKY) and not _exempt(request):
        answer = request.app[FLAKY].answer(request, faults.generation)
        if answer is not None:
            return answer
    return await handler(request)
