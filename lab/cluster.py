"""An in-memory Kubernetes API: core/v1 namespaces, PVCs, pods and pod logs, and apps/v1 deployments
(enough for `kubectl logs deploy/<name>`), in the real wire format.

`Cluster` is the state the Coder side of the lab drives; `kube_app` serves it to kubectl and the
official python client with bearer-token auth. Serve it over TLS (`serving_tls`): kubectl's clientcmd
silently drops a kubeconfig's credentials for an http:// server, so over plain HTTP it gets 401s.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hmac
import ipaddress
import json
import os
import ssl
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# plural -> (groupVersion, kind, namespaced, short name, verbs served)
RESOURCES: dict[str, tuple[str, str, bool, str, list[str]]] = {
    "namespaces": ("v1", "Namespace", False, "ns", ["delete", "get", "list"]),
    "persistentvolumeclaims": ("v1", "PersistentVolumeClaim", True, "pvc", ["get", "list"]),
    "pods": ("v1", "Pod", True, "po", ["get", "list"]),
    "deployments": ("apps/v1", "Deployment", True, "deploy", ["get", "list"]),
}
IMAGE = "ghcr.io/coder/envbuilder:latest"
NODE = "lab-node"
SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-lab",
    "gitCommit": "lab",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T00:00:00Z",
    "goVersion": "go1.23.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}

Obj = dict[str, Any]


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

    @property
    def resource_version(self) -> str:
        """The cluster-wide resourceVersion, as list responses report it."""
        return str(self._revision)

    def _bump(self) -> str:
        self._revision += 1
        return str(self._revision)

    def _new(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        labels: dict[str, str],
        spec: Obj,
        status: Obj,
        **extra: Any,
    ) -> Obj:
        meta: Obj = {"name": name}
        if namespace is not None:
            meta["namespace"] = namespace
        meta |= {
            "uid": str(uuid.uuid4()),
            "resourceVersion": self._bump(),
            "creationTimestamp": _timestamp(),
            "labels": dict(labels),
        } | extra
        group_version, kind = RESOURCES[resource][:2]
        obj = {"kind": kind, "apiVersion": group_version, "metadata": meta, "spec": spec, "status": status}
        self._objects[resource][(namespace, name)] = obj
        return obj

    def _relabel(self, obj: Obj, labels: dict[str, str]) -> Obj:
        merged = obj["metadata"]["labels"] | labels
        if merged != obj["metadata"]["labels"]:
            obj["metadata"]["labels"] = merged
            obj["metadata"]["resourceVersion"] = self._bump()
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
            return self._relabel(existing, labels)
        # The API server adds the immutable name label to every namespace.
        labels = {"kubernetes.io/metadata.name": name} | labels
        obj = self._new("namespaces", None, name, labels, {"finalizers": ["kubernetes"]}, {"phase": "Active"})
        return copy.deepcopy(obj)

    def delete_namespace(self, name: str) -> None:
        """Mark the namespace Terminating; it and its contents vanish after termination_seconds.

        Must run inside the event loop that serves the cluster (it schedules the removal there).
        """
        ns = self._objects["namespaces"].get((None, name))
        if ns is None or "deletionTimestamp" in ns["metadata"]:
            return
        ns["metadata"] |= {
            "deletionTimestamp": _timestamp(),
            "deletionGracePeriodSeconds": 0,
            "resourceVersion": self._bump(),
        }
        ns["status"]["phase"] = "Terminating"
        asyncio.get_running_loop().call_later(self.termination_seconds, self._purge, name, ns["metadata"]["uid"])

    def _purge(self, name: str, uid: str) -> None:
        ns = self._objects["namespaces"].get((None, name))
        if ns is None or ns["metadata"]["uid"] != uid:
            return
        del self._objects["namespaces"][(None, name)]
        for resource in [r for r, spec in RESOURCES.items() if spec[2]]:
            objects = self._objects[resource]
            for key in [k for k in objects if k[0] == name]:
                del objects[key]
        self._logs = {k: v for k, v in self._logs.items() if k[0] != name}
        self._bump()

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
        obj = self._new(
            "persistentvolumeclaims", namespace, name, {}, spec, status, finalizers=["kubernetes.io/pvc-protection"]
        )
        spec["volumeName"] = f"pvc-{obj['metadata']['uid']}"  # dynamic provisioning names it so
        return copy.deepcopy(obj)

    def delete_pvc(self, namespace: str, name: str) -> None:
        if self._objects["persistentvolumeclaims"].pop((namespace, name), None) is not None:
            self._bump()

    def apply_pod(
        self, namespace: str, name: str, labels: dict[str, str], container: str = "dev", image: str = IMAGE
    ) -> Obj:
        """Create a Running, Ready pod with one container if missing, else merge `labels`."""
        existing = self._objects["pods"].get((namespace, name))
        if existing is not None:
            return self._relabel(existing, labels)
        self._require_active(namespace)
        now = _timestamp()
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
        obj = self._new("pods", namespace, name, labels, spec, status)
        self._logs[(namespace, name)] = []
        return copy.deepcopy(obj)

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
            spec,
            status,
            generation=1,
            annotations={"deployment.kubernetes.io/revision": "1"},
        )
        return copy.deepcopy(obj)

    def delete_pod(self, namespace: str, name: str) -> None:
        if self._objects["pods"].pop((namespace, name), None) is not None:
            self._logs.pop((namespace, name), None)
            self._bump()

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


# --- HTTP -------------------------------------------------------------------------------------


def _status(code: int, reason: str, message: str, details: Obj | None = None) -> web.Response:
    body: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return web.json_response(body, status=code)


def _not_found(resource: str, name: str) -> web.Response:
    return _status(404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource})


def _human_age(created: str) -> str:
    """The AGE cell: apimachinery's duration.HumanDuration rules, trimmed to days."""
    seconds = int((datetime.now(UTC) - datetime.fromisoformat(created)).total_seconds())
    minutes, hours = seconds // 60, seconds // 3600
    if seconds < 120:
        return f"{max(seconds, 0)}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    return f"{hours}h" if hours < 48 else f"{hours // 24}d"


def _column(name: str, description: str, priority: int = 0, fmt: str = "", kind: str = "string") -> Obj:
    return {"name": name, "type": kind, "format": fmt, "description": description, "priority": priority}


# Server-side printing columns as the real API server defines them for `kubectl get`.
_COLUMNS: dict[str, list[Obj]] = {
    "namespaces": [
        _column("Name", "Name", fmt="name"),
        _column("Status", "The namespace phase"),
        _column("Age", "Creation time"),
    ],
    "persistentvolumeclaims": [
        _column("Name", "Name", fmt="name"),
        _column("Status", "The claim phase"),
        _column("Volume", "Bound volume"),
        _column("Capacity", "Actual capacity"),
        _column("Access Modes", "Access modes"),
        _column("StorageClass", "Storage class"),
        _column("VolumeAttributesClass", "Volume attributes class"),
        _column("Age", "Creation time"),
        _column("VolumeMode", "Volume mode", priority=1),
    ],
    "pods": [
        _column("Name", "Name", fmt="name"),
        _column("Ready", "Ready containers"),
        _column("Status", "Pod status"),
        _column("Restarts", "Container restarts"),
        _column("Age", "Creation time"),
        _column("IP", "Pod IP", priority=1),
        _column("Node", "Node name", priority=1),
        _column("Nominated Node", "Nominated node", priority=1),
        _column("Readiness Gates", "Readiness gates", priority=1),
    ],
    "deployments": [
        _column("Name", "Name", fmt="name"),
        _column("Ready", "Number of the pod with ready state"),
        _column("Up-to-date", "Total number of non-terminated pods targeted by this deployment", kind="integer"),
        _column("Available", "Total number of available pods", kind="integer"),
        _column("Age", "Creation time"),
        _column("Containers", "Names of each container in the template", priority=1),
        _column("Images", "Images referenced by each container in the template", priority=1),
        _column("Selector", "Label selector for pods", priority=1),
    ],
}


def _cells(resource: str, obj: Obj) -> list[Any]:
    meta, spec, status = obj["metadata"], obj["spec"], obj["status"]
    age = _human_age(meta["creationTimestamp"])
    if resource == "namespaces":
        return [meta["name"], status["phase"], age]
    if resource == "deployments":
        containers = spec["template"]["spec"]["containers"]
        return [
            meta["name"],
            f"{status['readyReplicas']}/{spec['replicas']}",
            status["updatedReplicas"],
            status["availableReplicas"],
            age,
            ",".join(c["name"] for c in containers),
            ",".join(c["image"] for c in containers),
            ",".join(f"{k}={v}" for k, v in spec["selector"]["matchLabels"].items()),
        ]
    if resource == "persistentvolumeclaims":
        return [
            meta["name"],
            status["phase"],
            spec["volumeName"],
            status["capacity"]["storage"],
            "RWO",
            spec["storageClassName"],
            "<unset>",
            age,
            spec["volumeMode"],
        ]
    ready = sum(c["ready"] for c in status["containerStatuses"])
    restarts = str(sum(c["restartCount"] for c in status["containerStatuses"]))
    return [
        meta["name"],
        f"{ready}/{len(spec['containers'])}",
        status["phase"],
        restarts,
        age,
        status["podIP"],
        spec["nodeName"],
        "<none>",
        "<none>",
    ]


def _table(request: web.Request, resource: str, objects: list[Obj], revision: str) -> Obj:
    include = request.query.get("includeObject", "Metadata")
    rows = []
    for obj in objects:
        row: Obj = {"cells": _cells(resource, obj)}
        if include == "Object":
            row["object"] = obj
        elif include == "Metadata":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": revision},
        "columnDefinitions": _COLUMNS[resource],
        "rows": rows,
    }


