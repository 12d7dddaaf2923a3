"""Evidence for a failed scenario (spec 629 §5.1): what a platform engineer would otherwise gather by hand.

Each artifact is collected on its own: one that cannot be had (no agent, no cluster access) says why,
and the others are still collected. Every artifact is scrubbed of secrets before anyone sees it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workspace_spec.coder_types import Workspace
from workspace_spec.kube import workspace_namespace
from workspace_spec.secrets import scrub
from workspace_spec.world import World

POD_LOG_LINES = 300
SSH_CONNECT_SECONDS = 15.0
# Control-plane lines worth a reader's time: the app proxy and failures.
CONTROL_PLANE_LINES = re.compile(r"workspaceapps|proxy|\[(?:warn|erro|crit)", re.IGNORECASE)
CODER_POD_SELECTOR = "app.kubernetes.io/name=coder"


@dataclass(frozen=True)
class Artifact:
    name: str  # also its file name
    text: str


def collect(world: World, workspace: Workspace | None) -> list[Artifact]:
    """Everything there is to know about a failed scenario's workspace, and about the control plane."""
    sources: list[tuple[str, Callable[[], str]]] = [("coder-control-plane.log", lambda: _control_plane(world))]
    if workspace is not None:
        sources = [
            ("workspace.json", lambda: _workspace_json(world, workspace)),
            ("build.log", lambda: _build_log(world, workspace)),
            ("build-timings.json", lambda: json.dumps(world.coder.timings(workspace.id), indent=2)),
            ("pod.log", lambda: _pod_logs(world, workspace)),
            ("events.txt", lambda: _events(world, workspace)),
            ("postCreate.log", lambda: _post_create_log(world, workspace)),
            *sources,
        ]
    artifacts = []
    for name, source in sources:
        try:
            text = source()
        except Exception as error:  # noqa: BLE001 - evidence is best effort; say why it is missing
            text = f"unavailable: {type(error).__name__}: {error}"
        artifacts.append(Artifact(name, scrub(text)))
    return artifacts


def write(artifacts: list[Artifact], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for artifact in artifacts:
        (directory / artifact.name).write_text(artifact.text)


def _workspace_json(world: World, workspace: Workspace) -> str:
    try:
        current = world.coder.workspace(workspace.id).raw
    except Exception:  # noqa: BLE001 - deleted or unreachable: the last state the suite saw still helps
        current = workspace.raw
    return json.dumps(current, indent=2)


def _build_log(world: World, workspace: Workspace) -> str:
    latest = world.coder.workspace(workspace.id)
    logs = world.coder.build_logs(latest.build_id)
    lines = [
        f"{line.get('created_at', '')} [{line.get('log_level', '')}] {line.get('stage', '')}: {line.get('output', '')}"
        for line in logs
    ]
    bootstrap = [line for line in lines if "[workspace-bootstrap]" in line]
    header = f"build #{latest.build_number} ({latest.transition}) {latest.job_status}"
    if latest.job_error:
        header += f": {latest.job_error}"
    summary = ["", "[workspace-bootstrap] summary:", *bootstrap] if bootstrap else []
    return "\n".join([header, *summary, "", *lines])


def _pod_logs(world: World, workspace: Workspace) -> str:
    namespace = workspace_namespace(workspace.id)
    pods = world.cluster.pods(namespace)
    if not pods:
        return f"no pod in namespace {namespace}"
    return "\n\n".join(
        f"== pod {pod.name} ({pod.phase})\n{world.cluster.pod_log(namespace, pod.name, POD_LOG_LINES)}" for pod in pods
    )


def _events(world: World, workspace: Workspace) -> str:
    namespace = workspace_namespace(workspace.id)
    return "\n".join(world.cluster.events(namespace)) or f"no events in namespace {namespace}"


def _post_create_log(world: World, workspace: Workspace) -> str:
    """Read over SSH only when the agent is reachable: evidence must not cost a connect timeout."""
    current = world.coder.workspace(workspace.id)
    agent = current.ide_agent(world.settings.app_slug, world.settings.agent)
    if current.transition != "start" or agent is None or agent.status != "connected":
        state = f"{agent.status}/{agent.lifecycle_state}" if agent else "no agent"
        return f"unavailable: the workspace agent is not reachable ({current.status}, {state})"
    path = f"{world.settings.workspace_dir.rstrip('/')}/.devcontainer/logs/coder-postCreate.log"
    with world.shell(current, connect_timeout=SSH_CONNECT_SECONDS) as shell:
        result = shell.run(f'tail -n {POD_LOG_LINES} "{path}"', timeout=30)
    return result.stdout if result.ok else f"unavailable: {result.summary()}"


def _control_plane(world: World) -> str:
    namespace = world.settings.coder_namespace
    pods = world.cluster.pods(namespace, label_selector=CODER_POD_SELECTOR)
    if not pods:
        return f"no Coder pod ({CODER_POD_SELECTOR}) in namespace {namespace}"
    sections = []
    for pod in pods:
        lines = world.cluster.pod_log(namespace, pod.name, POD_LOG_LINES * 3).splitlines()
        relevant = [line for line in lines if CONTROL_PLANE_LINES.search(line)]
        sections.append(f"== {namespace}/{pod.name}: {len(relevant)} app-proxy/error lines of {len(lines)}")
        sections.extend(relevant[-POD_LOG_LINES:])
    return "\n".join(sections)
