"""The lab's coderd holds to codersdk v2.24.2: every JSON answer it gives while a workspace is created,
built, used over SSH, stopped, started and deleted, and while a template version is pushed and promoted,
is recorded (LAB_RECORD, lab/coderd/record.py) and held to the table in tests/contracts/coder_sdk.py. A
missing always-sent key, a key codersdk does not have, or a value outside its enum fails, naming the
endpoint and the field."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lab.cli_templates import push_version
from tests.contracts.coder_sdk import ROUTES, check_answer, check_recording, read_recording
from tests.helpers.coderd import agents, build, create, ready, ssh_run, template_id, wait
from tests.helpers.lab import FAST, Lab, module_lab

PUSHED = {"main.tf": 'resource "kubernetes_pod" "main" {\n  image = "ghcr.io/coder/envbuilder:1.1.0"\n}\n'}
# Routes the flows below do not reach: the agent's external-auth route is asked from inside a workspace
# only when the stand-in's `coder external-auth` runs there.
NOT_DRIVEN: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Lab]]:
    path = tmp_path_factory.mktemp("record") / "coderd.jsonl"
    with module_lab(**FAST, secrets={"LAB_RECORD": str(path)}) as lab:
        yield path, lab


@dataclass
class Recording:
    entries: list[dict[str, Any]]
    marks: dict[str, tuple[int, int]]  # a stand-in CLI command -> the span of its answers

    def calls(self, command: str) -> list[str]:
        """The routes the command asked for, in order, a poll's repeats as one."""
        start, end = self.marks[command]
        calls = [f"{e['method']} {e['route']}" for e in self.entries[start:end]]
        return [call for i, call in enumerate(calls) if i == 0 or calls[i - 1] != call]


@pytest.fixture(scope="module")
def recording(recorded: tuple[Path, Lab]) -> Recording:
    path, lab = recorded
    marks: dict[str, tuple[int, int]] = {}

    @contextmanager
    def mark(command: str) -> Iterator[None]:
        start = len(read_recording(path))
        yield
        marks[command] = (start, len(read_recording(path)))

    with lab.api() as api:
        _drive(lab, api, mark)
    return Recording(read_recording(path), marks)


def _get(api: httpx.Client, path: str, **params: str) -> Any:
    response = api.get(path, params=params)
    assert response.status_code < 500, response.text
    return response.json()


