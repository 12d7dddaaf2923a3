"""Finds and removes what runs of the suite left behind when they could not clean up (SIGKILL, a lost
CI runner): workspaces named `<prefix>-<run>-<n>` on Coder, and branches `<prefix>/<run>-<n>` with their
pull requests on the bot-writable repository. Only what is older than a threshold is touched, so runs
in progress are left alone.

    python -m workspace_spec.sweep [--dry-run] [--older-than 2h]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from workspace_spec.settings import SettingsError, load_settings, parse_duration
from workspace_spec.target import Target
from workspace_spec.world import PreflightError, World


@dataclass(frozen=True)
class Leftover:
    kind: str
    name: str
    age_seconds: float
    remove: Callable[[], None]

    def describe(self) -> str:
        return f"{self.kind} {self.name} ({self.age_seconds / 3600:.1f} h old)"


def _age(timestamp: datetime | str) -> float:
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00")) if isinstance(timestamp, str) else timestamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (datetime.now(UTC) - moment).total_seconds()


def find(world: World, older_than: float) -> list[Leftover]:
    namer = world.namer
    found = [
        Leftover("workspace", ws.name, _age(ws.raw["created_at"]), lambda ws=ws: world.workspaces.remove(ws.id))
        for ws in world.coder.workspaces(f"owner:me name:{namer.prefix}-")
        if namer.owns(ws.name)
    ]
    if not world.settings.e2e_problem():
        prs = world.pull_requests
        for branch, committed_at in prs.branches_with_prefix(namer.branch_prefix):
            found.append(Leftover("branch", branch, _age(committed_at), lambda b=branch: prs.remove_branch(b)))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workspace_spec.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    parser.add_argument("--older-than", default="2h", help="only what is older than this (default 2h)")
    options = parser.parse_args(argv)
    try:
        older_than = parse_duration(options.older_than)
        settings = load_settings()
        if not settings.is_live:
            raise SettingsError("the sweeper cleans a deployment: set CODER_URL and CODER_SESSION_TOKEN")
        world = World(Target("live", settings))
        world.preflight()
    except (ValueError, SettingsError, PreflightError) as error:
        print(f"sweep: {error}", file=sys.stderr)
        return 2
    try:
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
