"""Ctrl-C and a CI runner's SIGTERM in the middle of a run still remove everything the run created."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.helpers.lab import Lab
from tests.helpers.suite import cleanup_counts, finish, start_suite


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
    assert cleanup_counts(output).not_removed == 0, output[-2000:]
    assert healthy_lab.wait_until_clean() == ([], []), output[-2000:]