def _wants_table(request: web.Request) -> bool:
    # kubectl get asks for `application/json;as=Table;v=v1;g=meta.k8s.io` first; clients that ask
    # only for application/json (the python client, `-o json`) get the objects themselves.
    first = request.headers.get("Accept", "").split(",")[0]
    return "as=Table" in first


def _selector(raw: str) -> list[tuple[str, str, bool]]:
    """Parse `k=v,k2!=v2` (also `==`) into (key, value, equal) terms."""
    terms = []
    for term in filter(None, raw.split(",")):
        key, op, value = term.partition("!=")
        if not op:
            key, op, value = term.replace("==", "=", 1).partition("=")
        if not op or not key.strip():
            raise ValueError(f"unable to parse requirement: {term!r}")
        terms.append((key.strip(), value.strip(), op == "="))
    return terms


def _select(request: web.Request, objects: list[Obj]) -> list[Obj]:
    """Apply the request's labelSelector and fieldSelector; ValueError for ones we cannot parse."""
    by_label = _selector(request.query.get("labelSelector", ""))
    by_field = _selector(request.query.get("fieldSelector", ""))
    for field, _, _ in by_field:
        if field not in ("metadata.name", "metadata.namespace"):
            raise ValueError(f"field label not supported: {field}")
    return [
        o
        for o in objects
        if all((o["metadata"]["labels"].get(k) == v) == eq for k, v, eq in by_label)
        and all((o["metadata"].get(k.split(".")[1], "") == v) == eq for k, v, eq in by_field)
    ]


