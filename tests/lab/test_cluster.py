"""The lab's Kubernetes API, checked with the clients the suite and people use: the python client and kubectl."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from lab.faults import KUBE_RIGHT_MISSING, Faults
from lab.kube.api import kube_app
from lab.kube.kubeconfig import write_kubeconfig
from lab.kube.rbac import ADMIN, CI
from lab.kube.store import Cluster
from lab.tls import LabCA

TOKEN = "lab-kube-token"  # the CI service account
ADMIN_TOKEN = "lab-kube-admin-token"
NS = "ameide-ws-1234"
T = TypeVar("T")


@contextmanager
def serving(
    app: web.Application, ssl_context: ssl.SSLContext | None = None
) -> Iterator[tuple[int, asyncio.AbstractEventLoop]]:
    """Run `app` on a free loopback port in a background thread with its own event loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)  # as the lab serves it
    asyncio.run_coroutine_threadsafe(runner.setup(), loop).result(10)
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    asyncio.run_coroutine_threadsafe(site.start(), loop).result(10)
    try:
        yield runner.addresses[0][1], loop
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@dataclass
class Kube:
    cluster: Cluster
    loop: asyncio.AbstractEventLoop
    server: str
    kubeconfig: Path
    ca_pem: str
    tmp: Path
    faults: Faults

    def on_loop(self, call: Callable[[], T]) -> T:
        """Run a Cluster method on the server's loop (its state belongs to that loop)."""

        async def run() -> T:
            return call()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def config_for(self, token: str) -> Path:
        if token == TOKEN:
            return self.kubeconfig
        path = self.tmp / f"kubeconfig-{'admin' if token == ADMIN_TOKEN else 'other-token'}"
        write_kubeconfig(path, self.server, token, ca_pem=self.ca_pem)
        return path

    def api_client(self, token: str = TOKEN) -> client.ApiClient:
        """A client configured as the suite configures it: from a kubeconfig file."""
        return config.new_client_from_config(config_file=str(self.config_for(token)))

    def core(self, token: str = TOKEN) -> client.CoreV1Api:
        return client.CoreV1Api(self.api_client(token))

    def kubectl_command(self, *args: str, token: str = TOKEN, timeout: str = "10s") -> list[str]:
        cache = str(self.tmp / "cache")
        return ["kubectl", "--kubeconfig", str(self.config_for(token)), "--cache-dir", cache, *args] + (
            ["--request-timeout", timeout] if timeout else []
        )

    def kubectl_env(self) -> dict[str, str]:
        return {"PATH": os.environ["PATH"], "HOME": str(self.tmp)}

    def kubectl(self, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
        """kubectl as the CI identity (or `token`'s), run to completion."""
        env = self.kubectl_env()
        return subprocess.run(
            self.kubectl_command(*args, token=token),
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    def http(
        self,
        path: str,
        token: str = TOKEN,
        accept: str = "application/json",
        method: str = "GET",
        body: Any = None,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}", "Accept": accept, "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.server + path, data=data, headers=headers, method=method)
        context = ssl.create_default_context(cadata=self.ca_pem)
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[Kube]:
    # Long enough for kubectl to start and see a Terminating namespace on a busy 2-core machine.
    cluster, faults, ca = Cluster(termination_seconds=2.0), Faults(), LabCA()
    app = kube_app(cluster, {TOKEN: CI, ADMIN_TOKEN: ADMIN}, faults)
    with serving(app, ca.server_context("lab-kube-apiserver")) as (port, loop):
        server = f"https://127.0.0.1:{port}"
        kubeconfig = tmp_path / "kubeconfig"
        write_kubeconfig(kubeconfig, server, TOKEN, ca_pem=ca.pem)
        kube = Kube(cluster, loop, server, kubeconfig, ca.pem, tmp_path, faults)
        kube.on_loop(lambda: seed(cluster))
        yield kube


def seed(cluster: Cluster) -> None:
    cluster.apply_namespace(NS, {"app.kubernetes.io/part-of": "ameide"})
    cluster.apply_pvc(NS, "workspaces")
    cluster.apply_pod(NS, "dev-0", {"app": "workspace"})
    cluster.append_pod_log(NS, "dev-0", "envbuilder: cloning\nenvbuilder: done")
    cluster.append_pod_log(NS, "dev-0", "agent: ready")


def wait_for(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_objects_look_like_kubernetes_ones() -> None:
    cluster = Cluster()
    ns = cluster.apply_namespace("a", {"team": "x"})
    assert ns["kind"] == "Namespace" and ns["apiVersion"] == "v1"
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "a", "team": "x"}
    assert ns["metadata"]["creationTimestamp"].endswith("Z") and ns["status"]["phase"] == "Active"
    assert cluster.apply_namespace("a", {})["metadata"]["uid"] == ns["metadata"]["uid"]

    pvc = cluster.apply_pvc("a", "workspaces", "5Gi")
    assert pvc["metadata"]["namespace"] == "a"
    assert int(pvc["metadata"]["resourceVersion"]) > int(ns["metadata"]["resourceVersion"])
    assert pvc["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert pvc["spec"]["volumeName"] == f"pvc-{pvc['metadata']['uid']}"
    assert pvc["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "5Gi"}}

    pod = cluster.apply_pod("a", "dev", {"app": "ws"})
    assert pod["spec"]["containers"][0]["name"] == "dev" and pod["status"]["phase"] == "Running"
    assert pod["status"]["containerStatuses"][0]["ready"] is True
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "True"

    cluster.delete_pvc("a", "workspaces")
    assert cluster.get("persistentvolumeclaims", "a", "workspaces") is None
    assert cluster.apply_pvc("a", "workspaces")["metadata"]["uid"] != pvc["metadata"]["uid"]
    with pytest.raises(LookupError):
        cluster.apply_pod("missing", "dev", {})
    with pytest.raises(LookupError):
        cluster.append_pod_log("a", "missing", "x")
    with pytest.raises(ValueError):
        cluster.list("services")


def test_python_client_reads_objects_and_logs(kube: Kube) -> None:
    core = kube.core(ADMIN_TOKEN)
    namespace = core.read_namespace(NS)
    assert namespace.status.phase == "Active" and namespace.metadata.labels["app.kubernetes.io/part-of"] == "ameide"
    labelled = core.list_namespace(label_selector="app.kubernetes.io/part-of=ameide").items
    assert [n.metadata.name for n in labelled] == [NS]
    assert core.list_namespace(label_selector="app.kubernetes.io/part-of=other").items == []

    (claim,) = core.list_namespaced_persistent_volume_claim(NS).items
    assert (claim.metadata.name, claim.status.phase) == ("workspaces", "Bound")
    assert claim.status.capacity == {"storage": "10Gi"}
    (pod,) = core.list_namespaced_pod(NS, label_selector="app=workspace").items
    assert pod.status.phase == "Running" and pod.status.container_statuses[0].ready
    assert core.list_pod_for_all_namespaces(field_selector="metadata.name=dev-0").items[0].metadata.namespace == NS
    assert core.read_namespaced_pod_log("dev-0", NS) == "envbuilder: cloning\nenvbuilder: done\nagent: ready\n"
    assert core.read_namespaced_pod_log("dev-0", NS, tail_lines=1) == "agent: ready\n"

    for missing in (
        lambda: core.read_namespace("nope"),
        lambda: core.read_namespaced_pod("dev-0", "nope"),
        lambda: core.read_namespaced_pod_log("nope", NS),
    ):
        with pytest.raises(ApiException) as error:
            missing()
        assert error.value.status == 404
    assert core.list_namespaced_pod("nope").items == []  # as the API server: an empty list, not 404

    with pytest.raises(ApiException) as error:
        kube.core("wrong-token").list_namespace()
    assert error.value.status == 401 and json.loads(error.value.body)["reason"] == "Unauthorized"


def test_wire_format_of_errors_and_discovery(kube: Kube) -> None:
    assert kube.http("/api/v1/namespaces/x") == (
        404,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": 'namespaces "x" not found',
            "reason": "NotFound",
            "details": {"name": "x", "kind": "namespaces"},
            "code": 404,
        },
    )
    assert kube.http("/api/v1/namespaces/x/persistentvolumeclaims/workspaces", ADMIN_TOKEN)[1]["message"] == (
        'persistentvolumeclaims "workspaces" not found'
    )
    assert kube.http("/api", token="wrong") == (
        401,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        },
    )
    aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    assert kube.http("/api", accept=aggregated)[1]["kind"] == "APIVersions"
    assert kube.http("/openapi/v3")[1]["reason"] == "NotFound"  # kubectl asks for it only for explain/apply

    status, listing = kube.http("/api/v1/pods")
    assert status == 200 and listing["kind"] == "PodList" and listing["items"][0]["kind"] == "Pod"
    assert listing["metadata"]["resourceVersion"].isdigit()
    status, table = kube.http(f"/api/v1/namespaces/{NS}/pods", accept="application/json;as=Table;v=v1;g=meta.k8s.io")
    assert (table["kind"], table["rows"][0]["cells"][:3]) == ("Table", ["dev-0", "1/1", "Running"])
    assert table["rows"][0]["object"]["metadata"]["namespace"] == NS
    assert (kube.kubeconfig.stat().st_mode & 0o777) == 0o600


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_reads_objects_and_logs(kube: Kube) -> None:
    namespaces = kube.kubectl("get", "ns", token=ADMIN_TOKEN)
    assert namespaces.returncode == 0, namespaces.stderr
    assert namespaces.stdout.split("\n")[0].split() == ["NAME", "STATUS", "AGE"]
    assert f"{NS}   Active" in namespaces.stdout

    claims = kube.kubectl("get", "pvc", "-n", NS, token=ADMIN_TOKEN)
    assert claims.returncode == 0, claims.stderr
    assert claims.stdout.split("\n")[1].split()[:2] == ["workspaces", "Bound"]

    pods = kube.kubectl("get", "pods", "-n", NS, "-o", "json", token=ADMIN_TOKEN)
    assert pods.returncode == 0, pods.stderr
    (pod,) = json.loads(pods.stdout)["items"]
    assert (pod["metadata"]["name"], pod["status"]["phase"]) == ("dev-0", "Running")

    logs = kube.kubectl("logs", "-n", NS, "dev-0", "--tail", "2", token=ADMIN_TOKEN)
    assert (logs.returncode, logs.stdout) == (0, "envbuilder: done\nagent: ready\n"), logs.stderr

    everything = kube.kubectl("get", "ns,pvc,pods", "-A", token=ADMIN_TOKEN)
    assert everything.returncode == 0, everything.stderr
    assert f"namespace/{NS}" in everything.stdout and "persistentvolumeclaim/workspaces" in everything.stdout
    assert "pod/dev-0   1/1     Running" in everything.stdout

    missing = kube.kubectl("get", "pod", "-n", NS, "nope", token=ADMIN_TOKEN)
    assert missing.returncode == 1 and 'pods "nope" not found' in missing.stderr
    denied = kube.kubectl("get", "ns", "--token", "wrong", token=ADMIN_TOKEN)
    assert denied.returncode == 1 and "Unauthorized" in denied.stderr


def test_deleted_namespace_terminates_then_vanishes_with_contents(kube: Kube) -> None:
    core = kube.core()
    uid = core.read_namespace(NS).metadata.uid
    status, deleted = kube.http(f"/api/v1/namespaces/{NS}", ADMIN_TOKEN, method="DELETE")
    assert (status, deleted["kind"], deleted["status"]["phase"]) == (200, "Namespace", "Terminating")
    namespace = core.read_namespace(NS)
    assert namespace.status.phase == "Terminating" and namespace.metadata.deletion_timestamp is not None
    if shutil.which("kubectl"):
        assert f"{NS}   Terminating" in kube.kubectl("get", "ns", token=ADMIN_TOKEN).stdout
    with pytest.raises(LookupError):
        kube.on_loop(lambda: kube.cluster.apply_pod(NS, "late", {}))

    def gone() -> bool:
        try:
            core.read_namespace(NS)
        except ApiException as error:
            return error.status == 404
        return False

    wait_for(gone)
    assert kube.http(f"/api/v1/namespaces/{NS}", ADMIN_TOKEN, method="DELETE")[0] == 404
    assert core.list_persistent_volume_claim_for_all_namespaces().items == []
    assert core.list_pod_for_all_namespaces().items == []
    assert kube.on_loop(lambda: kube.cluster.apply_namespace(NS, {}))["metadata"]["uid"] != uid


# --- the CI identity's rights ------------------------------------------------------------------

CI_USER = "system:serviceaccount:ci:workspace-spec"
# (verb, resource, subresource, namespace): exactly the rights the suite documents it needs.
DOCUMENTED = [
    ("get", "namespaces", "", NS),
    ("list", "persistentvolumeclaims", "", NS),
    ("list", "persistentvolumeclaims", "", ""),
    ("list", "pods", "", NS),
    ("list", "pods", "", ""),
    ("get", "pods", "log", NS),
    ("list", "events", "", NS),
    ("create", "selfsubjectaccessreviews", "", ""),
]
BEYOND = [
    ("list", "namespaces", "", ""),
    ("get", "pods", "", NS),
    ("watch", "pods", "", NS),
    ("get", "persistentvolumeclaims", "", NS),
    ("delete", "namespaces", "", NS),
    ("list", "secrets", "", NS),
    ("create", "pods", "exec", NS),
]


def review(kube: Kube, verb: str, resource: str, subresource: str = "", namespace: str = "", token: str = TOKEN):
    group = "authorization.k8s.io" if resource == "selfsubjectaccessreviews" else ""
    attributes = client.V1ResourceAttributes(
        verb=verb, resource=resource, subresource=subresource or None, namespace=namespace or None, group=group
    )
    body = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes))
    return client.AuthorizationV1Api(kube.api_client(token)).create_self_subject_access_review(body).status


