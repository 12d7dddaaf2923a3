"""The developer workflow's bookkeeping: the branch is in the cleanup ledger before the push, so a push that
lands and then reports a failure (a proxy's 502 after the refs were updated) still leaves nothing behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from workspace_spec import e2e
from workspace_spec.cleanup import Ledger
from workspace_spec.naming import Namer
from workspace_spec.settings import load_settings
from workspace_spec.shell import CommandResult


@dataclass
class Shell:
    """The workspace's shell: every command succeeds but the push, which reaches GitHub and then fails."""

    pushed: list[str] = field(default_factory=list)

    def run(self, command: str, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        if " push --quiet origin " in command:
            self.pushed.append(command.rsplit("refs/heads/", 1)[1].rstrip("'"))
            return CommandResult(command, 1, "", "error: RPC failed; HTTP 502 curl 22 The requested URL returned error")
        return CommandResult(command, 0, "c0ffee\n" if "rev-parse" in command else "", "")


@dataclass
class PullRequests:
    removed: list[str] = field(default_factory=list)

    def remove_branch(self, branch: str) -> None:
        self.removed.append(branch)

    def default_branch(self) -> str:
        return "main"


def test_a_push_that_landed_and_then_failed_leaves_its_branch_in_the_ledger() -> None:
    ledger, prs, shell = Ledger(), PullRequests(), Shell()
    settings = load_settings({"e2e_repo": "bots/sandbox", "github_token": "t" * 40})
    world = SimpleNamespace(settings=settings, ledger=ledger, namer=Namer("spec"), pull_requests=prs)
    workspace = SimpleNamespace(name="spec-abc123-1")
    with pytest.raises(e2e.WorkflowFailure, match="was rejected: exit 1"):
        e2e._propose(world, workspace, shell, "$HOME/repo", by_codex=False)  # type: ignore[arg-type]
    assert len(shell.pushed) == 1, "the push was not sent"
    assert [entry.name for entry in ledger.pending("scenario")] == [f"bots/sandbox:{shell.pushed[0]}"]
    ledger.release("scenario")
    assert prs.removed == shell.pushed
