"""The lab's Kubernetes API answers with objects inside the OpenAPI schemas of the version it claims: every
Namespace, PersistentVolumeClaim, Pod, Event and Deployment a workspace's builds leave, their lists, its
Status errors, SelfSubjectAccessReviews and discovery, read from the API over the wire and validated
against the strict schemas (no field the schema does not have) that kubernetes-validate ships for the
`gitVersion` of `/version`."""

from __future__ import annotations

import base64
import json
import re
import ssl
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import kubernetes_validate
import pytest
from referencing import Registry, Resource

from tests.helpers.coderd import agents, build, create, ready, wait
from tests.helpers.lab import FAST, Lab, module_lab

SCHEMAS = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
# Types whose schema file kubernetes-validate names after their Go package, not their apiVersion.
# (kubectl's Tables, meta.k8s.io/v1 Table, are no OpenAPI type: kubernetes-validate has no schema for them.)
META = {"Status", "APIVersions", "APIGroupList", "APIResourceList", "APIGroup", "WatchEvent"}


@pytest.fixture(scope="module")
def own_lab() -> Iterator[Lab]:
    with module_lab(**FAST, code_server=False) as lab:  # what the cluster holds does not depend on the IDE
        yield lab


def _client(lab: Lab, kubeconfig: str, authenticated: bool = True) -> httpx.Client:
    """The API as the kubeconfig's identity (or as nobody), trusting the lab CA it embeds."""
    config = json.loads((Path(lab.env["KUBECONFIG"]).parent / kubeconfig).read_text())
    cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
    ca = lab.state_dir / f"{kubeconfig}-ca.pem"
    ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    headers = {"Accept": "application/json"} | ({"Authorization": f"Bearer {user['token']}"} if authenticated else {})
    return httpx.Client(
        base_url=cluster["server"], headers=headers, verify=ssl.create_default_context(cafile=ca), timeout=10
    )


@cache
def _validator(version: str, kind: str, api_version: str) -> jsonschema.Draft202012Validator:
    group = "meta-v1" if kind in META else re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    directory = SCHEMAS / f"v{version}-local-strict"
    schema = json.loads((directory / f"{kind.lower()}-{group}.json").read_text())
    definitions = json.loads((directory / "_definitions.json").read_text())
    # As kubernetes_validate.validate registers them (the schemas' $ids name both files).
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def problems_of(version: str, where: str, body: dict[str, Any], kind: str | None = None) -> list[str]:
    """Where `body` leaves its schema: "<request>: <Kind> <path>: <message>" lines."""
    kind = kind or body["kind"]
    validator = _validator(version, kind, body.get("apiVersion", "v1"))
    return [
        f"{where}: {kind} {'.'.join(str(p) for p in error.absolute_path) or '.'}: {error.message}"
        for error in validator.iter_errors(body)
    ]


@pytest.fixture(scope="module")
def schema_version(own_lab: Lab) -> str:
    """The schemas of the release /version claims (major.minor, which kubernetes-validate ships)."""
    with _client(own_lab, "kubeconfig-admin") as kube:
        git_version = kube.get("/version").json()["gitVersion"]
    match = re.match(r"v(\d+\.\d+)\.\d+", git_version)
    assert match, git_version
    shipped = {v.rsplit(".", 1)[0] for v in kubernetes_validate.utils.all_versions()}
    assert match.group(1) in shipped, f"kubernetes-validate ships no schemas for {git_version}"
    return f"{match.group(1)}.0"


def test_what_a_workspace_leaves_in_the_cluster_is_inside_the_schemas(own_lab: Lab, schema_version: str) -> None:
    with own_lab.api() as api:
        running = wait(api, create(api, "schema")["id"], ready)
        stopped = wait(api, create(api, "schema-stopped")["id"], ready)
        assert build(api, stopped["id"], "stop").status_code == 201
        wait(api, stopped["id"], lambda w: w["latest_build"]["status"] == "stopped")
        with own_lab.faults("sub-agent-first"):
            wait(api, create(api, "schema-nested")["id"], lambda w: len(agents(w)) == 2)
        gone = wait(api, create(api, "schema-gone")["id"], ready)
        assert build(api, gone["id"], "delete").status_code == 201
    namespace = f"ameide-ws-{running['id']}"
    problems: list[str] = []
    with _client(own_lab, "kubeconfig-admin") as kube:
        bodies = {
            path: kube.get(path).json()
            for path in (
                "/api/v1/namespaces",
                "/api/v1/persistentvolumeclaims",
                "/api/v1/pods",
                "/api/v1/events",
                f"/api/v1/namespaces/{namespace}/pods",
                f"/api/v1/namespaces/{namespace}/persistentvolumeclaims",
                f"/api/v1/namespaces/{namespace}/events",
                "/apis/apps/v1/deployments",
            )
        }
        pod = bodies[f"/api/v1/namespaces/{namespace}/pods"]["items"][0]["metadata"]["name"]
        for path in (
            f"/api/v1/namespaces/{namespace}",
            f"/api/v1/namespaces/{namespace}/pods/{pod}",
            f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/workspaces",
            f"/api/v1/namespaces/{namespace}/pods/no-such-pod",  # a NotFound Status
        ):
            bodies[path] = kube.get(path).json()
        for deployment in bodies["/apis/apps/v1/deployments"]["items"]:
            meta = deployment["metadata"]
            path = f"/apis/apps/v1/namespaces/{meta['namespace']}/deployments/{meta['name']}"
            bodies[path] = kube.get(path).json()
    for path, body in bodies.items():
        problems += problems_of(schema_version, f"GET {path}", body)
        for item in body.get("items", []):  # each item against its own kind's schema too
            item_kind = body["kind"].removesuffix("List")
            problems += problems_of(schema_version, f"GET {path} item", item, item_kind)
    kinds = {item["kind"] for body in bodies.values() for item in body.get("items", [])}
    assert {"Namespace", "PersistentVolumeClaim", "Pod", "Event"} <= kinds, kinds
    assert not problems, "\n".join(problems)


def test_errors_reviews_and_discovery_are_inside_the_schemas(own_lab: Lab, schema_version: str) -> None:
    problems: list[str] = []
    review = {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "spec": {"resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "default"}},
    }
    with (
        _client(own_lab, "kubeconfig") as ci,
        _client(own_lab, "kubeconfig-admin") as admin,
        _client(own_lab, "kubeconfig", authenticated=False) as nobody,
    ):
        answers = {
            "POST selfsubjectaccessreviews": ci.post(
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review
            ),
            "POST selfsubjectaccessreviews (no attributes)": ci.post(
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                json={"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "spec": {}},
            ),
            "DELETE namespace (forbidden)": ci.delete("/api/v1/namespaces/default"),
            "GET without a token": nobody.get("/api/v1/pods"),
            "GET a bad selector": admin.get("/api/v1/pods", params={"labelSelector": "a in (b"}),
            "GET /api": admin.get("/api"),
            "GET /apis": admin.get("/apis"),
            "GET /api/v1": admin.get("/api/v1"),
            "GET /apis/apps/v1": admin.get("/apis/apps/v1"),
        }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses["POST selfsubjectaccessreviews"] == 201 and statuses["DELETE namespace (forbidden)"] == 403
    assert statuses["GET without a token"] == 401 and statuses["GET a bad selector"] == 400
    for name, answer in answers.items():
        problems += problems_of(schema_version, name, answer.json())
    assert not problems, "\n".join(problems)