def kube_app(cluster: Cluster, token: str) -> web.Application:
    """The Kubernetes API for `cluster`; every request needs `Authorization: Bearer <token>`."""
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def guard(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
            return _status(401, "Unauthorized", "Unauthorized")
        try:
            return await handler(request)
        except web.HTTPNotFound:  # unrouted paths, e.g. /openapi/v3, answer like the API server
            return _status(404, "NotFound", "the server could not find the requested resource", {})
        except web.HTTPMethodNotAllowed:
            return _status(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
            )

    def respond(request: web.Request, resource: str, body: Obj, objects: list[Obj]) -> web.Response:
        if _wants_table(request):
            return web.json_response(_table(request, resource, objects, cluster.resource_version))
        return web.json_response(body)

    async def version(_: web.Request) -> web.Response:
        return web.json_response(SERVER_VERSION)

    async def api(request: web.Request) -> web.Response:
        # Plain APIVersions even when aggregated discovery is asked for: kubectl then falls back.
        return web.json_response(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}],
            }
        )

    async def apis(_: web.Request) -> web.Response:
        apps = {"groupVersion": "apps/v1", "version": "v1"}
        group = {"name": "apps", "versions": [apps], "preferredVersion": apps}
        return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": [group]})

    def resource_list(group_version: str) -> web.Response:
        resources = [
            {
                "name": plural,
                "singularName": kind.lower(),
                "namespaced": namespaced,
                "kind": kind,
                "verbs": verbs,
                "shortNames": [short],
            }
            for plural, (version, kind, namespaced, short, verbs) in RESOURCES.items()
            if version == group_version
        ]
        if group_version == "v1":
            log = {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]}
            resources.append(log)
        return web.json_response({"kind": "APIResourceList", "groupVersion": group_version, "resources": resources})

    async def api_v1(_: web.Request) -> web.Response:
        return resource_list("v1")

    async def apis_apps_v1(_: web.Request) -> web.Response:
        return resource_list("apps/v1")

    async def list_objects(request: web.Request) -> web.Response:
        resource = request.match_info["resource"]
        if request.query.get("watch") in ("1", "true"):  # not served, and not advertised in discovery
            return _status(405, "MethodNotAllowed", f"watch is not supported on {resource}")
        try:
            objects = _select(request, cluster.list(resource, request.match_info.get("namespace")))
        except ValueError as error:
            return _status(400, "BadRequest", str(error))
        group_version, kind = RESOURCES[resource][:2]
        body = {
            "kind": f"{kind}List",
            "apiVersion": group_version,
            "metadata": {"resourceVersion": cluster.resource_version},
            "items": objects,
        }
        return respond(request, resource, body, objects)

    async def get_object(request: web.Request) -> web.Response:
        resource = request.match_info.get("resource", "namespaces")
        name = request.match_info["name"]
        obj = cluster.get(resource, request.match_info.get("namespace"), name)
        if obj is None:
            return _not_found(resource, name)
        return respond(request, resource, obj, [obj])

    async def delete_namespace(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        cluster.delete_namespace(name)
        obj = cluster.get("namespaces", None, name)
        return web.json_response(obj) if obj is not None else _not_found("namespaces", name)

    async def pod_log(request: web.Request) -> web.Response:
        name, namespace = request.match_info["name"], request.match_info["namespace"]
        lines = cluster.pod_log(namespace, name)
        pod = cluster.get("pods", namespace, name)
        if lines is None or pod is None:
            return _not_found("pods", name)
        own = pod["spec"]["containers"][0]["name"]
        container = request.query.get("container", own)
        if container != own:
            return _status(400, "BadRequest", f"container {container} is not valid for pod {name}")
        tail = request.query.get("tailLines")
        if tail is not None:
            if not tail.isdigit():
                return _status(400, "BadRequest", f"invalid tailLines {tail!r}")
            lines = lines[len(lines) - int(tail) :] if int(tail) else []
        return web.Response(text="".join(f"{line}\n" for line in lines), content_type="text/plain")

    namespaced = "{resource:persistentvolumeclaims|pods}"
    app = web.Application(middlewares=[guard])
    app.router.add_get("/version", version)
    app.router.add_get("/api", api)
    app.router.add_get("/apis", apis)
    app.router.add_get("/api/v1", api_v1)
    app.router.add_get("/api/v1/{resource:namespaces|persistentvolumeclaims|pods}", list_objects)
    app.router.add_get("/api/v1/namespaces/{name}", get_object)
    app.router.add_delete("/api/v1/namespaces/{name}", delete_namespace)
    app.router.add_get(f"/api/v1/namespaces/{{namespace}}/{namespaced}", list_objects)
    app.router.add_get(f"/api/v1/namespaces/{{namespace}}/{namespaced}/{{name}}", get_object)
    app.router.add_get("/api/v1/namespaces/{namespace}/pods/{name}/log", pod_log)
    app.router.add_get("/apis/apps/v1", apis_apps_v1)
    app.router.add_get("/apis/apps/v1/{resource:deployments}", list_objects)
    app.router.add_get("/apis/apps/v1/namespaces/{namespace}/{resource:deployments}", list_objects)
    app.router.add_get("/apis/apps/v1/namespaces/{namespace}/{resource:deployments}/{name}", get_object)
    return app


def serving_tls() -> tuple[ssl.SSLContext, str]:
    """A server SSL context with a new self-signed certificate for 127.0.0.1/localhost, and its PEM.

    The PEM is the CA to put in the kubeconfig (`write_kubeconfig(..., ca_pem=...)`).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lab-kube-apiserver")])
    now = datetime.now(UTC)
    sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as tmp:  # ssl loads certificates only from files
        chain = Path(tmp) / "tls.pem"
        chain.write_text(cert_pem + key_pem)
        context.load_cert_chain(chain)
    return context, cert_pem


def write_kubeconfig(path: Path, server: str, token: str, context: str = "lab", ca_pem: str | None = None) -> None:
    """Write a token kubeconfig for `server` (JSON, which kubeconfig loaders read as YAML), mode 0600.

    `ca_pem` (from `serving_tls`) is embedded as certificate-authority-data for an https server.
    """
    cluster: Obj = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem.encode()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # os.open keeps the old mode of an existing file
    with os.fdopen(fd, "w") as file:
        json.dump(config, file, indent=2)
