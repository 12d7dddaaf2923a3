"""The Kubernetes API server's HTTP routes: discovery (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/<group>/v1`),
lists (and watches) and gets, namespace deletion, pod logs and SelfSubjectAccessReview, behind
bearer-token authentication and RBAC authorization.

As the kubernetes repository serves them: staging/src/k8s.io/apiserver/pkg/server/routes/version.go,
staging/src/k8s.io/apiserver/pkg/endpoints/discovery/ (legacy.go, root.go, version.go),
staging/src/k8s.io/apiserver/pkg/endpoints/handlers/get.go (get, list), pkg/registry/core/pod/rest/log.go
(logs), staging/src/k8s.io/apiserver/pkg/endpoints/filters/ (authentication.go, authorization.go).

Every handler finds the store, the identities and the authorizer through the application
(`request.app[CLUSTER]`...), as lab/coderd's routes find the deployment.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from lab.faults import Faults
from lab.kube import protobuf, watch
from lab.kube.rbac import Authorizer, User, forbidden, request_attributes
from lab.kube.selectors import SelectorError, selector
from lab.kube.status import bad_request, not_found, status
from lab.kube.store import RESOURCES, Cluster
from lab.kube.tables import table, wants_table

Obj = dict[str, Any]
CLUSTER = web.AppKey("cluster", Cluster)
TOKENS = web.AppKey("tokens", dict[str, User])
AUTHORIZER = web.AppKey("authorizer", Authorizer)
USER = web.RequestKey("user", User)

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
# Groups besides core/v1, as /apis lists them, and the resources each version serves beyond RESOURCES.
GROUPS = ("apps", "authorization.k8s.io")
EXTRA_RESOURCES: dict[str, list[Obj]] = {
    "v1": [{"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]}],
    "authorization.k8s.io/v1": [
        {
            "name": "selfsubjectaccessreviews",
            "singularName": "selfsubjectaccessreview",
            "namespaced": False,
            "kind": "SelfSubjectAccessReview",
            "verbs": ["create"],
        }
    ],
}
NAMESPACED = "{resource:persistentvolumeclaims|pods|events}"

routes = web.RouteTableDef()


def cluster(request: web.Request) -> Cluster:
    return request.app[CLUSTER]


def _authenticate(request: web.Request) -> User | None:
    given = request.headers.get("Authorization", "").encode()
    for token, user in request.app[TOKENS].items():
        if hmac.compare_digest(given, f"Bearer {token}".encode()):
            return user
    return None


@web.middleware
async def guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Authenticate, authorize, then serve; unrouted paths answer like the API server."""
    user = _authenticate(request)
    if user is None:
        return status(401, "Unauthorized", "Unauthorized")
    request[USER] = user
    attributes = request_attributes(request.method, request.path, request.query)
    allowed, _ = request.app[AUTHORIZER].decide(user, attributes)
    if not allowed:
        message, details = forbidden(user, attributes)
        return status(403, "Forbidden", message, details)
    try:
        return await handler(request)
    except web.HTTPNotFound:  # e.g. /openapi/v3
        return status(404, "NotFound", "the server could not find the requested resource", {})
    except web.HTTPMethodNotAllowed:
        return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})


def _respond(request: web.Request, resource: str, body: Obj, objects: list[Obj]) -> web.Response:
    if wants_table(request):
        return web.json_response(table(request, resource, objects, cluster(request).resource_version))
    return web.json_response(body)


@routes.get("/version")
async def version(_: web.Request) -> web.Response:
    return web.json_response(SERVER_VERSION)


@routes.get("/api")
async def api(request: web.Request) -> web.Response:
    # Plain APIVersions even when aggregated discovery is asked for: kubectl then falls back.
    return web.json_response(
        {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}],
        }
    )


@routes.get("/apis")
async def apis(_: web.Request) -> web.Response:
    groups = []
    for name in GROUPS:
        version = {"groupVersion": f"{name}/v1", "version": "v1"}
        groups.append({"name": name, "versions": [version], "preferredVersion": version})
    return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})


@routes.get("/api/{version:v1}")
@routes.get("/apis/{group:apps|authorization.k8s.io}/{version:v1}")
async def resource_list(request: web.Request) -> web.Response:
    group = request.match_info.get("group")
    group_version = f"{group}/v1" if group else "v1"
    resources = [
        {
            "name": plural,
            "singularName": kind.lower(),
            "namespaced": namespaced,
            "kind": kind,
            "verbs": verbs,
            "shortNames": [short],
        }
        for plural, (of, kind, namespaced, short, verbs) in RESOURCES.items()
        if of == group_version
    ] + EXTRA_RESOURCES.get(group_version, [])
    return web.json_response({"kind": "APIResourceList", "groupVersion": group_version, "resources": resources})


