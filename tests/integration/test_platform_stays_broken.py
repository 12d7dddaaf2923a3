"""A platform that stays broken (an SSO page in front of the API, an expired token, reads refused, answers
cut short): the run says so in one line per failure, never with a Python traceback, sends every delete it
can, and shows no secret."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.injector import Injector, Rule
from tests.helpers.lab import Lab
from tests.helpers.suite import FAST_TIMEOUTS, SuiteRun, cleanup_counts, leaks, run_suite

SCENARIO = "A new workspace inherits the template's auto-stop (§5)"
WORKSPACE = r"/api/v2/workspaces/[0-9a-f-]{36}"
BUILDS = WORKSPACE + "/builds"
FIRST_USER = "/api/v2/users/first"
CLEANUP_TIMEOUT = 30


@pytest.fixture
def injector(healthy_lab: Lab) -> Iterator[Injector]:
    proxy = Injector(healthy_lab.url).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def _run(lab: Lab, injector: Injector, tmp_path: Path, rule: Rule, tags: str = "@policy") -> tuple[SuiteRun, float]:
    injector.inject(rule)
    env = lab.suite_env(**FAST_TIMEOUTS, CODER_URL=injector.url, SPEC_REQUEST_TIMEOUT="8")
    started = time.monotonic()
    run = run_suite(tmp_path, env, f"--tags={tags}", timeout=240)
    return run, time.monotonic() - started


def _said_plainly(lab: Lab, injector: Injector, run: SuiteRun, tmp_path: Path) -> None:
    assert injector.hits, f"the fault was never injected:\n{run.output[-3000:]}"
    assert "Traceback" not in run.output, run.output[-5000:]
    assert not leaks(lab, run, tmp_path)


def test_one_cut_short_read_is_asked_again_and_passes(healthy_lab: Lab, injector: Injector, tmp_path: Path) -> None:
    run, _ = _run(healthy_lab, injector, tmp_path, Rule("not_json", "GET", WORKSPACE, variant="truncated"))
    _said_plainly(healthy_lab, injector, run, tmp_path)
    assert run.returncode == 0, run.output[-3000:]
    assert "asking Coder again (attempt 2 of 4): Coder answered 200 to GET /api/v2/workspaces/" in run.output
    assert healthy_lab.wait_until_clean() == ([], [])


def test_a_write_refused_with_503_is_sent_again(healthy_lab: Lab, injector: Injector, tmp_path: Path) -> None:
    run, _ = _run(healthy_lab, injector, tmp_path, Rule("error_status", "POST", BUILDS, variant="503"))
    _said_plainly(healthy_lab, injector, run, tmp_path)
    assert run.returncode == 0, run.output[-3000:]
    assert healthy_lab.wait_until_clean() == ([], [])


def test_reads_that_stay_refused_do_not_keep_the_delete_from_being_sent(
    healthy_lab: Lab, injector: Injector, tmp_path: Path
) -> None:
    run, took = _run(healthy_lab, injector, tmp_path, Rule("error_status", "GET", WORKSPACE, times=None))
    assert took < 120, f"the run took {took:.0f} s"
    _said_plainly(healthy_lab, injector, run, tmp_path)
    assert run.statuses()[SCENARIO] == "failed", run.output[-3000:]
    assert "Coder answered 400 to GET /api/v2/workspaces/" in run.failure(SCENARIO)
    assert healthy_lab.wait_until_clean() == ([], []), "the delete was not sent"
    assert "the delete was sent, but whether it is gone cannot be read" in run.output, run.output[-3000:]
    assert cleanup_counts(run.output).not_removed == 1, run.output[-3000:]
    assert run.output.count("whether it is gone cannot be read") == 1, "a cleanup failure is said once"


@pytest.mark.parametrize("variant", ["html", "302"])
def test_an_sso_page_in_front_of_the_first_user_route_is_named(
    variant: str, healthy_lab: Lab, injector: Injector, tmp_path: Path
) -> None:
    rule = Rule("sso", "GET", FIRST_USER, variant=variant, times=None)
    run, _ = _run(healthy_lab, injector, tmp_path, rule, tags="@oidc")
    _said_plainly(healthy_lab, injector, run, tmp_path)
    assert run.returncode != 0
    expected = (
        "with a body that is not JSON (text/html" if variant == "html" else f"Coder answered 302 to GET {FIRST_USER}"
    )
    assert expected in run.output, run.output[-3000:]
