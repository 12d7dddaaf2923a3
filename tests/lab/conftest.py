"""Fixtures the lab's own tests share; each test module starts its own lab (its `lab` fixture)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest


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
