"""Fixtures of the tests that run the suite against the lab."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.injector import Injector
from tests.helpers.lab import Lab


@pytest.fixture
def injector(healthy_lab: Lab) -> Iterator[Injector]:
    """A fault injector between the suite and the session lab's coderd, stopped however the test ends."""
    proxy = Injector(healthy_lab.url).start()
    try:
        yield proxy
    finally:
        proxy.stop()
