"""Shared fixtures: standalone labs for the session (per xdist worker), met over the wire like any deployment,
one with the real code-server and one with the stand-in IDE. The helpers the tests share are in tests/helpers/."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from tests.helpers.lab import FAST, Lab
from tests.helpers.suite import CANARIES

# Every behave run, lab and sweep is a new Python process importing the project: where the machine says not to
# write bytecode, each would compile it all again (a tenth of a CPU-second a run, hundreds of runs).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


@pytest.fixture(scope="session")
def real_ide_lab() -> Iterator[Lab]:
    """The session's lab, its workspaces running the real code-server, its credentials the canaries that no
    output may show; fast builds, since what is under test is how the suite judges the platform, not how long
    the platform takes."""
    lab = Lab.start(secrets=CANARIES, **FAST)
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="session")
def standin_ide_lab() -> Iterator[Lab]:
    """The session's lab whose workspaces run the stand-in IDE, else as `real_ide_lab`."""
    lab = Lab.start(secrets=CANARIES, code_server=False, **FAST)
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Lab:
    """The session lab the test runs against: `standin_ide_lab` where it is marked `standin_ide`, else
    `real_ide_lab`."""
    name = "standin_ide_lab" if request.node.get_closest_marker("standin_ide") else "real_ide_lab"
    lab: Lab = request.getfixturevalue(name)
    return lab


@pytest.fixture(autouse=True)
def _own_prefix(request: pytest.FixtureRequest) -> None:
    """Every test that uses the session lab names what its runs create with a prefix of its own."""
    if "lab" in request.fixturenames:
        request.getfixturevalue("lab").prefix = "t" + secrets.token_hex(4)


@pytest.fixture
def healthy_lab(lab: Lab) -> Iterator[Lab]:
    """The session lab without faults, before the test and after it."""
    with lab.faults():
        yield lab


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--reverse", action="store_true", help="run the tests in reverse order (they must not care)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        # `-m "not lab"` leaves out every test that starts a lab (bin/mutation runs the rest per mutant).
        if "lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lab)
    if config.getoption("--reverse"):
        items.reverse()
