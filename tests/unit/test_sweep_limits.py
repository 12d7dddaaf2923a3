"""The sweeper past its first item: every leftover of a dry run is listed, a person's branch does not end the
search, an age equal to the threshold counts, and every earlier ledger's failures are reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_sweep_edges import HOUR, REPO, Fakes, ledger, workspace
from workspace_spec import sweep


def test_a_dry_run_lists_every_leftover() -> None:
    world = Fakes(listed=[workspace("spec-aaaaaa-1", 3), workspace("spec-aaaaaa-2", 4)])
    handled, failed = sweep.sweep(world, older_than=HOUR, dry_run=True)  # type: ignore[arg-type]
    assert handled == ["workspace spec-aaaaaa-1 (3.0 h old)", "workspace spec-aaaaaa-2 (4.0 h old)"]
    assert failed == [] and world.removed == []


def test_a_dry_run_of_a_ledger_lists_every_entry_newest_first(tmp_path: Path) -> None:
    path = ledger(tmp_path, ("workspace", "spec-abcdef-1"), ("pr", f"{REPO}#7"))
    world = Fakes()
    handled, failed = sweep.sweep_ledger(world, path, dry_run=True)  # type: ignore[arg-type]
    assert handled == [f"pr {REPO}#7 (in ledger-abcdef.jsonl)", "workspace spec-abcdef-1 (in ledger-abcdef.jsonl)"]
    assert failed == [] and world.removed == [] and path.exists()


def test_a_persons_branch_under_the_prefix_is_passed_over_and_the_search_goes_on() -> None:
    old = (datetime.now(UTC) - timedelta(hours=5)).isoformat()
    world = Fakes(branches=[("spec/fix-login", old), ("spec/abcdef-1", old)])
    found = sweep.find(world, older_than=HOUR)  # type: ignore[arg-type]
    assert [(leftover.kind, leftover.name) for leftover in found] == [("branch", "spec/abcdef-1")]


def test_a_leftover_exactly_as_old_as_the_threshold_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    moment = datetime(2026, 5, 17, 12, 0, tzinfo=UTC)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Frozen:  # type: ignore[override]
            frozen = cls.fromtimestamp(moment.timestamp(), UTC)
            return frozen if tz else frozen.replace(tzinfo=None)

    monkeypatch.setattr(sweep, "datetime", Frozen)
    two_hours_ago = (moment - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    world = Fakes(listed=[workspace("spec-aaaaaa-1", 0)])
    world.listed[0].raw["created_at"] = two_hours_ago
    assert [leftover.name for leftover in sweep.find(world, older_than=2 * HOUR)] == ["spec-aaaaaa-1"]  # type: ignore[arg-type]
    assert sweep.find(world, older_than=2 * HOUR + 1) == []  # type: ignore[arg-type]


def test_the_failures_of_every_earlier_ledger_are_reported(tmp_path: Path) -> None:
    ledger(tmp_path, ("workspace", "spec-aaaaaa-1"), name="ledger-aaaaaa.jsonl")
    ledger(tmp_path, ("workspace", "spec-bbbbbb-1"), name="ledger-bbbbbb.jsonl")
    world = Fakes(refuse=frozenset({"workspace spec-aaaaaa-1"}))
    handled, failed = sweep.sweep_ledgers(world, tmp_path, None)  # type: ignore[arg-type]
    assert handled == ["workspace spec-bbbbbb-1 (in ledger-bbbbbb.jsonl)"]
    assert failed == ["workspace spec-aaaaaa-1 (in ledger-aaaaaa.jsonl): refused workspace spec-aaaaaa-1"]


def test_a_branch_entry_names_its_repository_before_the_first_colon(tmp_path: Path) -> None:
    """Git refuses `:` in a branch name, so what follows the repository is passed to GitHub whole, and GitHub's
    answer decides; it is not read as another repository."""
    path = ledger(tmp_path, ("branch", f"{REPO}:spec/abcdef-1:x"))
    world = Fakes()
    handled, failed = sweep.sweep_ledger(world, path, dry_run=False)  # type: ignore[arg-type]
    assert failed == [] and world.removed == ["branch spec/abcdef-1:x"]
    assert handled == [f"branch {REPO}:spec/abcdef-1:x (in ledger-abcdef.jsonl)"]
