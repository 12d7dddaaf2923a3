"""Waiting for a workspace to reach a state, at the platform's own pace.

Each wait follows the workspace's /watch event stream and falls back to polling when the stream is
silent or broken (peers learned that streams miss changes). Every wait has a deadline, and ends at once
on a terminal state: a failed build is a verdict, not a reason to keep waiting.

A live wait is not silent: while it lasts longer than the progress interval it writes one plain line per
interval to stderr, naming the workspace, what is awaited and the platform's last state (progress.py);
what a state says, a verdict or words, is workspace_states.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import httpx

from workspace_spec.coder import BadAnswer, CoderClient, CoderError
from workspace_spec.coder_types import Workspace
from workspace_spec.console import say
from workspace_spec.errors import PlatformFailure
from workspace_spec.progress import Progress, default_progress
from workspace_spec.workspace_states import (
    FAILED_JOB,
    agent_problem,
    build_failure,
    describe,
    never_picked_up,
    replaced,
)

if TYPE_CHECKING:
    pass

# A stream that says nothing for this long is checked by one poll and then reopened.
STREAM_SILENCE_SECONDS = 5.0
# Coder sends the workspace's state as soon as the stream opens: none by then means a proxy holds it back.
FIRST_EVENT_SECONDS = 2.0
POLL_INTERVAL_SECONDS = 1.0


class WaitFailed(PlatformFailure):
    """The platform reached a state from which the awaited one cannot follow."""


class WaitTimedOut(PlatformFailure):
    """The deadline passed before the platform reached the awaited state."""


def observe(client: CoderClient, workspace_id: str, deadline: float, strict_stream: bool = True) -> Iterator[Workspace]:
    """The workspace now, then every change until the deadline (stream first, polling behind it). An
    unreadable stream is the platform's failure, unless not `strict_stream` (cleanup): then it is polled.
    A stream that a proxy buffers (no first event soon after connecting, which Coder sends at once) is
    given up for the rest of the run: polled instead, and said once."""
    yield client.workspace(workspace_id)
    while (remaining := deadline - time.monotonic()) > 0:
        first_look = client.stream_buffered is None and remaining > FIRST_EVENT_SECONDS
        if client.stream_buffered:
            time.sleep(min(POLL_INTERVAL_SECONDS, max(0.0, remaining)))
            yield client.workspace(workspace_id)
            continue
        silence = FIRST_EVENT_SECONDS if first_look else min(remaining, STREAM_SILENCE_SECONDS)
        try:
            with client.watch(workspace_id, read_timeout=silence) as events:
                for workspace in events:
                    client.stream_buffered = False
                    yield workspace
                    if time.monotonic() >= deadline:
                        return
        except httpx.ReadTimeout:
            if first_look and client.stream_buffered is None:
                client.stream_buffered = True
                _say_buffered()
        except httpx.TransportError:
            pass  # silent or broken stream: poll once below, then reopen it
        except BadAnswer:
            if strict_stream:
                raise
        except CoderError as error:
            if error.status in (401, 403, 410):
                raise
        if time.monotonic() >= deadline:
            return
        time.sleep(min(POLL_INTERVAL_SECONDS, max(0.0, deadline - time.monotonic())))
        yield client.workspace(workspace_id)


def _say_buffered() -> None:
    line = (
        f"Coder's workspace event stream (/watch) sent nothing within {FIRST_EVENT_SECONDS:g} s of connecting, "
        "as a proxy that buffers it does (nginx proxy_buffering): the suite polls instead"
    )
    say(line)


def wait_until(
    client: CoderClient,
    workspace_id: str,
    what: str,
    done: Callable[[Workspace], bool],
    failed: Callable[[Workspace], str | None],
    timeout: float,
    progress: Progress | None = None,
    strict_stream: bool = True,
) -> Workspace:
    """Wait until `done`; stop early with WaitFailed when `failed` names a reason. While it waits longer
    than the progress interval, it says so (`progress`, by default the one set by set_default_progress)."""
    deadline = time.monotonic() + timeout
    last: Workspace | None = None

    def subject() -> tuple[str, Workspace | None]:
        seen = last
        return (seen.name if seen else workspace_id), seen

    with (progress or default_progress()).reporting(what, subject):
        for workspace in observe(client, workspace_id, deadline, strict_stream):
            last = workspace
            if reason := failed(workspace):
                raise WaitFailed(f"{what} of workspace {workspace.name}: {reason}")
            if done(workspace):
                return workspace
    name = f" of workspace {last.name}" if last else ""
    raise WaitTimedOut(f"{what}{name}: not reached within {timeout:.0f} s; last seen: {describe(last)}")


def wait_for_build(
    client: CoderClient,
    workspace_id: str,
    build_id: str,
    timeout: float,
    progress: Progress | None = None,
    strict_stream: bool = True,
) -> Workspace | None:
    """Wait for one build to succeed. A delete build's success returns None (Coder answers 410). It fails at
    once when the build fails, when no provisioner will take it, or when a newer build replaces it."""
    seen: dict[str, int] = {}  # the awaited build's number, once a read showed it

    def failed(workspace: Workspace) -> str | None:
        if workspace.build_id != build_id:
            return replaced(client, workspace, build_id, seen.get("number"))
        seen["number"] = workspace.build_number
        if workspace.job_status in FAILED_JOB:
            return build_failure(client, workspace)
        return never_picked_up(workspace)

    try:
        return wait_until(
            client,
            workspace_id,
            "workspace build",
            done=lambda ws: ws.build_id == build_id and ws.job_status == "succeeded",
            failed=failed,
            timeout=timeout,
            progress=progress,
            strict_stream=strict_stream,
        )
    except CoderError as error:
        if error.status == 410:
            return None
        raise


def wait_for_agent_ready(
    client: CoderClient,
    workspace_id: str,
    slug: str,
    timeout: float,
    agent_name: str = "",
    progress: Progress | None = None,
) -> Workspace:
    """Every agent ready and connected, the IDE's among them."""

    def done(workspace: Workspace) -> bool:
        agent = workspace.ide_agent(slug, agent_name)
        return agent is not None and all(each.usable for each in workspace.agents)

    def failed(workspace: Workspace) -> str | None:
        return agent_problem(workspace, slug, agent_name)

    return wait_until(client, workspace_id, "workspace agent readiness", done, failed, timeout, progress)


def wait_for_app_healthy(
    client: CoderClient,
    workspace_id: str,
    slug: str,
    timeout: float,
    agent_name: str = "",
    progress: Progress | None = None,
) -> Workspace:
    """The app healthy, or with no health check at all (`disabled`: the template declares none, so Coder has
    nothing to wait for and counts the app as up; `undeclared_health` says so where the check needs it)."""

    def failed(workspace: Workspace) -> str | None:
        return agent_problem(workspace, slug, agent_name)

    def done(workspace: Workspace) -> bool:
        app = workspace.app(slug, agent_name)
        return app is not None and app.health in ("healthy", "disabled")

    return wait_until(client, workspace_id, f"{slug} app health", done, failed, timeout, progress)
