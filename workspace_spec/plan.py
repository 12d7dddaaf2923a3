"""The run's workspace plan: which workspaces the selected scenarios need, built at once in the background.

A live build takes minutes, so the run knows before its first scenario what it needs: one shared workspace
per template for every scenario that only reads (its app, its checkout, its tools, its auto-stop), and a
workspace of its own for each scenario that changes one (stop and start, delete). All of them are created
right after preflight, at most `max_parallel_builds` builds at a time (Coder's built-in provisioner runs
3 by default; more would only queue), and each then goes on to agent readiness and app health by itself.
Scenarios wait for the stage they need. A failed build fails every scenario that needs that workspace at
once, with the platform's message, is never built again, and is removed once the first of them has
collected its diagnostics.

What a scenario does to a workspace of its own (stop and start it, delete it) is a journey: the plan runs
it as soon as the workspace is usable, instead of when behave reaches the scenario, since behave runs
scenarios one after another and the stop/start chain is the longest path of the run. The scenario's steps
then wait for what the journey recorded. The workspace that goes furthest gets a build slot first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from workspace_spec.coder_types import Workspace
from workspace_spec.errors import PlatformFailure
from workspace_spec.timings import Timings
from workspace_spec.workspaces import Workspaces

log = logging.getLogger(__name__)
# How long a stopping run waits for a create already sent, so that it enters the cleanup ledger.
CREATE_SETTLE_SECONDS = 30.0
# Builds that follow a shared workspace's: its readers wait for it, then it is deleted. Ranks it between a
# journey that stops, starts and deletes (3) and one that only deletes (1).
SHARED_RANK = 2
T = TypeVar("T")


class Journey(Protocol):
    """What a scenario does to its own workspace, run by the plan once the workspace is usable."""

    builds: int  # the builds it runs after the create: a longer journey gets a build slot first

    def run(self, workspace: Workspace, still_going: Callable[[str], None]) -> bool:
        """Record each step's outcome for the scenario; True when the workspace may go now (every check
        the journey recorded passed: a failing one keeps it for the scenario's diagnostics)."""
        ...

    def fail(self, error: BaseException) -> None:
        """The workspace never became usable, or the journey broke: every outcome still awaited is this."""
        ...


@dataclass(frozen=True)
class Need:
    """A workspace a scenario needs: the template's shared one, or one of its own (`owner` names it)."""

    template: str
    owner: str = ""  # the scenario that changes it; '' for the template's shared, read-only workspace
    journey: str = ""  # what the owner does to it, run by the plan (Journey); not part of its key

    @property
    def key(self) -> str:
        return f"{self.template}#{self.owner}" if self.owner else self.template


@dataclass
class Planned:
    """One planned workspace and the stages it reaches: created, built, agent ready, usable (app healthy)."""

    need: Need
    users: set[str] = field(default_factory=set)  # the scenarios that still need it
    created: Future[Workspace] = field(default_factory=Future)
    built: Future[Workspace] = field(default_factory=Future)
    ready: Future[Workspace] = field(default_factory=Future)
    usable: Future[Workspace] = field(default_factory=Future)
    journey: Journey | None = None
    retired: bool = False

    @property
    def rank(self) -> int:
        if self.journey is not None:
            return self.journey.builds
        return 0 if self.need.owner else SHARED_RANK

    def stages(self) -> tuple[Future[Workspace], ...]:
        return self.created, self.built, self.ready, self.usable


class PlanStopped(Exception):
    """The run is ending (a signal, or its end): no workspace is created any more."""


class CreateGate:
    """Workspace creates in flight, counted so that a run that stops waits for those already sent (they must be in
    the ledger, and findable by name, before it removes everything); once it stops, no create passes."""

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._creating = 0
        self._lock = threading.Condition()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def still_going(self, what: str) -> None:
        """Raise PlanStopped, saying `what` no longer happens, once the run stops."""
        if self._stopping.is_set():
            raise PlanStopped(f"the run is ending: {what}")

    @contextmanager
    def creating(self) -> Iterator[None]:
        """Around one create request: refused once the run stops, awaited by `stop` while it is sent."""
        with self._lock:
            self.still_going("the workspace was not created")
            self._creating += 1
        try:
            yield
        finally:
            with self._lock:
                self._creating -= 1
                self._lock.notify_all()

    def stop(self) -> None:
        """No new creates; wait (up to CREATE_SETTLE_SECONDS) for those already sent."""
        self._stopping.set()
        with self._lock:
            self._lock.wait_for(lambda: self._creating == 0, timeout=CREATE_SETTLE_SECONDS)


