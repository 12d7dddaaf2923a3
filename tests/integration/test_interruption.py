"""Ctrl-C and a CI runner's SIGTERM in the middle of a run still remove everything the run created."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.helpers.injector import Injector, Rule
from tests.helpers.lab import STANDIN_IDE, Lab
from tests.helpers.suite import (
    ALLURE_FORMATTER,
    FAST_TIMEOUTS,
    ROOT,
    Cleanup,
    SuiteRun,
    cleanup_counts,
    finish,
    leaks,
    start_suite,
    tail,
)

pytestmark = STANDIN_IDE  # code-server is not what these tests prove

BUILDS = r"/api/v2/workspaces/[0-9a-f-]{36}/builds"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_cleans_up(signum: signal.Signals, healthy_lab: Lab, tmp_path: Path) -> None:
    run = start_suite(healthy_lab.suite_env(), "--tags=@smoke", "-f", "plain", cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not healthy_lab.workspaces() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.1)
    assert healthy_lab.workspaces(), "the run created no workspace to interrupt"
    run.send_signal(signum)
    output = finish(run, timeout=60)
    assert run.returncode != 0
    assert "ABORTED" in output
    assert cleanup_counts(output).not_removed == 0, tail(output, 2000)
    healthy_lab.assert_clean(tail(output, 2000))


def test_a_second_signal_during_cleanup_only_waits_for_it(healthy_lab: Lab, injector: Injector, tmp_path: Path) -> None:
    """A CI runner cancelling a job sends SIGINT, then SIGTERM while the run cleans up (here: while its
    delete is held on the way): the cleanup goes on, says so, and the run ends with its cleanup line, its
    summary.json and its reports scrubbed."""
    injector.inject(Rule("hold", "POST", BUILDS, delay=3.0))  # the delete build: the run's cleanup under way
    reports = tmp_path / "reports"
    env = {**healthy_lab.suite_env(**FAST_TIMEOUTS, CODER_URL=injector.url), "PYTHONPATH": str(ROOT)}
    formats = ["-f", "plain", "-o", "-", "-f", ALLURE_FORMATTER, "-o", str(reports / "allure-results")]
    formats += ["--junit", "--junit-directory", str(reports / "junit")]
    suite = start_suite(env, "--tags=@policy", *formats, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not healthy_lab.workspaces() and time.monotonic() < deadline and suite.poll() is None:
            time.sleep(0.1)
        assert healthy_lab.workspaces(), f"the run created no workspace to interrupt:\n{finish(suite, 30)[-3000:]}"
        suite.send_signal(signal.SIGINT)
        assert injector.holding.wait(60), "the run sent no delete"
        suite.send_signal(signal.SIGTERM)
        output = finish(suite, timeout=90)
    finally:
        if suite.poll() is None:
            suite.kill()
    assert injector.held.wait(30), "the held delete never reached the lab"
    assert suite.returncode != 0, tail(output)
    assert "SIGTERM: cleanup in progress, removing what the run created first" in output, tail(output)
    assert "Traceback" not in output, tail(output, 5000)
    assert cleanup_counts(output) == Cleanup(created=1, removed=1, not_removed=0), tail(output)
    summary = json.loads((reports / "summary.json").read_text())
    assert summary["verdict"] == "interrupted", summary
    assert list(reports.rglob("*-result.json")) and list(reports.rglob("TESTS-*.xml"))
    assert not leaks(healthy_lab, SuiteRun(suite.returncode, output, []), tmp_path)
    healthy_lab.assert_clean(tail(output))
