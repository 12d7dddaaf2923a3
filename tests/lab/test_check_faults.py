"""Faults that each break one of the suite's checks, shown over the wire: a bot moving a pull request's head,
a commit hook adding a file, namespace and claim replaced on stop, a build without deadline, an issuer that
is no Keycloak realm, secrets echoed where clients print them; and the lab route that ages a workspace."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client as kube_client

from tests.helpers.coderd import build, create, ready, ssh, wait
from tests.helpers.git import pushed_branch
from tests.helpers.lab import FAST, Lab, module_lab

TOKEN = "ghp_CheckFaultsBotToken00000000000000000"
LINKED_TOKEN = "gho_CheckFaultsLinkedToken000000000000"
REPO = "ameideio/workspace-spec-sandbox"


@pytest.fixture(scope="module")
def own_lab() -> Iterator[Lab]:
    """The module's lab, with fast builds, the tokens its checks use and the stand-in IDE (no check here is of
    code-server)."""
    tokens = {"LAB_GITHUB_TOKEN": TOKEN, "LAB_EXTERNAL_AUTH_TOKEN": LINKED_TOKEN}
    with module_lab(**FAST, secrets=tokens, code_server=False) as lab:
        yield lab


def github(lab: Lab) -> httpx.Client:
    return httpx.Client(
        base_url=lab.env["GITHUB_API_URL"],
        headers={"Authorization": f"token {TOKEN}"},
        verify=ssl.create_default_context(cafile=lab.env["SSL_CERT_FILE"]),
        timeout=10,
    )


def open_pull(gh: httpx.Client, branch: str) -> dict[str, Any]:
    response = gh.post(f"/repos/{REPO}/pulls", json={"title": branch, "head": branch, "base": "main"})
    assert response.status_code == 201, response.text
    return response.json()


def test_pr_head_moved(own_lab: Lab, tmp_path: Path) -> None:
    with github(own_lab) as gh:
        with own_lab.faults("pr-head-moved"):
            sha = pushed_branch(own_lab, TOKEN, tmp_path, "spec/moved")
            number = open_pull(gh, "spec/moved")["number"]
            pull = gh.get(f"/repos/{REPO}/pulls/{number}").json()
            assert pull["head"]["sha"] != sha
            commit = gh.get(f"/repos/{REPO}/commits/{pull['head']['sha']}").json()
            assert [p["sha"] for p in commit["parents"]] == [sha]
            assert commit["commit"]["author"]["name"] == "ameide-format-bot[bot]"
            files = [f["filename"] for f in gh.get(f"/repos/{REPO}/pulls/{number}/files").json()]
            assert sorted(files) == [".ameide/formatted", "README.md"]
            assert gh.get(f"/repos/{REPO}/branches/spec%2Fmoved").json()["commit"]["sha"] == pull["head"]["sha"]

            sha = pushed_branch(own_lab, TOKEN, tmp_path, "spec/moved-gql")  # the GraphQL mutation (gh pr create) alike
            graphql = gh.base_url.copy_with(path="/api/graphql")
            query = 'query { repository(owner: "ameideio", name: "workspace-spec-sandbox") { id } }'
            repository_id = gh.post(graphql, json={"query": query}).json()["data"]["repository"]["id"]
            mutation = (
                "mutation($input: CreatePullRequestInput!) { createPullRequest(input: $input) "
                "{ pullRequest { number headRefOid } } }"
            )
            names = {"baseRefName": "main", "headRefName": "spec/moved-gql", "title": "gql"}
            variables = {"input": {"repositoryId": repository_id, **names}}
            created = gh.post(graphql, json={"query": mutation, "variables": variables}).json()
            pull = created["data"]["createPullRequest"]["pullRequest"]
            assert pull["headRefOid"] != sha
            assert gh.get(f"/repos/{REPO}/pulls/{pull['number']}").json()["head"]["sha"] == pull["headRefOid"]

        sha = pushed_branch(own_lab, TOKEN, tmp_path, "spec/kept")
        assert open_pull(gh, "spec/kept")["head"]["sha"] == sha


GIT = "git -c user.name=Dev -c user.email=dev@example.invalid"
SHOW = "git show --name-only --format= HEAD"


def test_commit_hook_adds_file(own_lab: Lab, api: httpx.Client) -> None:
    commit = f"cd $WORKSPACE_VOLUME/ameide && echo x >> README.md && {GIT} commit -qam c && {SHOW}"
    with own_lab.faults("commit-hook-adds-file"):
        wait(api, create(api, "hooked")["id"], ready)
        status, out = ssh(own_lab, "hooked", commit)
        assert status == 0 and sorted(out.split()) == [".ameide/last-commit", "README.md"], out
    # lifted: the same workspace commits only what was staged
    status, out = ssh(own_lab, "hooked", commit)
    assert status == 0 and out.split() == ["README.md"], out


def uids(kube: kube_client.CoreV1Api, namespace: str) -> tuple[str, str]:
    claims = kube.list_namespaced_persistent_volume_claim(namespace).items
    assert [c.metadata.name for c in claims] == ["workspaces"]
    return kube.read_namespace(namespace).metadata.uid, claims[0].metadata.uid


@pytest.mark.parametrize(
    ("fault", "namespace_kept"), [("namespace-replaced-on-stop", False), ("claim-replaced-on-stop", True)]
)
def test_replaced_on_stop(
    own_lab: Lab, api: httpx.Client, admin_kube: kube_client.CoreV1Api, fault: str, namespace_kept: bool
) -> None:
    name = fault.split("-")[0] + "-stop"
    workspace_id = wait(api, create(api, name)["id"], ready)["id"]
    namespace = f"ameide-ws-{workspace_id}"
    assert ssh(own_lab, name, "echo kept > $WORKSPACE_VOLUME/marker")[0] == 0
    namespace_uid, claim_uid = uids(admin_kube, namespace)
    with own_lab.faults(fault):
        assert build(api, workspace_id, "stop").status_code == 201
        wait(api, workspace_id, lambda w: w["latest_build"]["status"] == "stopped")
        new_namespace_uid, new_claim_uid = uids(admin_kube, namespace)
        assert (new_namespace_uid == namespace_uid) is namespace_kept
        assert new_claim_uid != claim_uid
        assert admin_kube.read_namespace(namespace).status.phase == "Active"
    assert build(api, workspace_id, "start").status_code == 201
    wait(api, workspace_id, ready)
    assert ssh(own_lab, name, "cat $WORKSPACE_VOLUME/marker") == (0, "kept\n")
    assert uids(admin_kube, namespace) == (new_namespace_uid, new_claim_uid)


def test_no_deadline(own_lab: Lab, api: httpx.Client) -> None:
    with own_lab.faults("no-deadline"):
        workspace = create(api, "nodeadline")
        running = wait(api, workspace["id"], lambda w: w["latest_build"]["status"] == "running")
    assert running["ttl_ms"] == api.get("/api/v2/organizations/default/templates/ameide-dev").json()["default_ttl_ms"]
    assert running["latest_build"]["deadline"] is None


def test_issuer_not_keycloak(own_lab: Lab, api: httpx.Client) -> None:
    realm = own_lab.env["OIDC_ISSUER"]
    origin = realm.rsplit("/realms/", 1)[0]
    assert httpx.get(f"{origin}/oauth2/default/.well-known/openid-configuration").status_code == 404
    with own_lab.faults("issuer-not-keycloak"):
        issuer = api.get("/api/v2/deployment/config").json()["config"]["oidc"]["issuer_url"]
        assert issuer == f"{origin}/oauth2/default"
        document = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
        assert document["issuer"] == issuer and document["authorization_endpoint"] == f"{issuer}/v1/authorize"
        assert httpx.get(document["jwks_uri"]).json()["keys"]
    assert api.get("/api/v2/deployment/config").json()["config"]["oidc"]["issuer_url"] == realm


def test_secrets_echoed(own_lab: Lab, api: httpx.Client, admin_kube: kube_client.CoreV1Api) -> None:
    session = own_lab.token
    with own_lab.faults("secrets-echoed"):
        workspace = create(api, "echoes")
        failed = wait(api, workspace["id"], lambda w: w["latest_build"]["status"] == "failed")
        error = failed["latest_build"]["job"]["error"]
        assert session in error and LINKED_TOKEN in error
        logs = api.get(f"/api/v2/workspacebuilds/{failed['latest_build']['id']}/logs").json()
        text = "\n".join(line["output"] for line in logs)
        assert session in text and f"x-access-token:{LINKED_TOKEN}@" in text
        pod_log = admin_kube.read_namespaced_pod_log("coder-admin-echoes", f"ameide-ws-{workspace['id']}")
        assert session in pod_log and LINKED_TOKEN in pod_log
        bad = api.get("/api/v2/workspaces/not-a-uuid")
        assert bad.status_code == 400 and session in bad.json()["detail"]
    assert session not in api.get("/api/v2/workspaces/not-a-uuid").text


def test_lab_route_ages_a_workspace(own_lab: Lab, api: httpx.Client) -> None:
    old, fresh = create(api, "aged"), create(api, "fresh")
    then = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    aged = api.patch(f"/lab/workspaces/{old['id']}", json={"created_at": then.isoformat().replace("+00:00", "Z")})
    assert aged.status_code == 200, aged.text
    created = {w["name"]: w["created_at"] for w in api.get("/api/v2/workspaces").json()["workspaces"]}
    assert datetime.fromisoformat(created["aged"]) == then
    assert datetime.fromisoformat(created["fresh"]) > then + timedelta(hours=2)
    assert api.patch(f"/lab/workspaces/{fresh['id']}", json={"created_at": "yesterday"}).status_code == 400
    assert httpx.patch(f"{own_lab.url}/lab/workspaces/{fresh['id']}", json={}).status_code == 401
