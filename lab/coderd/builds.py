"""coderd's build routes: start/stop/delete builds, build lists, logs (JSON or followed), timings
(coderd/workspacebuilds.go; the logs as coderd/provisionerjobs.go serves them)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web

from lab.coderd.deployment import USER, deployment
from lab.coderd.http import NOT_FOUND, ApiError, dumps, read_json, respond, user_param, uuid_param, workspace_param
from lab.codersdk import iso
from lab.model import Build, Job, TemplateVersion

routes = web.RouteTableDef()
TERRAFORM_STAGES = ("init", "plan", "graph", "apply")


def check_importable(version: TemplateVersion) -> None:
    """wsbuilder's checkTemplateJobStatus: no workspace builds from a version still importing (406) or whose
    import failed (400)."""
    status = version.job.status
    if status in ("pending", "running"):
        message = f"The provided template version is {status}. Wait for it to complete importing!"
        raise ApiError(406, message, message)
    if status in ("failed", "canceled"):
        message = (
            f"The provided template version {json.dumps(version.name)} has failed to import: "
            f"{json.dumps(version.job.error or '')}. You cannot build workspaces with it!"
        )
        raise ApiError(400, message, message)


def check_parameters(values: object) -> dict[str, str]:
    """The request's rich_parameter_values, the template's `cpu` validated (1..8); {name: value}."""
    found = {}
    for value in values if isinstance(values, list) else []:
        if isinstance(value, dict) and value.get("name") == "cpu":
            raw = str(value.get("value", ""))
            if not raw.isdigit() or not 1 <= int(raw) <= 8:
                raise ApiError(
                    400, 'Unable to validate parameter "cpu"', f"Parameter value must be between 1 and 8: {raw!r}"
                )
            found["cpu"] = raw
    return found


def _build(request: web.Request) -> Build:
    build = deployment(request).store.builds.get(uuid_param(request, "workspacebuild"))
    if build is None:
        raise ApiError(404, NOT_FOUND)
    return build


@routes.post("/api/v2/workspaces/{workspace}/builds")
async def create(request: web.Request) -> web.Response:
    dep = deployment(request)
    workspace = workspace_param(request)
    body = await read_json(request)
    transition = body.get("transition")
    if transition not in ("start", "stop", "delete"):
        tag = "required" if not transition else "oneof"
        raise ApiError(
            400,
            "Validation failed.",
            validations=[
                {"field": "transition", "detail": f'Validation failed for tag "{tag}" with value: "{transition or ""}"'}
            ],
        )
    orphan = bool(body.get("orphan"))
    if orphan and transition != "delete":
        raise ApiError(400, "Orphan is only permitted when deleting a workspace.")
    version_id = body.get("template_version_id")
    version = dep.store.template_version(str(version_id)) if version_id else None
    if version_id and version is None:
        raise ApiError(400, f'Template version "{version_id}" doesn\'t exist.')
    # wsbuilder checks the version before it looks for an active build.
    if version is not None and version.template_id != workspace.template.id:
        raise ApiError(
            400,
            "template version doesn't match template",
            f"templateVersion.TemplateID = {version.template_id or 'null'}, template.ID = {workspace.template.id}",
        )
    if version is not None:
        check_importable(version)
    parameters = check_parameters(body.get("rich_parameter_values"))
    if workspace.latest_build.job.active:
        raise ApiError(409, "A workspace build is already active.", "A workspace build is already active.")
    build = dep.provisioner.build(workspace, transition, request[USER], version, orphan=orphan, parameters=parameters)
    return respond(dep.render.build(build), 201)


@routes.patch("/api/v2/workspacebuilds/{workspacebuild}/cancel")
async def cancel(request: web.Request) -> web.Response:
    """coderd's patchCancelWorkspaceBuild; the lab's only user is the owner, who may always cancel."""
    dep, build = deployment(request), _build(request)
    expect = request.query.get("expect_status", "")
    if expect not in ("", "running", "pending"):
        raise ApiError(400, f"Invalid expect_status {expect!r}. Only 'running' or 'pending' are allowed.")
    job = build.job
    if job.completed_at is not None:
        raise ApiError(400, "Job has already completed!")
    if job.canceled_at is not None:
        raise ApiError(400, "Job has already been marked as canceled!")
    if expect and job.status != expect:
        raise ApiError(412, "Job is not in the expected state.")
    dep.provisioner.cancel(dep.store.workspaces[build.workspace_id], build)
    return respond({"message": "Job has been marked as canceled..."})


@routes.get("/api/v2/workspaces/{workspace}/builds")
async def list_builds(request: web.Request) -> web.Response:
    dep = deployment(request)
    builds = list(reversed(workspace_param(request, allow_deleted=True).builds))
    return respond([dep.render.build(b) for b in builds])


@routes.get("/api/v2/users/{user}/workspace/{name}/builds/{number}")
async def by_number(request: web.Request) -> web.Response:
    dep = deployment(request)
    workspace = dep.store.live_workspace(user_param(request), request.match_info["name"])
    number = request.match_info["number"]
    if workspace is None or not number.isdigit() or not 0 < int(number) <= len(workspace.builds):
        raise ApiError(404, NOT_FOUND)
    return respond(dep.render.build(workspace.builds[int(number) - 1]))


@routes.get("/api/v2/workspacebuilds/{workspacebuild}")
async def get(request: web.Request) -> web.Response:
    return respond(deployment(request).render.build(_build(request)))


@routes.get("/api/v2/workspacebuilds/{workspacebuild}/parameters")
async def parameters(request: web.Request) -> web.Response:
    """The build's parameter values ([]codersdk.WorkspaceBuildParameter), what `coder start` and `coder ssh`'s
    autostart reuse for the next build (coderd/workspacebuilds.go workspaceBuildParameters)."""
    build = _build(request)
    return respond([{"name": name, "value": value} for name, value in build.parameters.items()])


@routes.get("/api/v2/workspacebuilds/{workspacebuild}/logs")
async def logs(request: web.Request) -> web.StreamResponse:
    return await job_logs(request, _build(request).job)


async def job_logs(request: web.Request, job: Job) -> web.StreamResponse:
    """A job's lines after `after`; with `follow`, a websocket that streams them until the job ends
    (coderd/provisionerjobs.go, for builds and template versions alike)."""
    render = deployment(request).render
    raw_after = request.query.get("after", "0")
    try:
        after = int(raw_after)
    except ValueError as error:
        raise ApiError(400, 'Query param "after" must be an integer.') from error
    if "follow" not in request.query:
        return respond([render.log(line) for line in job.logs if line.id > after])
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    while not socket.closed:
        seen = job.log_signal.version
        for line in [line for line in job.logs if line.id > after]:
            await socket.send_str(dumps(render.log(line)))
            after = line.id
        if not job.active:
            break
        await job.log_signal.wait(seen)
    await socket.close(message=b"done")
    return socket


def timings(build: Build) -> dict[str, Any]:
    """Terraform stages spread over the job's run; the agent's connect and startup-script spans."""
    job, provisioner = build.job, []
    if job.started_at is not None and job.completed_at is not None:
        step = (job.completed_at - job.started_at) / len(TERRAFORM_STAGES)
        action = {"start": "create", "stop": "delete", "delete": "delete"}[build.transition]
        for index, stage in enumerate(TERRAFORM_STAGES):
            begin: datetime = job.started_at + step * index
            provisioner.append(
                {
                    "job_id": job.id,
                    "started_at": iso(begin),
                    "ended_at": iso(begin + step),
                    "stage": stage,
                    "source": "kubernetes",
                    "action": action,
                    "resource": "kubernetes_pod.main",
                }
            )
    scripts, connections = [], []
    for agent in build.agents:
        names = {"workspace_agent_id": agent.id, "workspace_agent_name": agent.name}
        if agent.first_connected_at is not None:
            connections.append(
                {"started_at": iso(agent.created_at), "ended_at": iso(agent.first_connected_at), "stage": "connect"}
                | names
            )
        if agent.ready_at is not None:
            scripts.append(
                {
                    "started_at": iso(agent.started_at),
                    "ended_at": iso(agent.ready_at),
                    "exit_code": 0,
                    "stage": "start",
                    "status": "ok",
                    "display_name": "Startup Script",
                }
                | names
            )
    return {
        "provisioner_timings": provisioner,
        "agent_script_timings": scripts,
        "agent_connection_timings": connections,
    }


@routes.get("/api/v2/workspacebuilds/{workspacebuild}/timings")
async def build_timings(request: web.Request) -> web.Response:
    return respond(timings(_build(request)))


@routes.get("/api/v2/workspaces/{workspace}/timings")
async def workspace_timings(request: web.Request) -> web.Response:
    return respond(timings(workspace_param(request, allow_deleted=True).latest_build))
