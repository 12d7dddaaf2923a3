"""The capacity probe against the lab: it creates what it was told, at most C at once, says where the time went,
and removes everything it created, whether the workspaces came up, failed, or the probe was cut short."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.ide import BROWSER_RUNS
from tests.helpers.injector import Injector, Rule
from tests.helpers.lab import STANDIN_IDE, Lab
from tests.helpers.suite import FAST_TIMEOUTS, ROOT, SuiteRun, finish, leaks

WRONG_TOKEN = "AAAAAAAAAA-BBBBBBBBBBBBBBBBBBBBBB"
PROBE = [sys.executable, "-m", "workspace_spec.capacity"]
CREATE = "/api/v2/users/me/workspaces"
UNSET = "<unset>"


def _env(lab: Lab, **extra: str) -> dict[str, str]:
    """The suite's environment for the lab; an `extra` value of UNSET removes that variable."""
    env = lab.suite_env(**FAST_TIMEOUTS, PYTHONPATH=str(ROOT), **extra)
    return {name: value for name, value in env.items() if value != UNSET}


def _probe(lab: Lab, tmp_path: Path, *args: str, timeout: float = 240, **env: str) -> SuiteRun:
    done = subprocess.run(
        [*PROBE, *args],
        cwd=tmp_path,
        env=_env(lab, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return SuiteRun(done.returncode, done.stdout + done.stderr, [])


def _figures(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "reports" / "capacity.json").read_text())


def _removed_everything(lab: Lab, run: SuiteRun, tmp_path: Path, created: int) -> dict:
    """The lab has none of the probe's workspaces left, its ledger file is closed (gone), its figures say so."""
    lab.assert_clean(run.tail)
    assert list((tmp_path / "reports" / "ledgers").glob("*.jsonl")) == [], run.tail
    data = _figures(tmp_path)
    assert data["cleanup"] == {"created": created, "removed": created, "not_removed": []}, run.tail
    assert f"cleanup: {created} created, {created} removed, 0 not removed" in run.output
    assert leaks(lab, run, tmp_path) == []
    return data


@STANDIN_IDE
def test_a_small_run_reports_every_phase_and_removes_everything(healthy_lab: Lab, tmp_path: Path) -> None:
    run = _probe(healthy_lab, tmp_path, "--workspaces", "3", "--concurrency", "2", "--yes")
    assert run.returncode == 0, run.tail
    data = _removed_everything(healthy_lab, run, tmp_path, created=3)
    assert data["run"]["workspaces"] == 3 and data["run"]["concurrency"] == 2
    assert 1 <= data["run"]["most_at_once"] <= 2
    for phase in ("queued", "build", "agent", "app", "delete", "usable"):
        assert data["phases"][phase]["count"] == 3, (phase, data["phases"])
    assert data["failures"] == []
    # Two builds at once on three provisioners: none waits for another.
    assert data["phases"]["queued"]["p95"] < 0.5 * data["phases"]["build"]["p50"], data["phases"]
    assert data["overhead"]["count"] == 3
    assert "usable: 3 of 3 workspaces" in run.output
    assert "probe overhead per workspace: p50" in run.output
    results = tmp_path / "reports" / "allure-results"
    result = json.loads((results / "capacity-probe-result.json").read_text())
    assert result["status"] == "passed", result
    svg = next(a for a in result["attachments"] if a["type"] == "image/svg+xml")
    picture = (results / svg["source"]).read_text()
    assert picture.startswith("<svg") and picture.count(f"{healthy_lab.prefix}-") >= 3
    assert (tmp_path / "reports" / "capacity.svg").read_text() == picture


def test_without_yes_it_says_what_it_would_create_and_creates_nothing(healthy_lab: Lab, tmp_path: Path) -> None:
    offset = len(healthy_lab.log())
    run = _probe(healthy_lab, tmp_path, "--workspaces", "5", "--concurrency", "2")
    assert run.returncode == 0, run.output
    lines = run.output.strip().splitlines()
    assert len(lines) == 1, run.output
    assert lines[0].startswith("would create 5 workspace(s) from template ameide-dev, at most 2 at once"), lines
    assert healthy_lab.workspaces() == []
    assert f"POST {CREATE}" not in healthy_lab.log_since(offset)
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (["--workspaces", "0", "--concurrency", "2"], {}, "--workspaces must be at least 1, got 0"),
        (["--workspaces", "2", "--concurrency", "0"], {}, "--concurrency must be at least 1, got 0"),
        (["--workspaces", "2", "--concurrency", "2", "--template", "nope"], {}, "template 'nope' not found"),
        (
            ["--workspaces", "2", "--concurrency", "2"],
            {"CODER_SESSION_TOKEN": UNSET},
            "CODER_SESSION_TOKEN is required",
        ),
        (["--workspaces", "2", "--concurrency", "2"], {"CODER_SESSION_TOKEN": ""}, "CODER_SESSION_TOKEN"),
        (["--workspaces", "2", "--concurrency", "2"], {"CODER_SESSION_TOKEN": WRONG_TOKEN}, "was rejected by"),
    ],
    ids=["no-workspaces", "no-concurrency", "unknown-template", "no-token", "empty-token", "rejected-token"],
)
def test_bad_input_is_one_line_exit_2_and_nothing_created(
    args: list[str], env: dict[str, str], said: str, healthy_lab: Lab, tmp_path: Path
) -> None:
    run = _probe(healthy_lab, tmp_path, *args, "--yes", **env)
    assert run.returncode == 2, run.output
    lines = run.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("capacity: ") and said in lines[0], run.output
    assert "Traceback" not in run.output
    assert healthy_lab.workspaces() == []
    assert not (tmp_path / "reports").exists()


