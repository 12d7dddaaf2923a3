"""The stand-in `coder` CLI's template commands, making the calls the real ones (v2.24.2) make, in their order:

`coder templates push <template> [-d DIR] [--name N] [--activate=false] [-m MSG] [-y]` (cli/templatepush.go):
the client's version check (`GET /api/v2/buildinfo`, root.go InitClient), the organization
(`GET /api/v2/users/me/organizations`, then the one named by `-O`, or the only one: OrganizationContext),
the template by name (`GET /api/v2/organizations/{org}/templates/{name}`), the upload (`POST /api/v2/files`,
a tar), the version (`POST /api/v2/organizations/{org}/templateversions` with the template's id), the import
job followed as cliui.ProvisionerJob follows it (its log over the `?follow` WebSocket while
`GET /api/v2/templateversions/{id}` polls the job), the version once more, its resources for the preview
(`GET /api/v2/templateversions/{id}/resources`), and (unless `--activate=false`) the promotion
(`PATCH /api/v2/templates/{id}/versions`). A failed import is the command's error (the job's own), and the
version stays inactive. The real CLI also checks entitlements for its warnings (`GET /api/v2/entitlements`,
which the lab does not serve) and creates a template that does not exist (the lab serves only its own).

`coder templates versions promote -t <template> --template-version <name>` (cli/templateversions.go): the
version check, the organization, the template by name, the version by name
(`GET /api/v2/templates/{id}/versions/{name}`) and `PATCH /api/v2/templates/{id}/versions`.

`push_version` and `promote_version` are the same steps for programs (tests): they return the version's JSON.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from lab.template_source import pack, pack_directory

POLL_SECONDS = 0.1
IMPORT_TIMEOUT = 120.0


class TemplateCommandError(Exception):
    """What the real CLI prints after `error: `."""


async def _call(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with http.request(method, url, **kwargs) as response:
        try:
            body = await response.json(content_type=None)
        except ValueError:
            body = {"message": response.reason}
        if response.status >= 400:
            detail = f": {body['detail']}" if isinstance(body, dict) and body.get("detail") else ""
            message = body.get("message", response.reason) if isinstance(body, dict) else response.reason
            raise TemplateCommandError(f"{message}{detail}")
        return response.status, body


async def _organization(http: aiohttp.ClientSession, url: str, selected: str) -> Any:
    """cli/root.go OrganizationContext.Selected: the caller's organizations, then the one `-O` names (name or
    id), or the only one."""
    _, organizations = await _call(http, "GET", f"{url}/api/v2/users/me/organizations")
    if selected:
        found = [o for o in organizations if selected in (o["name"], o["id"])]
        if not found:
            valid = ", ".join(o["name"] for o in organizations)
            raise TemplateCommandError(
                f"organization {json.dumps(selected)} not found, are you sure you are a member of this organization? "
                f"Valid options for '--org=' are [{valid}]."
            )
        return found[0]
    if len(organizations) != 1:
        raise TemplateCommandError("must select an organization with --org=<org_name>.")
    return organizations[0]


async def _start(http: aiohttp.ClientSession, url: str, organization: str, name: str) -> tuple[Any, Any]:
    """What every template command does first: the version check, the organization, the template by name."""
    await _call(http, "GET", f"{url}/api/v2/buildinfo")
    org = await _organization(http, url, organization)
    try:
        _, template = await _call(http, "GET", f"{url}/api/v2/organizations/{org['id']}/templates/{quote(name)}")
    except TemplateCommandError as error:
        # The real CLI would create the template; the lab serves only its seeded ones.
        raise TemplateCommandError(f"template {name!r}: {error} (the lab cannot create templates)") from error
    return org, template


async def _follow_logs(http: aiohttp.ClientSession, url: str, version_id: str) -> list[str]:
    """The import's log over `GET /api/v2/templateversions/{id}/logs?follow&after=0`, until coderd closes it."""
    lines = []
    ws_url = f"{url}/api/v2/templateversions/{version_id}/logs?follow&after=0"
    async with http.ws_connect(ws_url.replace("http", "ws", 1)) as socket:
        async for message in socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            line = json.loads(message.data)
            lines.append(f"{line['stage']}: {line['output']}".rstrip(": "))
    return lines


