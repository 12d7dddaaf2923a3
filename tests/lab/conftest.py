"""Fixtures the lab's own tests share; each test module starts its own lab (its `lab` fixture)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client as kube_client
from kubernetes import config as kube_config

ROOT = Path(__file__).resolve().parents[2]
# Builds and agents in a fraction of a second: the lab's behaviour, not its timing, is under test.
FAST = ("--build-delay", "0.2", "--agent-delay", "0.1")


def start_lab(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "--handshake", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | (env or {}),
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, f"the lab exited with {process.wait()} before its handshake"
    return process, json.loads(line)


@contextmanager
def fast_lab(env: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """A lab of a test module's own, with fast builds; its handshake while it runs."""
    process, handshake = start_lab(*FAST, env=env)
    yield handshake
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0


def admin_kube(lab: dict[str, Any]) -> kube_client.CoreV1Api:
    """The lab's Kubernetes API as its admin: reading PVCs and listing namespaces is beyond the CI identity."""
    admin = Path(lab["env"]["KUBECONFIG"]).with_name("kubeconfig-admin")
    return kube_client.CoreV1Api(kube_config.new_client_from_config(str(admin)))


@pytest.fixture(scope="module")
def api(lab: dict[str, Any]) -> Iterator[httpx.Client]:
    env = lab["env"]
    with httpx.Client(
        base_url=env["CODER_URL"], headers={"Coder-Session-Token": env["CODER_SESSION_TOKEN"]}, timeout=10
    ) as client:
        yield client


@pytest.fixture
def faults(api: httpx.Client) -> Iterator[Callable[..., None]]:
    def put(*names: str) -> None:
        assert api.put("/lab/faults", json={"faults": list(names)}).json() == {"faults": list(names)}

    yield put
    put()


def ssh_stdio(lab: dict[str, Any], host: str) -> subprocess.CompletedProcess[bytes]:
    """The lab's stand-in `coder ssh --stdio <host>` with nothing on stdin: how it refuses is the test."""
    return subprocess.run(
        [lab["env"]["CODER_CLI"], "ssh", "--stdio", host],
        capture_output=True,
        env=os.environ | {k: lab["env"][k] for k in ("CODER_URL", "CODER_SESSION_TOKEN")},
        stdin=subprocess.DEVNULL,
        timeout=10,
    )
