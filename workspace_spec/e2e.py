"""The developer workflow of spec 629 §1.2, driven inside a workspace: check out the bot-writable
repository, make a deterministic change (from the shell, or by Codex), commit, push a new branch and
open a pull request. The branch and the pull request enter the cleanup ledger the moment they exist."""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workspace_spec import ghcli, gitwork
from workspace_spec.coder_types import Workspace
from workspace_spec.errors import PlatformFailure
from workspace_spec.shell import shell_path
from workspace_spec.world import World

if TYPE_CHECKING:
    from workspace_spec.ssh import WorkspaceShell

CHANGED_FILE = "README.md"
CODEX_TIMEOUT = 300.0


class WorkflowFailure(PlatformFailure):
    """A step of the developer workflow failed inside the workspace; the message names the step."""


@dataclass(frozen=True)
class Proposal:
    branch: str
    line: str
    commit: str
    pull_number: int

    @property
    def changes(self) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
        """What the pull request should change: one added line in CHANGED_FILE, nothing removed."""
        return [(CHANGED_FILE, (self.line,), ())]


def scratch_dir(world: World, name: str) -> str:
    """A directory of this run inside the workspace's home, out of the way of the template's checkout."""
    return f"$HOME/workspace-spec/{world.namer.run_id}/{name}"


def link_problem(world: World, workspace: Workspace) -> str:
    """'' when git in the workspace can authenticate to GitHub as configured; else why not."""
    with world.shell(workspace) as shell:
        if world.settings.push_auth == "external-auth":
            return gitwork.external_auth_problem(shell)
        world.pull_requests.bot_login()  # raises with GitHub's answer when the token is not accepted
        return ""


@contextmanager
def credentials(world: World, shell: WorkspaceShell) -> Iterator[gitwork.Credentials]:
    if world.settings.push_auth == "external-auth":
        yield gitwork.via_external_auth()
    else:
        path = f"{scratch_dir(world, 'secrets')}/push-token"
        assert world.settings.github_token
        with gitwork.via_token_file(shell, world.settings.github_token.get_secret_value(), path) as found:
            yield found


def check_out(world: World, workspace: Workspace) -> str:
    """A fresh clone of the bot-writable repository, in a directory of its own."""
    settings = world.settings
    assert settings.e2e_repo
    directory = f"{scratch_dir(world, uuid.uuid4().hex[:8])}/{settings.e2e_repo.split('/')[1]}"
    with world.shell(workspace) as shell, credentials(world, shell) as creds:
        result = gitwork.clone(shell, creds, settings.e2e_repo_url, directory)
    if not result.ok:
        raise WorkflowFailure(f"cannot clone {settings.e2e_repo_url} in the workspace: {result.summary()}")
    return directory


def shell_change(shell: WorkspaceShell, directory: str, line: str) -> None:
    appended = gitwork.append_line(shell, directory, CHANGED_FILE, line)
    if not appended.ok:
        raise WorkflowFailure(f"cannot append to {CHANGED_FILE} in the workspace: {appended.summary()}")


def codex_change(shell: WorkspaceShell, directory: str, line: str) -> None:
    """Codex, non-interactively, with the workspace's own Codex configuration and credentials (§2.2).
    The workspace is the sandbox, so Codex's own sandbox and approvals are off for this run."""
    prompt = f"Append the line '{line}' to {CHANGED_FILE}. Change nothing else."
    result = shell.run(
        f"codex exec --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check -C {shell_path(directory)} "
        f"{shlex.quote(prompt)} </dev/null",
        timeout=CODEX_TIMEOUT,
    )
    if not result.ok:
        raise WorkflowFailure(f"codex exec failed in the workspace: {result.summary()}")
    changed = gitwork.changed_files(shell, directory)
    if not changed:
        answer = " | ".join(result.stdout.strip().splitlines()[-3:])
        raise WorkflowFailure(f"Codex made no change in the repository; its answer ended with: {answer!r}")


def propose(world: World, workspace: Workspace, directory: str, by_codex: bool) -> Proposal:
    """Branch, change README.md (from the shell, or by Codex), commit, push and open a pull request."""
    with world.shell(workspace) as shell:
        return _propose(world, workspace, shell, directory, by_codex)


def _propose(world: World, workspace: Workspace, shell: WorkspaceShell, directory: str, by_codex: bool) -> Proposal:
    settings, ledger = world.settings, world.ledger
    branch = world.namer.branch()
    line = f"workspace-spec {branch}: a deterministic change"
    started = gitwork.start_branch(shell, directory, branch)
    if not started.ok:
        raise WorkflowFailure(f"cannot create branch {branch} in the workspace: {started.summary()}")
    (codex_change if by_codex else shell_change)(shell, directory, line)
    author = (settings.git_author_name, settings.git_author_email)
    committed = gitwork.commit_all(shell, directory, f"README: {line}", author)
    if not committed.ok:
        raise WorkflowFailure(f"cannot commit the change in the workspace: {committed.summary()}")
    commit = gitwork.head(shell, directory)
    prs = world.pull_requests
    # In the ledger before the push: a push or a pull request whose answer is lost is still found by the
    # branch's name (removing the branch closes its pull requests first).
    ledger.register("branch", f"{settings.e2e_repo}:{branch}", "scenario", lambda: prs.remove_branch(branch))
    with credentials(world, shell) as creds:
        pushed = gitwork.push(shell, creds, directory, branch)
        if not pushed.ok:
            raise WorkflowFailure(f"git push of {branch} to {settings.e2e_repo} was rejected: {pushed.summary()}")
        pull = {
            "head": branch,
            "base": prs.default_branch(),
            "title": f"workspace-spec: {line}",
            "body": f"Opened from workspace {workspace.name}; closed by the suite.",
        }
        number = open_pull_request(world, shell, creds, directory, pull)
    ledger.register("pull request", f"{settings.e2e_repo}#{number}", "scenario", lambda: prs.close(number))
    return Proposal(branch, line, commit, number)


def stored_credentials(world: World, workspace: Workspace, directory: str) -> list[str]:
    """Where the checkout keeps a GitHub credential (none, when the workflow left it clean)."""
    with world.shell(workspace) as shell:
        return gitwork.stored_credentials(shell, directory)


def open_pull_request(
    world: World, shell: WorkspaceShell, creds: gitwork.Credentials, directory: str, pull: dict[str, str]
) -> int:
    """With the GitHub CLI in the workspace (the developer's way), or with the API from the runner."""
    settings = world.settings
    assert settings.e2e_repo
    if settings.pr_client == "api":
        return world.pull_requests.open(pull["head"], pull["title"], pull["body"])
    github = ghcli.GitHubHost.from_api_url(settings.github_api_url)
    opened = ghcli.create_pull_request(shell, creds, github, directory, settings.e2e_repo, pull)
    if opened.number is None:
        raise WorkflowFailure(
            f"`gh pr create` in the workspace did not open a pull request from {pull['head']} on "
            f"{settings.e2e_repo}: {opened.result.summary()}"
        )
    return opened.number
