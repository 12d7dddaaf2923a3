"""Finds and removes what runs of the suite left behind when they could not clean up (SIGKILL, a lost
CI runner): workspaces named `<prefix>-<run>-<n>` on Coder, and branches `<prefix>/<run>-<n>` with their
pull requests on the bot-writable repository. Only what is older than a threshold is touched, so runs
in progress are left alone.

    python -m workspace_spec.sweep [--dry-run] [--older-than 2h]
    python -m workspace_spec.sweep --ledger reports/ledger-<run>.jsonl   exactly what that run left
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from workspace_spec.errors import SuiteRefused
from workspace_spec.journal import PATTERN, Journal
from workspace_spec.settings import SettingsError, load_settings, parse_duration
from workspace_spec.target import Target
from workspace_spec.world import World


@dataclass(frozen=True)
class Leftover:
    kind: str
    name: str
    age_seconds: float
    remove: Callable[[], None]

    def describe(self) -> str:
        return f"{self.kind} {self.name} ({self.age_seconds / 3600:.1f} h old)"


def _age(timestamp: datetime | str) -> float:
    moment = datetime.fromisoformat(timestamp) if isinstance(timestamp, str) else timestamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (datetime.now(UTC) - moment).total_seconds()


def find(world: World, older_than: float) -> list[Leftover]:
    namer = world.namer
    found = [
        Leftover("workspace", ws.name, _age(ws.raw["created_at"]), partial(world.workspaces.remove, ws.id))
        for ws in world.coder.workspaces(f"owner:me name:{namer.prefix}-")
        if namer.owns(ws.name)
    ]
    if not world.settings.e2e_problem():
        prs = world.pull_requests
        for branch, committed_at in prs.branches_with_prefix(namer.branch_prefix):
            if not namer.owns_branch(branch):
                continue  # a person's branch under the same prefix
            found.append(Leftover("branch", branch, _age(committed_at), partial(prs.remove_branch, branch)))
    return [leftover for leftover in found if leftover.age_seconds >= older_than]


def sweep(world: World, older_than: float, dry_run: bool) -> tuple[list[str], list[str]]:
    """Remove (or with dry_run, only list) the leftovers; returns what was handled and what failed."""
    handled, failed = [], []
    for leftover in find(world, older_than):
        if dry_run:
            handled.append(leftover.describe())
            continue
        try:
            leftover.remove()
        except Exception as error:  # noqa: BLE001 - report and go on with the rest
            failed.append(f"{leftover.describe()}: {error}")
        else:
            handled.append(leftover.describe())
    return handled, failed


def _remover(world: World, kind: str, name: str) -> Callable[[], None]:
    """How to remove one ledger entry: workspaces by name, branches and pull requests of the E2E repository."""
    if kind == "workspace":
        return lambda: world.workspaces.remove_named(name)
    repository, _, rest = name.partition(":" if kind == "branch" else "#")
    if repository != world.settings.e2e_repo:
        raise ValueError(f"not of the configured repository SPEC_E2E_REPO ({world.settings.e2e_repo or 'unset'})")
    prs = world.pull_requests
    if kind == "branch":
        return lambda: prs.remove_branch(rest)
    return lambda: prs.close(int(rest))


def sweep_ledger(world: World, path: Path, dry_run: bool) -> tuple[list[str], list[str]]:
    """Remove (or list) what a run's ledger file says it left, newest first, marking each removal in the
    file; the file goes once nothing is left."""
    ledger = Journal(path)
    handled, failed = [], []
    for kind, name in reversed(ledger.left()):
        what = f"{kind} {name} (in {path.name})"
        if dry_run:
            handled.append(what)
            continue
        try:
            _remover(world, kind, name)()
        except Exception as error:  # noqa: BLE001 - report and go on with the rest
            failed.append(f"{what}: {error}")
        else:
            ledger.write("removed", kind, name)
            handled.append(what)
    if not dry_run:
        ledger.close_if_done()
    return handled, failed


def sweep_ledgers(world: World, directory: Path, own: Path | None) -> tuple[list[str], list[str]]:
    """Every ledger an earlier run left in `directory` (not this run's own `own`)."""
    handled, failed = [], []
    for path in sorted(directory.glob(PATTERN)):
        if path != own:
            done, not_done = sweep_ledger(world, path, dry_run=False)
            handled += done
            failed += not_done
    return handled, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workspace_spec.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    parser.add_argument("--older-than", default="2h", help="only what is older than this (default 2h)")
    parser.add_argument("--ledger", type=Path, help="remove exactly what this run's ledger file says is left")
    options = parser.parse_args(argv)
    try:
        older_than = parse_duration(options.older_than)
        if options.ledger is not None and not options.ledger.is_file():
            raise ValueError(f"no ledger file {options.ledger}")
        settings = load_settings()
        if not settings.is_live:
            raise SettingsError("the sweeper cleans a deployment: set CODER_URL and CODER_SESSION_TOKEN")
        world = World(Target("live", settings))
        world.preflight()
    except (ValueError, SuiteRefused) as error:
        print(f"sweep: {error}", file=sys.stderr)
        return 2
    try:
        if options.ledger is not None:
            handled, failed = sweep_ledger(world, options.ledger, options.dry_run)
        else:
            handled, failed = sweep(world, older_than, options.dry_run)
    finally:
        world.close()
    verb = "would remove" if options.dry_run else "removed"
    for item in handled:
        print(f"{verb}: {item}")
    for item in failed:
        print(f"NOT REMOVED: {item}", file=sys.stderr)
    print(f"sweep: {len(handled)} {verb}, {len(failed)} not removed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
