"""Fail safe (spec 629 §5, §5.1): transient errors are ridden through, what cannot be removed is said
loudly and swept later, a killed run's leftovers are swept, and failures come with their diagnostics."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.faults import REGISTRY
from tests.helpers.breakage import PREFLIGHT, PREFLIGHT_RIGHTS, PREFLIGHT_SERVICES, PREFLIGHT_WEBSOCKET, Breaks
from tests.helpers.lab import STANDIN_IDE, Lab
from tests.helpers.suite import FAST_TIMEOUTS, ROOT, attachments, cleanup_counts, run_suite

pytestmark = STANDIN_IDE  # code-server is not what these tests prove

PROXY_SCENARIO = "A signed-in developer reaches code-server through the app proxy (§1.1 check 2)"
DIAGNOSTICS = {
    "workspace.json",
    "build.log",
    "build-timings.json",
    "pod.log",
    "events.txt",
    "postCreate.log",
    "coder-control-plane.log",
}


def _sweep(lab: Lab, *args: str, older_than: str = "0s") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workspace_spec.sweep", "--older-than", older_than, *args],
        cwd=ROOT,
        env=lab.suite_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _swept(done: subprocess.CompletedProcess[str], verb: str = "removed") -> list[tuple[str, str]]:
    """(kind, name) of each `removed: <kind> <name> (<age> h old)` line the sweeper printed."""
    return re.findall(rf"^{verb}: (\w+) (\S+) \([\d.]+ h old\)$", done.stdout, re.MULTILINE)


def test_transient_coder_errors_are_ridden_through(lab: Lab, tmp_path: Path) -> None:
    # Coder asks for a minute on every 429 (how many the run meets depends on its timing): a second will do.
    # The flaky part is the API: the browser, which meets only the app proxy, would add its time alone.
    with lab.faults("coder-flaky"):
        env = lab.suite_env(**FAST_TIMEOUTS, SPEC_RATE_LIMIT_WAIT="1")
        run = run_suite(tmp_path, env, "--tags=@smoke and not @browser")
    assert run.returncode == 0, run.tail
    lab.assert_clean()


def test_a_workspace_that_cannot_be_deleted_is_reported_and_swept_later(lab: Lab, tmp_path: Path) -> None:
    with lab.faults("delete-fails"):
        run = run_suite(tmp_path, lab.suite_env(**FAST_TIMEOUTS), "--tags=@policy")
    assert run.returncode != 0, "a run that could not remove its workspace passed"
    left = [workspace["name"] for workspace in lab.workspaces()]
    assert len(left) == 1
    assert re.search(rf"^  NOT REMOVED: workspace {re.escape(left[0])}: ", run.output, re.MULTILINE), run.tail
    listed = _sweep(lab, "--dry-run")
    assert listed.returncode == 0 and ("workspace", left[0]) in _swept(listed, "would remove"), (
        listed.stdout + listed.stderr
    )
    assert [workspace["name"] for workspace in lab.workspaces()] == left, "--dry-run removed something"
    swept = _sweep(lab)
    assert swept.returncode == 0 and ("workspace", left[0]) in _swept(swept), swept.stdout + swept.stderr
    lab.assert_clean()


def test_the_sweeper_leaves_a_fresh_workspace_of_another_run_alone(healthy_lab: Lab) -> None:
    """On a shared deployment a concurrent run's workspaces are young: only the old ones are leftovers."""
    with healthy_lab.api() as api:
        template = api.get("/api/v2/organizations/default/templates/ameide-dev").json()["id"]
        made = {}
        for run_id in ("oldrun", "newrun"):
            name = f"{healthy_lab.prefix}-{run_id}-1"
            made[run_id] = api.post("/api/v2/users/me/workspaces", json={"template_id": template, "name": name})
        assert all(response.status_code == 201 for response in made.values())
        three_hours_ago = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
        aged = api.patch(f"/lab/workspaces/{made['oldrun'].json()['id']}", json={"created_at": three_hours_ago})
        assert aged.status_code == 200, aged.text
    swept = _sweep(healthy_lab, older_than="2h")
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert f"removed: workspace {healthy_lab.prefix}-oldrun-1 (3.0 h old)" in swept.stdout.splitlines()
    assert [w["name"] for w in healthy_lab.workspaces()] == [f"{healthy_lab.prefix}-newrun-1"]
    assert _sweep(healthy_lab).returncode == 0  # then everything of this test, whatever its age
    healthy_lab.assert_clean()


