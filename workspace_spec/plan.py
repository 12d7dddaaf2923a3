"""The run's workspace plan: which workspaces the selected scenarios need, built at once in the background.

A live build takes minutes, so the run knows before its first scenario what it needs: one shared workspace
per template for every scenario that only reads (its app, its checkout, its tools, its auto-stop), and a
workspace of its own for each scenario that changes one (stop and start, delete). All of them are created
right after preflight, at most `max_parallel_builds` builds at a time (Coder's built-in provisioner runs
3 by default; more would only queue), and each then goes on to agent readiness and app health by itself.
Scenarios wait for the stage they need. A failed build fails every scenario that needs that workspace at
once, with the platform's message, and is never built again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field

from workspace_spec.coder import Workspace
from workspace_spec.errors import PlatformFailure
from workspace_spec.timings import Timings
from workspace_spec.workspaces import Workspaces

log = logging.getLogger(__name__)
# How long a stopping run waits for a create already sent, so that it enters the cleanup ledger.
CREATE_SETTLE_SECONDS = 30.0


@dataclass(frozen=True)
class Need:
    """A workspace a scenario needs: the template's shared one, or one of its own (`owner` names it)."""

    template: str
    owner: str = ""  # the scenario that changes it; '' for the template's shared, read-only workspace

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
        self._threads: list[threading.Thread] = []
        self._retiring: list[threading.Thread] = []

    def start(self, needs: dict[str, list[Need]]) -> None:
        """Begin every workspace the scenarios (by key) need, in the background; shared ones first, since
        most scenarios need them."""
        for scenario, wanted in needs.items():
            for need in wanted:
                self.planned.setdefault(need.key, Planned(need)).users.add(scenario)
        for planned in sorted(self.planned.values(), key=lambda p: bool(p.need.owner)):
            thread = threading.Thread(target=self._bring_up, args=(planned,), name=planned.need.key, daemon=True)
            self._threads.append(thread)
            thread.start()

    def get(self, need: Need) -> Planned:
        planned = self.planned.get(need.key)
        if planned is None:
            raise LookupError(f"no workspace was planned for {need.key}: the plan misses a step that needs one")
        return planned

    # -- what scenarios wait for ----------------------------------------------------------------
    def created(self, need: Need) -> Workspace:
        return _result(self.get(need).created)

    def built(self, need: Need) -> Workspace:
        return _result(self.get(need).built)

    def ready(self, need: Need) -> Workspace:
        return _result(self.get(need).ready)

    def usable(self, need: Need) -> Workspace:
        return _result(self.get(need).usable)

    def scenario_done(self, scenario: str) -> None:
        """Remove, in the background, each workspace that no scenario still to come needs (a live delete
        takes minutes: it overlaps with the rest of the run instead of waiting for its end)."""
        for planned in self.planned.values():
            if scenario in planned.users:
                planned.users.discard(scenario)
                if not planned.users and planned.created.done() and not planned.created.exception():
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
        for thread in self._retiring:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    # -- background -----------------------------------------------------------------------------
    def _bring_up(self, planned: Planned) -> None:
        template = planned.need.template
        try:
            with self._builds:  # a provisioner is busy until the build ends
                started = time.monotonic()
                workspace = self._create(planned)
                planned.created.set_result(workspace)

                def mark(phase: str) -> None:
                    self.timings.mark(workspace.name, template, phase, time.monotonic() - started)

                workspace = self._stage(self.workspaces.build_finished, workspace)
                mark("build")
                planned.built.set_result(workspace)
            workspace = self._stage(self.workspaces.agent_ready, workspace)
            mark("agent")
            planned.ready.set_result(workspace)
            workspace = self._stage(self.workspaces.app_healthy, workspace)
            mark("app")
            mark("usable")
            planned.usable.set_result(workspace)
        except BaseException as error:  # noqa: BLE001 - the scenarios that wait for it report it
            for stage in planned.stages():
                if not stage.done():
                    stage.set_exception(error)

    def _create(self, planned: Planned) -> Workspace:
        with self._gate.creating():
            return self.workspaces.create(scope="run", template_name=planned.need.template)

    def _stage(self, wait: Callable[[Workspace], Workspace], workspace: Workspace) -> Workspace:
        self._gate.still_going(f"{workspace.name} is no longer waited for")
        return wait(workspace)


def _result(stage: Future[Workspace]) -> Workspace:
    """The stage's workspace; its failure raised afresh for each scenario that waits for it (a copy made
    without its constructor, which differs between failures: CoderError takes a status, a path...)."""
    try:
        return stage.result()
    except PlatformFailure as error:
        fresh = type(error).__new__(type(error))
        fresh.__dict__.update(error.__dict__)
        fresh.args = error.args
        raise fresh from None