def test_access_reviews_grant_exactly_the_documented_rights(kube: Kube) -> None:
    for verb, resource, subresource, namespace in DOCUMENTED:
        answer = review(kube, verb, resource, subresource, namespace)
        assert answer.allowed, (verb, resource, subresource, namespace)
        assert answer.reason.startswith("RBAC: allowed by ClusterRoleBinding ")
    assert review(kube, "list", "pods").reason == (
        'RBAC: allowed by ClusterRoleBinding "workspace-spec" of ClusterRole "workspace-spec" '
        'to ServiceAccount "workspace-spec/ci"'
    )
    for verb, resource, subresource, namespace in BEYOND:
        answer = review(kube, verb, resource, subresource, namespace)
        assert (answer.allowed, answer.reason) == (False, None), (verb, resource, subresource, namespace)
        assert review(kube, verb, resource, subresource, namespace, token=ADMIN_TOKEN).allowed

    status, raw = kube.http(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        method="POST",
        body={"spec": {"nonResourceAttributes": {"path": "/version", "verb": "get"}}},
    )
    assert status == 201 and raw["kind"] == "SelfSubjectAccessReview" and raw["status"]["allowed"] is True
    assert raw["status"]["reason"].startswith('RBAC: allowed by ClusterRoleBinding "system:discovery"')
    status, raw = kube.http(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        method="POST",
        body={"spec": {"nonResourceAttributes": {"path": "/metrics", "verb": "get"}}},
    )
    assert (status, raw["status"]) == (201, {"allowed": False})
    status, raw = kube.http("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", method="POST", body={})
    assert (status, raw["reason"]) == (422, "Invalid")

    _, discovery = kube.http("/apis/authorization.k8s.io/v1")
    assert discovery["resources"] == [
        {
            "name": "selfsubjectaccessreviews",
            "singularName": "selfsubjectaccessreview",
            "namespaced": False,
            "kind": "SelfSubjectAccessReview",
            "verbs": ["create"],
        }
    ]
    assert "authorization.k8s.io" in [g["name"] for g in kube.http("/apis")[1]["groups"]]


