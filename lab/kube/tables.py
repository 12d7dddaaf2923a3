"""Server-side printing: the Table kubectl asks for (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`),
with the columns and cells the API server's printers give each resource (pkg/printers/internalversion/
printers.go: podColumnDefinitions, eventColumnDefinitions, ...; ages as apimachinery's
pkg/util/duration/duration.go HumanDuration words them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

Obj = dict[str, Any]


def human_age(created: str) -> str:
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
    "events": [
        _column("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
        _column("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
        _column("Reason", "This should be a short, machine understandable string that gives the reason"),
        _column("Object", "The object that this event is about."),
        _column("Subobject", "The field of the object that this event is about.", priority=1),
        _column("Source", "The component reporting this event.", priority=1),
        _column("Message", "A human-readable description of the status of this operation."),
        _column("First Seen", "The time at which the event was first recorded.", priority=1),
        _column("Count", "The number of times this event has occurred.", priority=1, kind="integer"),
        _column("Name", "Name", priority=1, fmt="name"),
    ],
}


def _cells(resource: str, obj: Obj) -> list[Any]:
    meta = obj["metadata"]
    if resource == "events":
        about, source = obj["involvedObject"], obj["source"]
        return [
            human_age(obj["lastTimestamp"]),
            obj["type"],
            obj["reason"],
            f"{about['kind'].lower()}/{about['name']}",
            about.get("fieldPath", ""),
            ", ".join(filter(None, (source.get("component"), source.get("host")))),
            obj["message"],
            human_age(obj["firstTimestamp"]),
            obj["count"],
            meta["name"],
        ]
    spec, status = obj["spec"], obj["status"]
    age = human_age(meta["creationTimestamp"])
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


def table(request: web.Request, resource: str, objects: list[Obj], revision: str) -> Obj:
    """A meta.k8s.io/v1 Table of `objects`, rows carrying what `includeObject` asks for."""
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


def wants_table(request: web.Request) -> bool:
    # kubectl get asks for `application/json;as=Table;v=v1;g=meta.k8s.io` first; clients that ask
    # only for application/json (the python client, `-o json`) get the objects themselves.
    first = request.headers.get("Accept", "").split(",")[0]
    return "as=Table" in first
