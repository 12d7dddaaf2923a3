"""What a workspace's state says to a wait: a verdict that nothing awaited can follow any more (a failed
build, a replaced one, a build no provisioner takes, an agent that failed), and the state in words."""

from __future__ import annotations

from typing import Any

import httpx

from workspace_spec.coder import CoderClient, CoderError
from workspace_spec.coder_types import Agent, Workspace
from workspace_spec.errors import PlatformFailure

LOG_TAIL_LINES = 15


FAILED_JOB = ("failed", "canceled")


# Agent lifecycles nothing follows (agent/agent.go): a timed-out startup stays start_timeout for good.
FAILED_LIFECYCLE = {
    "start_timeout": "its startup scripts timed out",
    "start_error": "a startup script exited with an error",
    "shutdown_timeout": "its shutdown scripts timed out",
    "shutdown_error": "a shutdown script exited with an error",
}


def never_picked_up(workspace: Workspace) -> str | None:
    """Why the pending build will not start by itself, judged on `matched_provisioners`: no daemon accepts
    its tags (count 0), or those that do have not been seen lately (available 0, "Build delayed" in Coder's
    ProvisionerStatusAlert). None while a daemon may still take it."""
    found = workspace.provisioners
    if found is None:
        return None
    pending = f"the {workspace.transition} build #{workspace.build_number} is pending"
    if found.count == 0:
        return (
            f"{pending} and no provisioner accepts its tags{_tags(workspace)} (matched_provisioners.count 0): "
            "it will not start until one does"
        )
    if found.available == 0:
        seen = f", last seen {found.most_recently_seen}" if found.most_recently_seen else ""
        return (
            f"{pending}: the {found.count} provisioner(s) that accept its tags{_tags(workspace)} have not been seen "
            f'lately (matched_provisioners.available 0{seen}; Coder says "Build delayed"): it will not start '
            "until one of them is back"
        )
    return None


def _tags(workspace: Workspace) -> str:
    return " [" + ", ".join(f"{key}={value}" for key, value in workspace.job_tags) + "]" if workspace.job_tags else ""


def replaced(client: CoderClient, latest: Workspace, build_id: str, number: int | None) -> str | None:
    """Why the awaited build is no longer the workspace's latest: a newer one replaced it (Coder runs one build
    at a time; an autostop or a person's stop is queued once it ends), and the workspace now follows that one.
    None for a read older than the awaited build."""
    if number is not None and latest.build_number <= number:
        return None
    ours = _build_named(client, latest.id, build_id)
    if number is None:
        number = int(ours.get("build_number") or 0)
    if latest.build_number <= number:
        return None
    transition = str(ours.get("transition") or "awaited")
    status = str((ours.get("job") or {}).get("status") or "")
    ended = f" ({status})" if status else ""
    awaited = f"#{number}" if number else build_id
    return (
        f"the {transition} build {awaited}{ended} was replaced by {_started(latest)}: Coder runs one build at a "
        "time, and the workspace follows the newer one" + _dormancy(latest)
    )


def _build_named(client: CoderClient, workspace_id: str, build_id: str) -> dict[str, Any]:
    """The workspace's build of that id, from its build list ({} when it cannot be read)."""
    try:
        return next((build for build in client.builds(workspace_id) if build.get("id") == build_id), {})
    except (PlatformFailure, httpx.HTTPError):
        return {}


def _started(workspace: Workspace) -> str:
    """`the stop build #2, started by admin (reason autostop)`: the latest build, who started it and why."""
    who = workspace.initiator_name or "an unnamed initiator"
    why = f" (reason {workspace.reason})" if workspace.reason else ""
    return f"the {workspace.transition} build #{workspace.build_number}, started by {who}{why}"


def _dormancy(workspace: Workspace) -> str:
    """What Coder says about the workspace's dormancy, which stops it and refuses to start it ('' if none)."""
    text = f"; dormant since {workspace.dormant_at}" if workspace.dormant_at else ""
    return text + (f"; to be deleted at {workspace.deleting_at}" if workspace.deleting_at else "")


# Lifecycles of an agent that has been shut down: on a start build, something stopped it.
SHUT_DOWN = ("shutting_down", "off")