def test_a_denied_request_answers_the_api_servers_403(kube: Kube) -> None:
    status, body = kube.http("/api/v1/namespaces")
    assert (status, body) == (
        403,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f'namespaces is forbidden: User "{CI_USER}" cannot list resource "namespaces" in API group "" '
            "at the cluster scope",
            "reason": "Forbidden",
            "details": {"kind": "namespaces"},
            "code": 403,
        },
    )
    status, body = kube.http(f"/api/v1/namespaces/{NS}/pods/dev-0")
    assert status == 403 and body["details"] == {"name": "dev-0", "kind": "pods"}
    assert body["message"] == (
        f'pods "dev-0" is forbidden: User "{CI_USER}" cannot get resource "pods" in API group "" '
        f'in the namespace "{NS}"'
    )
    status, body = kube.http(f"/apis/apps/v1/namespaces/{NS}/deployments")
    assert status == 403 and body["details"] == {"group": "apps", "kind": "deployments"}
    assert body["message"].startswith(f'deployments.apps is forbidden: User "{CI_USER}" cannot list resource')
    assert kube.http(f"/api/v1/namespaces/{NS}/pods?watch=true")[1]["message"].endswith(
        f'cannot watch resource "pods" in API group "" in the namespace "{NS}"'
    )
    with pytest.raises(ApiException) as error:
        kube.core().list_namespace()
    assert error.value.status == 403 and json.loads(error.value.body)["reason"] == "Forbidden"


