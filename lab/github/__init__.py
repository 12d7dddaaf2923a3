"""The lab's GitHub on the git host's port, laid out as GitHub Enterprise Server lays it out: git's smart
HTTP at /{owner}/{repo}.git/... (smarthttp.py, over the bare repositories of githost.py and gitrepo.py),
REST under /api/v3 (rest.py), GraphQL at /api/graphql (graphql.py), both APIs answering from one state
(state.py) and writing their JSON alike (render.py). `smarthttp.git_app(host)` makes the host's application;
`install` adds both APIs to it.

Every API route needs a token the lab issued (`Authorization: token X` or `Bearer X`), else 401
"Bad credentials". Authenticated answers carry the token's scopes (`X-OAuth-Scopes`) and rate limits,
as GitHub's do for a classic token.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from lab.github import rest
from lab.github.render import GHES_VERSION, GRAPHQL_DOCS, GRAPHQL_PATH, PREFIX, VIEWER, request_id, respond
from lab.github.state import (
    BOT,
    DEVELOPER,
    GITHUB,
    ORGANIZATION,
    Account,
    GitHub,
    GitHubError,
    github,
    not_found,
)

__all__ = ["BOT", "DEVELOPER", "ORGANIZATION", "Account", "GitHub", "install"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SCOPES = "repo, read:org, workflow"  # what `gh auth status` lists; enough for `gh pr create`


def _headers(resource: str) -> dict[str, str]:
    return {
        "X-GitHub-Enterprise-Version": GHES_VERSION,
        "X-GitHub-Media-Type": "github.v3; format=json",
        "X-GitHub-Request-Id": request_id(),
        "X-OAuth-Scopes": SCOPES,
        "X-Accepted-OAuth-Scopes": "",
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "4999",
        "X-RateLimit-Reset": str(int(time.time()) + 3600),
        "X-RateLimit-Used": "1",
        "X-RateLimit-Resource": resource,
    }


def _authorized(request: web.Request, anonymous: bool = False) -> bool:
    """Whether the request may go on; a token the lab issued makes its account the request's viewer.
    Without an Authorization header only an `anonymous` route answers (the API root, `/meta`)."""
    header = request.headers.get("Authorization", "")
    if not header:
        return anonymous
    scheme, _, token = header.partition(" ")
    user = github(request).user_of(token.strip()) if scheme.lower() in ("token", "bearer") else None
    if user is None:
        return False
    request[VIEWER] = user
    return True


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Token auth and GitHub's error bodies for both APIs; git's own routes pass through."""
    if request.path == GRAPHQL_PATH:
        if not _authorized(request):
            return respond({"message": "Bad credentials", "documentation_url": GRAPHQL_DOCS}, 401)
        response = await handler(request)
        response.headers.update(_headers("graphql"))
        return response
    if not (request.path == PREFIX or request.path.startswith(f"{PREFIX}/")):
        return await handler(request)
    try:
        if not _authorized(request, anonymous=request.path.rstrip("/") in (PREFIX, f"{PREFIX}/meta")):
            raise GitHubError(401, "Bad credentials")
        if request.match_info.http_exception is not None:
            raise not_found()
        response = await handler(request)
    except GitHubError as error:
        response = respond(error.body, error.status)
    response.headers.update(_headers("core"))
    return response


def install(app: web.Application, state: GitHub) -> None:
    """Add both APIs to the git host's app."""
    app[GITHUB] = state
    app.middlewares.append(api_middleware)
    app.router.add_routes(rest.routes)
    app.router.add_post(GRAPHQL_PATH, _graphql)


async def _graphql(request: web.Request) -> web.StreamResponse:
    """The GraphQL endpoint; graphql-core and the schema (0.1 s) load with the first query, not the lab."""
    from lab.github import graphql

    return await graphql.graphql_endpoint(request)