def agent_problem(workspace: Workspace, slug: str, agent_name: str = "") -> str | None:
    """Why the workspace's agents can never become usable, or None while they still may."""
    if workspace.transition != "start":
        return f"the workspace is {workspace.status}: {_started(workspace)} replaced its start" + _dormancy(workspace)
    if workspace.job_status in FAILED_JOB:
        return f"the workspace is {workspace.status}, not starting" + _dormancy(workspace)
    for agent in workspace.agents:  # any agent of the workspace, devcontainer sub-agents included
        if reason := FAILED_LIFECYCLE.get(agent.lifecycle_state):
            return f"agent {agent.name!r} is {agent.lifecycle_state}: {reason}" + _agent_detail(agent)
    ide = workspace.ide_agent(slug, agent_name)
    for agent in workspace.agents:
        # Root agents and the IDE's only: a devcontainer's sub-agent may be shut down while it is rebuilt.
        if agent.lifecycle_state in SHUT_DOWN and (agent.parent_id is None or agent == ide):
            return (
                f"agent {agent.name!r} is {agent.lifecycle_state} although the start build "
                f"#{workspace.build_number} succeeded: something shut it down" + _agent_detail(agent)
            )
    if workspace.job_status == "succeeded" and ide is None:
        wanted = f"named {agent_name!r}" if agent_name else f"serves app {slug!r}"
        names = ", ".join(agent.name for agent in workspace.agents) or "none"
        return f"no agent of the running workspace {wanted} (agents: {names})"
    return None


def _agent_detail(agent: Agent) -> str:
    """What Coder says of the agent: its health's reason and the scripts whose last run failed."""
    said = [part for part in (agent.health_reason, agent.failed_scripts()) if part]
    return f" (Coder: {'; '.join(said)})" if said else ""


def undeclared_health(workspace: Workspace, slug: str, agent_name: str = "") -> str | None:
    """When the template declares no health check for the app (Coder reports its health `disabled`): Coder
    cannot say whether it is up. The template's choice, and what the checks then need; None otherwise."""
    app = workspace.app(slug, agent_name)
    if app is None or app.health != "disabled":
        return None
    return (
        f"the template of workspace {workspace.name} declares no health check for app {slug!r} (Coder reports its "
        "health 'disabled'): that is the template's choice, and Coder cannot tell whether the app is up; give the "
        "template's coder_app a healthcheck (url http://localhost:<port>/healthz), and the in-workspace check "
        "learns code-server's port from it (or set SPEC_CODE_SERVER_PORT)"
    )


# Job error codes (codersdk.JobErrorCode) and what they ask of the template's owner.
ERROR_CODES = {"REQUIRED_TEMPLATE_VARIABLES": "the template version needs values for its required variables"}


def build_failure(client: CoderClient, workspace: Workspace) -> str:
    """The build's error and the tail of its logs: what a platform engineer reads first."""
    text = f"the {workspace.transition} build #{workspace.build_number} {workspace.job_status}"
    if workspace.job_error:
        text += f": {workspace.job_error}"
    if code := workspace.job_error_code:
        text += f" [{code}: {ERROR_CODES[code]}]" if code in ERROR_CODES else f" [{code}]"
    text += _dormancy(workspace)
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
    text = f"workspace {workspace.status} ({_build_state(workspace)})" + _agents(workspace)
    if failing := _failing(workspace):
        text += f"; Coder counts agent(s) {failing} against the workspace's health"
    return text + _dormancy(workspace)


def state(workspace: Workspace | None) -> str:
    """The platform's last state in brief, for progress lines: `build #1 start, job running; agent ...`."""
    if workspace is None:
        return "not read yet"
    return _build_state(workspace) + _agents(workspace)


def _build_state(workspace: Workspace) -> str:
    """`build #1 start, job pending (queue position 2 of 4)`."""
    text = f"build #{workspace.build_number} {workspace.transition}, job {workspace.job_status}"
    if workspace.job_status == "pending" and workspace.queue_size:
        text += f" (queue position {workspace.queue_position} of {workspace.queue_size})"
    return text


def _failing(workspace: Workspace) -> str:
    names = {agent.id: agent.name for agent in workspace.agents}
    return ", ".join(names.get(agent_id, agent_id) for agent_id in workspace.failing_agents)


def _agents(workspace: Workspace) -> str:
    text = ""
    for agent in workspace.agents:
        apps = ", ".join(f"{app.slug} {app.health}" for app in agent.apps)
        text += f"; agent {agent.name} {agent.status}/{agent.lifecycle_state}" + _agent_detail(agent)
        text += f"; apps: {apps}" if apps else ""
    return text
