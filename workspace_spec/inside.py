"""What the suite looks at inside a workspace, over its SSH shell, as a developer in its terminal would."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from workspace_spec import codeserver
from workspace_spec.coder_types import Workspace
from workspace_spec.errors import TemplateChoice
from workspace_spec.secrets import scrub
from workspace_spec.shell import CommandResult, shell_path
from workspace_spec.world import World

if TYPE_CHECKING:
    from workspace_spec.ssh import WorkspaceShell


@dataclass(frozen=True)
class Checkout:
    is_work_tree: bool
    origin: str  # without any credentials
    problem: str


def public_url(url: str) -> str:
    """A git remote without user info: remotes can carry tokens, reports must not."""
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return parts._replace(netloc=netloc).geturl()
    return re.sub(r"^[^@/]+@", "", url)  # scp-like git@github.com:owner/repo


def same_repository(left: str, right: str) -> bool:
    """https://github.com/o/r.git, git@github.com:o/r and https://github.com/o/r name one repository."""

    def key(url: str) -> str:
        url = public_url(url).lower()
        url = url.split("://", 1)[1] if "://" in url else url.replace(":", "/", 1)  # scp-like host:path
        return url.rstrip("/").removesuffix(".git")

    return key(left) == key(right)


def checkout(world: World, workspace: Workspace) -> Checkout:
    """The repository checkout the template promises (SPEC_REPO_DIR)."""
    where = shell_path(world.settings.repo_dir)
    with world.shell(workspace) as shell:
        # A work tree with its origin and a commit checked out (a clone that never finished has none).
        result = shell.run(
            f"cd {where} && git rev-parse --is-inside-work-tree && git remote get-url origin "
            "&& git rev-parse --verify --quiet HEAD >/dev/null"
        )
    lines = result.stdout.strip().splitlines()
    if not result.ok or len(lines) < 2:
        return Checkout(False, "", result.summary())
    return Checkout(lines[0] == "true", public_url(lines[1]), "")


def tool_versions(world: World, workspace: Workspace, tools: list[str]) -> dict[str, CommandResult]:
    """Each required tool's `--version`, run as the workspace user's shell finds it: the tools named,
    then the deployment's mandatory ones (SPEC_TOOLS), each once."""
    required = list(dict.fromkeys(tools + world.settings.tools))
    with world.shell(workspace) as shell:
        return {
            tool: shell.run(f"command -v {shlex.quote(tool)} >/dev/null && {shlex.quote(tool)} --version")
            for tool in required
        }


def code_server_health(world: World, workspace: Workspace) -> codeserver.Health:
    """code-server's health on localhost, at the port of the app's own health check URL (SPEC_CODE_SERVER_PORT
    where the template declares none)."""
    slug = world.settings.app_slug
    app = workspace.app(slug, world.settings.agent)
    port = codeserver.health_port(app.healthcheck_url if app else None) or world.settings.code_server_port
    if not port:
        raise TemplateChoice(
            f"app {slug} declares no health check URL (the template's choice), so code-server's port inside the "
            "workspace is unknown: give the template's coder_app a healthcheck url, or set SPEC_CODE_SERVER_PORT"
        )
    with world.shell(workspace) as shell:
        return codeserver.inside(shell, port)


RECORD_MARK = "---extensions.json---"


def installed_extensions(world: World, workspace: Workspace) -> list[str]:
    """Extension ids (publisher.name) code-server has installed; the same check live and in the lab."""
    where = shell_path(world.settings.extensions_dir)
    with world.shell(workspace) as shell:
        result = shell.run(f"cd {where} 2>/dev/null && ls -1 && echo {RECORD_MARK} && cat extensions.json || true")
    listing, _, record = result.stdout.partition(RECORD_MARK)
    return parse_extensions(listing.split(), record)


def parse_extensions(folders: list[str], record: str) -> list[str]:
    """code-server's own record of its extensions, `extensions.json` in its extensions directory (VS Code's
    ExtensionsProfileScannerService; written by `--install-extension` and by the Marketplace alike): an entry
    counts when its folder is there too. Without a readable record (older code-server), the folders, named
    <publisher>.<name>-<version>[-<platform>]."""
    try:
        entries = json.loads(record)
    except ValueError:
        entries = None
    if isinstance(entries, list):
        present = set(folders)
        ids = [
            str(entry["identifier"]["id"]).lower()
            for entry in entries
            if isinstance(entry, dict)
            and isinstance(entry.get("identifier"), dict)
            and entry["identifier"].get("id")
            and _folder(entry) in present
        ]
        return sorted(set(ids))
    ids = []
    for entry in folders:
        match = re.match(r"^([a-z0-9-]+\.[a-z0-9-]+)-\d", entry, re.IGNORECASE)
        if match:
            ids.append(match.group(1).lower())
    return sorted(set(ids))


def _folder(entry: dict[str, Any]) -> str:
    """An entry's folder: relativeLocation, or (older records) the last part of its location's path."""
    location = entry.get("location")
    path = location.get("path", "") if isinstance(location, dict) else ""
    return str(entry.get("relativeLocation") or str(path).rstrip("/").rpartition("/")[2])


def missing_extensions(installed: list[str], expected: list[str]) -> list[str]:
    """The expected extensions that are not installed (ids compare without regard to case)."""
    return [extension for extension in expected if extension.lower() not in installed]


def broken_tools(results: dict[str, CommandResult]) -> list[str]:
    """Each tool that did not answer with its version, with what happened instead."""
    return [f"{tool} ({result.summary()})" for tool, result in results.items() if not result.ok]


def describe_versions(results: dict[str, CommandResult]) -> str:
    """One line per tool: the first line of its --version, or why it did not answer."""
    lines = []
    for tool, result in results.items():
        first = result.stdout.strip().splitlines()[0] if result.ok and result.stdout.strip() else result.summary()
        lines.append(f"{tool}: {first}")
    return scrub("\n".join(lines))  # printed and attached: a tool may echo a token


def write_file(shell: WorkspaceShell, directory: str, name: str, content: str) -> CommandResult:
    path = f"{directory.rstrip('/')}/{name}"
    return shell.run(f"printf '%s' {shlex.quote(content)} > {shell_path(path)}")


def read_file(shell: WorkspaceShell, directory: str, name: str) -> CommandResult:
    path = f"{directory.rstrip('/')}/{name}"
    return shell.run(f"cat {shell_path(path)}")
