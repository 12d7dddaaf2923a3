"""The lab's workspaces run the real code-server (bin/setup --ide): its own heart, its own extension record,
its processes stopped or killed by the IDE faults, and none left once the workspace or the lab is gone."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lab.ide import find_code_server
from tests.helpers.coderd import agents, build, create, ready, ssh, wait
from tests.helpers.lab import FAST, Lab, module_lab
from workspace_spec.settings import load_settings
from workspace_spec.target import Target

pytestmark = pytest.mark.skipif(
    find_code_server() is None, reason="no real code-server: bin/setup --ide installs it in .lab-tools/ide"
)


@pytest.fixture(scope="module")
def own_lab() -> Iterator[Lab]:
    with module_lab(**FAST) as lab:
        yield lab


def _app(workspace: dict) -> dict:
    return agents(workspace)[0]["apps"][0]


def _port(app: dict) -> int:
    return int(httpx.URL(app["healthcheck"]["url"]).port or 0)


def _code_server_pids(lab: Lab) -> set[int]:
    """Processes of a code-server from this checkout's .lab-tools/ide working in this lab's state dir."""
    install = find_code_server()
    assert install is not None
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(install.entry).encode() in command and str(lab.state_dir).encode() in command:
                pids.add(int(entry.name))
    return pids


def test_the_handshake_names_the_real_code_server(own_lab: Lab) -> None:
    install = find_code_server()
    assert install is not None and own_lab.process.ide == f"code-server {install.version}"


def test_a_workspace_runs_code_server_with_its_own_heart_and_extensions(own_lab: Lab) -> None:
    with own_lab.api() as api:
        workspace = create(api, f"{own_lab.prefix}-ide")
        workspace = wait(api, workspace["id"], ready, timeout=60)
        app = _app(workspace)
        url = f"http://127.0.0.1:{_port(app)}"
        # Coder's health check only asks /healthz, which does not beat: nobody opened it yet.
        assert httpx.get(f"{url}/healthz").json() == {"status": "expired", "lastHeartbeat": 0}
        page = httpx.get(f"{url}/", follow_redirects=True)
        assert page.status_code == 200 and "code-server" in page.text and "workbench" in page.text
        health = httpx.get(f"{url}/healthz").json()
        assert health["status"] == "alive" and health["lastHeartbeat"] > 0
        # The extension, as code-server's own CLI installed it from the VSIX.
        host = workspace["name"]
        status, out = ssh(own_lab, host, "cat ~/.local/share/code-server/extensions/extensions.json")
        assert status == 0, out
        (entry,) = json.loads(out)
        assert entry["identifier"]["id"] == "openai.chatgpt" and entry["metadata"]["source"] == "vsix"
        status, out = ssh(own_lab, host, "ls ~/.local/share/code-server/extensions")
        assert entry["relativeLocation"] in out.split()
        # ...and recorded where this workspace has it (the lab copies one install into each workspace)
        folder = entry["location"]["path"]
        status, out = ssh(own_lab, host, f'echo "$HOME"; cat {folder}/package.json')
        assert folder == f"{out.splitlines()[0]}/.local/share/code-server/extensions/{entry['relativeLocation']}"
        assert entry["location"]["fsPath"] == folder and '"openai"' in out, out
        before = _code_server_pids(own_lab)
        assert before
        assert build(api, workspace["id"], "delete").status_code == 201
        wait(api, workspace["id"], lambda w: "latest_build" not in w, timeout=30)  # 410: deleted
    deadline = time.monotonic() + 10
    while before & _code_server_pids(own_lab) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not before & _code_server_pids(own_lab), "code-server outlived its workspace"


def test_without_the_extension_code_server_has_none(own_lab: Lab) -> None:
    with own_lab.faults("extension-missing"), own_lab.api() as api:
        workspace = wait(api, create(api, f"{own_lab.prefix}-noext")["id"], ready, timeout=60)
        command = "ls -A ~/.local/share/code-server/extensions 2>/dev/null; echo listed"
        status, out = ssh(own_lab, workspace["name"], command)
        assert status == 0 and out.split()[-1:] == ["listed"], out
        assert "openai.chatgpt" not in out
        build(api, workspace["id"], "delete")


def test_a_wedged_code_server_accepts_and_never_answers(own_lab: Lab) -> None:
    with own_lab.faults("ide-wedged"), own_lab.api() as api:
        workspace = create(api, f"{own_lab.prefix}-wedged")
        workspace = wait(api, workspace["id"], lambda w: bool(agents(w)) and agents(w)[0]["apps"], timeout=60)
        port = _port(_app(workspace))
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.5)
        assert _app(api.get(f"/api/v2/workspaces/{workspace['id']}").json())["health"] != "healthy"
        build(api, workspace["id"], "delete")


def test_a_crashed_code_server_refuses_connections(own_lab: Lab) -> None:
    with own_lab.faults("ide-port-refused"), own_lab.api() as api:
        workspace = wait(api, create(api, f"{own_lab.prefix}-crash")["id"], ready, timeout=60)
        port = _port(_app(workspace))
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            except httpx.ConnectError:
                break
            assert time.monotonic() < deadline, "code-server still answers under ide-port-refused"
            time.sleep(0.1)
        build(api, workspace["id"], "delete")


def test_a_lab_killed_outright_takes_its_code_servers_with_it() -> None:
    """Even SIGKILL, which gives the lab no chance to stop them: the kernel ends them with it."""
    lab = Lab.start(**FAST)
    try:
        with lab.api() as api:
            wait(api, create(api, f"{lab.prefix}-orphan")["id"], ready, timeout=60)
        ours = _code_server_pids(lab)
        assert ours
    finally:
        lab.process.process.send_signal(signal.SIGKILL)
        lab.process.process.wait(10)
        lab.process.stop()
    deadline = time.monotonic() + 10
    while ours & _alive(ours) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(ours), "code-server outlived a killed lab"


def _alive(pids: set[int]) -> set[int]:
    """Those of `pids` still running (a zombie waits for its new parent only to be reaped)."""
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def test_without_code_server_the_lab_runs_the_stand_in_and_says_so(tmp_path: Path) -> None:
    os.environ["LAB_CODE_SERVER_PREFIX"] = str(tmp_path)  # an empty prefix: nothing installed there
    try:
        lab = Lab.start(**FAST)
    finally:
        del os.environ["LAB_CODE_SERVER_PREFIX"]
    try:
        assert lab.process.ide == ""
        banner = Target("lab", load_settings(lab.env), lab.process).describe()  # the run's first line
        assert "a stand-in code-server: bin/setup --ide installs the real one" in banner
    finally:
        lab.stop()