def test_kube_right_missing_takes_list_pvcs_away(kube: Kube) -> None:
    core = kube.core()
    assert [c.metadata.name for c in core.list_namespaced_persistent_volume_claim(NS).items] == ["workspaces"]
    kube.faults.replace([KUBE_RIGHT_MISSING.name])
    with pytest.raises(ApiException) as error:
        core.list_namespaced_persistent_volume_claim(NS)
    assert error.value.status == 403
    assert json.loads(error.value.body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'persistentvolumeclaims is forbidden: User "{CI_USER}" cannot list resource '
        f'"persistentvolumeclaims" in API group "" in the namespace "{NS}"',
        "reason": "Forbidden",
        "details": {"kind": "persistentvolumeclaims"},
        "code": 403,
    }
    assert review(kube, "list", "persistentvolumeclaims", namespace=NS).allowed is False
    assert review(kube, "list", "pods", namespace=NS).allowed  # only that one right is gone
    assert kube.core(ADMIN_TOKEN).list_namespaced_persistent_volume_claim(NS).items
    kube.faults.replace([])
    assert review(kube, "list", "persistentvolumeclaims", namespace=NS).allowed


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_auth_can_i_and_forbidden(kube: Kube) -> None:
    def can_i(*args: str) -> tuple[int, str]:
        run = kube.kubectl("auth", "can-i", *args)
        return run.returncode, run.stdout.strip()

    assert can_i("list", "pods", "-n", "x") == (0, "yes")
    assert can_i("list", "persistentvolumeclaims", "--all-namespaces") == (0, "yes")
    assert can_i("get", "pods", "--subresource=log", "-n", NS) == (0, "yes")
    assert can_i("get", f"namespaces/{NS}") == (0, "yes")
    assert can_i("list", "events", "-n", NS) == (0, "yes")
    assert can_i("get", "/version") == (0, "yes")
    assert can_i("get", "/metrics") == (1, "no")
    assert can_i("get", "pods", "-n", NS) == (1, "no")
    assert can_i("list", "namespaces") == (1, "no")
    assert can_i("delete", f"namespaces/{NS}") == (1, "no")
    kube.faults.replace([KUBE_RIGHT_MISSING.name])
    assert can_i("list", "persistentvolumeclaims", "-n", NS) == (1, "no")
    denied = kube.kubectl("get", "pvc", "-n", NS)
    assert denied.returncode == 1
    assert (
        f'Error from server (Forbidden): persistentvolumeclaims is forbidden: User "{CI_USER}" cannot list '
        f'resource "persistentvolumeclaims" in API group "" in the namespace "{NS}"'
    ) in denied.stderr
    kube.faults.replace([])
    assert can_i("list", "persistentvolumeclaims", "-n", NS) == (0, "yes")
    assert kube.kubectl("auth", "can-i", "list", "namespaces", token=ADMIN_TOKEN).stdout.strip() == "yes"


