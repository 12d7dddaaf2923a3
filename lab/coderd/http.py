"""coderd's HTTP conventions: JSON bodies and errors, API-key auth, path parameters, build header
(coderd/httpapi/httpapi.go, coderd/httpmw/apikey.go and the httpmw param extractors)."""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from lab.coderd.deployment import USER, deployment
from lab.faults import SECRETS_ECHOED
from lab.model import Agent, Store, User, Workspace

BUILD_VERSION_HEADER = "X-Coder-Build-Version"
SESSION_COOKIE = "coder_session_token"
SESSION_HEADER = "Coder-Session-Token"
SIGNED_OUT = "You are signed out or your session has expired. Please sign in again to continue."
NOT_FOUND = "Resource not found or you do not have access to this resource"
# Reachable without a session token (coderd.go).
PUBLIC = {"/api/v2/", "/api/v2/buildinfo", "/api/v2/users/first", "/api/v2/users/authmethods"}
# Routes a workspace agent calls with its own token (`agent_param`) instead of a session.
AGENT_PREFIX = "/api/v2/workspaceagents/me/"
# Behind coderd's apiKeyMiddlewareRedirect: a browser without a session is sent to sign in, not told 401.
AUTH_REDIRECT = "/api/v2/applications/auth-redirect"
# Set on answers of the ingress that never reached coderd: they carry no X-Coder-Build-Version.
FROM_INGRESS = web.ResponseKey("from-ingress", bool)


class ApiError(Exception):
    """Raised by handlers; the middleware answers with coderd's error body."""

    def __init__(
        self, status: int, message: str, detail: str | None = None, validations: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message}
        if detail:
            self.body["detail"] = detail
        if validations:
            self.body["validations"] = validations


def dumps(body: object) -> str:
    """Compact, as Go's encoding/json writes it."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def respond(body: object, status: int = 200) -> web.Response:
    return web.Response(text=dumps(body), status=status, content_type="application/json", charset="utf-8")


def session_token(request: web.Request) -> str | None:
    """The session token, from the places coderd's APITokenFromRequest looks, in its order."""
    for candidate in (
        request.cookies.get(SESSION_COOKIE),
        request.query.get(SESSION_COOKIE),
        request.headers.get(SESSION_HEADER),
    ):
        if candidate:
            return candidate
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("access_token") or None


def check_token(store: Store, token: str | None) -> str | None:
    """None when `token` is the owner's key, else the 401 detail coderd gives."""
    if not token:
        return f'Cookie "{SESSION_COOKIE}" or query parameter must be provided.'
    parts = token.split("-")
    if len(parts) != 2:
        problem = f"incorrect amount of API key parts, expected 2 got {len(parts)}"
    elif len(parts[0]) != 10:
        problem = f"invalid API key ID length, expected 10 got {len(parts[0])}"
    elif len(parts[1]) != 22:
        problem = f"invalid API key secret length, expected 22 got {len(parts[1])}"
    elif not hmac.compare_digest(parts[0], store.token_id):
        return "API key is invalid."
    elif not hmac.compare_digest(parts[1], store.token_secret):
        return "API key secret is invalid."
    else:
        return None
    return f"Invalid API key format: {problem}"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Auth for /api/v2 and /lab, coderd's JSON errors, and its 404 for unknown API routes."""
    path = request.path
    if not path.startswith(("/api/v2", "/lab/")):
        return await handler(request)
    if request.match_info.http_exception is not None:
        if request.match_info.http_exception.status == 404:
            return respond({"message": "Route not found."}, 404)
        raise request.match_info.http_exception
    if path not in PUBLIC and not path.startswith(AGENT_PREFIX):
        store = deployment(request).store
        problem = check_token(store, session_token(request))
        if problem is not None and path == AUTH_REDIRECT:
            return redirect_to_login(request)
        if problem is not None:
            return respond({"message": SIGNED_OUT, "detail": problem}, 401)
        request[USER] = store.owner
    try:
        return await handler(request)
    except ApiError as error:
        token = session_token(request)
        if token and deployment(request).faults.on(SECRETS_ECHOED):
            # A misconfigured proxy in front of coderd appends the request's headers to its errors.
            echoed = f"request headers: Coder-Session-Token: {token}"
            detail = error.body.get("detail")
            return respond(error.body | {"detail": f"{detail}; {echoed}" if detail else echoed}, error.status)
        return respond(error.body, error.status)


def redirect_to_login(request: web.Request) -> web.Response:
    """httpmw.RedirectToLogin without a dashboard URL: 303 to the relative `/login`, with the path and the
    query as the client sent it to come back to."""
    query = request.raw_path.partition("?")[2]
    back = request.path + (f"?{query}" if query else "")
    return web.Response(
        status=303, headers={"Location": "/login?" + urlencode({"message": SIGNED_OUT, "redirect": back})}
    )


