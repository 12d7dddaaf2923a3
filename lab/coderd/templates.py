"""coderd's template routes: templates by organization, by id and by search; versions (created from an
uploaded archive, listed, found by name, promoted); parameters.

Versions follow coderd/templateversions.go (postTemplateVersionsByOrganization, templateVersionByName,
templateVersionsByTemplate, patchActiveTemplateVersion) and codersdk/organizations.go
(CreateTemplateVersionRequest and its validation tags)."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from typing import Any

from aiohttp import web

from lab.coderd.builds import job_logs
from lab.coderd.deployment import deployment
from lab.coderd.http import NOT_FOUND, ApiError, org_param, read_json, respond, uuid_param
from lab.coderd.search import parse_query
from lab.codersdk import PARAMETERS
from lab.faults import EXTERNAL_AUTH_UNLINKED
from lab.model import Job, Template, TemplateVersion, now
from lab.template import planned_resources
from lab.template_source import ArchiveError, TemplateSource, read_archive

routes = web.RouteTableDef()
SEARCH_KEYS = {"name", "exact_name", "deleted", "deprecated", "organization", "ids"}
# codersdk/name.go TemplateVersionNameValid: at most 64 characters.
VERSION_NAME = re.compile(r"^[a-zA-Z0-9]+(?:[_.-]{1}[a-zA-Z0-9]+)*$")
AGENT_TIMEOUT = 120  # the agent's connection_timeout_seconds
MAX_MESSAGE = 1048577  # CreateTemplateVersionRequest.Message: validate:"lt=1048577"
# A few of the words moby's namesgenerator joins when a version is pushed without --name.
_ADJECTIVES = ("admiring", "brave", "eager", "focused", "jolly", "pensive", "quirky", "vibrant")
_SURNAMES = ("babbage", "curie", "hopper", "lovelace", "noether", "ritchie", "turing", "wozniak")


def _template(request: web.Request) -> Template:
    template = deployment(request).store.template(uuid_param(request, "template"))
    if template is None:
        raise ApiError(404, NOT_FOUND)
    return template


def _version(request: web.Request) -> TemplateVersion:
    version = deployment(request).store.template_version(uuid_param(request, "templateversion"))
    if version is None:
        raise ApiError(404, NOT_FOUND)
    return version


@routes.get("/api/v2/organizations/{organization}/templates")
async def org_templates(request: web.Request) -> web.Response:
    org_param(request)
    dep = deployment(request)
    return respond([dep.render.template(t) for t in dep.store.templates])


@routes.get("/api/v2/organizations/{organization}/templates/{name}")
async def org_template(request: web.Request) -> web.Response:
    org_param(request)
    dep = deployment(request)
    name = request.match_info["name"]
    # GetTemplateByOrganizationAndName compares LOWER("name") = LOWER(@name).
    template = next((t for t in dep.store.templates if t.name.lower() == name.lower()), None)
    if template is None:
        raise ApiError(404, NOT_FOUND)
    return respond(dep.render.template(template))


@routes.get("/api/v2/templates")
async def search_templates(request: web.Request) -> web.Response:
    dep = deployment(request)
    found = list(dep.store.templates)
    for key, value in parse_query(request.query.get("q", ""), "template", SEARCH_KEYS, False):
        if key in ("", "name"):
            found = [t for t in found if value.lower() in t.name.lower()]
        elif key == "exact_name":
            found = [t for t in found if t.name == value]
        elif key == "deleted" and value == "true":
            found = []  # no template is ever deleted here
        elif key == "deprecated" and value == "true":
            found = []
        elif key == "organization":
            org = dep.store.organization
            found = found if value in (org.name, org.id) else []
        elif key == "ids":
            found = [t for t in found if t.id in value.split(",")]
    return respond([dep.render.template(t) for t in found])


@routes.get("/api/v2/templates/{template}")
async def template(request: web.Request) -> web.Response:
    return respond(deployment(request).render.template(_template(request)))


@routes.get("/api/v2/templates/{template}/versions/{name}")
async def template_version_by_name(request: web.Request) -> web.Response:
    """coderd's templateVersionByName: any version of the template, the name compared exactly
    (GetTemplateVersionByTemplateIDAndName), active or not."""
    dep, template, name = deployment(request), _template(request), request.match_info["name"]
    version = next((v for v in dep.store.versions_of(template) if v.name == name), None)
    if version is None:
        raise ApiError(404, f"No template version found by name {json.dumps(name)}.")
    return respond(dep.render.template_version(version))


@routes.get("/api/v2/templates/{template}/versions")
async def template_versions(request: web.Request) -> web.Response:
    """Every version of the template, oldest first (GetTemplateVersionsByTemplateID orders by created_at)."""
    dep = deployment(request)
    return respond([dep.render.template_version(v) for v in dep.store.versions_of(_template(request))])


@routes.patch("/api/v2/templates/{template}/versions")
async def promote(request: web.Request) -> web.Response:
    """patchActiveTemplateVersion: only a version of this template whose import succeeded becomes active."""
    dep, template = deployment(request), _template(request)
    body = await read_json(request)
    version_id = _uuid_field(body, "id")
    if version_id is None:
        raise ApiError(400, "Validation failed.", validations=[_tag_error("id", "required", uuid.UUID(int=0))])
    version = dep.store.template_version(version_id)
    if version is None:
        raise ApiError(404, "Template version not found.")
    if version.template_id != template.id:
        raise ApiError(400, "The provided template version doesn't belong to the specified template.")
    if version.job.status != "succeeded":
        raise ApiError(
            403,
            "Only versions that have been built successfully can be promoted.",
            f"Attempted to promote a version with a {version.job.status} build",
        )
    template.active_version = version
    return respond({"message": "Updated the active template version!"})


@routes.post("/api/v2/organizations/{organization}/templateversions")
async def create_version(request: web.Request) -> web.Response:
    """postTemplateVersionsByOrganization: a version from an uploaded file, its import job queued (201)."""
    org_param(request)
    dep = deployment(request)
    body = await read_json(request)
    template_id, file_id = _uuid_field(body, "template_id"), _uuid_field(body, "file_id")
    name, message = str(body.get("name") or ""), str(body.get("message") or "")
    example_id = str(body.get("example_id") or "")
    _validate(body, name, message, file_id, example_id)
    template = dep.store.template(template_id) if template_id else None
    if template_id and template is None:
        raise ApiError(404, "Template does not exist.")
    if example_id and file_id:
        raise ApiError(400, "You cannot specify both an example_id and a file_id.")
    if example_id:  # the lab ships none of coderd's embedded examples
        raise ApiError(400, "Example not found.", "example not found")
    stored = dep.store.files.get(file_id or "")
    if stored is None:
        raise ApiError(404, "File not found.")
    try:
        source = TemplateSource(read_archive(stored.data))
    except ArchiveError as error:
        raise ApiError(500, "Internal error checking workspace tags", f"extract archive to tempdir: {error}") from error
    # coderd parses the module for workspace tags before it queues anything (tfparse).
    if problems := source.parse_problems():
        detail = problems[0] + (f", and {len(problems) - 1} other diagnostic(s)" if len(problems) > 1 else "")
        raise ApiError(500, "Internal error checking workspace tags", f"parse module: {detail}")
    name = name or f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_SURNAMES)}{secrets.randbelow(10)}"
    if template is not None and any(v.name == name for v in dep.store.versions_of(template)):
        raise ApiError(
            409,
            f"A template version with name {json.dumps(name)} already exists for this template.",
            validations=[{"field": "name", "detail": "This value is already in use and should be unique."}],
        )
    job = Job(type="template_version_import", input={}, file_id=stored.id)
    version = TemplateVersion(str(uuid.uuid4()), template_id or "", name, now(), job, message, source)
    job.input["template_version_id"] = version.id
    dep.store.versions[version.id] = version
    dep.provisioner.import_version(version)
    return respond(dep.render.template_version(version), 201)


@routes.get("/api/v2/templateversions/{templateversion}")
async def template_version(request: web.Request) -> web.Response:
    return respond(deployment(request).render.template_version(_version(request)))


@routes.get("/api/v2/templateversions/{templateversion}/logs")
async def template_version_logs(request: web.Request) -> web.StreamResponse:
    """The import job's log: what `coder templates push` follows while the version is imported."""
    return await job_logs(request, _version(request).job)


