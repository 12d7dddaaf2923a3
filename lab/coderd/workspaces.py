"""coderd's workspace routes: create (both routes), search, lookup, get, TTL and the /watch stream
(coderd/workspaces.go)."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from aiohttp import web

from lab.coderd.builds import check_importable, check_parameters
from lab.coderd.deployment import USER, deployment
from lab.coderd.http import (
    NOT_FOUND,
    ApiError,
    bool_query,
    dumps,
    org_param,
    read_json,
    respond,
    user_param,
    workspace_param,
)
from lab.coderd.search import parse_query
from lab.faults import TTL_NOT_INHERITED
from lab.model import Template, TemplateVersion, User, Workspace, now

routes = web.RouteTableDef()
NAME = re.compile(r"^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$")
SCHEDULE = re.compile(r"^(CRON_TZ=\S+ )?\S+ \S+ \* \* \S+$")
SEARCH_KEYS = {"owner", "name", "template", "status", "has-agent", "id", "organization", "outdated", "dormant"}
MINUTE_MS, MAX_TTL_MS = 60_000, 30 * 24 * 3600 * 1000
PING_SECONDS = 15


def _tag_error(field: str, tag: str, value: object) -> dict[str, str]:
    return {"field": field, "detail": f'Validation failed for tag "{tag}" with value: "{value or ""}"'}


def valid_ttl(ttl_ms: object, default_ms: int) -> int | None:
    """coderd's validWorkspaceTTLMillis: unset/0 means the template default (none if that is 0)."""
    if ttl_ms in (None, 0):
        return default_ms or None
    if not isinstance(ttl_ms, int):
        raise ApiError(
            400, "Request body must be valid JSON.", "json: cannot unmarshal into Go struct field ttl_ms of type int64"
        )
    problem = (
        "time until shutdown must be at least one minute"
        if ttl_ms < MINUTE_MS
        else "time until shutdown must be less than 30 days"
        if ttl_ms > MAX_TTL_MS
        else None
    )
    if problem:
        raise ApiError(400, "Invalid Workspace Time to Shutdown.", validations=[{"field": "ttl_ms", "detail": problem}])
    return ttl_ms - ttl_ms % MINUTE_MS


def _template_of(request: web.Request, body: dict[str, Any]) -> tuple[Template, TemplateVersion]:
    store = deployment(request).store
    if body.get("template_id"):
        template = store.template(str(body["template_id"]))
        if template is None:
            raise ApiError(
                400,
                f'Template "{body["template_id"]}" doesn\'t exist.',
                validations=[{"field": "template_id", "detail": "template not found"}],
            )
        return template, template.active_version
    version = store.template_version(str(body["template_version_id"]))
    if version is None:
        raise ApiError(
            400,
            f'Template version "{body["template_version_id"]}" doesn\'t exist.',
            validations=[{"field": "template_version_id", "detail": "template version not found"}],
        )
    template = store.template(version.template_id)
    if template is None:  # a version pushed without a template
        raise ApiError(400, "template version doesn't match template", "templateVersion.TemplateID = null")
    check_importable(version)
    return template, version


async def _create(request: web.Request, owner: User) -> web.Response:
    dep = deployment(request)
    body = await read_json(request)
    name = body.get("name") or ""
    problems = []
    if not isinstance(name, str) or not NAME.match(name) or len(name) > 32 or name in ("new", "create"):
        problems.append(_tag_error("name", "workspace_name", name))
    has_template, has_version = bool(body.get("template_id")), bool(body.get("template_version_id"))
    if has_template == has_version:
        tag = "excluded_with" if has_template else "required_without"
        problems += [
            _tag_error("template_id", tag, body.get("template_id")),
            _tag_error("template_version_id", tag, body.get("template_version_id")),
        ]
    if problems:
        raise ApiError(400, "Validation failed.", validations=problems)
    template, version = _template_of(request, body)
    if dep.store.live_workspace(owner, name) is not None:
        raise ApiError(
            409,
            f'Workspace "{name}" already exists.',
            validations=[{"field": "name", "detail": "This value is already in use and should be unique."}],
        )
    # ttl-not-inherited: coderd ignores the template default when the request names no TTL.
    default_ttl_ms = 0 if dep.faults.on(TTL_NOT_INHERITED) else dep.render.default_ttl_ms()
    ttl_ms = valid_ttl(body.get("ttl_ms"), default_ttl_ms)
    schedule = body.get("autostart_schedule") or None
    if schedule is not None and not SCHEDULE.match(str(schedule)):
        raise ApiError(
            400,
            "Invalid Autostart Schedule.",
            validations=[{"field": "schedule", "detail": f"parse schedule: {schedule!r}"}],
        )
    updates = body.get("automatic_updates") or "never"
    if updates not in ("always", "never"):
        raise ApiError(400, "Validation failed.", validations=[_tag_error("automatic_updates", "oneof", updates)])
    parameters = check_parameters(body.get("rich_parameter_values"))
    workspace = Workspace(owner, template, name, ttl_ms, schedule, updates)
    dep.store.workspaces[workspace.id] = workspace
    dep.provisioner.build(workspace, "start", request[USER], version, parameters=parameters)
    return respond(dep.render.workspace(workspace), 201)


