"""The GitHub CLI inside the workspace: it opens the pull request, as a developer does (spec 629 §1.2
step 6). Its token comes from the same command git's credential helper runs, into one variable of that
one command: never on a command line, in a URL or in gh's configuration."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from workspace_spec.gitwork import Credentials, in_repo
from workspace_spec.shell import CommandResult

if TYPE_CHECKING:
    from workspace_spec.ssh import WorkspaceShell

PUBLIC_API = "api.github.com"
PULL_URL = re.compile(r"/pull/(\d+)\s*$")


@dataclass(frozen=True)
class GitHubHost:
    """Where gh talks: github.com (token in GH_TOKEN) or an Enterprise host (GH_HOST, GH_ENTERPRISE_TOKEN)."""

    host: str
    token_variable: str

    @classmethod
    def from_api_url(cls, api_url: str) -> GitHubHost:
        netloc = urlsplit(api_url).netloc
        if netloc == PUBLIC_API:
            return cls("github.com", "GH_TOKEN")
        return cls(netloc, "GH_ENTERPRISE_TOKEN")  # https://HOST[:port]/api/v3, as gh derives it

    def environment(self, credentials: Credentials) -> str:
        """Shell assignments for one command: the token is read by the shell, not passed as an argument."""
        assignments = ["GH_PROMPT_DISABLED=1", "GH_NO_UPDATE_NOTIFIER=1", f"GH_HOST={shlex.quote(self.host)}"]
        assignments.append(f'{self.token_variable}="$({credentials.token_command})"')
        return " ".join(assignments)


@dataclass(frozen=True)
class Opened:
    number: int | None
    result: CommandResult


def create_pull_request(
    shell: WorkspaceShell,
    credentials: Credentials,
    github: GitHubHost,
    directory: str,
    repository: str,
    pull: dict[str, str],
) -> Opened:
    """`gh pr create` for an already pushed branch; `pull` has head, base, title and body.
    gh prints the new pull request's URL; its number comes from there."""
    # --repo with the host: gh matches git remotes to GH_HOST without their port, so it would not
    # recognise a checkout of an Enterprise host that has one.
    arguments = ["--repo", f"{github.host}/{repository}"]
    for option in ("head", "base", "title", "body"):
        arguments += [f"--{option}", pull[option]]
    command = f"{github.environment(credentials)} gh pr create {shlex.join(arguments)}"
    result = shell.run(in_repo(directory, command), timeout=120)
    match = PULL_URL.search(result.stdout.strip()) if result.ok else None
    return Opened(int(match.group(1)) if match else None, result)
