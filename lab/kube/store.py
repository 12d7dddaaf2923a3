"""The object store: core/v1 namespaces, PVCs, pods (with their logs) and events, and apps/v1
deployments (enough for `kubectl logs deploy/<name>`), in the real wire format.

`Cluster` is the state the Coder side of the lab drives. Every change is also a watch event
(ADDED, MODIFIED, DELETED) for `lab.kube.watch`, and pods get the events the scheduler and kubelet
record for them (Scheduled, Pulling, Pulled, Created, Started; Killing on delete).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

# plural -> (groupVersion, kind, namespaced, short name, verbs served)
RESOURCES: dict[str, tuple[str, str, bool, str, list[str]]] = {
    "namespaces": ("v1", "Namespace", False, "ns", ["delete", "get", "list", "watch"]),
    "persistentvolumeclaims": ("v1", "PersistentVolumeClaim", True, "pvc", ["get", "list", "watch"]),
    "pods": ("v1", "Pod", True, "po", ["get", "list", "watch"]),
    "events": ("v1", "Event", True, "ev", ["get", "list", "watch"]),
    "deployments": ("apps/v1", "Deployment", True, "deploy", ["get", "list", "watch"]),
}
HISTORY = 1000  # changes kept for watches that resume from a resourceVersion
IMAGE = "ghcr.io/coder/envbuilder:latest"
NODE = "lab-node"
Obj = dict[str, Any]
# A change as a watch reports it: (resourceVersion, ADDED/MODIFIED/DELETED, resource, object).
Change = tuple[int, str, str, Obj]


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Cluster:
    """Objects keyed by (namespace, name) per resource; namespaces use namespace None.

    Not thread-safe: use it only from the event loop that serves it.
    """

    def __init__(self, termination_seconds: float = 0.5) -> None:
        self.termination_seconds = termination_seconds
        self._objects: dict[str, dict[tuple[str | None, str], Obj]] = {r: {} for r in RESOURCES}
        self._logs: dict[tuple[str, str], list[str]] = {}
        self._revision = 0
        self._history: deque[Change] = deque(maxlen=HISTORY)
        self._watchers: set[asyncio.Queue[Change]] = set()
        self._event_ids = itertools.count()

    @property
    def resource_version(self) -> str:
        """The cluster-wide resourceVersion, as list responses report it."""
        return str(self._revision)

    def _bump(self) -> str:
        self._revision += 1
        return str(self._revision)

    # --- watching ---------------------------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[Change]:
        """A queue that receives every later change; `unsubscribe` it when done."""
        queue: asyncio.Queue[Change] = asyncio.Queue()
        self._watchers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Change]) -> None:
        self._watchers.discard(queue)

    def changes_since(self, revision: int) -> list[Change] | None:
        """Changes after `revision`, oldest first; None when they are no longer kept (410 Gone)."""
        if self._history and revision < self._history[0][0] - 1:
            return None
        return [change for change in self._history if change[0] > revision]

    def _emit(self, kind: str, resource: str, obj: Obj) -> None:
        change = (int(obj["metadata"]["resourceVersion"]), kind, resource, copy.deepcopy(obj))
        self._history.append(change)
        for queue in self._watchers:
            queue.put_nowait(change)

    def _remove(self, resource: str, key: tuple[str | None, str]) -> Obj | None:
        """Drop the object; its DELETED event carries the deletion's resourceVersion, as the API server's."""
        obj = self._objects[resource].pop(key, None)
        if obj is not None:
            obj["metadata"]["resourceVersion"] = self._bump()
            self._emit("DELETED", resource, obj)
        return obj

    # --- objects ----------------------------------------------------------------------------

    def _new(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        labels: dict[str, str] | None,
        body: Obj,
        uid: str | None = None,
        **extra: Any,
    ) -> Obj:
        meta: Obj = {"name": name}
        if namespace is not None:
            meta["namespace"] = namespace
        meta |= {"uid": uid or str(uuid.uuid4()), "resourceVersion": self._bump(), "creationTimestamp": _timestamp()}
        if labels is not None:
            meta["labels"] = dict(labels)
        meta |= extra
        group_version, kind = RESOURCES[resource][:2]
        obj = {"kind": kind, "apiVersion": group_version, "metadata": meta} | body
        self._objects[resource][(namespace, name)] = obj
        self._emit("ADDED", resource, obj)
        return obj

    def _modified(self, resource: str, obj: Obj) -> None:
        obj["metadata"]["resourceVersion"] = self._bump()
        self._emit("MODIFIED", resource, obj)

    def _relabel(self, resource: str, obj: Obj, labels: dict[str, str]) -> Obj:
        merged = obj["metadata"]["labels"] | labels
        if merged != obj["metadata"]["labels"]:
            obj["metadata"]["labels"] = merged
            self._modified(resource, obj)
        return copy.deepcopy(obj)

    def _require_active(self, namespace: str) -> None:
        # The real API server refuses new objects in a missing or terminating namespace.
        ns = self._objects["namespaces"].get((None, namespace))
        if ns is None:
            raise LookupError(f'namespaces "{namespace}" not found')
        if "deletionTimestamp" in ns["metadata"]:
            raise LookupError(f"namespace {namespace} is being terminated")

    def apply_namespace(self, name: str, labels: dict[str, str]) -> Obj:
        """Create the namespace if missing, else merge `labels` into it; return the object."""
        existing = self._objects["namespaces"].get((None, name))
        if existing is not None:
            return self._relabel("namespaces", existing, labels)
        # The API server adds the immutable name label to every namespace.
        labels = {"kubernetes.io/metadata.name": name} | labels
        body = {"spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
        obj = self._new("namespaces", None, name, labels, body)
        return copy.deepcopy(obj)

    def delete_namespace(self, name: str) -> None:
        """Mark the namespace Terminating; it and its contents vanish after termination_seconds.

        Must run inside the event loop that serves the cluster (it schedules the removal there).
        """
        ns = self._objects["namespaces"].get((None, name))
        if ns is None or "deletionTimestamp" in ns["metadata"]:
            return
        ns["metadata"] |= {"deletionTimestamp": _timestamp(), "deletionGracePeriodSeconds": 0}
        ns["status"]["phase"] = "Terminating"
        self._modified("namespaces", ns)
        asyncio.get_running_loop().call_later(self.termination_seconds, self._purge, name, ns["metadata"]["uid"])

    def replace_namespace(self, name: str) -> Obj:
        """Delete the namespace and its contents at once and create it again under the same name and labels
        (a new UID), as a finalizer-less delete followed by a create does; returns the new namespace."""
        old = self._objects["namespaces"].get((None, name))
        if old is None:
            raise LookupError(f'namespaces "{name}" not found')
        labels = dict(old["metadata"].get("labels", {}))
        self._purge(name, old["metadata"]["uid"])
        return self.apply_namespace(name, labels)

    def replace_pvc(self, namespace: str, name: str) -> Obj:
        """Delete the claim and create one of the same name and size (a new UID); returns the new claim."""
        old = self._objects["persistentvolumeclaims"].get((namespace, name))
        if old is None:
            raise LookupError(f'persistentvolumeclaims "{name}" not found')
        storage = old["spec"]["resources"]["requests"]["storage"]
        self.delete_pvc(namespace, name)
        return self.apply_pvc(namespace, name, storage)

    def _purge(self, name: str, uid: str) -> None:
        ns = self._objects["namespaces"].get((None, name))
        if ns is None or ns["metadata"]["uid"] != uid:
            return
        for resource in [r for r, spec in RESOURCES.items() if spec[2]]:
            for key in sorted(k for k in self._objects[resource] if k[0] == name):
                self._remove(resource, key)
        self._remove("namespaces", (None, name))
        self._logs = {k: v for k, v in self._logs.items() if k[0] != name}

    def apply_pvc(self, namespace: str, name: str, storage: str = "10Gi") -> Obj:
        """Create a Bound ReadWriteOnce claim if missing; return the object."""
        existing = self._objects["persistentvolumeclaims"].get((namespace, name))
        if existing is not None:
            return copy.deepcopy(existing)
        self._require_active(namespace)
        spec = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": storage}},
            "storageClassName": "standard",
            "volumeMode": "Filesystem",
            "volumeName": "",
        }
        status = {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": storage}}
        # Dynamic provisioning names the volume after the claim's UID, known once the claim exists.
        uid = str(uuid.uuid4())
        spec["volumeName"] = f"pvc-{uid}"
        obj = self._new(
            "persistentvolumeclaims",
            namespace,
            name,
            {},
            {"spec": spec, "status": status},
            uid=uid,
            finalizers=["kubernetes.io/pvc-protection"],
        )
        return copy.deepcopy(obj)

    def delete_pvc(self, namespace: str, name: str) -> None:
        self._remove("persistentvolumeclaims", (namespace, name))

    def apply_pod(
        self,
        namespace: str,
        name: str,
        labels: dict[str, str],
        container: str = "dev",
        image: str = IMAGE,
        pull_error: str | None = None,
    ) -> Obj:
        """Create a Running, Ready pod with one container if missing, else merge `labels`. With `pull_error`
        (what the runtime answered) its image cannot be pulled: the pod stays Pending in ImagePullBackOff."""
        existing = self._objects["pods"].get((namespace, name))
        if existing is not None:
            return self._relabel("pods", existing, labels)
        self._require_active(namespace)
        now = _timestamp()
        if pull_error is not None:
            return self._apply_unpullable_pod(namespace, name, labels, container, image, pull_error)
        spec = {
            "containers": [
                {
                    "name": container,
                    "image": image,
                    "imagePullPolicy": "Always",
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                }
            ],
            "nodeName": NODE,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
        }
        conditions = [
            {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
            for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        ]
        status_of_container = {
            "name": container,
            "image": image,
            "imageID": f"{image.split(':')[0]}@sha256:{'0' * 64}",
            "containerID": f"containerd://{uuid.uuid4().hex}",
            "ready": True,
            "started": True,
            "restartCount": 0,
            "state": {"running": {"startedAt": now}},
        }
        status = {
            "phase": "Running",
            "conditions": conditions,
            "containerStatuses": [status_of_container],
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": "127.0.0.1",
            "podIPs": [{"ip": "127.0.0.1"}],
            "qosClass": "BestEffort",
            "startTime": now,
        }
        obj = self._new("pods", namespace, name, labels, {"spec": spec, "status": status})
        self._logs[(namespace, name)] = []
        self._pod_started(obj)
        return copy.deepcopy(obj)

    def _apply_unpullable_pod(
        self, namespace: str, name: str, labels: dict[str, str], container: str, image: str, pull_error: str
    ) -> Obj:
        """A pod whose image the kubelet cannot pull (pkg/kubelet/images/image_manager.go): Pending, its
        container waiting in ImagePullBackOff, with the kubelet's Failed and BackOff events."""
        now = _timestamp()
        spec = {
            "containers": [{"name": container, "image": image, "imagePullPolicy": "Always", "resources": {}}],
            "nodeName": NODE,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
        }
        not_ready = {
            "status": "False",
            "reason": "ContainersNotReady",
            "lastProbeTime": None,
            "lastTransitionTime": now,
        }
        conditions = [
            {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
            not_ready | {"type": "Ready", "message": f"containers with unready status: [{container}]"},
            not_ready | {"type": "ContainersReady", "message": f"containers with unready status: [{container}]"},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
        ]
        back_off = f'Back-off pulling image "{image}"'
        waiting = {"waiting": {"reason": "ImagePullBackOff", "message": back_off}}
        status = {
            "phase": "Pending",
            "conditions": conditions,
            "containerStatuses": [
                {"name": container, "image": image, "imageID": "", "ready": False, "started": False}
                | {"restartCount": 0, "state": waiting}
            ],
            "hostIP": "127.0.0.1",
            "podIP": "127.0.0.1",
            "qosClass": "BestEffort",
            "startTime": now,
        }
        pod = self._new("pods", namespace, name, labels, {"spec": spec, "status": status})
        self._logs[(namespace, name)] = []
        self._scheduled_and_pulling(pod)
        self.record_event(
            pod, "Failed", f'Failed to pull image "{image}": {pull_error}', "Warning", container=container
        )
        self.record_event(pod, "Failed", "Error: ErrImagePull", "Warning", container=container)
        self.record_event(pod, "BackOff", back_off, container=container)
        self.record_event(pod, "Failed", "Error: ImagePullBackOff", "Warning", container=container)
        return copy.deepcopy(pod)

    def apply_deployment(
        self, namespace: str, name: str, labels: dict[str, str], selector: dict[str, str], container: str, image: str
    ) -> Obj:
        """Create an available one-replica Deployment if missing (its pods are the caller's to apply)."""
        existing = self._objects["deployments"].get((namespace, name))
        if existing is not None:
            return copy.deepcopy(existing)
        self._require_active(namespace)
        now = _timestamp()
        spec = {
            "replicas": 1,
            "selector": {"matchLabels": dict(selector)},
            "template": {
                "metadata": {"labels": dict(selector)},
                "spec": {"containers": [{"name": container, "image": image}], "restartPolicy": "Always"},
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        }
        condition = {"status": "True", "lastUpdateTime": now, "lastTransitionTime": now}
        status = {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "readyReplicas": 1,
            "availableReplicas": 1,
            "conditions": [
                condition
                | {
                    "type": "Available",
                    "reason": "MinimumReplicasAvailable",
                    "message": "Deployment has minimum availability.",
                },
                condition
                | {"type": "Progressing", "reason": "NewReplicaSetAvailable", "message": "ReplicaSet is available."},
            ],
        }
        obj = self._new(
            "deployments",
            namespace,
            name,
            labels,
            {"spec": spec, "status": status},
            generation=1,
            annotations={"deployment.kubernetes.io/revision": "1"},
        )
        return copy.deepcopy(obj)

    def delete_pod(self, namespace: str, name: str) -> None:
        pod = self._objects["pods"].get((namespace, name))
        if pod is None:
            return
        container = pod["spec"]["containers"][0]["name"]
        self.record_event(pod, "Killing", f"Stopping container {container}", container=container)
        self._remove("pods", (namespace, name))
        self._logs.pop((namespace, name), None)

    # --- events -----------------------------------------------------------------------------

    def _pod_started(self, pod: Obj) -> None:
        """What the scheduler and the kubelet record for a pod that starts (its image pulled anew)."""
        container = pod["spec"]["containers"][0]
        name, image = container["name"], container["image"]
        self._scheduled_and_pulling(pod)
        self.record_event(
            pod,
            "Pulled",
            f'Successfully pulled image "{image}" in 812ms (812ms including waiting). Image size: 58812356 bytes.',
            container=name,
        )
        self.record_event(pod, "Created", f"Created container: {name}", container=name)
        self.record_event(pod, "Started", f"Started container {name}", container=name)

    def _scheduled_and_pulling(self, pod: Obj) -> None:
        """The scheduler places the pod, and the kubelet starts pulling its image."""
        meta, container = pod["metadata"], pod["spec"]["containers"][0]
        self.record_event(
            pod,
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/{meta['name']} to {NODE}",
            component="default-scheduler",
        )
        self.record_event(pod, "Pulling", f'Pulling image "{container["image"]}"', container=container["name"])

    def record_event(
        self,
        involved: Obj,
        reason: str,
        message: str,
        kind: str = "Normal",
        component: str = "kubelet",
        container: str | None = None,
    ) -> Obj:
        """A core/v1 Event about `involved` (a namespaced object), in its namespace, as a recorder writes it."""
        meta = involved["metadata"]
        namespace = meta["namespace"]
        self._require_active(namespace)
        now = _timestamp()
        about: Obj = {
            "kind": involved["kind"],
            "namespace": namespace,
            "name": meta["name"],
            "uid": meta["uid"],
            "apiVersion": involved["apiVersion"],
            "resourceVersion": meta["resourceVersion"],
        }
        if container is not None:
            about["fieldPath"] = f"spec.containers{{{container}}}"
        # The recorder names an event after its object and the time, in hex nanoseconds.
        name = f"{meta['name']}.{time.time_ns() + next(self._event_ids):x}"
        body = {
            "involvedObject": about,
            "reason": reason,
            "message": message,
            "source": {"component": component} | ({"host": NODE} if component == "kubelet" else {}),
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": kind,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": NODE if component == "kubelet" else "",
        }
        return copy.deepcopy(self._new("events", namespace, name, None, body))

    def append_pod_log(self, namespace: str, name: str, text: str) -> None:
        """Add `text` (one or more whole lines) to the pod's container log; raises for a missing pod."""
        if (namespace, name) not in self._objects["pods"]:
            raise LookupError(f'pods "{name}" not found')
        self._logs[(namespace, name)].extend(text.splitlines())

    def pod_log(self, namespace: str, name: str) -> list[str] | None:
        """The pod's log lines, or None when there is no such pod."""
        lines = self._logs.get((namespace, name))
        return None if lines is None else list(lines)

    def _store(self, resource: str) -> dict[tuple[str | None, str], Obj]:
        if resource not in self._objects:
            raise ValueError(f"unknown resource {resource!r}")
        return self._objects[resource]

    def get(self, resource: str, namespace: str | None, name: str) -> Obj | None:
        """A copy of the object, or None; `namespace` is ignored for namespaces."""
        obj = self._store(resource).get((namespace if RESOURCES[resource][2] else None, name))
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, resource: str, namespace: str | None = None) -> list[Obj]:
        """Copies sorted by namespace then name, like the API server; all namespaces when None."""
        found = self._store(resource)
        keys = sorted(k for k in found if namespace is None or k[0] == namespace)
        return [copy.deepcopy(found[k]) for k in keys]
