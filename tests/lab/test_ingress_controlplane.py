"""The platform around coderd: the ingress (`coder-flaky`, `websocket-blocked`, DERP's WebSocket),
coderd's own pod in ameide-dev and its log, and `delete-fails`; met over the wire like the suite does."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import httpx
import pytest
from kubernetes import client as kube_client
from kubernetes import config as kube_config

from tests.helpers.coderd import build, create, ready, ssh, ssh_stdio, wait
from tests.helpers.lab import Lab, module_lab

RATE_LIMITED = {"message": "You've been rate limited for sending more than 512 requests in 1m0s."}
SERVER_KEY_PREFIX = b"\x01\x00\x00\x00\x28DERP\xf0\x9f\x94\x91"  # frameServerKey, length 40, magic


@pytest.fixture(scope="module")
def own_lab() -> Iterator[Lab]:
    with module_lab(build_delay=0.3, agent_delay=0.2) as lab:
        yield lab


@pytest.fixture(scope="module")
def workspace(api: httpx.Client) -> dict[str, Any]:
    return wait(api, create(api, "edge")["id"], ready)


def coder_log(lab: Lab) -> str:
    """`kubectl -n ameide-dev logs deploy/coder`, as the python client does it (as the CI identity): the pod by
    its labels."""
    core = kube_client.CoreV1Api(kube_config.new_client_from_config(lab.env["KUBECONFIG"]))
    (pod,) = core.list_namespaced_pod("ameide-dev", label_selector="app.kubernetes.io/name=coder").items
    assert pod.metadata.labels["app.kubernetes.io/instance"] == "coder" and pod.status.phase == "Running"
    assert pod.metadata.name.startswith("coder-")
    return core.read_namespaced_pod_log(pod.metadata.name, "ameide-dev")


def test_coder_flaky_fails_a_first_attempt_and_lets_its_retry_through(own_lab: Lab, api: httpx.Client):
    with own_lab.faults("coder-flaky"):
        first = api.get("/api/v2/users/me")
        assert first.status_code == 503 and "<center>nginx</center>" in first.text
        assert "X-Coder-Build-Version" not in first.headers  # the ingress answered, not coderd
        assert api.get("/api/v2/users/me").status_code == 200  # the retry
        assert api.get("/api/v2/users/me").status_code == 200
        limited = api.get("/api/v2/users/me")  # the 4th request of the route
        assert (limited.status_code, limited.json()) == (429, RATE_LIMITED)
        assert limited.headers["X-Coder-Build-Version"] and limited.headers["Retry-After"] == "60"
        assert api.get("/api/v2/users/me").status_code == 200

        # Every route has its own count, writes included; a retry never fails, whoever else calls meanwhile.
        statuses = []
        for path in ("/api/v2/buildinfo", "/api/v2/workspaces", "/api/v2/buildinfo", "/api/v2/workspaces") * 3:
            response = api.get(path)
            statuses.append(response.status_code)
            if response.status_code != 200:
                assert api.get(path).status_code == 200
        assert statuses.count(503) == 4 and statuses.count(429) == 2

        own_lab.set_faults("coder-flaky")  # replacing the faults restarts the count
        assert api.get("/api/v2/users/me").status_code == 503
    assert all(api.get("/api/v2/users/me").status_code == 200 for _ in range(4))


def test_coder_flaky_spares_watch_streams_and_the_cli_rides_through(own_lab: Lab, api: httpx.Client, workspace):
    with own_lab.faults("coder-flaky"):
        with api.stream("GET", f"/api/v2/workspaces/{workspace['id']}/watch") as stream:
            assert stream.status_code == 200
        assert ssh(own_lab, workspace["name"], "echo through") == (0, "through\n")


def test_delete_fails_until_the_fault_is_lifted(own_lab: Lab, api: httpx.Client):
    target = wait(api, create(api, "stuck")["id"], lambda w: w["latest_build"]["status"] == "running")
    with own_lab.faults("delete-fails"):
        for _ in range(2):
            assert build(api, target["id"], "delete").status_code == 201
            failed = wait(api, target["id"], lambda w: w["latest_build"]["status"] == "failed")
            assert failed["latest_build"]["transition"] == "delete"
        assert f"workspace build job failed  job_id={failed['latest_build']['job']['id']}" in coder_log(own_lab)
    assert build(api, target["id"], "delete").status_code == 201
    wait(api, target["id"], lambda w: "latest_build" not in w)  # gone: 410


def test_app_proxy_failures_are_in_the_coder_pods_log(own_lab: Lab, api: httpx.Client, workspace):
    agent = workspace["latest_build"]["resources"][-1]["agents"][0]
    with own_lab.faults("app-proxy-502"):
        response = api.get(f"/@admin/{workspace['name']}.main/apps/code-server/")
    assert response.status_code == 502
    log = coder_log(own_lab)
    line = [line for line in log.splitlines() if "coderd.workspaceapps:" in line][-1]
    assert "[warn]  coderd.workspaceapps: failed to proxy request to application  request_id=" in line
    assert f"workspace_id={workspace['id']}  agent_id={agent['id']}  app_slug=code-server" in line
    assert 'error="dial tcp 127.0.0.1:' in line and ': connect: connection refused"' in line
    request_line = [line for line in log.splitlines() if "[warn]  coderd: GET  " in line][-1]  # this request's
    fields = dict(re.findall(r"(\w+)=(\S+)", request_line))
    assert fields["path"] == f"/@admin/{workspace['name']}.main/apps/code-server/", request_line
    assert (fields["status_code"], fields["requestor_name"]) == ("502", "admin"), request_line
    assert own_lab.token not in log


async def derp_handshake(url: str) -> tuple[str | None, bytes, str]:
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{url}/derp", protocols=("derp",)) as socket:
        message = await socket.receive(timeout=5)
        assert socket._response is not None
        return socket.protocol, message.data, socket._response.headers.get("X-Coder-Build-Version", "")


async def derp_refused(url: str) -> int:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{url}/derp", protocols=("derp",))
        return refused.value.status


def test_derp_accepts_a_websocket_unless_the_ingress_strips_upgrades(own_lab: Lab, workspace):
    url = own_lab.url
    protocol, frame, version = asyncio.run(derp_handshake(url))
    assert (protocol, frame[:13], len(frame), bool(version)) == ("derp", SERVER_KEY_PREFIX, 45, True)
    plain = httpx.get(f"{url}/derp")
    assert (plain.status_code, plain.text) == (426, "DERP requires connection upgrade\n")
    assert plain.headers["X-Coder-Build-Version"]
    assert httpx.get(f"{url}/derp/latency-check").status_code == 200

    with own_lab.faults("websocket-blocked"):
        assert asyncio.run(derp_refused(url)) == 426
        cli = ssh_stdio(own_lab, workspace["name"])
    assert (cli.returncode, cli.stdout) == (1, b"")
    assert re.search(rb"expected handshake response status code 101 but got 426\b", cli.stderr), cli.stderr