class Plan:
    def __init__(self, workspaces: Workspaces, max_parallel_builds: int, timings: Timings | None = None) -> None:
        self.workspaces = workspaces
        self.timings = timings or Timings()
        self.planned: dict[str, Planned] = {}
        self._builds = threading.Semaphore(max_parallel_builds)
        self._gate = CreateGate()
        self._lock = threading.Lock()
        self._retiring: list[threading.Thread] = []

    def start(self, needs: dict[str, list[Need]], journeys: Mapping[str, Callable[[], Journey]] | None = None) -> None:
        """Begin every workspace the scenarios (by key) need, in the background, in order of the builds that
        follow: the stop/start chain first, then the shared ones most scenarios read, then the rest."""
        for scenario, wanted in needs.items():
            for need in wanted:
                planned = self.planned.setdefault(need.key, Planned(need))
                planned.users.add(scenario)
                if need.journey and planned.journey is None:
                    planned.journey = (journeys or {})[need.journey]()
        ordered = sorted(self.planned.values(), key=lambda p: -p.rank)
        threading.Thread(target=self._dispatch, args=(ordered,), name="plan", daemon=True).start()

    def journey(self, need: Need) -> Journey:
        journey = self.get(need).journey
        if journey is None:
            raise LookupError(f"no journey was planned for {need.key}: the plan misses the step that names it")
        return journey

    def get(self, need: Need) -> Planned:
        planned = self.planned.get(need.key)
        if planned is None:
            raise LookupError(f"no workspace was planned for {need.key}: the plan misses a step that needs one")
        return planned

    # -- what scenarios wait for ----------------------------------------------------------------
    def created(self, need: Need) -> Workspace:
        return awaited(self.get(need).created)

    def built(self, need: Need) -> Workspace:
        return awaited(self.get(need).built)

    def ready(self, need: Need) -> Workspace:
        return awaited(self.get(need).ready)

    def usable(self, need: Need) -> Workspace:
        return awaited(self.get(need).usable)

    def scenario_done(self, scenario: str) -> None:
        """Remove, in the background, each workspace that no scenario still to come needs (a live delete
        takes minutes: it overlaps with the rest of the run instead of waiting for its end)."""
        for planned in self.planned.values():
            if scenario in planned.users:
                planned.users.discard(scenario)
                if not planned.users or self._failed(planned):
                    self._retire(planned)

    def _failed(self, planned: Planned) -> bool:
        """Never usable, so never used again: it goes once the first scenario that needed it has collected
        its diagnostics (unless failed workspaces are kept, SPEC_KEEP_ON_FAILURE)."""
        stage = planned.usable
        if not stage.done() or self.workspaces.settings.keep_on_failure:
            return False
        error = stage.exception()
        return error is not None and not isinstance(error, PlanStopped)

    def created_for(self, scenario: str) -> list[Workspace]:
        """The workspaces created for a scenario and still there (a failed one's diagnostics look at them:
        the first scenario that fails for a workspace examines it, then it is removed)."""
        return [
            planned.created.result()
            for planned in self.planned.values()
            if scenario in planned.users
            and not planned.retired
            and planned.created.done()
            and not planned.created.exception()
        ]

    def _retire(self, planned: Planned) -> None:
        """Remove the workspace in the background, once (a journey done with it, its last scenario, a failed
        build); one whose create failed has nothing to remove here (the ledger finds it by name)."""
        with self._lock:
            if planned.retired or not planned.created.done() or planned.created.exception():
                return
            planned.retired = True
            name = planned.created.result().name
            thread = threading.Thread(
                target=self.workspaces.ledger.release_named, args=(name,), name=f"retire {name}", daemon=True
            )
            self._retiring.append(thread)
        thread.start()

    def stop(self) -> None:
        """No new creates; wait for those already sent, so they are in the ledger before cleanup, and for
        the removals under way."""
        self.workspaces.ledger.ending = True  # the run's end has begun: a further signal waits for it (Interrupts)
        self._gate.stop()
        # Bounded like every removal: one still under way when the time is up is reported by the ledger.
        limit = self.workspaces.ledger.time_limit
        deadline = None if limit is None else time.monotonic() + limit
        with self._lock:
            retiring = list(self._retiring)
        for thread in retiring:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    # -- background -----------------------------------------------------------------------------
    def _dispatch(self, ordered: list[Planned]) -> None:
        """Hand out the build slots in the plan's order (threads racing for a semaphore would not keep it)."""
        for planned in ordered:
            while not self._builds.acquire(timeout=0.2):
                if self._gate.stopping:
                    break
            else:
                threading.Thread(target=self._bring_up, args=(planned,), name=planned.need.key, daemon=True).start()
                continue
            self._abandon(planned, PlanStopped(f"the run is ending: {planned.need.key} was not created"))

    def _bring_up(self, planned: Planned) -> None:
        """Called holding a build slot: a provisioner is busy until the build ends."""
        template = planned.need.template
        slot = True
        try:
            started = time.monotonic()
            workspace = self._create(planned)
            planned.created.set_result(workspace)

            def mark(phase: str) -> None:
                self.timings.mark(workspace.name, template, phase, time.monotonic() - started)

            try:
                workspace = self._stage(self.workspaces.build_finished, workspace)
            finally:
                self._builds.release()
                slot = False
            mark("build")
            planned.built.set_result(workspace)
            workspace = self._stage(self.workspaces.agent_ready, workspace)
            mark("agent")
            planned.ready.set_result(workspace)
            workspace = self._stage(self.workspaces.app_healthy, workspace)
            mark("app")
            mark("usable")
            planned.usable.set_result(workspace)
            if planned.journey is not None:
                self._gate.still_going(f"{workspace.name}: the scenario's journey does not start")
                if planned.journey.run(workspace, self._gate.still_going):
                    self._retire(planned)
        except BaseException as error:  # noqa: BLE001 - the scenarios that wait for it report it
            if slot:
                self._builds.release()
            self._abandon(planned, error)

    @staticmethod
    def _abandon(planned: Planned, error: BaseException) -> None:
        for stage in planned.stages():
            if not stage.done():
                stage.set_exception(error)
        if planned.journey is not None:
            planned.journey.fail(error)

    def _create(self, planned: Planned) -> Workspace:
        with self._gate.creating():
            return self.workspaces.create(scope="run", template_name=planned.need.template)

    def _stage(self, wait: Callable[[Workspace], Workspace], workspace: Workspace) -> Workspace:
        self._gate.still_going(f"{workspace.name} is no longer waited for")
        return wait(workspace)


def awaited(stage: Future[T]) -> T:
    """The stage's outcome; its failure raised afresh for each scenario that waits for it (a copy made
    without its constructor, which differs between failures: CoderError takes a status, a path...)."""
    try:
        return stage.result()
    except PlatformFailure as error:
        fresh = type(error).__new__(type(error))
        fresh.__dict__.update(error.__dict__)
        fresh.args = error.args
        raise fresh from None
