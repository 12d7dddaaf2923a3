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
from urllib.parse import quote

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
        items = self._items(f"/api/v1/namespaces/{quote(namespace)}/events")
        lines = []
        for event in sorted(items, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or "")):
            involved = event.get("involvedObject") or {}
            seen = event.get("lastTimestamp") or event.get("eventTime") or ""
            kind, name = involved.get("kind"), involved.get("name")
            lines.append(f"{seen} {event.get('type')} {event.get('reason')} {kind}/{name}: {event.get('message')}")
        return lines

    def namespace(self, name: str) -> KubeObject | None:
        found = self._json(f"/api/v1/namespaces/{quote(name)}")
        return None if found is None else _object(found)

    def lingering(self, name: str) -> str | None:
        """The namespace's phase while it stays; None once it is gone or on its way out (Terminating)."""
        namespace = self.namespace(name)
        return None if namespace is None or namespace.phase == "Terminating" else namespace.phase

    def volume_claims(self, namespace: str) -> list[KubeObject]:
        return [_object(item) for item in self._items(f"/api/v1/namespaces/{quote(namespace)}/persistentvolumeclaims")]

    def pods(self, namespace: str, label_selector: str | None = None) -> list[KubeObject]:
        query = {"labelSelector": label_selector} if label_selector else {}
        return [_object(item) for item in self._items(f"/api/v1/namespaces/{quote(namespace)}/pods", query)]

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
        path = f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(pod)}/log"
        text = self._get(path, {"tailLines": str(tail_lines)}, accept="text/plain")
        return text.decode(errors="replace") if text else ""

    def _items(self, path: str, query: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """The items of a list, as the API sends them; none where the namespace is not there."""
        found = self._json(path, query)
        items = found.get("items") if found is not None else None
        return items if isinstance(items, list) else []

    def _json(self, path: str, query: dict[str, str] | None = None) -> dict[str, Any] | None:
        """The object the API sends for `path`; None for 404. A body that is not a JSON object (a proxy's sign-in
        page in front of the API) means the API cannot be used."""
        found = self._get(path, query)
        if found is None:
            return None
        try:
            data = json.loads(found)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ClusterUnavailable(f"Kubernetes API answered GET {path} with a body that is not a JSON object")
        return data

    def _get(self, path: str, query: dict[str, str] | None = None, accept: str = "application/json") -> bytes | None:
        """A GET through the client's ApiClient (its configuration, credentials and TLS), the body as it came;
        None for 404. The reads need a few fields of core/v1 objects: CoreV1Api would parse them into its models,
        and importing it costs every run about 0.8 CPU-seconds."""
        from kubernetes.client.exceptions import ApiException

        def call() -> bytes:
            method, url, headers, body, post = self._api_client.param_serialize(
                "GET",
                path,
                query_params=list((query or {}).items()),
                header_params={"Accept": accept},
                auth_settings=["BearerToken"],
            )
            response = self._api_client.call_api(method, url, headers, body, post, _request_timeout=self._timeout)
            data: bytes = response.read()
            if not 200 <= response.status <= 299:
                raise ApiException.from_response(http_resp=response, body=data.decode(errors="replace"), data=None)
            return data

        return self._read(call)

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


def _object(item: dict[str, Any]) -> KubeObject:
    metadata, status = item.get("metadata") or {}, item.get("status") or {}
    return KubeObject(
        name=str(metadata.get("name", "")), uid=str(metadata.get("uid", "")), phase=status.get("phase") or ""
    )