async def _wait_for_import(http: aiohttp.ClientSession, url: str, version: Any) -> tuple[Any, list[str]]:
    """cliui.ProvisionerJob: the log followed while the job is fetched until it ends; then the version again."""
    logs = asyncio.create_task(_follow_logs(http, url, version["id"]))
    deadline = time.monotonic() + IMPORT_TIMEOUT
    try:
        while version["job"]["status"] in ("pending", "running", "canceling"):
            if time.monotonic() > deadline:
                raise TemplateCommandError(f"timed out waiting for the import of version {version['name']!r}")
            await asyncio.sleep(POLL_SECONDS)
            _, version = await _call(http, "GET", f"{url}/api/v2/templateversions/{version['id']}")
        try:
            lines = await asyncio.wait_for(logs, IMPORT_TIMEOUT)
        except aiohttp.ClientError:  # no WebSocket through this ingress: the log as a list instead
            _, found = await _call(http, "GET", f"{url}/api/v2/templateversions/{version['id']}/logs")
            lines = [f"{line['stage']}: {line['output']}".rstrip(": ") for line in found]
    finally:
        logs.cancel()
    _, version = await _call(http, "GET", f"{url}/api/v2/templateversions/{version['id']}")
    return version, lines


async def push(
    url: str,
    token: str,
    template_name: str,
    archive: bytes,
    name: str = "",
    message: str = "Uploaded from the CLI",
    activate: bool = True,
    organization: str = "",
) -> tuple[dict[str, Any], list[str]]:
    """Upload, create the version, wait for its import; (the version, its import log lines)."""
    url = url.rstrip("/")
    async with aiohttp.ClientSession(headers={"Coder-Session-Token": token}) as http:
        org, template = await _start(http, url, organization, template_name)
        _, upload = await _call(
            http, "POST", f"{url}/api/v2/files", data=archive, headers={"Content-Type": "application/x-tar"}
        )
        request = {
            "template_id": template["id"],
            "file_id": upload["hash"],
            "storage_method": "file",
            "provisioner": "terraform",
            "tags": {},
            "message": message,
        } | ({"name": name} if name else {})
        _, version = await _call(http, "POST", f"{url}/api/v2/organizations/{org['id']}/templateversions", json=request)
        version, lines = await _wait_for_import(http, url, version)
        if version["job"]["status"] != "succeeded":
            raise TemplateCommandError(version["job"].get("error") or f"job failed: {version['job']['status']}")
        await _call(http, "GET", f"{url}/api/v2/templateversions/{version['id']}/resources")  # the preview
        if activate:
            await _call(http, "PATCH", f"{url}/api/v2/templates/{template['id']}/versions", json={"id": version["id"]})
        return version, lines


async def promote(url: str, token: str, template_name: str, version_name: str, organization: str = "") -> Any:
    url = url.rstrip("/")
    async with aiohttp.ClientSession(headers={"Coder-Session-Token": token}) as http:
        _, template = await _start(http, url, organization, template_name)
        try:
            _, version = await _call(
                http, "GET", f"{url}/api/v2/templates/{template['id']}/versions/{quote(version_name)}"
            )
        except TemplateCommandError as error:
            raise TemplateCommandError(f"get template version by name: {error}") from error
        try:
            await _call(http, "PATCH", f"{url}/api/v2/templates/{template['id']}/versions", json={"id": version["id"]})
        except TemplateCommandError as error:
            raise TemplateCommandError(f"update active template version: {error}") from error
        return version


def push_version(
    env: Mapping[str, str], template: str, files: Mapping[str, str | bytes] | Path, name: str, activate: bool = False
) -> dict[str, Any]:
    """`coder templates push <template> --activate=false --name <name>` for programs: `files` is a directory or
    {path: content}; `env` holds CODER_URL and CODER_SESSION_TOKEN. Raises TemplateCommandError as the CLI fails."""
    archive = pack_directory(files) if isinstance(files, Path) else pack(files)
    version, _ = asyncio.run(
        push(env["CODER_URL"], env["CODER_SESSION_TOKEN"], template, archive, name, activate=activate)
    )
    return dict(version)


def promote_version(env: Mapping[str, str], template: str, name: str) -> dict[str, Any]:
    """`coder templates versions promote --template <template> --template-version <name>` for programs."""
    return dict(asyncio.run(promote(env["CODER_URL"], env["CODER_SESSION_TOKEN"], template, name)))


def push_command(url: str, token: str, args: Any) -> None:
    directory = Path(args.directory)
    if not directory.is_dir():
        raise TemplateCommandError(f"stat {directory}: no such directory")
    template = args.template or directory.resolve().name
    activate = str(args.activate).lower() in ("true", "1", "t", "yes")
    print(f"Uploading {json.dumps(str(directory))}...")
    version, lines = asyncio.run(
        push(url, token, template, pack_directory(directory), args.name, args.message, activate, args.org)
    )
    for line in lines:
        print(line)
    print(f"Version {version['name']} imported")
    print(f"Updated version at {time.strftime('%b %d %H:%M:%S')}!")


def promote_command(url: str, token: str, args: Any) -> None:
    asyncio.run(promote(url, token, args.template, args.template_version, args.org))
    version, template = json.dumps(args.template_version), json.dumps(args.template)
    print(f"Successfully promoted version {version} to active for template {template}")
