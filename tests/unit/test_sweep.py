"""The sweeper's filters: it removes only what a run of the suite made (its names' pattern, not only their
prefix) and is older than the threshold; what a person made under the same prefix stays."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from workspace_spec import sweep
from workspace_spec.naming import Namer
from workspace_spec.settings import load_settings

DAY_AGO = datetime.now(UTC) - timedelta(days=1)
JUST_NOW = datetime.now(UTC) - timedelta(seconds=30)


@dataclass
class FakeWorld:
    """What the sweeper asks: Coder's workspaces whose name starts with the prefix (as `name:` filters), the
    E2E repository's branches with the prefix; `removed` records what it removed."""

    workspace_names: dict[str, datetime]
    branch_names: dict[str, datetime]
    namer: Namer = field(default_factory=lambda: Namer("spec"))
    settings: Any = field(default_factory=lambda: load_settings({"e2e_repo": "bot/sandbox", "github_token": "t" * 40}))
    removed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.coder = SimpleNamespace(workspaces=self._workspaces)
        self.workspaces = SimpleNamespace(remove=lambda workspace_id: self.removed.append(f"workspace {workspace_id}"))
        self.pull_requests = SimpleNamespace(
            branches_with_prefix=lambda prefix: [(b, t) for b, t in self.branch_names.items() if b.startswith(prefix)],
            remove_branch=lambda branch: self.removed.append(f"branch {branch}"),
        )

    def _workspaces(self, query: str) -> list[Any]:
        prefix = query.removeprefix("owner:me name:")
        return [
            SimpleNamespace(id=name, name=name, raw={"created_at": created.isoformat()})
            for name, created in self.workspace_names.items()
            if name.startswith(prefix)
        ]


def test_only_the_suites_old_workspaces_and_branches_are_swept() -> None:
    world = FakeWorld(
        workspace_names={
            "spec-abc123-1": DAY_AGO,  # an old run's
            "spec-notes": DAY_AGO,  # a developer's, with the same prefix
            "spec-abc123-notes": DAY_AGO,
            "spec-zzz999-2": JUST_NOW,  # a run in progress
        },
        branch_names={
            "spec/abc123-2": DAY_AGO,
            "spec/experiment": DAY_AGO,  # a person's branch under the prefix
            "spec/abc123-2-fix": DAY_AGO,
            "spec/zzz999-3": JUST_NOW,
        },
    )
    handled, failed = sweep.sweep(world, older_than=3600, dry_run=False)  # type: ignore[arg-type]
    assert failed == []
    assert world.removed == ["workspace spec-abc123-1", "branch spec/abc123-2"]
    assert [line.split(" (")[0] for line in handled] == ["workspace spec-abc123-1", "branch spec/abc123-2"]


def test_a_dry_run_lists_the_same_and_removes_nothing() -> None:
    world = FakeWorld({"spec-abc123-1": DAY_AGO, "spec-notes": DAY_AGO}, {"spec/experiment": DAY_AGO})
    handled, _ = sweep.sweep(world, older_than=3600, dry_run=True)  # type: ignore[arg-type]
    assert [line.split(" (")[0] for line in handled] == ["workspace spec-abc123-1"]
    assert world.removed == []