# --- selectors ---------------------------------------------------------------------------------


def test_label_and_field_selectors(kube: Kube) -> None:
    def more() -> None:
        kube.cluster.apply_pod(NS, "dev-1", {"app": "tools", "tier": "a"})
        kube.cluster.apply_pod(NS, "dev-2", {"tier": "b"})

    kube.on_loop(more)
    core = kube.core()

    def pods(label: str = "", field: str = "") -> list[str]:
        found = core.list_namespaced_pod(NS, label_selector=label, field_selector=field).items
        return [p.metadata.name for p in found]

    assert pods("app in (workspace,tools)") == ["dev-0", "dev-1"]
    assert pods("app notin (tools)") == ["dev-0", "dev-2"]
    assert pods("app") == ["dev-0", "dev-1"]
    assert pods("!app") == ["dev-2"]
    assert pods("tier==a") == pods("tier=a") == ["dev-1"]
    assert pods("tier!=a") == ["dev-0", "dev-2"]
    assert pods("app,tier in (a, b)") == ["dev-1"]
    for field, value in [
        ("metadata.name", "dev-1"),
        ("metadata.namespace", NS),
        ("status.phase", "Running"),
        ("spec.nodeName", "lab-node"),
        ("spec.restartPolicy", "Always"),
        ("spec.schedulerName", "default-scheduler"),
        ("spec.serviceAccountName", "default"),
        ("status.podIP", "127.0.0.1"),
    ]:
        assert pods(field=f"{field}={value}"), field
        assert pods(field=f"{field}!={value}") == ([] if field != "metadata.name" else ["dev-0", "dev-2"]), field
    assert pods(field="status.phase=Pending") == []
    assert pods("app=tools", "status.phase=Running") == ["dev-1"]

    events = core.list_namespaced_event
    (pod,) = core.list_namespaced_pod(NS, field_selector="metadata.name=dev-0").items
    for field, value in [
        ("involvedObject.kind", "Pod"),
        ("involvedObject.name", "dev-0"),
        ("involvedObject.namespace", NS),
        ("involvedObject.uid", pod.metadata.uid),
    ]:
        found = events(NS, field_selector=f"{field}={value}").items
        assert {e.involved_object.name for e in found} >= {"dev-0"}, field
    dev0 = f"involvedObject.name=dev-0,involvedObject.uid={pod.metadata.uid}"
    assert [e.reason for e in events(NS, field_selector=f"{dev0},reason=Pulled").items] == ["Pulled"]
    assert len(events(NS, field_selector=f"{dev0},type=Normal").items) == 5
    assert [e.reason for e in events(NS, field_selector=f"{dev0},source=default-scheduler").items] == ["Scheduled"]
    assert events(NS, field_selector="type=Warning").items == []

    status, body = kube.http(f"/api/v1/namespaces/{NS}/pods?fieldSelector=spec.containers.name%3Ddev")
    assert (status, body["reason"], body["message"]) == (
        400,
        "BadRequest",
        "field label not supported: spec.containers.name",
    )
    assert kube.http(f"/api/v1/namespaces/{NS}/pods?labelSelector=app%20in%20(")[0] == 400


