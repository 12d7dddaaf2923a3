"""Probes of the workspace's Kubernetes objects: namespace, volume claims, pods and pod logs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError as Urllib3Error

from workspace_spec.errors import PlatformFailure

T = TypeVar("T")


class ClusterUnavailable(PlatformFailure):
    """The Kubernetes API cannot be used (no configuration, unreachable, or access denied)."""


@dataclass(frozen=True)
class KubeObject:
    kind: str
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
        self._core = client.CoreV1Api(api_client)
        self._version = client.VersionApi(api_client)
        self._timeout = request_timeout
        self.server: str = api_client.configuration.host

    def version(self) -> str:
        """The API server's version: the cheapest proof that it answers and accepts the credentials."""
        info = self._read(lambda: self._version.get_code(_request_timeout=self._timeout))
        return info.git_version if info else ""

    def namespace(self, name: str) -> KubeObject | None:
        found = self._read(lambda: self._core.read_namespace(name, _request_timeout=self._timeout))
        return None if found is None else _object("Namespace", found, found.status.phase if found.status else "")

    def volume_claims(self, namespace: str) -> list[KubeObject]:
        items = self._read(
            lambda: self._core.list_namespaced_persistent_volume_claim(namespace, _request_timeout=self._timeout)
        )
        if items is None:
            return []
        return [
            _object("PersistentVolumeClaim", item, item.status.phase if item.status else "") for item in items.items
        ]

    def pods(self, namespace: str, label_selector: str | None = None) -> list[KubeObject]:
        items = self._read(
            lambda: self._core.list_namespaced_pod(
                namespace, label_selector=label_selector or "", _request_timeout=self._timeout
            )
        )
        if items is None:
            return []
        return [_object("Pod", item, item.status.phase if item.status else "") for item in items.items]

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
        try:
            return call()
        except ApiException as error:
            if error.status == 404:
                return None
            raise ClusterUnavailable(f"Kubernetes API answered {error.status} {error.reason}") from None
        except Urllib3Error as error:
            raise ClusterUnavailable(f"Kubernetes API unreachable: {type(error).__name__}") from None


def _object(kind: str, item: Any, phase: str) -> KubeObject:
    metadata = item.metadata
    return KubeObject(kind=kind, name=metadata.name, uid=metadata.uid, phase=phase or "")
