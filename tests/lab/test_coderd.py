"""The lab's coderd over the wire: a `python -m lab --handshake` child process, driven with httpx,
paramiko (through the stand-in `coder ssh --stdio`) and the kubernetes client."""

from __future__ import annotations

import json
import ssl
import threading
import time
import tomllib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from kubernetes import client as kube_client

from tests.helpers.coderd import agents, build, create, ready, ssh, ssh_run, ssh_stdio, template_id, wait
from tests.helpers.ide import code_server_page
from tests.helpers.lab import Lab, module_lab

SIGNED_OUT = "You are signed out or your session has expired. Please sign in again to continue."
# Secrets planted in the module's lab, to find them where they belong and nowhere else.
GITHUB_TOKEN = "ghp_CanaryBotToken000000000000000000000"
LINKED_TOKEN = "gho_CanaryLinkedToken00000000000000000"
CODEX_KEY = "sk-lab-canary-codex-key-000"
CANARIES = {"LAB_GITHUB_TOKEN": GITHUB_TOKEN, "LAB_EXTERNAL_AUTH_TOKEN": LINKED_TOKEN, "LAB_CODEX_KEY": CODEX_KEY}


@pytest.fixture(scope="module")
def own_lab() -> Iterator[Lab]:
    """The module's lab: the builds take their usual time, its secrets are the canaries, and its workspaces run
    the stand-in IDE (what is under test here is coderd; tests/lab/test_ide.py tests the real code-server)."""
    with module_lab(secrets=CANARIES, code_server=False) as lab:
        yield lab