# --- events ------------------------------------------------------------------------------------


def test_pods_record_events_as_kubelet_and_scheduler(kube: Kube) -> None:
    core = kube.core()
    reasons = [e.reason for e in core.list_namespaced_event(NS).items]
    assert reasons == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    scheduled, pulling, *_ = core.list_namespaced_event(NS).items
    assert scheduled.message == f"Successfully assigned {NS}/dev-0 to lab-node"
    assert scheduled.source.component == "default-scheduler" and scheduled.type == "Normal"
    assert pulling.message == 'Pulling image "ghcr.io/coder/envbuilder:latest"'
    assert (pulling.involved_object.kind, pulling.involved_object.field_path) == ("Pod", "spec.containers{dev}")
    assert (pulling.source.component, pulling.source.host, pulling.count) == ("kubelet", "lab-node", 1)
    name = scheduled.metadata.name
    assert kube.core(ADMIN_TOKEN).read_namespaced_event(name, NS).reason == "Scheduled" and name.startswith("dev-0.")

    kube.on_loop(lambda: kube.cluster.delete_pod(NS, "dev-0"))
    killing = core.list_namespaced_event(NS, field_selector="reason=Killing").items
    assert [e.message for e in killing] == ["Stopping container dev"]

    if shutil.which("kubectl"):
        listed = kube.kubectl("get", "events", "-n", NS)
        assert listed.returncode == 0, listed.stderr
        header, *rows = listed.stdout.splitlines()
        assert header.split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
        assert rows[0].split()[1:4] == ["Normal", "Scheduled", "pod/dev-0"]
        assert rows[-1].split()[1:] == ["Normal", "Killing", "pod/dev-0", "Stopping", "container", "dev"]
        everywhere = kube.kubectl("get", "events", "-A", token=ADMIN_TOKEN)
        assert everywhere.returncode == 0, everywhere.stderr
        assert everywhere.stdout.split()[:2] == ["NAMESPACE", "LAST"] and NS in everywhere.stdout


