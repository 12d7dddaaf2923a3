"""The sweeper on both sides of its limits: the age threshold, the E2E branches only when E2E is set up,
the ledger's entries of another repository, and a removal that fails among others."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from workspace_spec import sweep
from workspace_spec.journal import Journal
from workspace_spec.naming import Namer

HOUR = 3600.0
REPO = "acme/e2e"


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


@dataclass
class FakeWorkspace:
    id: str
    name: str
    raw: dict[str, Any]


@dataclass
class Fakes:
    """The parts of World the sweeper uses, recording what it was asked to remove."""

    listed: list[FakeWorkspace] = field(default_factory=list)
    branches: list[tuple[str, Any]] = field(default_factory=list)
    e2e: str = ""  # what e2e_problem() says
    e2e_repo: str = REPO
    refuse: frozenset[str] = frozenset()
    removed: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)

    # World
    @property
    def namer(self) -> Namer:
        return Namer("spec", "abcdef")

    @property
    def settings(self) -> Fakes:
        return self

    @property
    def coder(self) -> Fakes:
        return self

    @property
    def workspaces(self) -> Any:  # world.workspaces (the manager), not Coder's list
        return _Manager(self)

    @property
    def pull_requests(self) -> Fakes:
        return self

    # Settings
    def e2e_problem(self) -> str:
        return self.e2e

    # CoderClient
    def workspaces_listed(self, query: str) -> list[FakeWorkspace]:
        self.queries.append(query)
        return self.listed

    # PullRequests
    def branches_with_prefix(self, prefix: str) -> list[tuple[str, Any]]:
        self.prefixes.append(prefix)
        return self.branches

    def remove_branch(self, branch: str) -> None:
        self._remove(f"branch {branch}")

    def close(self, number: int) -> None:
        self._remove(f"pr {number}")

    def _remove(self, what: str) -> None:
        if what in self.refuse:
            raise RuntimeError(f"refused {what}")
        self.removed.append(what)


class _Manager:
    """world.workspaces; world.coder.workspaces(query) is routed to Fakes.workspaces_listed."""

    def __init__(self, fakes: Fakes) -> None:
        self._fakes = fakes

    def __call__(self, query: str) -> list[FakeWorkspace]:
        return self._fakes.workspaces_listed(query)

    def remove(self, workspace_id: str) -> None:
        self._fakes._remove(f"workspace-id {workspace_id}")

    def remove_named(self, name: str) -> None:
        self._fakes._remove(f"workspace {name}")


def workspace(name: str, hours: float) -> FakeWorkspace:
    return FakeWorkspace(id=f"id-{name}", name=name, raw={"created_at": ago(hours)})


def test_only_what_is_at_least_as_old_as_the_threshold_is_found() -> None:
    world = Fakes(listed=[workspace("spec-aaaaaa-1", 3), workspace("spec-bbbbbb-1", 1)])
    found = sweep.find(world, older_than=2 * HOUR)  # type: ignore[arg-type]
    assert [leftover.name for leftover in found] == ["spec-aaaaaa-1"]
    assert world.queries == ["owner:me name:spec-"]
    found[0].remove()
    assert world.removed == ["workspace-id id-spec-aaaaaa-1"]  # by its id
    assert found[0].kind == "workspace" and 3 * HOUR - 60 < found[0].age_seconds < 3 * HOUR + 60
    assert [x.name for x in sweep.find(world, older_than=0)] == ["spec-aaaaaa-1", "spec-bbbbbb-1"]  # type: ignore[arg-type]


def test_branches_are_found_only_when_the_e2e_flow_is_set_up() -> None:
    old = datetime.now(UTC) - timedelta(hours=5)  # PyGithub's datetimes may come without a zone
    world = Fakes(branches=[("spec/abcdef-1", old.replace(tzinfo=None)), ("spec/abcdef-2", ago(0.5))])
    found = sweep.find(world, older_than=2 * HOUR)  # type: ignore[arg-type]
    assert [(x.kind, x.name) for x in found] == [("branch", "spec/abcdef-1")]
    assert world.prefixes == ["spec/"]
    assert 5 * HOUR - 60 < found[0].age_seconds < 5 * HOUR + 60
    found[0].remove()
    assert world.removed == ["branch spec/abcdef-1"]
    unset = Fakes(branches=world.branches, e2e="SPEC_E2E_REPO is not set")
    assert sweep.find(unset, older_than=0) == []  # type: ignore[arg-type]
    assert unset.prefixes == []


def test_a_dry_run_lists_and_removes_nothing() -> None:
    world = Fakes(listed=[workspace("spec-aaaaaa-1", 3)])
    handled, failed = sweep.sweep(world, older_than=HOUR, dry_run=True)  # type: ignore[arg-type]
    assert handled == ["workspace spec-aaaaaa-1 (3.0 h old)"] and failed == []
    assert world.removed == []


def test_a_failed_removal_is_reported_and_the_rest_still_removed() -> None:
    world = Fakes(
        listed=[workspace("spec-aaaaaa-1", 3), workspace("spec-aaaaaa-2", 3)],
        refuse=frozenset({"workspace-id id-spec-aaaaaa-1"}),
    )
    handled, failed = sweep.sweep(world, older_than=HOUR, dry_run=False)  # type: ignore[arg-type]
    assert handled == ["workspace spec-aaaaaa-2 (3.0 h old)"]
    assert failed == ["workspace spec-aaaaaa-1 (3.0 h old): refused workspace-id id-spec-aaaaaa-1"]
    assert world.removed == ["workspace-id id-spec-aaaaaa-2"]


def ledger(tmp_path: Path, *entries: tuple[str, str], name: str = "ledger-abcdef.jsonl") -> Path:
    journal = Journal(tmp_path / name)
    for kind, what in entries:
        journal.write("create", kind, what)
    return journal.path


def test_a_ledger_is_swept_newest_first_each_by_its_kind_and_then_goes(tmp_path: Path) -> None:
    path = ledger(tmp_path, ("workspace", "spec-abcdef-1"), ("branch", f"{REPO}:spec/abcdef-1"), ("pr", f"{REPO}#7"))
    world = Fakes()
    handled, failed = sweep.sweep_ledger(world, path, dry_run=False)  # type: ignore[arg-type]
    assert world.removed == ["pr 7", "branch spec/abcdef-1", "workspace spec-abcdef-1"]
    assert handled == [
        f"pr {REPO}#7 (in ledger-abcdef.jsonl)",
        f"branch {REPO}:spec/abcdef-1 (in ledger-abcdef.jsonl)",
        "workspace spec-abcdef-1 (in ledger-abcdef.jsonl)",
    ]
    assert failed == []
    assert not path.exists()


def test_a_dry_run_of_a_ledger_keeps_it_whole(tmp_path: Path) -> None:
    path = ledger(tmp_path, ("workspace", "spec-abcdef-1"))
    before = path.read_text()
    world = Fakes()
    handled, _ = sweep.sweep_ledger(world, path, dry_run=True)  # type: ignore[arg-type]
    assert handled == ["workspace spec-abcdef-1 (in ledger-abcdef.jsonl)"]
    assert world.removed == [] and path.read_text() == before


def test_ledger_entries_of_another_repository_are_refused_and_stay(tmp_path: Path) -> None:
    path = ledger(tmp_path, ("branch", "acme/product:spec/abcdef-1"), ("pr", "acme/product#3"))
    world = Fakes()
    handled, failed = sweep.sweep_ledger(world, path, dry_run=False)  # type: ignore[arg-type]
    assert handled == [] and world.removed == []
    assert len(failed) == 2
    assert failed[1] == (
        "branch acme/product:spec/abcdef-1 (in ledger-abcdef.jsonl): "
        f"not of the configured repository SPEC_E2E_REPO ({REPO})"
    )
    assert Journal(path).left() == [("branch", "acme/product:spec/abcdef-1"), ("pr", "acme/product#3")]
    unset = Fakes(e2e_repo="")
    _, failed = sweep.sweep_ledger(unset, path, dry_run=False)  # type: ignore[arg-type]
    assert failed[0].endswith("not of the configured repository SPEC_E2E_REPO (unset)")


def test_what_failed_stays_in_the_ledger_and_what_was_removed_is_marked(tmp_path: Path) -> None:
    path = ledger(tmp_path, ("workspace", "spec-abcdef-1"), ("workspace", "spec-abcdef-2"))
    world = Fakes(refuse=frozenset({"workspace spec-abcdef-1"}))
    handled, failed = sweep.sweep_ledger(world, path, dry_run=False)  # type: ignore[arg-type]
    assert handled == ["workspace spec-abcdef-2 (in ledger-abcdef.jsonl)"]
    assert failed == ["workspace spec-abcdef-1 (in ledger-abcdef.jsonl): refused workspace spec-abcdef-1"]
    assert Journal(path).left() == [("workspace", "spec-abcdef-1")]


def test_every_earlier_ledger_is_swept_but_the_runs_own(tmp_path: Path) -> None:
    first = ledger(tmp_path, ("workspace", "spec-aaaaaa-1"), name="ledger-aaaaaa.jsonl")
    second = ledger(tmp_path, ("workspace", "spec-bbbbbb-1"), name="ledger-bbbbbb.jsonl")
    own = ledger(tmp_path, ("workspace", "spec-cccccc-1"), name="ledger-cccccc.jsonl")
    ledger(tmp_path, ("workspace", "spec-dddddd-1"), name="other.jsonl")  # not a ledger's name
    world = Fakes(refuse=frozenset({"workspace spec-bbbbbb-1"}))
    handled, failed = sweep.sweep_ledgers(world, tmp_path, own)  # type: ignore[arg-type]
    assert world.removed == ["workspace spec-aaaaaa-1"]
    assert handled == ["workspace spec-aaaaaa-1 (in ledger-aaaaaa.jsonl)"]
    assert failed == ["workspace spec-bbbbbb-1 (in ledger-bbbbbb.jsonl): refused workspace spec-bbbbbb-1"]
    assert not first.exists() and second.exists() and own.exists()


@pytest.mark.parametrize("stamp", ["2020-01-01T00:00:00Z", "2020-01-01T00:00:00+00:00", "2020-01-01T00:00:00"])
def test_ages_read_every_form_of_a_timestamp_as_utc(stamp: str) -> None:
    expected = (datetime.now(UTC) - datetime(2020, 1, 1, tzinfo=UTC)).total_seconds()
    assert abs(sweep._age(stamp) - expected) < 5
    assert abs(sweep._age(datetime(2020, 1, 1)) - expected) < 5
