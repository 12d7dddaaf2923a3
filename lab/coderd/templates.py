"""coderd's template routes: templates by organization, by id and by search; versions; parameters."""

from __future__ import annotations

from aiohttp import web

from lab.coderd.deployment import deployment
from lab.coderd.http import NOT_FOUND, ApiError, org_param, respond, uuid_param
from lab.coderd.search import parse_query
from lab.model import Template, TemplateVersion
from lab.render import PARAMETERS

routes = web.RouteTableDef()
SEARCH_KEYS = {"name", "exact_name", "deleted", "deprecated", "organization", "ids"}


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
    """coderd's templateVersionByName: the name compares exactly (GetTemplateVersionByTemplateIDAndName)."""
    template, name = _template(request), request.match_info["name"]
    if template.active_version.name != name:
        raise ApiError(404, f"No template version found by name {name!r}.".replace("'", '"'))
    return respond(deployment(request).render.template_version(template.active_version))


@routes.get("/api/v2/templates/{template}/versions")
async def template_versions(request: web.Request) -> web.Response:
    return respond([deployment(request).render.template_version(_template(request).active_version)])


@routes.get("/api/v2/templateversions/{templateversion}")
async def template_version(request: web.Request) -> web.Response:
    return respond(deployment(request).render.template_version(_version(request)))


@routes.get("/api/v2/templateversions/{templateversion}/rich-parameters")
async def rich_parameters(request: web.Request) -> web.Response:
    _version(request)
    return respond(PARAMETERS)
