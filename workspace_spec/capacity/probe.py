"""Bringing N workspaces up, at most C at once, and all of them down again through the cleanup ledger.

Each of C workers takes the next workspace until N were begun: create (its name enters the ledger, on disk,
before the request), start build succeeded, agents ready, app healthy, and, when asked, a command over SSH and
VS Code in a browser, as the smoke judges a workspace usable. A failure ends that workspace's bring-up, is
recorded with its phase and class, and the worker goes on with the next one. A workspace stays until every
one was brought up (N at once is the load being probed), then the ledger removes them all at once, each
removal timed: `remove_all` runs after a success, a failure and a signal alike.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from workspace_spec import apps
from workspace_spec.capacity.trace import Failure, Trace
from workspace_spec.coder_types import Workspace
from workspace_spec.errors import PlatformFailure
from workspace_spec.plan import CreateGate, PlanStopped
from workspace_spec.secrets import scrub
from workspace_spec.world import World

JOIN_SECONDS = 0.2  # how often the main thread looks up from waiting for the workers (a signal lands then)


class NotUsable(PlatformFailure):
    """A check beyond app health (SSH, the browser) found the workspace not usable."""


class Probe:
    def __init__(self, world: World, count: int, concurrency: int, ssh: bool = False, browser: bool = False) -> None:
        self.world = world
        self.count = count
        self.concurrency = min(concurrency, count)  # more workers than workspaces would only idle
        self.ssh, self.browser = ssh, browser
        self.traces = [Trace(index) for index in range(1, count + 1)]
        self._next = 0
        self._gate = CreateGate()
        self._lock = threading.Lock()
        self._most_at_once = 0  # the most bring-ups under way at one moment: never above `concurrency`
        self._under_way = 0

    @property
    def most_at_once(self) -> int:
        return self._most_at_once

    def bring_up(self) -> list[Trace]:
        """Every workspace, at most `concurrency` at once; returns once all were tried (or raises the signal's
        KeyboardInterrupt, from the join, where it is safe)."""
        workers = [
            threading.Thread(target=self._work, name=f"capacity-{n}", daemon=True) for n in range(self.concurrency)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            while worker.is_alive():
                worker.join(JOIN_SECONDS)
        return self.traces

    def stop(self) -> None:
        """No new creates; the creates already sent are awaited, so that they are in the ledger (and findable
        by name) before it removes everything."""
        self._gate.stop()

    def remove_all(self) -> None:
        """The ledger removes every workspace it holds, all at once, each removal timed on its trace; raises
        CleanupFailed naming what could not be removed."""
        ledger = self.world.ledger
        by_name = {trace.name: trace for trace in self.traces if trace.name}
        for entry in ledger.pending():
            if entry.kind == "workspace":
                entry.remove = self._timed(by_name.get(entry.name), entry.remove)
        ledger.release()

    # -- the workers ------------------------------------------------------------------------------
    def _take(self) -> Trace | None:
        with self._lock:
            if self._gate.stopping or self._next >= self.count:
                return None
            trace = self.traces[self._next]
            self._next += 1
            self._under_way += 1
            self._most_at_once = max(self._most_at_once, self._under_way)
            return trace

    def _work(self) -> None:
        while (trace := self._take()) is not None:
            try:
                self._bring_up(trace)
            finally:
                with self._lock:
                    self._under_way -= 1

    def _bring_up(self, trace: Trace) -> None:
        phase = "create"
        workspace: Workspace | None = None
        try:
            workspace = self._create(trace)
            phase = "build"
            workspace = self._stage(self.world.workspaces.build_finished, workspace)
            trace.read_job(workspace.raw["latest_build"])
            phase = "agent"
            workspace = self._stage(self.world.workspaces.agent_ready, workspace)
            trace.agent_seen = time.time()
            trace.read_agents(workspace.raw["latest_build"])
            phase = "app"
            workspace = self._stage(self.world.workspaces.app_healthy, workspace)
            trace.app_seen = time.time()
            if self.ssh:
                phase = "ssh"
                self._over_ssh(workspace)
                trace.ssh_seen = time.time()
            if self.browser:
                phase = "browser"
                self._in_browser(workspace)
                trace.browser_seen = time.time()
        except PlanStopped:
            return
        except Exception as error:  # noqa: BLE001 - every failure is a finding, recorded by class
            if self._gate.stopping:
                return  # cut short by the probe's own end: no finding about the platform
            if phase == "build" and workspace is not None:
                phase = self._failed_build(trace, workspace)
            trace.failures.append(_failure(phase, error))

    def _create(self, trace: Trace) -> Workspace:
        with self._gate.creating():
            trace.create_sent = time.time()
            workspace = self.world.workspaces.create(scope="run")
            trace.create_answered = time.time()
        trace.name = workspace.name
        return workspace

    def _stage(self, wait: Callable[[Workspace], Workspace], workspace: Workspace) -> Workspace:
        self._gate.still_going(f"{workspace.name} is no longer waited for")
        return wait(workspace)

    def _failed_build(self, trace: Trace, workspace: Workspace) -> str:
        """The failed build's job timestamps, if Coder still serves them; `queued` if it never started."""
        with contextlib.suppress(PlatformFailure):  # the failure itself is what gets reported
            trace.read_job(self.world.coder.workspace(workspace.id).raw["latest_build"])
        return "queued" if trace.job_started is None else "build"

    def _over_ssh(self, workspace: Workspace) -> None:
        with self.world.shell(workspace) as shell:
            result = shell.run("true", timeout=self.world.settings.ssh_connect_timeout)
        if not result.ok:
            raise NotUsable(f"a command over SSH in workspace {workspace.name} failed: {result.summary()}")

    def _in_browser(self, workspace: Workspace) -> None:
        world = self.world
        visit = apps.open_in_browser(world.coder, workspace, world.settings, world.timings)
        if visit.workbench.problem:
            raise NotUsable(f"VS Code in a browser, workspace {workspace.name}: {visit.workbench.problem}")

    def _timed(self, trace: Trace | None, remove: Callable[[], None]) -> Callable[[], None]:
        def timed() -> None:
            started = time.time()
            try:
                remove()
            except Exception as error:
                if trace is not None:
                    trace.failures.append(_failure("delete", error))
                raise
            if trace is not None:
                trace.delete_started, trace.delete_done = started, time.time()

        return timed


def _failure(phase: str, error: Exception) -> Failure:
    """The finding: its phase, the exception's class, the first line of what it says."""
    lines = str(error).strip().splitlines()
    return Failure(phase, type(error).__name__, scrub(lines[0] if lines else ""))
