"""Waiting for a workspace to reach a state, at the platform's own pace.

Each wait follows the workspace's /watch event stream and falls back to polling when the stream is
silent or broken (peers learned that streams miss changes). Every wait has a deadline, and ends at once
on a terminal state: a failed build is a verdict, not a reason to keep waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx

from workspace_spec.coder import CoderClient, CoderError, Workspace
from workspace_spec.errors import PlatformFailure

# A stream that says nothing for this long is checked by one poll and then reopened.
STREAM_SILENCE_SECONDS = 5.0
POLL_INTERVAL_SECONDS = 1.0
LOG_TAIL_LINES = 15
FAILED_JOB = ("failed", "canceled")
# Agent lifecycles nothing follows (agent/agent.go): a timed-out startup stays start_timeout for good.
FAILED_LIFECYCLE = {
    "start_timeout": "its startup scripts timed out",
    "start_error": "a startup script exited with an error",
    "shutdown_timeout": "its shutdown scripts timed out",
    "shutdown_error": "a shutdown script exited with an error",
}


class WaitFailed(PlatformFailure):
    """The platform reached a state from which the awaited one cannot follow."""


class WaitTimedOut(PlatformFailure):
    """The deadline passed before the platform reached the awaited state."""


def observe(client: CoderClient, workspace_id: str, deadline: float) -> Iterator[Workspace]:
    """The workspace now, then every change until the deadline (stream first, polling behind it)."""
    yield client.workspace(workspace_id)
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            with client.watch(workspace_id, read_timeout=min(remaining, STREAM_SILENCE_SECONDS)) as events:
                for workspace in events:
                    yield workspace
                    if time.monotonic() >= deadline:
                        return
        except httpx.TransportError:
            pass  # silent or broken stream: poll once below, then reopen it
        except CoderError as error:
            if error.status in (401, 403, 410):
                raise
        if time.monotonic() >= deadline:
            return
        time.sleep(min(POLL_INTERVAL_SECONDS, max(0.0, deadline - time.monotonic())))
        yield client.workspace(workspace_id)


def wait_until(
    client: CoderClient,
    workspace_id: str,
    what: str,
    done: Callable[[Workspace], bool],
    failed: Callable[[Workspace], str | None],
    timeout: float,
) -> Workspace:
    """Wait until `done`; stop early with WaitFailed when `failed` names a reason."""
    deadline = time.monotonic() + timeout
    last: Workspace | None = None
    for workspace in observe(client, workspace_id, deadline):
        last = workspace
        if reason := failed(workspace):
            raise WaitFailed(f"{what} of workspace {workspace.name}: {reason}")
        if done(workspace):
            return workspace
    name = f" of workspace {last.name}" if last else ""
    raise WaitTimedOut(f"{what}{name}: not reached within {timeout:.0f} s; last seen: {describe(last)}")


def wait_for_build(client: CoderClient, workspace_id: str, build_id: str, timeout: float) -> Workspace | None:
    """Wait for one build to succeed. A delete build's success returns None (Coder answers 410)."""

    def this_build(workspace: Workspace) -> bool:
        return workspace.build_id == build_id

    def failed(workspace: Workspace) -> str | None:
        if this_build(workspace) and workspace.job_status in FAILED_JOB:
            return build_failure(client, workspace)
        if this_build(workspace) and workspace.matched_provisioners == 0:
            return (
                f"the {workspace.transition} build #{workspace.build_number} is pending and no provisioner "
                "accepts its tags (matched_provisioners.count 0): it will not start until one does"
            )
        return None

    try:
        return wait_until(
            client,
            workspace_id,
            "workspace build",
            done=lambda ws: this_build(ws) and ws.job_status == "succeeded",
            failed=failed,
            timeout=timeout,
        )
    except CoderError as error:
        if error.status == 410:
            return None
        raise


def agent_problem(workspace: Workspace, slug: str, agent_name: str = "") -> str | None:
    """Why the workspace's agents can never become usable, or None while they still may."""
    if workspace.transition != "start" or workspace.job_status in FAILED_JOB:
        return f"the workspace is {workspace.status}, not starting"
    for agent in workspace.agents:  # any agent of the workspace, devcontainer sub-agents included
        if reason := FAILED_LIFECYCLE.get(agent.lifecycle_state):
            return f"agent {agent.name!r} is {agent.lifecycle_state}: {reason}"
    if workspace.job_status == "succeeded" and workspace.ide_agent(slug, agent_name) is None:
        wanted = f"named {agent_name!r}" if agent_name else f"serves app {slug!r}"
        names = ", ".join(agent.name for agent in workspace.agents) or "none"
        return f"no agent of the running workspace {wanted} (agents: {names})"
    return None


def wait_for_agent_ready(
    client: CoderClient, workspace_id: str, slug: str, timeout: float, agent_name: str = ""
) -> Workspace:
    """Every agent ready and connected, the IDE's among them."""

    def done(workspace: Workspace) -> bool:
        agent = workspace.ide_agent(slug, agent_name)
        return agent is not None and all(each.usable for each in workspace.agents)

    return wait_until(
        client, workspace_id, "workspace agent readiness", done, lambda ws: agent_problem(ws, slug, agent_name), timeout
    )


def wait_for_app_healthy(
    client: CoderClient, workspace_id: str, slug: str, timeout: float, agent_name: str = ""
) -> Workspace:
    def failed(workspace: Workspace) -> str | None:
        if problem := agent_problem(workspace, slug, agent_name):
            return problem
        app = workspace.app(slug, agent_name)
        if app is not None and app.health == "disabled":
            return f"app {slug!r} has no health check configured"
        return None

    def done(workspace: Workspace) -> bool:
        app = workspace.app(slug, agent_name)
        return app is not None and app.health == "healthy"

    return wait_until(client, workspace_id, f"{slug} app health", done, failed, timeout)


def build_failure(client: CoderClient, workspace: Workspace) -> str:
    """The build's error and the tail of its logs: what a platform engineer reads first."""
    text = f"the {workspace.transition} build #{workspace.build_number} {workspace.job_status}"
    if workspace.job_error:
        text += f": {workspace.job_error}"
    try:
        logs = client.build_logs(workspace.build_id)
    except (CoderError, httpx.HTTPError) as error:
        return f"{text}\n(build logs unavailable: {error})"
    lines = [line for line in logs if line.get("output", "").strip()]
    tail = [f"  {line.get('stage', '')}: {line['output']}" for line in lines[-LOG_TAIL_LINES:]]
    return text + ("\nlast build log lines:\n" + "\n".join(tail) if tail else "")


def describe(workspace: Workspace | None) -> str:
    """One line of state, for timeout messages."""
    if workspace is None:
        return "nothing (the workspace was never read)"
    build = f"build #{workspace.build_number} {workspace.transition}, job {workspace.job_status}"
    text = f"workspace {workspace.status} ({build})"
    for agent in workspace.agents:
        apps = ", ".join(f"{app.slug} {app.health}" for app in agent.apps)
        text += f"; agent {agent.name} {agent.status}/{agent.lifecycle_state}" + (f"; apps: {apps}" if apps else "")
    return text