@routes.get("/api/v2/templateversions/{templateversion}/rich-parameters")
async def rich_parameters(request: web.Request) -> web.Response:
    if _version(request).job.completed_at is None:
        raise ApiError(403, "Job hasn't completed!")
    return respond(PARAMETERS)


@routes.get("/api/v2/templateversions/{templateversion}/resources")
async def template_version_resources(request: web.Request) -> web.Response:
    """What the import planned, for both transitions (coderd/templateversions.go templateVersionResources):
    what `coder templates push` previews. Before the import ends: 400 "Job hasn't completed!"."""
    dep, version = deployment(request), _version(request)
    if version.job.completed_at is None:
        raise ApiError(400, "Job hasn't completed!")
    resources = planned_resources(version)
    for agent in (a for r in resources for a in r.agents):
        # convertWorkspaceAgent: an agent that never connected times out after connection_timeout_seconds.
        agent.status = "timeout" if (now() - agent.created_at).total_seconds() > AGENT_TIMEOUT else "connecting"
    return respond([dep.render.resource(r) for r in resources])


@routes.get("/api/v2/templateversions/{templateversion}/presets")
async def template_version_presets(request: web.Request) -> web.Response:
    """[]codersdk.Preset (coderd/presets.go): the Ameide templates declare no coder_workspace_preset, and
    coderd writes its nil slice, `null`."""
    _version(request)
    return respond(None)


