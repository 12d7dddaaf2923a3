"""Fixtures the lab's own tests share; each test module starts its own lab (its `lab` fixture)."""

from __future__ import annotations

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
