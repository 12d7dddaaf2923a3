"""What a stop must keep (spec 629 §1.1 check 5): a marker file in the workspace's volume, and the
workspace's namespace and volume claims, the same objects before and after (same uid), with no pod
running while it is stopped."""

from __future__ import annotations

from dataclasses import dataclass

from workspace_spec import inside
from workspace_spec.coder_types import Workspace
from workspace_spec.kube import NamespaceObjects, workspace_namespace
from workspace_spec.shell import CommandResult
from workspace_spec.world import World


@dataclass(frozen=True)
class Marker:
    directory: str
    name: str
    content: str


def write_marker(world: World, workspace: Workspace) -> tuple[Marker, CommandResult]:
    """A file unique to this run in the workspace's volume, and how writing it went."""
    content = world.namer.marker()
    marker = Marker(world.settings.workspace_dir, f".{content}", content)
    with world.shell(workspace) as shell:
        written = inside.write_file(shell, marker.directory, marker.name, marker.content)
    return marker, written


def read_marker(world: World, workspace: Workspace, marker: Marker) -> CommandResult:
    with world.shell(workspace) as shell:
        return inside.read_file(shell, marker.directory, marker.name)


def marker_changes(marker: Marker, read: CommandResult, workspace_name: str) -> str:
    """'' when the marker read back after the stop and start is the one written; else what became of it."""
    if not read.ok:
        return (
            f"marker {marker.name} under {marker.directory} is gone after stop and start of {workspace_name}: "
            f"{read.summary()}"
        )
    if read.stdout != marker.content:
        return f"marker {marker.name} changed across stop and start: wrote {marker.content!r}, read {read.stdout!r}"
    return ""


def namespace_objects(world: World, workspace: Workspace) -> NamespaceObjects:
    """The workspace's namespace, its volume claims and its pods, now."""
    return world.cluster.objects(workspace_namespace(workspace.id))


def stop_and_start(world: World, workspace: Workspace) -> tuple[Workspace, NamespaceObjects]:
    """Stop the workspace, look at its namespace once its pods are gone, start it again until usable:
    the started workspace, and what its namespace held while it was stopped."""
    stopped = world.workspaces.stop(workspace)
    while_stopped = world.cluster.objects_once_pods_are_gone(
        workspace_namespace(workspace.id), world.settings.pod_termination_timeout
    )
    return world.workspaces.start(stopped), while_stopped


def stop_changes(workspace: Workspace, before: NamespaceObjects, during: NamespaceObjects) -> str:
    """'' when the workspace's namespace and volume claims outlived the stop as the same objects; else
    the first thing the stop changed."""
    namespace = workspace_namespace(workspace.id)
    if before.namespace is None:
        return f"namespace {namespace} did not exist while the workspace ran"
    if not before.claims:
        return f"namespace {namespace} held no volume claim while the workspace ran"
    if during.namespace is None:
        return f"namespace {namespace} was removed when the workspace stopped"
    if during.namespace.uid != before.namespace.uid:
        return (
            f"namespace {namespace} was replaced during the stop (uid {before.namespace.uid} -> {during.namespace.uid})"
        )
    claims_before = {claim.name: claim.uid for claim in before.claims}
    claims_during = {claim.name: claim.uid for claim in during.claims}
    if lost := sorted(set(claims_before) - set(claims_during)):
        return f"volume claim(s) {', '.join(lost)} in {namespace} were deleted when the workspace stopped"
    if replaced := [claim for claim, uid in claims_before.items() if claims_during[claim] != uid]:
        return f"volume claim(s) {', '.join(replaced)} in {namespace} were replaced during the stop (new uid)"
    return ""