@pytest.mark.parametrize(
    ("token", "detail"),
    [
        (None, 'Cookie "coder_session_token" or query parameter must be provided.'),
        ("nodash", "Invalid API key format: incorrect amount of API key parts, expected 2 got 1"),
        ("short-" + "s" * 22, "Invalid API key format: invalid API key ID length, expected 10 got 5"),
        ("a" * 10 + "-" + "s" * 22, "API key is invalid."),
    ],
)
def test_requests_without_a_valid_token_get_coders_401(own_lab: Lab, token: str | None, detail: str):
    headers = {"Coder-Session-Token": token} if token else {}
    response = httpx.get(f"{own_lab.url}/api/v2/users/me", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": SIGNED_OUT, "detail": detail}
    assert response.headers["X-Coder-Build-Version"]


def test_wrong_secret_is_told_apart_and_every_token_location_works(own_lab: Lab):
    url, token = f"{own_lab.url}/api/v2/users/me", own_lab.token
    wrong = httpx.get(url, headers={"Coder-Session-Token": token[:11] + "x" * 22})
    assert wrong.json()["detail"] == "API key secret is invalid."
    for request in (
        {"cookies": {"coder_session_token": token}},
        {"params": {"coder_session_token": token}},
        {"headers": {"Authorization": f"Bearer {token}"}},
    ):
        response = httpx.get(url, **request)
        assert response.status_code == 200
        assert response.json()["roles"][0]["name"] == "owner"


def test_deployment_is_bootstrapped_with_oidc(own_lab: Lab, api: httpx.Client):
    assert api.get("/api/v2/users/first").json() == {"message": "The initial user has already been created!"}
    assert api.get("/api/v2/users/authmethods").json()["oidc"]["enabled"] is True
    config = api.get("/api/v2/deployment/config").json()["config"]
    assert config["oidc"]["issuer_url"] == own_lab.env["OIDC_ISSUER"]
    missing = api.get("/api/v2/nope")
    assert (missing.status_code, missing.json()) == (404, {"message": "Route not found."})


def test_first_user_missing_fault(own_lab: Lab, api: httpx.Client):
    with own_lab.faults("first-user-missing"):
        response = api.get("/api/v2/users/first")
    assert (response.status_code, response.json()) == (404, {"message": "The initial user has not been created!"})


def test_create_reaches_ready_and_the_watch_stream_follows(own_lab: Lab, api: httpx.Client):
    workspace = create(api, "watched")
    assert workspace["latest_build"]["status"] == "pending"
    assert workspace["latest_build"]["resources"] == []
    events: list[tuple[str, dict[str, Any] | None]] = []

    def follow() -> None:
        with api.stream("GET", f"/api/v2/workspaces/{workspace['id']}/watch", timeout=None) as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            event = ""
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                    if event == "ping":
                        events.append(("ping", None))
                elif line.startswith("data: "):
                    events.append((event, json.loads(line[6:])))
                    if ready(events[-1][1] or {}):
                        return

    watcher = threading.Thread(target=follow, daemon=True)
    watcher.start()
    watcher.join(60)  # a busy machine slows the lab's fast build; the stream must still carry it to ready
    assert not watcher.is_alive(), f"no ready workspace on the watch stream; got {len(events)} events"
    assert events[0] == ("ping", None) and events[1][0] == "data"
    statuses = [data["latest_build"]["status"] for _, data in events if data]
    order = ["pending", "starting", "running"]
    assert [order.index(s) for s in statuses] == sorted(order.index(s) for s in statuses), statuses
    final = events[-1][1] or {}
    template = api.get(f"/api/v2/templates/{final['template_id']}").json()
    assert final["ttl_ms"] == template["default_ttl_ms"] == 8 * 3600 * 1000
    completed = datetime.fromisoformat(final["latest_build"]["job"]["completed_at"])
    deadline = datetime.fromisoformat(final["latest_build"]["deadline"])
    assert (deadline - completed).total_seconds() == pytest.approx(8 * 3600, abs=1)
    assert final["health"] == {"healthy": True, "failing_agents": []}
    app = agents(final)[0]["apps"][0]
    assert app["slug"] == "code-server" and app["healthcheck"]["url"].endswith("/healthz")


def test_create_validation(api: httpx.Client):
    create(api, "taken")
    duplicate = api.post("/api/v2/users/me/workspaces", json={"template_id": template_id(api), "name": "taken"})
    assert duplicate.status_code == 409
    assert duplicate.json()["message"] == 'Workspace "taken" already exists.'
    bad = api.post("/api/v2/users/me/workspaces", json={"template_id": template_id(api), "name": "bad_name"})
    assert bad.status_code == 400
    assert bad.json()["validations"] == [
        {"field": "name", "detail": 'Validation failed for tag "workspace_name" with value: "bad_name"'}
    ]
    unknown = "00000000-0000-0000-0000-000000000000"
    missing = api.post("/api/v2/users/me/workspaces", json={"template_id": unknown, "name": "x"})
    assert (missing.status_code, missing.json()["message"]) == (400, f'Template "{unknown}" doesn\'t exist.')
    assert api.get("/api/v2/workspaces/abc").json() == {
        "message": 'Invalid UUID "abc".',
        "detail": "invalid UUID length: 3",
    }
    assert api.get("/api/v2/users/bob/workspace/x").status_code == 400


def test_app_proxy(own_lab: Lab, api: httpx.Client):
    workspace = wait(api, create(api, "proxied")["id"], ready)
    base = f"{own_lab.url}/@admin/{workspace['name']}.main/apps/code-server"
    anonymous = httpx.get(f"{base}/")
    assert anonymous.status_code == 303
    assert anonymous.headers["Location"].startswith(f"{own_lab.url}/login?message=You+are+signed+out")
    assert api.get(base).status_code == 307 and api.get(base).headers["Location"].endswith("/code-server/")
    # Like coderd: the app URL's own query (?folder=) is a redirect first, and is not forwarded upstream.
    first = api.get(f"{base}/")
    assert first.status_code == 307 and "/code-server/?folder=" in first.headers["Location"]
    page = api.get(f"{base}/?folder=/x")
    assert page.status_code == 200 and code_server_page(page.text)
    assert page.cookies["coder_signed_app_token"] != own_lab.token
    assert api.get(f"{base}/healthz").json()["status"] == "alive"
    unknown = api.get(f"{own_lab.url}/@admin/proxied/apps/nope/")
    assert unknown.status_code == 404 and "Application Not Found" in unknown.text


def test_stop_start_delete(own_lab: Lab, api: httpx.Client, admin_kube: kube_client.CoreV1Api):
    workspace = wait(api, create(api, "cycled")["id"], ready)
    workspace_id, namespace = workspace["id"], f"ameide-ws-{workspace['id']}"
    repo = own_lab.env["REPO_URL"]
    marked = ssh(own_lab, "cycled", "echo kept > $WORKSPACE_VOLUME/marker && git -C $WORKSPACE_VOLUME/ameide remote -v")
    assert marked == (0, f"origin\t{repo} (fetch)\norigin\t{repo} (push)\n")
    claim_uid = admin_kube.read_namespaced_persistent_volume_claim("workspaces", namespace).metadata.uid

    assert build(api, workspace_id, "stop").status_code == 201
    busy = build(api, workspace_id, "start")
    assert (busy.status_code, busy.json()["message"]) == (409, "A workspace build is already active.")
    stopped = wait(api, workspace_id, lambda w: w["latest_build"]["status"] == "stopped")
    assert agents(stopped) == [] and stopped["latest_build"]["deadline"] is None
    assert admin_kube.list_namespaced_pod(namespace).items == []
    assert admin_kube.read_namespaced_persistent_volume_claim("workspaces", namespace).metadata.uid == claim_uid
    offline = api.get("/@admin/cycled/apps/code-server/")
    assert offline.status_code == 400 and "Workspace Offline" in offline.text

    assert build(api, workspace_id, "start").status_code == 201
    wait(api, workspace_id, ready)
    assert ssh(own_lab, "cycled", "cat $WORKSPACE_VOLUME/marker") == (0, "kept\n")

    assert build(api, workspace_id, "delete").status_code == 201
    wait(api, workspace_id, lambda w: "latest_build" not in w)  # the 410 body has none
    gone = api.get(f"/api/v2/workspaces/{workspace_id}")
    assert gone.status_code == 410
    assert (
        api.get(f"/api/v2/workspaces/{workspace_id}", params={"include_deleted": "true"}).json()["latest_build"][
            "status"
        ]
        == "deleted"
    )
    assert api.get("/api/v2/users/me/workspace/cycled").status_code == 404
    assert all(w["id"] != workspace_id for w in api.get("/api/v2/workspaces").json()["workspaces"])
    create(api, "cycled")  # the name is free again


def test_build_fails_fault(own_lab: Lab, api: httpx.Client):
    with own_lab.faults("build-fails"):
        workspace = wait(api, create(api, "broken")["id"], lambda w: w["latest_build"]["status"] == "failed")
    job = workspace["latest_build"]["job"]
    assert job["status"] == "failed" and "terraform apply" in job["error"]
    logs = api.get(f"/api/v2/workspacebuilds/{workspace['latest_build']['id']}/logs").json()
    assert any(line["log_level"] == "error" for line in logs)
    assert agents(workspace) == []


def test_cli_refuses_unknown_workspace_on_stderr(own_lab: Lab):
    result = ssh_stdio(own_lab, "no-such-ws")
    assert (result.returncode, result.stdout) == (1, b"")
    assert b"not found" in result.stderr


def test_lab_stops_when_stdin_closes():
    lab = Lab.start(faults=("tool-missing",))
    assert lab.process.faults == ["tool-missing"]  # as its handshake says
    assert lab.stop(timeout=10) == 0  # stdin closed: it stops by itself, in time
    assert not lab.state_dir.exists()


# -- the E2E flow: GitHub, external auth and Codex ------------------------------------------------


def test_handshake_names_the_e2e_settings(own_lab: Lab):
    env = own_lab.env
    git_host = env["E2E_REPO_URL"].removesuffix("/ameideio/workspace-spec-sandbox.git")
    assert (env["GITHUB_TOKEN"], env["E2E_REPO"], env["CODEX"]) == (
        GITHUB_TOKEN,
        "ameideio/workspace-spec-sandbox",
        "auth-json",
    )
    assert env["GITHUB_API_URL"] == f"{git_host}/api/v3" and env["REPO_URL"].startswith(git_host)
    assert env["GITHUB_API_URL"].startswith("https://")  # with the lab CA, trusted through SSL_CERT_FILE
    trust = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
    user = httpx.get(f"{env['GITHUB_API_URL']}/user", headers={"Authorization": f"token {GITHUB_TOKEN}"}, verify=trust)
    assert user.json()["login"] == "ameide-bot"
    from lab.server import _variable  # what `python -m lab` exports for a shell

    assert [_variable(key) for key in ("GITHUB_TOKEN", "GITHUB_API_URL", "E2E_REPO", "CODEX")] == [
        "GITHUB_TOKEN",
        "SPEC_GITHUB_API_URL",
        "SPEC_E2E_REPO",
        "SPEC_CODEX",
    ]


def test_planted_secrets_come_from_flags_or_the_environment(monkeypatch: pytest.MonkeyPatch, capsys):
    from lab.server import parse

    monkeypatch.setenv("LAB_CODEX_KEY", "from-env")
    options = parse(["--github-token", "ghp_flag"])
    assert (options.github_token, options.codex_key, options.external_auth_token) == ("ghp_flag", "from-env", None)
    assert "from-env" not in repr(options)
    with pytest.raises(SystemExit):
        parse(["--external-auth-token", "two words"])
    assert "two words" not in capsys.readouterr().err


def test_external_auth_link_of_the_owner(own_lab: Lab, api: httpx.Client):
    git_host = own_lab.env["GITHUB_API_URL"].removesuffix("/api/v3")
    linked = api.get("/api/v2/external-auth/github").json()
    assert linked == {
        "authenticated": True,
        "device": False,
        "display_name": "GitHub",
        "user": {
            "id": linked["user"]["id"],
            "login": "lab-admin",  # the developer's GitHub account, not the bot's
            "avatar_url": f"{git_host}/avatars/lab-admin",
            "profile_url": f"{git_host}/lab-admin",
            "name": "Lab Admin",
        },
        "app_installable": False,
        "installations": [],
        "app_install_url": "",
    }
    trust = ssl.create_default_context(cafile=own_lab.env["SSL_CERT_FILE"])
    github_user = httpx.get(
        f"{own_lab.env['GITHUB_API_URL']}/user", headers={"Authorization": f"token {LINKED_TOKEN}"}, verify=trust
    )
    assert github_user.json()["login"] == linked["user"]["login"]  # the linked token is that account's
    listed = api.get("/api/v2/external-auth").json()
    assert [p["id"] for p in listed["providers"]] == ["github"]
    assert [(link["provider_id"], link["authenticated"]) for link in listed["links"]] == [("github", True)]
    unknown = api.get("/api/v2/external-auth/gitlab")
    assert (unknown.status_code, unknown.json()["message"]) == (
        404,
        "Resource not found or you do not have access to this resource",
    )
    assert httpx.get(f"{own_lab.url}/api/v2/external-auth/github").status_code == 401

    with own_lab.faults("external-auth-unlinked"):
        assert api.get("/api/v2/external-auth/github").json() | {"display_name": "GitHub"} == {
            "authenticated": False,
            "device": False,
            "display_name": "GitHub",
            "user": None,
            "app_installable": False,
            "installations": [],
            "app_install_url": "",
        }
        assert api.get("/api/v2/external-auth").json()["links"] == []


@pytest.fixture(scope="module")
def e2e(own_lab: Lab, api: httpx.Client) -> str:
    """A ready workspace of the E2E template; its name."""
    wait(api, create(api, "e2e", template="ameide-gitops")["id"], ready)
    return "e2e"


def test_agent_external_auth_route(own_lab: Lab, e2e: str):
    code, agent_token = ssh(own_lab, e2e, 'printf %s "$CODER_AGENT_TOKEN"')
    assert code == 0 and len(agent_token) == 36
    url = f"{own_lab.url}/api/v2/workspaceagents/me/external-auth"

    def get(token: str | None, **params: str) -> httpx.Response:
        return httpx.get(url, params=params, headers={"Coder-Session-Token": token} if token else {})

    linked = {
        "access_token": LINKED_TOKEN,
        "token_extra": {},
        "url": "",
        "type": "github",
        "username": LINKED_TOKEN,
        "password": "",
    }
    assert get(agent_token, id="github", match="").json() == linked
    assert get(agent_token, match=own_lab.env["E2E_REPO_URL"]).json() == linked
    assert get(agent_token, id="gitlab").json() == {
        "message": 'No matching external auth provider found in Coder for the url "".',
        "detail": "External auth provider not found.",
    }
    assert get(agent_token, match="https://gitlab.com/x/y").status_code == 404
    assert get(agent_token).status_code == 400
    for token, message in (
        (None, 'Cookie "coder_session_token" must be provided.'),
        ("not-a-uuid", "Workspace agent token invalid."),
        ("00000000-0000-4000-8000-000000000000", "Workspace agent not authorized."),
        (own_lab.token, "Workspace agent token invalid."),  # a session is no agent
    ):
        denied = get(token, id="github")
        assert (denied.status_code, denied.json()["message"]) == (401, message)

    with own_lab.faults("external-auth-unlinked"):
        unlinked = get(agent_token, id="github").json()
    assert unlinked["access_token"] == "" and unlinked["url"] == f"{own_lab.url}/external-auth/github"


def test_coder_external_auth_in_a_workspace_pushes_a_branch(own_lab: Lab, e2e: str):
    env = own_lab.env
    code, out, err = ssh_run(own_lab, e2e, 'coder external-auth access-token github; echo " $?"; env')
    printed, _, environment = out.partition("\n")
    assert (code, printed, err) == (0, f"{LINKED_TOKEN} 0", "")
    assert not any(secret in environment for secret in CANARIES.values())  # the lab's secrets stay out of the env
    # A credential helper as a workspace sets up for push: the token comes from Coder's external auth.
    helper = (
        '!f() { test "$1" = get && echo username=x-access-token'
        ' && echo "password=$(coder external-auth access-token github)"; }; f'
    )
    push = (
        f"cd $WORKSPACE_VOLUME && git clone -q {env['E2E_REPO_URL']} pushed && cd pushed"
        " && git checkout -q -b spec/linked"
        " && git -c user.name=bot -c user.email=bot@example.invalid commit -q --allow-empty -m 'E2E' "
        f"&& GIT_TERMINAL_PROMPT=0 git -c credential.helper='{helper}' push -q origin spec/linked"
    )
    code, _, err = ssh_run(own_lab, e2e, push)
    assert code == 0, err
    branch = httpx.get(
        f"{env['GITHUB_API_URL']}/repos/{env['E2E_REPO']}/branches/spec/linked",
        headers={"Authorization": f"Bearer {GITHUB_TOKEN}"},
        verify=ssl.create_default_context(cafile=env["SSL_CERT_FILE"]),
    )
    assert branch.status_code == 200

    with own_lab.faults("external-auth-unlinked"):
        assert ssh_run(own_lab, e2e, "coder external-auth access-token github") == (
            1,
            f"{env['CODER_URL']}/external-auth/github",
            "",
        )
        code, out, err = ssh_run(own_lab, e2e, "coder external-auth access-token gitlab")
    assert (code, out) == (1, "") and "No matching external auth provider found" in err


def test_codex_in_a_workspace_appends_the_line(own_lab: Lab, e2e: str):
    if ssh(own_lab, e2e, "command -v codex")[0] != 0:
        pytest.skip("the codex CLI is not installed for the lab (.lab-tools)")
    assert ssh(own_lab, e2e, "stat -c %a $CODEX_HOME/auth.json") == (0, "600\n")
    run = (
        "cd $WORKSPACE_VOLUME && git clone -q {url} {dir} && cd {dir}"
        " && codex exec \"Append the line 'spec run 7 \\$HOME' to README.md\" </dev/null >/dev/null"
        " && git status --porcelain && git diff -U0 | tail -n +5"
    )
    logged = len(own_lab.log())
    started = time.monotonic()
    code, out, err = ssh_run(own_lab, e2e, run.format(url=own_lab.env["E2E_REPO_URL"], dir="codex-1"))
    assert (code, out) == (0, " M README.md\n@@ -5,0 +6 @@ and deletes the branch again.\n+spec run 7 $HOME\n"), err
    assert time.monotonic() - started < 30  # no retrying against a model that answers at once

    with own_lab.faults("codex-no-change"):
        assert ssh(own_lab, e2e, run.format(url=own_lab.env["E2E_REPO_URL"], dir="codex-2")) == (0, "")
    asked = "POST /v1/responses 200"
    assert asked in own_lab.log_since(logged, asked)  # this test's runs asked the model, with the key in auth.json
    assert CODEX_KEY not in own_lab.log()


def test_no_secret_reaches_the_log(own_lab: Lab, e2e: str):
    """Traffic that carries every planted secret (made here, whatever ran before), then the lab's own log."""
    env = own_lab.env
    logged = len(own_lab.log())
    github = httpx.get(
        f"{env['GITHUB_API_URL']}/user",
        headers={"Authorization": f"token {GITHUB_TOKEN}"},
        verify=ssl.create_default_context(cafile=env["SSL_CERT_FILE"]),
    )
    assert github.status_code == 200
    assert ssh(own_lab, e2e, "coder external-auth access-token github") == (0, LINKED_TOKEN)
    # The model's key, sent as Codex sends it (with or without the real Codex CLI) to the model the workspace's
    # Codex configuration names.
    code, text = ssh(own_lab, e2e, "cat $CODEX_HOME/config.toml")
    assert code == 0, text
    config = tomllib.loads(text)
    asked = httpx.post(
        f"{config['model_providers']['lab']['base_url']}/responses",
        headers={"Authorization": f"Bearer {CODEX_KEY}"},
        json={"model": config["model"], "input": []},
    )
    assert asked.status_code == 200, asked.text
    requests = ("GET /api/v3/user 200", "/api/v2/workspaceagents/me/external-auth 200", "POST /v1/responses 200")
    since = own_lab.log_since(logged, *requests)
    assert all(request in since for request in requests), since
    log = own_lab.log()
    assert not any(secret in log for secret in CANARIES.values())