def _drive(lab: Lab, api: httpx.Client, mark: Callable[[str], AbstractContextManager[None]]) -> None:
    """What the suite and the coder CLI ask of coderd, once each, healthy and broken."""
    for path in (
        "/api/v2/",
        "/api/v2/buildinfo",
        "/api/v2/users/first",
        "/api/v2/users/authmethods",
        "/api/v2/users/me",
        "/api/v2/users/me/organizations",
        "/api/v2/users/me/organizations/coder",
        "/api/v2/organizations",
        "/api/v2/organizations/default",
        "/api/v2/deployment/config",
        "/api/v2/deployment/ssh",
        "/api/v2/applications/host",
        "/api/v2/templates",
        "/api/v2/organizations/default/templates",
        "/api/v2/external-auth",
        "/api/v2/external-auth/github",
        "/api/v2/nope",  # coderd's 404 Response
    ):
        _get(api, path)
    template = _get(api, "/api/v2/organizations/default/templates/ameide-dev")
    _get(api, f"/api/v2/templates/{template['id']}")
    versions = _get(api, f"/api/v2/templates/{template['id']}/versions")
    _get(api, f"/api/v2/templates/{template['id']}/versions/{versions[0]['name']}")
    version = template["active_version_id"]
    for tail in ("", "/rich-parameters", "/resources", "/presets", "/external-auth", "/logs"):
        _get(api, f"/api/v2/templateversions/{version}{tail}")

    # A workspace through its life, and over SSH (the stand-in `coder ssh`, and inside it `coder external-auth`).
    workspace = wait(api, create(api, "contract")["id"], ready)
    code, out, err = ssh_run(lab, "contract", "coder external-auth access-token github >/dev/null && echo linked")
    assert (code, out) == (0, "linked\n"), err
    _get(api, "/api/v2/workspaces", q="owner:me")
    _get(api, "/api/v2/users/me/workspace/contract")
    latest = workspace["latest_build"]
    for path in (
        f"/api/v2/workspaces/{workspace['id']}/builds",
        f"/api/v2/workspaces/{workspace['id']}/timings",
        "/api/v2/users/me/workspace/contract/builds/1",
        f"/api/v2/workspacebuilds/{latest['id']}",
        f"/api/v2/workspacebuilds/{latest['id']}/logs",
        f"/api/v2/workspacebuilds/{latest['id']}/parameters",
        f"/api/v2/workspacebuilds/{latest['id']}/timings",
        f"/api/v2/workspaceagents/{agents(workspace)[0]['id']}",
        f"/api/v2/workspaceagents/{agents(workspace)[0]['id']}/logs",
    ):
        _get(api, path)
    assert api.put(f"/api/v2/workspaces/{workspace['id']}/ttl", json={"ttl_ms": None}).status_code == 204
    assert build(api, workspace["id"], "stop").status_code == 201
    assert build(api, workspace["id"], "start").status_code == 409  # a Response with detail
    wait(api, workspace["id"], lambda w: w["latest_build"]["status"] == "stopped")
    with mark("coder ssh (stopped)"):  # the stand-in starts it, as the real `coder ssh` does
        assert ssh_run(lab, "contract", "true")[0] == 0
    wait(api, workspace["id"], ready)
    assert build(api, workspace["id"], "delete").status_code == 201
    wait(api, workspace["id"], lambda w: "latest_build" not in w)
    org = _get(api, "/api/v2/organizations/default")["id"]
    body = {"template_id": template_id(api), "name": "contract-org"}
    assert api.post(f"/api/v2/organizations/{org}/members/me/workspaces", json=body).status_code == 201
    assert api.post("/api/v2/users/me/workspaces", json={"name": "bad_name"}).status_code == 400  # validations

    # Broken: a failed build, a build no provisioner takes (then canceled), a subdomain app, a sub-agent.
    with lab.faults("build-fails"):
        failed = create(api, "contract-failed")
        wait(api, failed["id"], lambda w: w["latest_build"]["status"] == "failed")
    with lab.faults("no-provisioner"):
        pending = create(api, "contract-pending")
        api.patch(f"/api/v2/workspacebuilds/{pending['latest_build']['id']}/cancel")
    with lab.faults("app-on-subdomain", "sub-agent-first"):
        _get(api, "/api/v2/applications/host")
        _get(api, "/api/v2/deployment/config")
        nested = create(api, "contract-nested")
        wait(
            api, nested["id"], lambda w: len(agents(w)) == 2 and all(a["lifecycle_state"] == "ready" for a in agents(w))
        )

    # `coder templates push --activate=false`, then `coder templates versions promote`, as the stand-in runs them.
    env = {"CODER_URL": lab.url, "CODER_SESSION_TOKEN": lab.token}
    with mark("coder templates push"):
        pushed = push_version(env, "ameide-dev", PUSHED, "contract-v2")
    with mark("coder templates versions promote"):
        promoted = subprocess.run(
            [
                lab.env["CODER_CLI"],
                "templates",
                "versions",
                "promote",
                "-t",
                "ameide-dev",
                "--template-version",
                "contract-v2",
            ],
            env=os.environ | env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert promoted.returncode == 0, promoted.stderr
    _get(api, f"/api/v2/templateversions/{pushed['id']}/resources")


def test_every_answer_of_coderd_is_shaped_as_codersdk_marshals_it(recording: Recording) -> None:
    problems = check_recording(recording.entries)
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_recording_covers_every_tabled_route(recording: Recording) -> None:
    answered = {(entry["method"], entry["route"]) for entry in recording.entries if entry["status"] < 400}
    missing = set(ROUTES) - answered - NOT_DRIVEN
    assert not missing, sorted(missing)


def test_the_stand_in_cli_asks_what_the_real_one_asks_in_its_order(recording: Recording) -> None:
    """cli/templatepush.go, cli/templateversions.go, cli/ssh.go with cli/start.go (v2.24.2); the followed logs
    are WebSockets, which the recording leaves out."""
    start = ["GET /api/v2/buildinfo", "GET /api/v2/users/{user}/organizations"]
    template = "GET /api/v2/organizations/{organization}/templates/{name}"
    version = "GET /api/v2/templateversions/{templateversion}"
    assert recording.calls("coder templates push") == [
        *start,
        template,
        "POST /api/v2/files",
        "POST /api/v2/organizations/{organization}/templateversions",
        version,
        f"{version}/resources",  # and no PATCH: pushed with --activate=false
    ]
    assert recording.calls("coder templates versions promote") == [
        *start,
        template,
        "GET /api/v2/templates/{template}/versions/{name}",
        "PATCH /api/v2/templates/{template}/versions",
    ]
    workspace = "GET /api/v2/users/{user}/workspace/{name}"
    calls = recording.calls("coder ssh (stopped)")
    assert calls[:7] == [
        "GET /api/v2/buildinfo",
        workspace,
        "GET /api/v2/workspacebuilds/{workspacebuild}/parameters",
        version,
        f"{version}/rich-parameters",
        "POST /api/v2/workspaces/{workspace}/builds",
        workspace,
    ], calls
    # cliui.WorkspaceBuild polls the build, then the workspace once more and cliui.Agent polls the agent.
    assert calls[7:9] == ["GET /api/v2/workspacebuilds/{workspacebuild}", workspace], calls
    assert set(calls[9:]) <= {"GET /api/v2/workspaceagents/{workspaceagent}"}, calls


def test_a_difference_names_the_endpoint_and_the_field() -> None:
    route = "/api/v2/workspaces/{workspace}"
    workspace = {"id": "x", "name": "w", "automatic_updates": "sometimes", "max_ttl_ms": 0}
    problems = check_answer("GET", route, 200, workspace)
    assert f"GET {route} (200): Workspace: missing always-sent key 'latest_build'" in problems
    assert any(p.startswith(f"GET {route} (200): Workspace: unknown key 'max_ttl_ms'") for p in problems)
    assert any("Workspace: automatic_updates = 'sometimes' is outside its enum" in p for p in problems)
    nested = {"validations": [{"field": "name"}], "message": "x", "extra": 1}
    create = "POST /api/v2/users/{user}/workspaces (400)"
    assert check_answer("POST", "/api/v2/users/{user}/workspaces", 400, nested) == [
        f"{create}: Response: unknown key 'extra' (not in codersdk/client.go at v2.24.2)",
        f"{create}: ValidationError at validations[0]: missing always-sent key 'detail'",
    ]
    assert check_answer("GET", "/api/v2/unheard-of", 200, {}) == [
        "GET /api/v2/unheard-of (200): no codersdk type is tabled for this route"
    ]