@routes.get("/api/v1/{resource:namespaces|persistentvolumeclaims|pods|events}")
@routes.get(f"/api/v1/namespaces/{{namespace}}/{NAMESPACED}")
@routes.get("/apis/apps/v1/{resource:deployments}")
@routes.get("/apis/apps/v1/namespaces/{namespace}/{resource:deployments}")
async def list_objects(request: web.Request) -> web.StreamResponse:
    resource, namespace = request.match_info["resource"], request.match_info.get("namespace")
    try:
        matches = selector(resource, request.query.get("labelSelector", ""), request.query.get("fieldSelector", ""))
    except SelectorError as error:
        return bad_request(str(error))
    if watch.wants_watch(request.query):
        return await watch.stream(request, cluster(request), resource, namespace, matches, wants_table(request))
    objects = [o for o in cluster(request).list(resource, namespace) if matches(o)]
    group_version, kind = RESOURCES[resource][:2]
    body = {
        "kind": f"{kind}List",
        "apiVersion": group_version,
        "metadata": {"resourceVersion": cluster(request).resource_version},
        "items": objects,
    }
    return _respond(request, resource, body, objects)


@routes.get("/api/v1/namespaces/{name}")
@routes.get(f"/api/v1/namespaces/{{namespace}}/{NAMESPACED}/{{name}}")
@routes.get("/apis/apps/v1/namespaces/{namespace}/{resource:deployments}/{name}")
async def get_object(request: web.Request) -> web.Response:
    resource = request.match_info.get("resource", "namespaces")
    name = request.match_info["name"]
    obj = cluster(request).get(resource, request.match_info.get("namespace"), name)
    if obj is None:
        return not_found(resource, name)
    return _respond(request, resource, obj, [obj])


@routes.delete("/api/v1/namespaces/{name}")
async def delete_namespace(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    cluster(request).delete_namespace(name)
    obj = cluster(request).get("namespaces", None, name)
    return web.json_response(obj) if obj is not None else not_found("namespaces", name)


@routes.get("/api/v1/namespaces/{namespace}/pods/{name}/log")
async def pod_log(request: web.Request) -> web.Response:
    name, namespace = request.match_info["name"], request.match_info["namespace"]
    lines = cluster(request).pod_log(namespace, name)
    pod = cluster(request).get("pods", namespace, name)
    if lines is None or pod is None:
        return not_found("pods", name)
    own = pod["spec"]["containers"][0]["name"]
    container = request.query.get("container", own)
    if container != own:
        return bad_request(f"container {container} is not valid for pod {name}")
    tail = request.query.get("tailLines")
    if tail is not None:
        if not tail.isdigit():
            return bad_request(f"invalid tailLines {tail!r}")
        lines = lines[len(lines) - int(tail) :] if int(tail) else []
    return web.Response(text="".join(f"{line}\n" for line in lines), content_type="text/plain")


@routes.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
async def self_subject_access_review(request: web.Request) -> web.Response:
    """What the caller may do (kubectl auth can-i): 201 with the review and its status."""
    raw = await request.read()
    try:
        if request.content_type == protobuf.MEDIA_TYPE:  # kubectl's typed clients write protobuf
            body = protobuf.self_subject_access_review(raw)
        else:
            body = json.loads(raw)
    except ValueError as error:
        return bad_request(f"the body of the request was in an unknown format: {error}")
    spec = body.get("spec") if isinstance(body, dict) else None
    if not isinstance(spec, dict) or ("resourceAttributes" in spec) == ("nonResourceAttributes" in spec):
        message = (
            'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: '
            '"null": exactly one of nonResourceAttributes or resourceAttributes must be specified'
        )
        return status(422, "Invalid", message, {"group": "authorization.k8s.io", "kind": "SelfSubjectAccessReview"})
    return web.json_response(request.app[AUTHORIZER].review(request[USER], body), status=201)


def kube_app(store: Cluster, tokens: Mapping[str, User], faults: Faults) -> web.Application:
    """The Kubernetes API for `store`: each bearer token in `tokens` authenticates as its user."""
    app = web.Application(middlewares=[guard])
    app[CLUSTER] = store
    app[TOKENS] = dict(tokens)
    app[AUTHORIZER] = Authorizer(faults)
    app.router.add_routes(routes)
    return app
