"""Driving a lab's coderd as a client does: workspaces created, built and waited for with httpx, and
commands run in them over SSH through the lab's stand-in `coder ssh --stdio`."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx
import paramiko

from tests.helpers.lab import Lab


def template_id(api: httpx.Client, name: str = "ameide-dev") -> str:
    return str(api.get(f"/api/v2/organizations/default/templates/{name}").json()["id"])


def create(api: httpx.Client, name: str, template: str = "ameide-dev") -> dict[str, Any]:
    """A new workspace of the template (its first build under way)."""
    response = api.post("/api/v2/users/me/workspaces", json={"template_id": template_id(api, template), "name": name})
    assert response.status_code == 201, response.text
    return response.json()


def build(api: httpx.Client, workspace_id: str, transition: str) -> httpx.Response:
    return api.post(f"/api/v2/workspaces/{workspace_id}/builds", json={"transition": transition})


def agents(workspace: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for r in workspace["latest_build"]["resources"] for a in r.get("agents", [])]


def ready(workspace: dict[str, Any]) -> bool:
    """Its first agent is ready and its app healthy."""
    found = agents(workspace)
    return bool(found) and found[0]["lifecycle_state"] == "ready" and found[0]["apps"][0]["health"] == "healthy"


def wait(
    api: httpx.Client, workspace_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60
) -> dict[str, Any]:
    """The workspace once `predicate` holds for it. The bound is generous: a busy CI machine slows the lab's
    fast builds tenfold, and what these tests judge is the outcome, not the lab's speed."""
    deadline = time.monotonic() + timeout
    while True:
        workspace = api.get(f"/api/v2/workspaces/{workspace_id}").json()
        if predicate(workspace):
            return workspace
        assert time.monotonic() < deadline, f"timed out; last status {workspace['latest_build']['status']}"
        time.sleep(0.05)


def ssh(lab: Lab, host: str, command: str) -> tuple[int, str]:
    """Run `command` over SSH through `coder ssh --stdio`; (exit status, stdout)."""
    return ssh_run(lab, host, command)[:2]


def ssh_run(lab: Lab, host: str, command: str) -> tuple[int, str, str]:
    """Run `command` over SSH through `coder ssh --stdio`, as fabric/paramiko do with a ProxyCommand;
    (exit status, stdout, stderr)."""
    old = os.environ.copy()
    os.environ.update(CODER_URL=lab.url, CODER_SESSION_TOKEN=lab.token)
    try:
        proxy = paramiko.ProxyCommand(f"{lab.env['CODER_CLI']} ssh --stdio --ssh-host-prefix coder. coder.{host}")
    finally:
        os.environ.clear()
        os.environ.update(old)
    with paramiko.SSHClient() as client:
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect(
            host,
            username="coder",
            pkey=paramiko.ECDSAKey.generate(),
            sock=proxy,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
        _, stdout, stderr = client.exec_command(command)
        return stdout.channel.recv_exit_status(), stdout.read().decode(), stderr.read().decode()


def ssh_stdio(lab: Lab, host: str) -> subprocess.CompletedProcess[bytes]:
    """The lab's stand-in `coder ssh --stdio <host>` with nothing on stdin: how it refuses is the test."""
    return subprocess.run(
        [lab.env["CODER_CLI"], "ssh", "--stdio", host],
        capture_output=True,
        env=os.environ | {"CODER_URL": lab.url, "CODER_SESSION_TOKEN": lab.token},
        stdin=subprocess.DEVNULL,
        timeout=10,
    )