def test_a_killed_run_leaves_what_the_sweeper_finds(healthy_lab: Lab, tmp_path: Path) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "behave", str(ROOT / "features"), "--tags=@e2e", "-f", "null"],
        cwd=tmp_path,
        env=healthy_lab.suite_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while healthy_lab.sandbox_leftovers() == ([], []) and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.1)
    run.send_signal(signal.SIGKILL)  # no handler, no cleanup: this is what the sweeper is for
    run.wait()
    branches, _ = healthy_lab.sandbox_leftovers()
    assert branches and healthy_lab.workspaces(), "the killed run left nothing to sweep"
    swept = _sweep(healthy_lab)
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert {("branch", branch) for branch in branches} <= set(_swept(swept)), swept.stdout
    assert healthy_lab.sandbox_leftovers() == ([], [])
    healthy_lab.assert_clean()


def test_a_failure_comes_with_its_diagnostics_and_a_pass_with_none(lab: Lab, tmp_path: Path) -> None:
    with lab.faults("app-proxy-502"):  # which also fails the browser's visit: that scenario is left out
        run = run_suite(tmp_path, lab.suite_env(**FAST_TIMEOUTS), "--tags=@smoke and not @browser")
    assert run.statuses()[PROXY_SCENARIO] == "failed"
    folders = list((tmp_path / "reports" / "diagnostics").iterdir())
    assert len(folders) == 1, "diagnostics were collected for a scenario that passed"
    files = {path.name: path.read_text() for path in folders[0].iterdir()}
    assert set(files) == DIAGNOSTICS
    assert "[workspace-bootstrap]" in files["build.log"]
    assert json.loads(files["workspace.json"])["name"].startswith(f"{lab.prefix}-")
    assert "failed to proxy request to application" in files["coder-control-plane.log"]
    assert not files["postCreate.log"].startswith("unavailable"), files["postCreate.log"]
    assert attachments(tmp_path, PROXY_SCENARIO) == DIAGNOSTICS | {"workspace timings"}


def test_preflight_passes_and_creates_nothing(healthy_lab: Lab, tmp_path: Path) -> None:
    run = run_suite(tmp_path, healthy_lab.suite_env(), "--tags=@preflight")
    assert run.returncode == 0, run.tail
    assert run.statuses() == {PREFLIGHT_SERVICES: "passed", PREFLIGHT_WEBSOCKET: "passed", PREFLIGHT_RIGHTS: "passed"}
    assert cleanup_counts(run.output).created == 0, run.tail


@pytest.mark.parametrize("breaks", [row for row in PREFLIGHT if row.fault in REGISTRY], ids=str)
def test_each_fault_fails_the_preflight_check_that_covers_it(breaks: Breaks, lab: Lab, tmp_path: Path) -> None:
    with lab.faults(breaks.fault):
        run = run_suite(tmp_path, lab.suite_env(), "--tags=@preflight")
    failed = {name for name, status in run.statuses().items() if status == "failed"}
    assert failed == {breaks.scenario}, run.tail
    assert run.failed_step_name(breaks.scenario) == breaks.step
    assert breaks.message in run.failure(breaks.scenario)


def _unreachable_kubeconfig(lab: Lab, tmp_path: Path) -> Path:
    kubeconfig = Path(lab.env["KUBECONFIG"]).read_text()
    unreachable = tmp_path / "kubeconfig"
    server = json.loads(kubeconfig)["clusters"][0]["cluster"]["server"]
    unreachable.write_text(kubeconfig.replace(server, "https://127.0.0.1:9"))
    return unreachable


def test_preflight_names_an_unreachable_host(healthy_lab: Lab, tmp_path: Path) -> None:
    (breaks,) = [row for row in PREFLIGHT if row.fault == "unreachable Kubernetes API"]
    kubeconfig = _unreachable_kubeconfig(healthy_lab, tmp_path)
    run = run_suite(tmp_path, healthy_lab.suite_env(KUBECONFIG=str(kubeconfig)), "--tags=@preflight")
    assert run.statuses()[breaks.scenario] == "failed"
    assert run.failed_step_name(breaks.scenario) == breaks.step
    assert breaks.message in run.failure(breaks.scenario)


def test_an_unreachable_cluster_stops_a_run_that_creates_workspaces(healthy_lab: Lab, tmp_path: Path) -> None:
    """Refused before anything is created, naming the host."""
    kubeconfig = _unreachable_kubeconfig(healthy_lab, tmp_path)
    env = healthy_lab.suite_env(KUBECONFIG=str(kubeconfig))
    run = run_suite(tmp_path, env, "--tags=@smoke")
    assert run.returncode != 0 and run.statuses() == {}
    hook_error = [line for line in run.output.splitlines() if line.startswith("HOOK-ERROR in before_all")]
    assert hook_error and "the Kubernetes API cannot be used: Kubernetes API unreachable" in hook_error[0], run.output
    assert healthy_lab.workspaces() == []
