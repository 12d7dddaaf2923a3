"""Watches: `?watch=true` on a list endpoint streams the changes of the objects it would list.

As staging/src/k8s.io/apiserver/pkg/endpoints/handlers/watch.go serves them: a chunked stream of JSON
lines `{"type": "ADDED|MODIFIED|DELETED", "object": ...}`, each object a one-row Table when the client
asks for `as=Table` (kubectl get -w). Without a resourceVersion (or with "0") the stream starts with an
ADDED event for every object that exists; with one, it replays the changes after it (an ERROR event with
a 410 Gone Status when they are no longer kept). It ends after `timeoutSeconds`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from lab.kube.status import status_body
from lab.kube.store import Change, Cluster
from lab.kube.tables import table

Obj = dict[str, Any]
DEFAULT_TIMEOUT = 1800.0


def wants_watch(query: Any) -> bool:
    """`watch` parsed as Go's strconv.ParseBool does (the python client sends `True`)."""
    return query.get("watch", "") in ("1", "t", "T", "true", "TRUE", "True")


async def stream(
    request: web.Request,
    cluster: Cluster,
    resource: str,
    namespace: str | None,
    matches: Callable[[Obj], bool],
    as_table: bool,
) -> web.StreamResponse:
    since = request.query.get("resourceVersion", "")
    timeout = request.query.get("timeoutSeconds", "")
    if (since and not since.isdigit()) or (timeout and not timeout.isdigit()):
        bad = "resourceVersion" if since and not since.isdigit() else "timeoutSeconds"
        return web.json_response(status_body(400, "BadRequest", f"invalid {bad}"), status=400)
    deadline = time.monotonic() + (float(timeout) if timeout else DEFAULT_TIMEOUT)

    def wanted(change: Change) -> bool:
        _, _, of, obj = change
        in_scope = namespace is None or obj["metadata"].get("namespace") == namespace
        return of == resource and in_scope and matches(obj)

    queue = cluster.subscribe()  # before reading the state: no change can fall between the two
    try:
        gone = False
        if since in ("", "0"):
            revision = cluster.resource_version
            backlog = [(int(revision), "ADDED", resource, o) for o in cluster.list(resource, namespace)]
        else:
            kept = cluster.changes_since(int(since))
            gone, backlog = kept is None, kept or []
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)

        async def send(kind: str, obj: Obj) -> None:
            if as_table and kind != "ERROR":
                obj = table(request, resource, [obj], obj["metadata"]["resourceVersion"])
            await response.write(json.dumps({"type": kind, "object": obj}).encode() + b"\n")

        if gone:
            message = f"too old resource version: {since} ({cluster.resource_version})"
            await send("ERROR", status_body(410, "Expired", message))
            return response
        for change in backlog:
            if wanted(change):
                await send(change[1], change[3])
        while (left := deadline - time.monotonic()) > 0:
            try:
                change = await asyncio.wait_for(queue.get(), left)
            except TimeoutError:
                break
            if wanted(change):
                await send(change[1], change[3])
        return response
    finally:
        cluster.unsubscribe(queue)
