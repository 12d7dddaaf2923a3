"""Faults that each break one promise of the spec: the namespace on delete, path-app login, OIDC sign-in,
the issuer's discovery document, the repository checkout and TTL inheritance; and those only a browser
sees, which leave what plain requests find alone."""

from __future__ import annotations

import httpx
import pytest
from kubernetes import client as kube_client

from tests.helpers.coderd import build, create, ready, ssh, wait
from tests.helpers.ide import code_server_page
from tests.helpers.lab import Lab


def test_namespace_kept_on_delete_until_the_fault_is_lifted(
    own_lab: Lab, api: httpx.Client, admin_kube: kube_client.CoreV1Api
) -> None:
    with own_lab.faults("namespace-kept-on-delete"):
        workspace_id = wait(api, create(api, "kept")["id"], ready)["id"]
        namespace = f"ameide-ws-{workspace_id}"
        assert build(api, workspace_id, "delete").status_code == 201
        wait(api, workspace_id, lambda w: "latest_build" not in w)  # 410: the delete build succeeded
        assert admin_kube.read_namespace(namespace).status.phase == "Active"
        assert admin_kube.list_namespaced_pod(namespace).items == []
        assert admin_kube.list_namespaced_persistent_volume_claim(namespace).items == []

    # the fault lifted (the block ended): what it kept goes
    names = {ns.metadata.name: ns.status.phase for ns in admin_kube.list_namespace().items}
    assert names.get(namespace, "Terminating") == "Terminating"


def test_app_open_without_login(own_lab: Lab, api: httpx.Client) -> None:
    workspace = wait(api, create(api, "open")["id"], ready)
    url = f"{own_lab.url}/@admin/{workspace['name']}.main/apps/code-server/?folder=/x"
    assert httpx.get(url).status_code == 303
    with own_lab.faults("app-open-without-login"):
        page = httpx.get(url)
    assert page.status_code == 200 and code_server_page(page.text)


@pytest.mark.parametrize("fault", ["app-websocket-dropped", "app-websocket-cut", "app-assets-404"])
def test_faults_only_a_browser_sees_leave_the_page_and_its_health_alone(
    own_lab: Lab, api: httpx.Client, fault: str
) -> None:
    workspace = wait(api, create(api, f"seen-{fault.removeprefix('app-')}")["id"], ready)
    base = f"/@admin/{workspace['name']}.main/apps/code-server/"
    asset = f"{base}stable-0123abcd/static/out/vs/code/browser/workbench/workbench.js"
    before = api.get(f"{base}?folder=/x"), api.get(f"{base}healthz"), api.get(asset)
    with own_lab.faults(fault):
        page, health, static = api.get(f"{base}?folder=/x"), api.get(f"{base}healthz"), api.get(asset)
    assert page.status_code == before[0].status_code == 200
    assert code_server_page(page.text) and code_server_page(before[0].text)
    assert health.status_code == 200 and health.json()["status"] == "alive"
    if fault == "app-assets-404":  # the ingress's page, not the app's own 404
        assert (static.status_code, static.headers["Server"]) == (404, "nginx")
        assert before[2].status_code == 404 and "nginx" not in before[2].text
    else:
        assert (static.status_code, static.text) == (before[2].status_code, before[2].text)


def test_oidc_disabled_keeps_the_configured_issuer(own_lab: Lab, api: httpx.Client) -> None:
    with own_lab.faults("oidc-disabled"):
        assert api.get("/api/v2/users/authmethods").json()["oidc"]["enabled"] is False
        config = api.get("/api/v2/deployment/config").json()["config"]
    assert config["oidc"]["issuer_url"] == own_lab.env["OIDC_ISSUER"]


def test_discovery_issuer_mismatch(own_lab: Lab, api: httpx.Client) -> None:
    issuer = own_lab.env["OIDC_ISSUER"]
    discovery = f"{issuer}/.well-known/openid-configuration"
    assert httpx.get(discovery).json()["issuer"] == issuer
    with own_lab.faults("discovery-issuer-mismatch"):
        document = httpx.get(discovery).json()
        assert document["issuer"] == issuer.rsplit("/realms/", 1)[0] + "/realms/other"
        assert httpx.get(document["jwks_uri"]).json()["keys"]  # the rest of the realm still works
        assert api.get("/api/v2/deployment/config").json()["config"]["oidc"]["issuer_url"] == issuer


def test_repo_not_checked_out(own_lab: Lab, api: httpx.Client) -> None:
    with own_lab.faults("repo-not-checked-out"):
        wait(api, create(api, "bare")["id"], ready)
        status, out = ssh(
            own_lab,
            "bare",
            "test -e $WORKSPACE_VOLUME/ameide; echo $?; cat $WORKSPACE_VOLUME/.devcontainer/logs/coder-postCreate.log",
        )
    assert status == 0 and out.startswith("1\n") and "[postCreate] done" in out


def test_ttl_not_inherited(own_lab: Lab, api: httpx.Client) -> None:
    with own_lab.faults("ttl-not-inherited"):
        template = api.get("/api/v2/organizations/default/templates/ameide-dev").json()
        assert template["default_ttl_ms"] > 0
        workspace = create(api, "untimed")
        assert "ttl_ms" not in workspace
        running = wait(api, workspace["id"], lambda w: w["latest_build"]["status"] == "running")
    assert "ttl_ms" not in running and running["latest_build"]["deadline"] is None
