"""The lab behaves as the real projects' code does where a stand-in most easily flatters the suite:
code-server's heart, agent lifecycles and sub-agents, provisioner matching, cancel and orphan delete,
template names, development versions, `coder ssh` autostart, and a foreign page on the app path."""

from __future__ import annotations

import subprocess
from typing import Any

import httpx

from tests.helpers.coderd import agents, build, create, ready, ssh_stdio, wait
from tests.helpers.lab import Lab


def app_base(workspace: dict[str, Any], agent: str = "main") -> str:
    return f"/@admin/{workspace['name']}.{agent}/apps/code-server"


def test_code_server_is_expired_until_someone_uses_it(api: httpx.Client) -> None:
    """heart.ts: fresh is {"lastHeartbeat":0,"status":"expired"}; /healthz does not beat, other requests do."""
    workspace = wait(api, create(api, "heart")["id"], ready)
    health = api.get(f"{app_base(workspace)}/healthz")
    assert health.status_code == 200 and health.json() == {"lastHeartbeat": 0, "status": "expired"}
    assert api.get(f"{app_base(workspace)}/healthz").json()["status"] == "expired"  # asking is no use
    assert api.get(f"{app_base(workspace)}/?folder=/x").status_code == 200
    after = api.get(f"{app_base(workspace)}/healthz").json()
    assert after["status"] == "alive" and after["lastHeartbeat"] > 0


def test_templates_are_found_by_name_whatever_its_case(api: httpx.Client) -> None:
    assert api.get("/api/v2/organizations/default/templates/AMEIDE-Dev").json()["name"] == "ameide-dev"


def test_a_development_build_says_so(own_lab: Lab, api: httpx.Client) -> None:
    with own_lab.faults("devel-version"):
        response = api.get("/api/v2/buildinfo")
    assert response.json()["version"].startswith("v0.0.0-devel+")
    assert response.headers["X-Coder-Build-Version"] == response.json()["version"]


def test_a_build_no_provisioner_accepts_stays_pending_until_canceled(own_lab: Lab, api: httpx.Client) -> None:
    with own_lab.faults("no-provisioner"):
        workspace = create(api, "unmatched")
        latest = api.get(f"/api/v2/workspaces/{workspace['id']}").json()["latest_build"]
        assert latest["job"]["status"] == "pending"
        assert latest["matched_provisioners"] == {"count": 0, "available": 0, "most_recently_seen": None}
        assert build(api, workspace["id"], "delete").status_code == 409  # the pending build is active
        cancel = api.patch(f"/api/v2/workspacebuilds/{latest['id']}/cancel", params={"expect_status": "pending"})
        assert cancel.status_code == 200, cancel.text
        assert cancel.json() == {"message": "Job has been marked as canceled..."}
        canceled = api.get(f"/api/v2/workspaces/{workspace['id']}").json()["latest_build"]
        assert canceled["status"] == "canceled" and canceled["job"]["status"] == "canceled"
        orphan = api.post(f"/api/v2/workspaces/{workspace['id']}/builds", json={"transition": "delete", "orphan": True})
        assert orphan.status_code == 201 and orphan.json()["job"]["status"] == "succeeded"
        assert api.get(f"/api/v2/workspaces/{workspace['id']}").status_code == 410


def test_a_pending_build_starts_when_a_provisioner_comes(own_lab: Lab, api: httpx.Client) -> None:
    with own_lab.faults("no-provisioner"):
        workspace = create(api, "late")
    done = wait(api, workspace["id"], ready)
    assert done["latest_build"]["matched_provisioners"]["count"] == 0  # counted only while pending


def test_a_build_whose_provisioner_went_stale_stays_pending_and_orphan_deletes(own_lab: Lab, api: httpx.Client) -> None:
    """db2sdk.MatchedProvisioners: the daemon matches (count 1) but was not seen lately (available 0); wsbuilder
    completes an orphan delete itself when no eligible daemon is younger than the stale interval."""
    with own_lab.faults("provisioner-stale"):
        workspace = create(api, "stale")
        latest = api.get(f"/api/v2/workspaces/{workspace['id']}").json()["latest_build"]
        assert latest["job"]["status"] == "pending"
        matched = latest["matched_provisioners"]
        assert (matched["count"], matched["available"]) == (1, 0) and matched["most_recently_seen"] < latest[
            "created_at"
        ]
        cancel = api.patch(f"/api/v2/workspacebuilds/{latest['id']}/cancel", params={"expect_status": "pending"})
        assert cancel.status_code == 200, cancel.text
        orphan = api.post(f"/api/v2/workspaces/{workspace['id']}/builds", json={"transition": "delete", "orphan": True})
        assert orphan.status_code == 201 and orphan.json()["job"]["status"] == "succeeded"
        assert api.get(f"/api/v2/workspaces/{workspace['id']}").status_code == 410


