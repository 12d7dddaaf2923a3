"""Fixtures of the lab's own tests. A module that drives a whole lab gets one of its own (`own_lab`, fast
builds; a module that needs other options defines its own `own_lab`), never the session's `lab`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from kubernetes import client as kube_client

from tests.helpers.lab import FAST, Lab, module_lab


@pytest.fixture(scope="module")
def own_lab() -> Iterator[Lab]:
    """The module's own lab, with fast builds."""
    with module_lab(**FAST) as lab:
        yield lab


@pytest.fixture(scope="module")
def api(own_lab: Lab) -> Iterator[httpx.Client]:
    """The module lab's coderd API, with its session token."""
    with own_lab.api() as client:
        yield client


@pytest.fixture(scope="module")
def admin_kube(own_lab: Lab) -> kube_client.CoreV1Api:
    return own_lab.admin_kube()
