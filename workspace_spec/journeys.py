"""What a scenario does to a workspace of its own, run by the plan as soon as the workspace is usable
(workspace_spec.plan): stop and start it (spec 629 §1.1 check 5), delete it (check 6). Each records the
outcome of every step, which the scenario's steps then wait for and judge; a failure is raised in the step
that waits for it, as if the step had done the work itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field

from workspace_spec import persistence
from workspace_spec.coder_types import Workspace
from workspace_spec.kube import NamespaceObjects
from workspace_spec.plan import Journey, Need
from workspace_spec.shell import CommandResult
from workspace_spec.world import World

STOP_AND_START, DELETE = "stop-start", "delete"


@dataclass(frozen=True)
class Marked:
    marker: persistence.Marker
    written: CommandResult
    before: NamespaceObjects  # the namespace's objects while it ran, the marker written


@dataclass(frozen=True)
class Restarted:
    workspace: Workspace  # started again, usable
    during: NamespaceObjects  # the namespace's objects once its pods were gone


@dataclass
class StopAndStart:
    """Write a marker into the volume, stop, look at the namespace, start until usable, read the marker."""

    world: World
    builds: int = 3  # stop, start, and the delete once it is done
    marked: Future[Marked] = field(default_factory=Future)
    restarted: Future[Restarted] = field(default_factory=Future)
    reread: Future[CommandResult] = field(default_factory=Future)

    def run(self, workspace: Workspace, still_going: Callable[[str], None]) -> bool:
        world = self.world
        marker, written = persistence.write_marker(world, workspace)
        marked = Marked(marker, written, persistence.namespace_objects(world, workspace))
        self.marked.set_result(marked)
        if not written.ok:
            return False  # the scenario fails at its marker: nothing more to see
        still_going(f"{workspace.name} is not stopped")
        started, during = persistence.stop_and_start(world, workspace)
        self.restarted.set_result(Restarted(started, during))
        still_going(f"the marker in {workspace.name} is not read")
        read = persistence.read_marker(world, started, marker)
        self.reread.set_result(read)
        kept = not persistence.stop_changes(workspace, marked.before, during) and not during.pods
        return kept and not persistence.marker_changes(marker, read, workspace.name)

    def fail(self, error: BaseException) -> None:
        for outcome in (self.marked, self.restarted, self.reread):
            if not outcome.done():
                outcome.set_exception(error)


@dataclass
class Deletion:
    """Delete the workspace until Coder no longer serves it."""

    world: World
    builds: int = 1
    deleted: Future[Workspace] = field(default_factory=Future)

    def run(self, workspace: Workspace, still_going: Callable[[str], None]) -> bool:
        self.world.workspaces.delete(workspace)
        self.deleted.set_result(workspace)
        return False  # deleted already (or left in the ledger when Coder still serves it)

    def fail(self, error: BaseException) -> None:
        if not self.deleted.done():
            self.deleted.set_exception(error)


def catalogue(world: World) -> Mapping[str, Callable[[], Journey]]:
    """The journeys by the name a scenario's steps give them (steps/support/selection.py)."""
    return {STOP_AND_START: lambda: StopAndStart(world), DELETE: lambda: Deletion(world)}


def planned_stop_and_start(world: World, need: Need) -> StopAndStart:
    """The stop/start journey the plan runs for the scenario's own workspace."""
    journey = world.plan.journey(need)
    if not isinstance(journey, StopAndStart):
        raise LookupError(f"the plan runs {type(journey).__name__} for {need.key}, not a stop and start")
    return journey


def planned_deletion(world: World, need: Need) -> Deletion:
    """The deletion the plan runs for the scenario's own workspace."""
    journey = world.plan.journey(need)
    if not isinstance(journey, Deletion):
        raise LookupError(f"the plan runs {type(journey).__name__} for {need.key}, not a deletion")
    return journey