# --- watches -----------------------------------------------------------------------------------


def test_python_client_watches_pods_come_and_go(kube: Kube) -> None:
    core, seen = kube.core(ADMIN_TOKEN), []
    stream = watch.Watch()
    for event in stream.stream(core.list_namespaced_pod, NS, timeout_seconds=10):
        seen.append((event["type"], event["object"].metadata.name))
        if seen[-1] == ("ADDED", "dev-0"):
            kube.on_loop(lambda: kube.cluster.apply_pod(NS, "dev-1", {"app": "tools"}))
        elif seen[-1] == ("ADDED", "dev-1"):
            kube.on_loop(lambda: kube.cluster.delete_pod(NS, "dev-1"))
        elif seen[-1] == ("DELETED", "dev-1"):
            stream.stop()
    assert seen == [("ADDED", "dev-0"), ("ADDED", "dev-1"), ("DELETED", "dev-1")]

    # Resuming from a resourceVersion replays what came after it; selectors filter the stream.
    revision = core.list_namespaced_pod(NS).metadata.resource_version
    kube.on_loop(lambda: kube.cluster.apply_pod(NS, "dev-2", {"app": "tools"}))
    kube.on_loop(lambda: kube.cluster.apply_pod(NS, "dev-3", {}))
    events = watch.Watch().stream(
        core.list_namespaced_pod, NS, label_selector="app=tools", resource_version=revision, timeout_seconds=1
    )
    assert [(e["type"], e["object"].metadata.name) for e in events] == [("ADDED", "dev-2")]
    status, body = kube.http(f"/api/v1/namespaces/{NS}/pods?watch=1&timeoutSeconds=x", ADMIN_TOKEN)
    assert (status, body["reason"]) == (400, "BadRequest")
    verbs = {r["name"]: r["verbs"] for r in kube.http("/api/v1")[1]["resources"]}
    assert all("watch" in verbs[r] for r in ("namespaces", "persistentvolumeclaims", "pods", "events"))


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_get_watch_shows_a_pod_appear_and_go(kube: Kube) -> None:
    command = kube.kubectl_command(
        "get", "pods", "-n", NS, "-w", "--output-watch-events", token=ADMIN_TOKEN, timeout=""
    )
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=kube.kubectl_env()
    )
    lines: list[str] = []
    try:
        timer = threading.Timer(30, process.kill)  # never hang the suite on a stuck watch
        timer.start()
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.split()[:2] == ["ADDED", "dev-0"]:
                kube.on_loop(lambda: kube.cluster.apply_pod(NS, "dev-1", {}))
            elif line.split()[:2] == ["ADDED", "dev-1"]:
                kube.on_loop(lambda: kube.cluster.delete_pod(NS, "dev-1"))
            elif line.split()[:2] == ["DELETED", "dev-1"]:
                break
    finally:
        timer.cancel()
        process.kill()
        stderr = process.communicate(timeout=10)[1]
    assert lines[0].split() == ["EVENT", "NAME", "READY", "STATUS", "RESTARTS", "AGE"], stderr
    assert [line.split()[:2] for line in lines[1:]] == [["ADDED", "dev-0"], ["ADDED", "dev-1"], ["DELETED", "dev-1"]]

    # The CI identity may list pods but not watch them: kubectl lists, then is refused.
    denied = kube.kubectl("get", "pods", "-n", NS, "-w")
    assert denied.returncode == 1 and 'cannot watch resource "pods"' in denied.stderr