@routes.post("/api/v2/users/{user}/workspaces")
async def create(request: web.Request) -> web.Response:
    return await _create(request, user_param(request))


@routes.post("/api/v2/organizations/{organization}/members/{user}/workspaces")
async def create_in_org(request: web.Request) -> web.Response:
    org_param(request)
    return await _create(request, user_param(request))


def _matches(workspace: Workspace, key: str, value: str, me: User) -> bool:
    latest = workspace.latest_build
    if key == "owner":
        return (value == "me" and workspace.owner is me) or value == workspace.owner.username
    if key == "name":
        return value in workspace.name.lower()
    if key == "template":
        return value == workspace.template.name
    if key == "status":
        return value == latest.status
    if key == "has-agent":
        return any(agent.status == value for agent in latest.agents)
    if key == "id":
        return workspace.id in value.split(",")
    if key == "organization":
        return value in ("default", "coder")
    if key == "outdated":
        return (value == "true") == (latest.template_version is not workspace.template.active_version)
    return value != "true"  # dormant: no workspace here is dormant


def _page(request: web.Request) -> tuple[int, int]:
    values = []
    for key in ("limit", "offset"):
        raw = request.query.get(key, "0")
        if not raw.isdigit():
            raise ApiError(
                400,
                "Query parameters have invalid values.",
                validations=[{"field": key, "detail": f'Query param "{key}" must be a valid non-negative integer.'}],
            )
        values.append(int(raw))
    return values[0], values[1]


@routes.get("/api/v2/workspaces")
async def search(request: web.Request) -> web.Response:
    dep = deployment(request)
    filters = []
    for key, value in parse_query(request.query.get("q", ""), "workspace", SEARCH_KEYS, True):
        if key == "" and "/" in value:
            owner, _, name = value.partition("/")
            filters += [("owner", owner), ("name", name)]
        else:
            filters.append((key or "name", value))
    found = sorted(
        (
            w
            for w in dep.store.workspaces.values()
            if not w.deleted and all(_matches(w, k, v, request[USER]) for k, v in filters)
        ),
        key=lambda w: (w.owner.username, w.name.lower()),
    )
    limit, offset = _page(request)
    page = found[offset : offset + limit] if limit > 0 else found[offset:]
    return respond({"workspaces": [dep.render.workspace(w) for w in page], "count": len(found)})


@routes.get("/api/v2/users/{user}/workspace/{name}")
async def by_owner_and_name(request: web.Request) -> web.Response:
    dep = deployment(request)
    owner, name = user_param(request), request.match_info["name"]
    workspace = dep.store.live_workspace(owner, name)
    if workspace is None and bool_query(request, "include_deleted"):
        deleted = [
            w
            for w in dep.store.workspaces.values()
            if w.owner is owner and w.deleted and w.name.lower() == name.lower()
        ]
        workspace = max(deleted, key=lambda w: w.created_at, default=None)
    if workspace is None:
        raise ApiError(404, NOT_FOUND)
    return respond(dep.render.workspace(workspace))


@routes.get("/api/v2/workspaces/{workspace}")
async def get(request: web.Request) -> web.Response:
    workspace = workspace_param(request, allow_deleted=bool_query(request, "include_deleted"))
    return respond(deployment(request).render.workspace(workspace))


@routes.put("/api/v2/workspaces/{workspace}/ttl")
async def put_ttl(request: web.Request) -> web.Response:
    workspace = workspace_param(request)
    body = await read_json(request)
    ttl_ms = body.get("ttl_ms")
    workspace.ttl_ms = None if ttl_ms is None else valid_ttl(ttl_ms, 0)
    if workspace.ttl_ms is None:
        workspace.latest_build.deadline = None  # autostop off: the running build no longer has one
    workspace.updated_at = now()
    workspace.changed()
    return web.Response(status=204)


@routes.get("/api/v2/workspaces/{workspace}/watch")
async def watch(request: web.Request) -> web.StreamResponse:
    """Server-sent events: a ping, the workspace now, then the workspace after every change."""
    workspace = workspace_param(request, allow_deleted=True)
    render = deployment(request).render
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "Connection": "keep-alive",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    seen = workspace.signal.version
    with contextlib.suppress(ConnectionError):
        await response.write(b"event: ping\n\n")
        await response.write(_data_event(render.workspace(workspace)))
        while True:
            version = await workspace.signal.wait(seen, PING_SECONDS)
            if version == seen:
                await response.write(b"event: ping\n\n")
                continue
            seen = version
            await response.write(_data_event(render.workspace(workspace)))
    return response


def _data_event(body: dict[str, Any]) -> bytes:
    return f"event: data\ndata: {dumps(body)}\n\n".encode()