async def add_build_version(request: web.Request, response: web.StreamResponse) -> None:
    if not response.get(FROM_INGRESS):
        response.headers[BUILD_VERSION_HEADER] = deployment(request).version()


def websocket_upgrade_required(request: web.Request) -> web.Response:
    """What coderd's websocket endpoints answer a request without the upgrade (nhooyr websocket.Accept)."""
    return web.Response(
        status=426,
        text=f"WebSocket protocol violation: Connection header {dumps(request.headers.get('Connection', ''))} "
        "does not contain Upgrade\n",
        content_type="text/plain",
        charset="utf-8",
        headers={"Connection": "Upgrade", "Upgrade": "websocket", "X-Content-Type-Options": "nosniff"},
    )


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.text() or "null")
    except ValueError as error:
        raise ApiError(400, "Request body must be valid JSON.", str(error)) from error
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "Request body must be valid JSON.",
            f"json: cannot unmarshal {type(body).__name__} into Go value of type struct",
        )
    return body


def uuid_param(request: web.Request, name: str) -> str:
    raw = request.match_info[name]
    try:
        return str(uuid.UUID(raw))
    except ValueError as error:
        detail = f"invalid UUID length: {len(raw)}" if len(raw) not in (32, 36) else "invalid UUID format"
        raise ApiError(400, f'Invalid UUID "{raw}".', detail) from error


def user_param(request: web.Request) -> User:
    """`me`, a UUID or a username; anything else is a 400, as coderd's userparam answers."""
    raw = request.match_info["user"]
    owner = deployment(request).store.owner
    if raw == "me" or raw == owner.id or raw.lower() == owner.username:
        return owner
    raise ApiError(400, '"user" must be an existing uuid or username.', f'queried user="{raw}"')


def org_param(request: web.Request) -> None:
    raw = request.match_info["organization"]
    org = deployment(request).store.organization
    if raw not in ("default", org.id, org.name):
        raise ApiError(404, NOT_FOUND)


def bool_query(request: web.Request, name: str) -> bool:
    raw = request.query.get(name) or "false"  # an empty value is false, as in coderd
    if raw.lower() not in ("true", "false", "1", "0", "t", "f"):
        raise ApiError(400, f'Invalid boolean value "{raw}" for "{name}" query param.')
    return raw.lower() in ("true", "1", "t")


def workspace_param(request: web.Request, allow_deleted: bool = False) -> Workspace:
    workspace_id = uuid_param(request, "workspace")
    workspace = deployment(request).store.workspaces.get(workspace_id)
    if workspace is None:
        raise ApiError(404, NOT_FOUND)
    if workspace.deleted and not allow_deleted:
        raise ApiError(
            410,
            f'Workspace "{workspace.id}" was deleted, you can view this workspace by '
            f"specifying '?deleted=true' and trying again.",
        )
    return workspace


def agent_param(request: web.Request) -> Agent:
    """The agent whose token the request carries (coderd's ExtractWorkspaceAgent): an agent of a live
    workspace's latest build; 401 otherwise."""
    token = session_token(request)
    if not token:
        raise ApiError(401, f'Cookie "{SESSION_COOKIE}" must be provided.')
    try:
        uuid.UUID(token)
    except ValueError as error:
        raise ApiError(
            401, "Workspace agent token invalid.", f"An agent token must be a valid UUIDv4. (len {len(token)})"
        ) from error
    store = deployment(request).store
    found = None
    for agent in store.agents.values():  # every comparison runs: the time says nothing of the token
        if hmac.compare_digest(agent.auth_token.encode(), token.encode()):
            found = agent
    workspace = store.workspaces.get(found.workspace_id) if found else None
    current = workspace is not None and not workspace.deleted and workspace.builds
    if found is None or not current or all(a is not found for a in workspace.latest_build.agents):
        raise ApiError(
            401,
            "Workspace agent not authorized.",
            "The agent cannot authenticate until the workspace provision job has been completed. "
            "If the job is no longer running, this agent is invalid.",
        )
    return found


def workspaceagent_param(request: web.Request) -> Agent:
    """The agent `{workspaceagent}` names (coderd's httpmw.ExtractWorkspaceAgentParam): 400 for a bad
    UUID, 404 for an unknown agent."""
    agent = deployment(request).store.agents.get(uuid_param(request, "workspaceagent"))
    if agent is None:
        raise ApiError(404, NOT_FOUND)
    return agent
