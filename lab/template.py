"""What the Ameide templates' terraform does on Kubernetes, and where a workspace's files live.

Start: namespace `ameide-ws-<workspace-id>`, PVC `workspaces`, the pod (envbuilder inside it).
Stop: the pod goes, namespace and PVC stay. Delete: the namespace goes, and with it the volume.
The volume is a directory keyed by the PVC's uid, so a new claim is a new, empty volume.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.envbuilder import REPO_DIR, Bootstrap, bootstrap
from lab.faults import (
    BUILD_FAILS,
    CLAIM_REPLACED_ON_STOP,
    NAMESPACE_KEPT_ON_DELETE,
    NAMESPACE_REPLACED_ON_STOP,
    POD_KEPT_ON_STOP,
    PVC_LOST_ON_STOP,
    REPO_NOT_CHECKED_OUT,
    SECRETS_ECHOED,
    VOLUME_WIPED_ON_RESTART,
    Faults,
)
from lab.image import Image, codex_home
from lab.kube.store import IMAGE, Cluster
from lab.model import Agent, App, Resource, TemplateVersion, Workspace
from lab.template_source import pull_error

PVC = "workspaces"
# code-server as the template's coder_app declares it (registry module code-server's default port).
CODE_SERVER_PORT = 13337
LIVE_FOLDER = f"/workspaces/{REPO_DIR}"


class BuildFailed(RuntimeError):
    """The provisioner job fails with this message as its `error`."""


@dataclass
class Placement:
    """Where a started workspace runs."""

    namespace: str
    pod: str
    volume: Path
    home: Path
    bin_dir: Path
    bootstrap: Bootstrap


class AmeideTemplate:
    def __init__(
        self,
        cluster: Cluster,
        state_dir: Path,
        image: Image,
        faults: Faults,
        repo_url: str,
        trust: dict[str, str] | None = None,
    ) -> None:
        self.cluster = cluster
        self.state_dir = state_dir
        self.image = image
        self.faults = faults
        self.repo_url = repo_url
        # How the workspace's tools trust the lab CA: SSL_CERT_FILE, GIT_SSL_CAINFO, NODE_EXTRA_CA_CERTS.
        self.trust = dict(trust or {})
        self.kept_namespaces: set[str] = set()  # left behind under namespace-kept-on-delete
        # The owner's session token and GitHub token, which a start build prints under secrets-echoed.
        self.session_token = ""
        self.github_token = ""
        faults.subscribe(self._release_kept_namespaces)

    @staticmethod
    def namespace(workspace: Workspace) -> str:
        return f"ameide-ws-{workspace.id}"

    @staticmethod
    def pod_name(workspace: Workspace) -> str:
        return f"coder-{workspace.owner.username}-{workspace.name}".lower()

    def home(self, workspace: Workspace) -> Path:
        return self.state_dir / "homes" / workspace.id

    def bin_dir(self, workspace: Workspace) -> Path:
        return self.state_dir / "images" / workspace.id / "bin"

    def tmp_dir(self, workspace: Workspace) -> Path:
        """The container's own /tmp (codex, for one, refuses to keep its home under TMPDIR)."""
        return self.state_dir / "images" / workspace.id / "tmp"

    def _volume(self, pvc: dict[str, Any]) -> Path:
        return self.state_dir / "volumes" / pvc["metadata"]["uid"]

    def labels(self, workspace: Workspace) -> dict[str, str]:
        return {
            "app.kubernetes.io/managed-by": "coder",
            "app.kubernetes.io/name": "coder-workspace",
            "com.coder.workspace.id": workspace.id,
            "com.coder.workspace.name": workspace.name,
            "com.coder.user.username": workspace.owner.username,
        }

    def env(self, workspace: Workspace, volume: Path) -> dict[str, str]:
        """The workspace user's environment (never the lab's own)."""
        home = self.home(workspace)
        return {
            "HOME": str(home),
            "USER": "coder",
            "LOGNAME": "coder",
            "SHELL": "/bin/bash",
            "PATH": self.image.path(self.bin_dir(workspace)),
            "LANG": "C.UTF-8",
            "TMPDIR": str(self.tmp_dir(workspace)),
            "WORKSPACE_VOLUME": str(volume),
            "CODEX_HOME": str(codex_home(home)),
            "CODER": "true",
            "CODER_WORKSPACE_NAME": workspace.name,
            "CODER_WORKSPACE_AGENT_NAME": "main",
            "CODER_WORKSPACE_OWNER_NAME": workspace.owner.username,
        } | self.trust

    async def start(
        self, workspace: Workspace, after_stop: bool, log: Callable[[str, str], None], image: str | None = None
    ) -> Placement:
        """Apply the workspace's objects and run envbuilder; `log(level, line)` feeds the build log. `image` is
        the pod's image as the build's template version names it (None: the seeded templates' own)."""
        namespace, pod = self.namespace(workspace), self.pod_name(workspace)
        labels = self.labels(workspace)
        self.cluster.apply_namespace(namespace, labels)
        log("info", f"kubernetes_namespace.workspace: Creation complete [id={namespace}]")
        claim = self.cluster.apply_pvc(namespace, PVC)
        volume = self._volume(claim)
        log("info", f"kubernetes_persistent_volume_claim.workspaces: Creation complete [id={namespace}/{PVC}]")
        if after_stop and self.faults.on(VOLUME_WIPED_ON_RESTART):
            shutil.rmtree(volume, ignore_errors=True)
        volume.mkdir(parents=True, exist_ok=True)
        self.image.lay(self.bin_dir(workspace), self.home(workspace), self.tmp_dir(workspace))
        existing = self.cluster.get("pods", namespace, pod)
        if existing is not None and existing["status"]["phase"] != "Running":
            self.cluster.delete_pod(namespace, pod)  # an earlier build's pod that never ran: replaced
        if image is not None and (problem := pull_error(image)):
            self._fail_pull(namespace, pod, labels, image, problem, log)
        self.cluster.apply_pod(namespace, pod, labels, image=image or IMAGE)
        log("info", f"kubernetes_pod.main: Creation complete [id={namespace}/{pod}]")

        def pod_log(line: str) -> None:
            self.cluster.append_pod_log(namespace, pod, line)

        if self.faults.on(SECRETS_ECHOED):
            self._fail_echoing_secrets(volume, log, pod_log)
        if self.faults.on(BUILD_FAILS):
            pod_log("envbuilder v1.1.0 - Build development environments from repositories in a container")
            pod_log(
                "error: failed to build devcontainer: unable to pull feature layers: "
                "unexpected status code 503 Service Unavailable"
            )
            log("error", "Error: kubernetes_pod.main: envbuilder exited with code 1: failed to build devcontainer")
            log(
                "error",
                f'  with kubernetes_pod.main, on main.tf line 212, in resource "kubernetes_pod" '
                f'"main": waiting for pod {namespace}/{pod} to become ready',
            )
            raise BuildFailed("terraform apply: exit status 1")
        checkout = None
        if self.faults.on(REPO_NOT_CHECKED_OUT):
            # A wrong workspace folder: envbuilder clones into the container's own, throwaway filesystem,
            # so devcontainer and postCreate still work but the volume never gets the repository.
            checkout = self.state_dir / "images" / workspace.id / "rootfs" / REPO_DIR
            shutil.rmtree(checkout, ignore_errors=True)
        try:
            result = await bootstrap(self.repo_url, volume, self.env(workspace, volume), pod_log, checkout)
        except Exception as error:
            log("error", f"Error: kubernetes_pod.main: envbuilder: {error}")
            raise BuildFailed("terraform apply: exit status 1") from error
        for line in result.summary():
            log("info", line)
        return Placement(namespace, pod, volume, self.home(workspace), self.bin_dir(workspace), result)

    def _fail_pull(
        self,
        namespace: str,
        pod: str,
        labels: dict[str, str],
        image: str,
        problem: str,
        log: Callable[[str, str], None],
    ) -> None:
        """The version names an image the registry does not have: the pod waits in ImagePullBackOff until
        terraform gives up on it, which fails the build (no plan catches a mistyped tag)."""
        self.cluster.apply_pod(namespace, pod, labels, image=image, pull_error=problem)
        log("info", f"kubernetes_pod.main: Still creating... [id={namespace}/{pod}]")
        log(
            "error",
            f'Error: waiting for pod {namespace}/{pod} to become ready: container "dev" is waiting to start: '
            f'ImagePullBackOff: Back-off pulling image "{image}"',
        )
        log("error", '  with kubernetes_pod.main, on main.tf line 212, in resource "kubernetes_pod" "main"')
        raise BuildFailed("terraform apply: exit status 1")

    def _fail_echoing_secrets(
        self, volume: Path, log: Callable[[str, str], None], pod_log: Callable[[str], None]
    ) -> None:
        """A template that hands envbuilder the owner's session token and a clone URL with the GitHub token
        in it, and a failed clone that prints both: in the pod's log, the build log and the job's error."""
        scheme, _, rest = self.repo_url.partition("://")
        url = f"{scheme}://x-access-token:{self.github_token}@{rest}"
        pod_log("envbuilder v1.1.0 - Build development environments from repositories in a container")
        pod_log(f"#1: 📦 Cloning {url} to {volume / REPO_DIR}...")
        pod_log(f"error: clone repository: unable to access '{url}': The requested URL returned error: 403")
        pod_log(f"envbuilder: environment: CODER_SESSION_TOKEN={self.session_token} ENVBUILDER_GIT_URL={url}")
        log("error", f"Error: kubernetes_pod.main: envbuilder exited with code 1: cloning {url} failed")
        log("error", f'  with kubernetes_pod.main, env CODER_SESSION_TOKEN = "{self.session_token}"')
        raise BuildFailed(
            f"terraform apply: exit status 1: cloning {url} failed (CODER_SESSION_TOKEN={self.session_token})"
        )

    def stop(self, workspace: Workspace, log: Callable[[str, str], None]) -> bool:
        """Remove the pod; returns whether the claim survives (not under pvc-lost-on-stop)."""
        namespace, pod = self.namespace(workspace), self.pod_name(workspace)
        if self.faults.on(POD_KEPT_ON_STOP):
            log("warn", f"kubernetes_pod.main: still running [id={namespace}/{pod}] (not in the stop plan)")
        else:
            self.cluster.delete_pod(namespace, pod)
            log("info", f"kubernetes_pod.main: Destruction complete [id={namespace}/{pod}]")
        if self.faults.on(NAMESPACE_REPLACED_ON_STOP) or self.faults.on(CLAIM_REPLACED_ON_STOP):
            self._replace_on_stop(namespace, log)
            return True
        if not self.faults.on(PVC_LOST_ON_STOP):
            return True
        claim = self.cluster.get("persistentvolumeclaims", namespace, PVC)
        self.cluster.delete_pvc(namespace, PVC)
        if claim is not None:
            shutil.rmtree(self._volume(claim), ignore_errors=True)
        log("info", f"kubernetes_persistent_volume_claim.workspaces: Destruction complete [id={namespace}/{PVC}]")
        return False

    def _replace_on_stop(self, namespace: str, log: Callable[[str, str], None]) -> None:
        """The stop recreates the namespace (and so the claim), or only the claim; the volume's data moves
        to the new claim, so only the UIDs tell."""
        old = self.cluster.get("persistentvolumeclaims", namespace, PVC)
        if self.faults.on(NAMESPACE_REPLACED_ON_STOP):
            self.cluster.replace_namespace(namespace)
            log("info", f"kubernetes_namespace.workspace: Modifications complete after replacement [id={namespace}]")
            claim = self.cluster.apply_pvc(namespace, PVC)
        elif old is not None:
            claim = self.cluster.replace_pvc(namespace, PVC)
        else:
            claim = self.cluster.apply_pvc(namespace, PVC)
        log(
            "info",
            f"kubernetes_persistent_volume_claim.workspaces: Modifications complete after replacement "
            f"[id={namespace}/{PVC}]",
        )
        if old is not None and self._volume(old).exists():
            self._volume(old).rename(self._volume(claim))

    def destroy(self, workspace: Workspace, log: Callable[[str, str], None]) -> None:
        namespace = self.namespace(workspace)
        claim = self.cluster.get("persistentvolumeclaims", namespace, PVC)
        if claim is not None:
            shutil.rmtree(self._volume(claim), ignore_errors=True)
        for directory in (self.home(workspace), self.bin_dir(workspace).parent):
            shutil.rmtree(directory, ignore_errors=True)
        if self.faults.on(NAMESPACE_KEPT_ON_DELETE):
            # The namespace is not in the template's state: terraform destroys pod and claim, never it.
            self.cluster.delete_pod(namespace, self.pod_name(workspace))
            log("info", f"kubernetes_pod.main: Destruction complete [id={namespace}/{self.pod_name(workspace)}]")
            self.cluster.delete_pvc(namespace, PVC)
            log("info", f"kubernetes_persistent_volume_claim.workspaces: Destruction complete [id={namespace}/{PVC}]")
            self.kept_namespaces.add(namespace)
            return
        self.cluster.delete_namespace(namespace)
        log("info", f"kubernetes_namespace.workspace: Destruction complete [id={namespace}]")

    def _release_kept_namespaces(self) -> None:
        """Once the fault is lifted, remove what it left behind, so later checks see a clean cluster."""
        if self.faults.on(NAMESPACE_KEPT_ON_DELETE):
            return
        for namespace in sorted(self.kept_namespaces):
            self.cluster.delete_namespace(namespace)
        self.kept_namespaces.clear()