@routes.get("/api/v2/templateversions/{templateversion}/external-auth")
async def template_version_external_auth(request: web.Request) -> web.Response:
    """[]codersdk.TemplateVersionExternalAuth (coderd/templateversions.go templateVersionExternalAuth): the
    Ameide templates' `data "coder_external_auth" "github"`, and whether the caller has linked it; what
    `coder create` checks before it creates a workspace."""
    dep, version = deployment(request), _version(request)
    if dep.github is None or version.job.status != "succeeded":  # providers are recorded by the import
        return respond([])
    linked = not dep.faults.on(EXTERNAL_AUTH_UNLINKED)
    return respond(
        [
            {
                "id": "github",
                "type": "github",
                "display_name": "GitHub",
                "display_icon": "/icon/github.svg",
                "authenticate_url": f"{dep.access_url}/external-auth/github",
                "authenticated": linked,
            }
        ]
    )


def _uuid_field(body: dict[str, Any], key: str) -> str | None:
    """A UUID field of the body (None when absent or nil); a malformed one fails decoding, as Go's uuid.UUID."""
    raw = body.get(key)
    if raw in (None, ""):
        return None
    try:
        value = uuid.UUID(str(raw))
    except ValueError as error:
        raise ApiError(400, "Request body must be valid JSON.", f"invalid UUID length: {len(str(raw))}") from error
    return None if value.int == 0 else str(value)


def _tag_error(field: str, tag: str, value: object) -> dict[str, str]:
    return {"field": field, "detail": f'Validation failed for tag "{tag}" with value: "{value}"'}


def _validate(body: dict[str, Any], name: str, message: str, file_id: str | None, example_id: str) -> None:
    """CreateTemplateVersionRequest's tags, each failing field reported as go-playground/validator does."""
    problems = []
    if name and (len(name) > 64 or not VERSION_NAME.match(name)):
        problems.append(_tag_error("name", "template_version_name", name))
    if len(message) >= MAX_MESSAGE:
        problems.append(_tag_error("message", "lt", message[:40]))
    storage, provisioner = str(body.get("storage_method") or ""), str(body.get("provisioner") or "")
    if storage != "file":
        problems.append(_tag_error("storage_method", "oneof" if storage else "required", storage))
    if not file_id and not example_id:
        problems.append(_tag_error("file_id", "required_without", uuid.UUID(int=0)))
        problems.append(_tag_error("example_id", "required_without", ""))
    if provisioner not in ("terraform", "echo"):
        problems.append(_tag_error("provisioner", "oneof" if provisioner else "required", provisioner))
    if problems:
        raise ApiError(400, "Validation failed.", validations=problems)