def test_a_start_build_is_replaced_by_an_autostop_as_it_succeeds(own_lab: Lab, api: httpx.Client) -> None:
    with own_lab.faults("build-replaced"):
        workspace = create(api, "replaced")
        stopped = wait(api, workspace["id"], lambda w: w["latest_build"]["status"] == "stopped")
    stop, start = api.get(f"/api/v2/workspaces/{stopped['id']}/builds").json()  # newest first
    assert (start["transition"], start["job"]["status"]) == ("start", "succeeded")
    assert (stop["build_number"], stop["transition"], stop["reason"], stop["initiator_name"]) == (
        2,
        "stop",
        "autostop",
        "admin",
    )


def test_an_app_without_a_healthcheck_reports_health_disabled(own_lab: Lab, api: httpx.Client) -> None:
    with own_lab.faults("no-healthcheck"):
        workspace = wait(
            api, create(api, "unchecked")["id"], lambda w: [a["lifecycle_state"] for a in agents(w)] == ["ready"]
        )
    (app,) = agents(workspace)[0]["apps"]
    assert app["health"] == "disabled"
    assert app["healthcheck"] == {"url": "", "interval": 0, "threshold": 0}


def test_a_timed_out_startup_stays_start_timeout(own_lab: Lab, api: httpx.Client) -> None:
    with own_lab.faults("agent-start-timeout"):
        workspace = wait(
            api, create(api, "slow")["id"], lambda w: agents(w) and agents(w)[0]["lifecycle_state"] != "created"
        )
        settled = wait(api, workspace["id"], lambda w: agents(w)[0]["lifecycle_state"] == "start_timeout")
    again = api.get(f"/api/v2/workspaces/{settled['id']}").json()
    assert agents(again)[0]["lifecycle_state"] == "start_timeout"


def test_a_sub_agent_is_listed_first_and_coder_ssh_wants_a_name(own_lab: Lab, api: httpx.Client) -> None:
    with own_lab.faults("sub-agent-first"):
        workspace = wait(
            api,
            create(api, "nested")["id"],
            lambda w: len(agents(w)) == 2 and agents(w)[1]["lifecycle_state"] == "ready",
        )
        sub, main = agents(workspace)
        assert (sub["name"], sub["parent_id"]) == ("devcontainer", main["id"])
        # Its devcontainer's own code-server, which never comes up: only the root agent's is healthy.
        assert [(app["slug"], app["health"]) for app in sub["apps"]] == [("code-server", "initializing")]
        assert main["parent_id"] is None and main["apps"][0]["slug"] == "code-server"
        refused = ssh_stdio(own_lab, workspace["name"])
    assert refused.returncode == 1
    assert (
        b"multiple agents found, please specify the agent name, available agents: [devcontainer main]" in refused.stderr
    )


def test_coder_ssh_starts_a_stopped_workspace_unless_told_not_to(own_lab: Lab, api: httpx.Client) -> None:
    workspace = wait(api, create(api, "sleeper")["id"], ready)
    assert build(api, workspace["id"], "stop").status_code == 201
    wait(api, workspace["id"], lambda w: w["latest_build"]["status"] == "stopped")
    env = {"CODER_URL": own_lab.url, "CODER_SESSION_TOKEN": own_lab.token}
    refused = subprocess.run(
        [own_lab.env["CODER_CLI"], "ssh", "--stdio", "--disable-autostart", f"{workspace['name']}.main"],
        capture_output=True,
        env=env | {"PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        timeout=20,
    )
    assert refused.returncode == 1 and b"error: workspace must be started" in refused.stderr
    assert api.get(f"/api/v2/workspaces/{workspace['id']}").json()["latest_build"]["transition"] == "stop"
    started = ssh_stdio(own_lab, f"{workspace['name']}.main")  # stdin closes at once: the session ends
    assert b'Workspace was stopped, starting workspace to allow connecting to "sleeper"...' in started.stderr
    assert api.get(f"/api/v2/workspaces/{workspace['id']}").json()["latest_build"]["transition"] == "start"


def test_code_server_refuses_once_reported_healthy(own_lab: Lab, api: httpx.Client) -> None:
    with own_lab.faults("ide-port-refused"):
        workspace = wait(api, create(api, "crash")["id"], ready)
        answer = api.get(f"{app_base(workspace)}/healthz")
    assert answer.status_code == 502 and "connection refused" in answer.text


def test_a_foreign_page_on_the_app_path(own_lab: Lab, api: httpx.Client) -> None:
    workspace = wait(api, create(api, "foreign")["id"], ready)
    with own_lab.faults("app-foreign-page"):
        page = api.get(f"{app_base(workspace)}/healthz")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<div id="root"></div>' in page.text