def planned_resources(version: TemplateVersion) -> list[Resource]:
    """What a succeeded import of the Ameide template planned, as `GET /templateversions/{id}/resources`
    lists it: the start transition (namespace, claim, the pod with its agent and code-server) and the stop
    transition (namespace and claim). Made once, on the first ask."""
    if version.job.status != "succeeded":
        return []
    if not version.resources:
        job_id, at = version.job.id, version.job.completed_at or version.created_at
        claim_metadata: list[dict[str, object]] = [{"key": "size", "value": "10Gi", "sensitive": False}]
        for transition in ("start", "stop"):
            version.resources += [
                Resource(job_id, transition, "kubernetes_namespace", "workspace", created_at=at),
                Resource(
                    job_id,
                    transition,
                    "kubernetes_persistent_volume_claim",
                    PVC,
                    metadata=claim_metadata,
                    created_at=at,
                ),
            ]
        pod = Resource(job_id, "start", "kubernetes_pod", "main", created_at=at)
        base = f"http://localhost:{CODE_SERVER_PORT}"
        app = App("code-server", "code-server", f"{base}/?folder={LIVE_FOLDER}", f"{base}/healthz")
        # An import's agent never connects: coderd reports it connecting, then timed out.
        pod.agents.append(Agent(workspace_id="", resource_id=pod.id, home="", apps=[app], created_at=at))
        version.resources.insert(2, pod)
    return version.resources
