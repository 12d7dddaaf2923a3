"""Probes of the workspace's Kubernetes objects: namespace, volume claims, pods, pod logs and events.

The suite reads only, with exactly the rights in RIGHTS (docs/live-deployment.md lists them for the CI identity), and
checks them with SelfSubjectAccessReview, as `kubectl auth can-i` does, before anything is created.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, TypeVar

from workspace_spec.errors import PlatformFailure

if TYPE_CHECKING:
    from kubernetes.client.exceptions import ApiException

# The client is imported where it is used (preload.KUBERNETES loads it while the run's target starts).

T = TypeVar("T")


class ClusterUnavailable(PlatformFailure):
    """The Kubernetes API cannot be used (no configuration, unreachable, or access denied)."""


@dataclass(frozen=True)
class Right:
    verb: str
    resource: str
    subresource: str = ""
    why: str = ""

    def describe(self) -> str:
        what = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{self.verb} {what}"

    def explain(self) -> str:
        return f"{self.describe()} (for {self.why})"


# Everything the suite asks the cluster, in every namespace (workspace namespaces come and go).
RIGHTS = (
    Right("get", "namespaces", why="the workspace namespace outlives a stop and goes with a delete"),
    Right("list", "persistentvolumeclaims", why="the volume claim outlives a stop"),
    Right("list", "pods", why="no pod runs while stopped; pods to read logs of on failure"),
    Right("get", "pods", "log", why="pod logs of a failed scenario (spec 629 §5.1)"),
    Right("list", "events", why="events of a failed scenario's namespace"),
)


@dataclass(frozen=True)
class KubeObject:
    name: str
    uid: str
    phase: str


@dataclass(frozen=True)
class NamespaceObjects:
    """A workspace namespace and what is in it, at one moment."""

    namespace: KubeObject | None
    claims: tuple[KubeObject, ...]
    pods: tuple[KubeObject, ...]


def workspace_namespace(workspace_id: str) -> str:
    """The namespace the Ameide templates give each workspace (spec 629 §5.1)."""
    return f"ameide-ws-{workspace_id}"


class Cluster:
    """Read-only access to the workspace cluster."""

    def __init__(self, kubeconfig: str | None, request_timeout: float = 10.0) -> None:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        try:
            if kubeconfig:
                api_client = config.new_client_from_config(config_file=kubeconfig)
            else:
                config.load_incluster_config()
                api_client = client.ApiClient()
        except (ConfigException, OSError) as error:
            raise ClusterUnavailable(
                f"no usable Kubernetes configuration (KUBECONFIG={kubeconfig!r}): {error}"
            ) from None
        self._api_client = api_client
        self._authorization = client.AuthorizationV1Api(api_client)  # the preflight's: the others come later
        self._timeout = request_timeout
        self.server: str = api_client.configuration.host

    @cached_property
    def _core(self) -> Any:
        """CoreV1Api: its module takes a third of a second to import, which the first create need not wait for."""
        from kubernetes import client

        return client.CoreV1Api(self._api_client)

    @cached_property
    def _version(self) -> Any:
        from kubernetes import client

        return client.VersionApi(self._api_client)

    def version(self) -> str:
        """The API server's version: the cheapest proof that it answers and accepts the credentials."""
        info = self._read(lambda: self._version.get_code(_request_timeout=self._timeout))
        return info.git_version if info else ""

    def missing_rights(self) -> list[Right]:
        """The rights of RIGHTS the configured identity lacks, asked as `kubectl auth can-i` asks."""
        from kubernetes import client

        missing = []
        for right in RIGHTS:
            review = client.V1SelfSubjectAccessReview(
                spec=client.V1SelfSubjectAccessReviewSpec(
                    resource_attributes=client.V1ResourceAttributes(
                        verb=right.verb, resource=right.resource, subresource=right.subresource or None
                    )
                )
            )
            answer = self._read(
                partial(self._authorization.create_self_subject_access_review, review, _request_timeout=self._timeout)
            )
            if answer is None or answer.status is None or not answer.status.allowed:
                missing.append(right)
        return missing

    def events(self, namespace: str) -> list[str]:
        """The namespace's events, oldest first, one line each (what `kubectl get events` shows)."""
        items = self._read(lambda: self._core.list_namespaced_event(namespace, _request_timeout=self._timeout))
        lines = []
        for event in sorted(items.items if items else [], key=lambda e: str(e.last_timestamp or e.event_time or "")):
            involved = event.involved_object
            seen = event.last_timestamp or event.event_time or ""
            lines.append(f"{seen} {event.type} {event.reason} {involved.kind}/{involved.name}: {event.message}")
        return lines

    def namespace(self, name: str) -> KubeObject | None:
        found = self._read(lambda: self._core.read_namespace(name, _request_timeout=self._timeout))
        return None if found is None else _object(found, found.status.phase if found.status else "")

    def lingering(self, name: str) -> str | None:
        """The namespace's phase while it stays; None once it is gone or on its way out (Terminating)."""
        namespace = self.namespace(name)
        return None if namespace is None or namespace.phase == "Terminating" else namespace.phase

    def volume_claims(self, namespace: str) -> list[KubeObject]:
        items = self._read(
            lambda: self._core.list_namespaced_persistent_volume_claim(namespace, _request_timeout=self._timeout)
        )
        if items is None:
            return []
        return [_object(item, item.status.phase if item.status else "") for item in items.items]

    def pods(self, namespace: str, label_selector: str | None = None) -> list[KubeObject]:
        items = self._read(
            lambda: self._core.list_namespaced_pod(
                namespace, label_selector=label_selector or "", _request_timeout=self._timeout
            )
        )
        if items is None:
            return []
        return [_object(item, item.status.phase if item.status else "") for item in items.items]

    def objects(self, namespace: str) -> NamespaceObjects:
        return NamespaceObjects(
            self.namespace(namespace), tuple(self.volume_claims(namespace)), tuple(self.pods(namespace))
        )

    def objects_once_pods_are_gone(self, namespace: str, timeout: float) -> NamespaceObjects:
        """The namespace's objects after its pods have gone (a deleted pod may take a moment to terminate)."""
        deadline = time.monotonic() + timeout
        while (objects := self.objects(namespace)).pods and time.monotonic() < deadline:
            time.sleep(0.5)
        return objects

    def pod_log(self, namespace: str, pod: str, tail_lines: int = 200) -> str:
        text = self._read(
            lambda: self._core.read_namespaced_pod_log(
                pod, namespace, tail_lines=tail_lines, _request_timeout=self._timeout
            )
        )
        return text or ""

    @staticmethod
    def _read(call: Callable[[], T]) -> T | None:
        """Run one read; None when the object is not there, ClusterUnavailable when the API is not usable."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError as Urllib3Error

        try:
            return call()
        except ApiException as error:
            if error.status == 404:
                return None
            raise ClusterUnavailable(
                f"Kubernetes API answered {error.status} {error.reason}{_message(error)}"
            ) from None
        except Urllib3Error as error:
            raise ClusterUnavailable(f"Kubernetes API unreachable: {type(error).__name__}") from None


def _message(error: ApiException) -> str:
    """The Status message of an API error (a 403 names the right that is missing)."""
    try:
        status = json.loads(error.body or "{}")
    except ValueError:
        return ""
    message = status.get("message") if isinstance(status, dict) else None
    return f": {message}" if isinstance(message, str) and message else ""


def _object(item: Any, phase: str | None) -> KubeObject:
    metadata = item.metadata
    return KubeObject(name=metadata.name, uid=metadata.uid, phase=phase or "")
