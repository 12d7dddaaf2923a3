"""The smoke suite against the lab: it passes when the platform is healthy, and each lab fault makes
the scenario that covers the broken part fail, with a message naming it, leaving nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FAST_TIMEOUTS, ROOT, Lab, attachments, leaks, run_suite

USABLE = "A workspace created from the template becomes usable (§1.1 check 1)"
PERSISTENCE = "Stopping and starting a workspace keeps its volume (§1.1 check 5)"
DELETE = "A deleted workspace is gone (§1.1 check 6)"
PROXY_SIGNED_IN = "A signed-in developer reaches code-server through the app proxy (§1.1 check 2)"
PROXY_ANONYMOUS = "The app proxy does not serve the app without a session (§1.1 check 2)"
CHECKOUT = "The repository is checked out (§1.1 check 3)"
TOOLCHAIN = "The toolchain is installed (§1.1 check 3)"
IDE_HEALTH = "code-server is healthy inside the workspace (§1.1 check 4)"
EXTENSION = "code-server has the Codex extension (§1.1 check 3, optional)"
ISSUER = "Coder signs people in through the Keycloak issuer (§1.1 auth)"
FIRST_USER = "The deployment is past first-run setup (§1.1 auth)"
AUTOSTOP = "A new workspace inherits the template's auto-stop (§5)"
SMOKE_SCENARIOS = 12
# Faults caught before any workspace exists: their diagnostics are the control plane's only.
NO_WORKSPACE = {
    "first-user-missing",
    "wrong-oidc-issuer",
    "no-default-ttl",
    "oidc-disabled",
    "discovery-issuer-mismatch",
}

# fault -> (the scenario that covers the broken part, what its failure message must say)
FAULTS = {
    "build-fails": (USABLE, "the start build #1 failed"),
    "agent-never-ready": (USABLE, "workspace agent readiness of workspace"),
    "app-proxy-502": (PROXY_SIGNED_IN, "app proxy did not serve the app: it answered 502"),
    "ide-port-refused": (IDE_HEALTH, "code-server is down: http://127.0.0.1:"),
    "app-foreign-page": (PROXY_SIGNED_IN, "the app proxy serves something, but not code-server"),
    "agent-start-timeout": (USABLE, "agent 'main' is start_timeout: its startup scripts timed out"),
    "sub-agent-fails": (USABLE, "agent 'devcontainer' is start_error"),
    "agent-disconnected": (USABLE, "agent main disconnected/ready"),
    "no-provisioner": (USABLE, "no provisioner accepts its tags (matched_provisioners.count 0)"),
    "pvc-lost-on-stop": (PERSISTENCE, "were deleted when the workspace stopped"),
    "volume-wiped-on-restart": (PERSISTENCE, "is gone after stop and start"),
    "tool-missing": (TOOLCHAIN, "toolchain incomplete"),
    "extension-missing": (EXTENSION, "lacks extension(s) openai.chatgpt"),
    "first-user-missing": (FIRST_USER, "first-run setup is not complete"),
    "wrong-oidc-issuer": (ISSUER, "Coder's OIDC issuer is"),
    "no-default-ttl": (AUTOSTOP, "has no default auto-stop"),
    "delete-fails-once": (DELETE, "the delete build"),
    "namespace-kept-on-delete": (DELETE, "is still Active after the workspace was deleted"),
    "app-open-without-login": (PROXY_ANONYMOUS, "did not send an anonymous visitor to /login"),
    "oidc-disabled": (ISSUER, "Coder reports OIDC sign-in disabled"),
    "discovery-issuer-mismatch": (ISSUER, "the discovery document of"),
    "repo-not-checked-out": (CHECKOUT, "is not a git work tree in the workspace"),
    "ttl-not-inherited": (AUTOSTOP, "has ttl_ms None"),
}


def test_smoke_passes_against_the_embedded_lab_as_the_readme_runs_it(tmp_path: Path) -> None:
    """`behave --tags=@smoke` from the project root, with no target configured: the lab starts by itself."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SPEC_", "CODER_"))}
    done = subprocess.run(
        [sys.executable, "-m", "behave", "--tags=@smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "target: lab (Coder http://127.0.0.1:" in output
    # A tag that selects nothing also exits 0: make sure the scenarios really ran.
    assert f"{SMOKE_SCENARIOS} scenarios passed, 0 failed," in output, output[-2000:]
    assert "cleanup: " in output and "0 not removed" in output
    environment = (ROOT / "reports/allure-results/environment.properties").read_text()
    assert "target=lab" in environment
    junit = list((ROOT / "reports/junit").glob("TESTS-*.xml"))
    assert junit and all('name="target" value="lab"' in path.read_text() for path in junit)


@pytest.mark.parametrize("condition", ["sub-agent-first", "devel-version"])
def test_smoke_passes_where_a_healthy_platform_differs(condition: str, lab: Lab, tmp_path: Path) -> None:
    """A sub-agent listed before the IDE's agent, or a development build of Coder, is still a healthy platform."""
    lab.set_faults(condition)
    try:
        run = run_suite(tmp_path, lab.suite_env(**FAST_TIMEOUTS), "--tags=@smoke")
    finally:
        lab.set_faults()
    assert run.returncode == 0, run.output[-3000:]
    assert len(run.statuses()) == SMOKE_SCENARIOS and set(run.statuses().values()) == {"passed"}
    if condition == "devel-version":
        assert "a development build: its version is unknown" in run.output
    assert lab.wait_until_clean() == ([], [])


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_fails_the_scenario_that_covers_it(fault: str, lab: Lab, tmp_path: Path) -> None:
    scenario, message = FAULTS[fault]
    lab.set_faults(fault)
    try:
        run = run_suite(tmp_path, lab.suite_env(**FAST_TIMEOUTS), "--tags=@smoke")
    finally:
        lab.set_faults()
    statuses = run.statuses()
    assert len(statuses) == SMOKE_SCENARIOS, run.output[-3000:]
    assert run.returncode != 0, f"the suite passed although {fault} was injected"
    assert statuses[scenario] == "failed", f"{scenario} is {statuses[scenario]} under {fault}:\n{run.output[-3000:]}"
    assert message in run.failure(scenario), run.failure(scenario)
    expected = {"coder-control-plane.log"} | (set() if fault in NO_WORKSPACE else {"workspace.json", "build.log"})
    assert expected <= attachments(tmp_path, scenario), f"diagnostics missing under {fault}"
    assert not leaks(lab, run, tmp_path)
    workspaces, namespaces = lab.wait_until_clean()
    assert not workspaces, f"workspaces left behind under {fault}: {[w['name'] for w in workspaces]}"
    assert not namespaces, f"namespaces left behind under {fault}: {namespaces}"