@STANDIN_IDE
def test_under_a_fault_the_failures_are_reported_by_class_and_everything_removed(
    healthy_lab: Lab, tmp_path: Path
) -> None:
    with healthy_lab.faults("build-fails"):
        run = _probe(healthy_lab, tmp_path, "--workspaces", "3", "--concurrency", "3", "--yes")
    assert run.returncode == 1, run.tail
    data = _removed_everything(healthy_lab, run, tmp_path, created=3)
    assert [(f["phase"], f["class"], f["count"]) for f in data["failures"]] == [("build", "WaitFailed", 3)]
    assert "the start build #1 failed" in data["failures"][0]["example"]
    assert "failed: 3 x WaitFailed in build: " in run.output
    assert "usable: 0 of 3 workspaces" in run.output
    assert data["phases"]["build"]["count"] == 3  # how long the failing builds ran, from the platform
    assert "usable" not in data["phases"]
    result = json.loads((tmp_path / "reports" / "allure-results" / "capacity-probe-result.json").read_text())
    assert result["status"] == "failed" and "3 x WaitFailed in build" in result["statusDetails"]["message"]


@STANDIN_IDE
def test_sigterm_mid_run_removes_everything_it_created(healthy_lab: Lab, injector: Injector, tmp_path: Path) -> None:
    # The fourth create is held in flight when the signal comes: it is awaited, and removed with the rest.
    injector.inject(Rule("hold", "POST", CREATE, nth=4, delay=3.0))
    probe = subprocess.Popen(
        [*PROBE, "--workspaces", "12", "--concurrency", "4", "--yes"],
        cwd=tmp_path,
        env=_env(healthy_lab, CODER_URL=injector.url, PYTHONFAULTHANDLER="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert injector.holding.wait(60), "the probe never sent a fourth create"
    probe.send_signal(signal.SIGTERM)
    run = SuiteRun(0, finish(probe, timeout=90), [])
    assert probe.returncode == 128 + signal.SIGTERM, run.tail
    assert "SIGTERM: removing what the probe created" in run.output
    data = _removed_everything(healthy_lab, run, tmp_path, created=4)
    assert data["run"]["interrupted"] == "SIGTERM"
    assert data["failures"] == []  # cut short by the probe, not failed by the platform


@STANDIN_IDE
def test_twelve_workspaces_six_at_once_queue_for_three_provisioners(healthy_lab: Lab, tmp_path: Path) -> None:
    run = _probe(healthy_lab, tmp_path, "--workspaces", "12", "--concurrency", "6", "--yes", timeout=400)
    assert run.returncode == 0, run.tail
    data = _removed_everything(healthy_lab, run, tmp_path, created=12)
    assert data["run"]["most_at_once"] == 6
    phases = data["phases"]
    assert phases["usable"]["count"] == 12
    # Six builds at once on three daemons: some wait about a whole build for a free one.
    assert phases["queued"]["p95"] >= 0.5 * phases["build"]["p50"], phases


@pytest.mark.skipif(not BROWSER_RUNS, reason="no browser and real code-server here: bin/setup --dev installs them")
def test_with_ssh_and_the_browser_a_workspace_is_usable_once_both_pass(healthy_lab: Lab, tmp_path: Path) -> None:
    # One workspace: a browser opening VS Code costs more CPU than anything else here, and one shows the order.
    run = _probe(healthy_lab, tmp_path, "--workspaces", "1", "--concurrency", "1", "--ssh", "--browser", "--yes")
    assert run.returncode == 0, run.tail
    data = _removed_everything(healthy_lab, run, tmp_path, created=1)
    assert data["phases"]["ssh"]["count"] == 1 and data["phases"]["browser"]["count"] == 1, data["phases"]
    for workspace in data["workspaces"]:
        phases = workspace["phases"]
        assert phases["usable"] >= phases["app"] + phases["ssh"] + phases["browser"], phases


@STANDIN_IDE
def test_a_workspace_without_ssh_is_not_usable_with_ssh_asked_for(healthy_lab: Lab, tmp_path: Path) -> None:
    with healthy_lab.faults("websocket-blocked"):
        run = _probe(healthy_lab, tmp_path, "--workspaces", "2", "--concurrency", "2", "--ssh", "--yes")
    assert run.returncode == 1, run.tail
    data = _removed_everything(healthy_lab, run, tmp_path, created=2)
    assert [(f["phase"], f["class"], f["count"]) for f in data["failures"]] == [("ssh", "ShellUnavailable", 2)]
    assert data["phases"]["app"]["count"] == 2 and "ssh" not in data["phases"]
