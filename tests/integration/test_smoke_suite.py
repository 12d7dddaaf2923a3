"""The smoke suite against the lab: it passes when the platform is healthy, and each lab fault makes
the scenario that covers the broken part fail, with a message naming it, leaving nothing behind."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.helpers.breakage import (
    BROWSER,
    IDE_HEALTH,
    PROXY_ANONYMOUS,
    PROXY_SIGNED_IN,
    SMOKE,
    Breaks,
    on_their_labs,
)
from tests.helpers.ide import BROWSER_RUNS
from tests.helpers.lab import STANDIN_IDE, Lab
from tests.helpers.suite import (
    FAST_TIMEOUTS,
    ROOT,
    attachment_file,
    attachment_text,
    attachments,
    behave_as_readme,
    behave_counts,
    cleanup_counts,
    leaks,
    only,
    run_suite,
    tail,
)

SMOKE_WITHOUT_BROWSER = 12
SMOKE_SCENARIOS = SMOKE_WITHOUT_BROWSER + 1 if BROWSER_RUNS else SMOKE_WITHOUT_BROWSER
# The rows of the other faults run without the browser scenario: it shares their workspace, and would only add
# a browser's time to every row.
WITHOUT_BROWSER = "--tags=@smoke and not @browser"
# What still passes under a fault only the browser sees: the page and code-server's health answer over HTTP.
SEEN_OVER_HTTP = (PROXY_SIGNED_IN, PROXY_ANONYMOUS, IDE_HEALTH)
# Faults caught before any workspace exists: their diagnostics are the control plane's only.
NO_WORKSPACE = {
    "first-user-missing",
    "wrong-oidc-issuer",
    "issuer-not-keycloak",
    "no-default-ttl",
    "oidc-disabled",
    "discovery-issuer-mismatch",
}


def test_smoke_passes_against_the_embedded_lab_as_the_readme_runs_it(tmp_path: Path) -> None:
    """`behave --tags=@smoke` from the project root, with no target configured: the lab starts by itself."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SPEC_", "CODER_"))}
    done = behave_as_readme(ROOT, env, "--tags=@smoke")
    output = done.stdout + done.stderr
    assert done.returncode == 0, tail(output, 4000)
    assert "target: lab (Coder http://127.0.0.1:" in output
    # A tag that selects nothing also exits 0: make sure the scenarios really ran.
    scenarios = behave_counts(output)
    assert (scenarios["passed"], scenarios["failed"]) == (SMOKE_SCENARIOS, 0), tail(output, 2000)
    # The run removed all it created (its lab is gone afterwards: the summary is the proof).
    created, removed, not_removed, _ = cleanup_counts(output)
    assert created > 0 and removed == created and not_removed == 0, tail(output, 2000)
    environment = (ROOT / "reports/allure-results/environment.properties").read_text()
    assert "target=lab" in environment
    junit = list((ROOT / "reports/junit").glob("TESTS-*.xml"))
    assert junit and all('name="target" value="lab"' in path.read_text() for path in junit)
    if BROWSER_RUNS:  # without a browser its scenario is skipped (test_without_a_browser_...)
        _vs_code_shown_and_timed(ROOT, output)


def _screenshot_attached(base: Path) -> None:
    """The browser scenario attached a PNG of what the developer saw (reports under `base`)."""
    screenshot = attachment_file(base, BROWSER, "VS Code in the browser")
    assert screenshot is not None and screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def _vs_code_shown_and_timed(base: Path, output: str) -> None:
    """The browser scenario attached a screenshot and its visit, and timed VS Code (reports under `base`)."""
    _screenshot_attached(base)
    visit = attachment_text(base, BROWSER, "browser visit")
    assert visit.startswith("path app at http://127.0.0.1:") and "no problem" in visit, visit
    workspaces = json.loads((base / "reports" / "timings.json").read_text())["workspaces"]
    (seconds,) = [workspace["phases"]["browser"] for workspace in workspaces if "browser" in workspace["phases"]]
    assert 0 < seconds < 60 and f"time to interactive: {seconds:.1f} s" in visit
    # The closing line shows the slowest workspace's phases: the browser's only where its workspace is that one.
    assert re.search(r"^ameide-dev: usable in \d+ s .*\[slowest of 3 workspaces\]$", output, re.MULTILINE), output


def test_a_fresh_code_server_nobody_opened_is_healthy(healthy_lab: Lab, tmp_path: Path) -> None:
    """Run alone, the health check meets code-server before anyone used it: `expired`, and that is up."""
    feature = ROOT / "features" / "working_inside.feature"
    line = next(n for n, text in enumerate(feature.read_text().splitlines(), 1) if "code-server is healthy" in text)
    run = run_suite(tmp_path, healthy_lab.suite_env(**FAST_TIMEOUTS), f"{feature}:{line}", features=False)
    assert run.returncode == 0, tail(run.output, 2000)
    health = attachment_text(
        tmp_path, "code-server is healthy inside the workspace (§1.1 check 4)", "code-server health"
    )
    assert "code-server answered, status expired" in health


# Which agent is the IDE's, and the version, are read from the API alone: the real code-server would only add
# its time. The browser finds the IDE's agent as the app checks do (apps.locate): it would only add its own.
@STANDIN_IDE
@pytest.mark.parametrize("condition", ["sub-agent-first", "devel-version"])
def test_smoke_passes_where_a_healthy_platform_differs(condition: str, lab: Lab, tmp_path: Path) -> None:
    """A sub-agent listed before the IDE's agent, or a development build of Coder, is still a healthy platform."""
    with lab.faults(condition):
        run = run_suite(tmp_path, lab.suite_env(**FAST_TIMEOUTS), WITHOUT_BROWSER)
    assert run.returncode == 0, run.tail
    assert len(run.statuses()) == SMOKE_WITHOUT_BROWSER and set(run.statuses().values()) == {"passed"}
    if condition == "devel-version":
        assert "a development build: its version is unknown" in run.output
    lab.assert_clean()


@pytest.mark.parametrize("breaks", on_their_labs(SMOKE))
def test_each_fault_fails_the_check_that_covers_it(breaks: Breaks, lab: Lab, tmp_path: Path) -> None:
    if breaks.browser_only and not BROWSER_RUNS:
        pytest.skip("no browser and real code-server here: bin/setup --dev installs them")
    # A fault only the browser sees runs with the checks that meet the IDE over HTTP, which must pass; any other
    # runs its scenario alone.
    if breaks.browser_only:
        selection = ["--tags=@smoke", *only(breaks.scenario, *SEEN_OVER_HTTP)]
    else:
        selection = [WITHOUT_BROWSER, *only(breaks.scenario)]
    with lab.faults(breaks.fault):
        run = run_suite(tmp_path, lab.suite_env(**FAST_TIMEOUTS, **breaks.env), *selection)
    statuses, scenario = run.statuses(), breaks.scenario
    expected = {scenario, *SEEN_OVER_HTTP} if breaks.browser_only else {scenario}
    assert set(statuses) == expected, statuses
    assert run.returncode != 0, f"the suite passed although {breaks.fault} was injected"
    assert statuses[scenario] == "failed", f"{scenario} is {statuses[scenario]} under {breaks.fault}:\n{run.tail}"
    assert run.failed_step_name(scenario) == breaks.step, run.failure(scenario)
    assert breaks.message in run.failure(scenario), run.failure(scenario)
    if breaks.browser_only:  # the page and code-server's health still answer over HTTP: only the browser sees it
        others = {name: status for name, status in statuses.items() if name != scenario}
        assert set(others.values()) == {"passed"}, others
        _the_browser_names_what_broke(breaks.fault, run.failure(scenario), tmp_path)
    expected = {"coder-control-plane.log"} | (
        set() if breaks.fault in NO_WORKSPACE else {"workspace.json", "build.log"}
    )
    assert expected <= attachments(tmp_path, scenario), f"diagnostics missing under {breaks.fault}"
    assert not leaks(lab, run, tmp_path)
    workspaces, namespaces = lab.wait_until_clean()
    assert not workspaces, f"workspaces left behind under {breaks.fault}: {[w['name'] for w in workspaces]}"
    assert not namespaces, f"namespaces left behind under {breaks.fault}: {namespaces}"


# What the developer's browser met, in the words and numbers it met them: each break of the app proxy against
# the real code-server and VS Code, with the screenshot of what the developer saw.
BROWSER_DETAILS = {
    # the upgrade reached code-server as a plain GET: its answer's status, and VS Code's own reload dialog
    "app-websocket-dropped": r"stable-[0-9a-f]{40} failed \(Error during WebSocket handshake: Unexpected response"
    r" code: \d{3}, \d+ attempts\): the developer sees the workbench, then 'An unexpected error occurred",
    # the proxy cuts at 1 s, counted from the connection: never less, and a busy machine's closing handshake
    # can add seconds
    "app-websocket-cut": r"stable-[0-9a-f]{40} closed (?P<lived>\d+\.\d) s after it connected: the developer sees"
    r" 'Reconnecting\.\.\.'",
    "app-assets-404": r"assets failed \(404 /@admin/[^ ]+/apps/code-server/stable-[0-9a-f]{40}/static/.*\)"
    r" under the app path: the developer sees a blank page",
}


def _the_browser_names_what_broke(fault: str, failure: str, tmp_path: Path) -> None:
    found = re.search(BROWSER_DETAILS[fault], failure)
    assert found, failure
    if "lived" in found.groupdict():
        assert 0.9 <= float(found["lived"]) <= 8, failure
    _screenshot_attached(tmp_path)


@STANDIN_IDE
def test_without_a_browser_the_browser_scenario_is_skipped_and_says_why(healthy_lab: Lab, tmp_path: Path) -> None:
    env = healthy_lab.suite_env(**FAST_TIMEOUTS, SPEC_BROWSER="/nonexistent/chromium")
    run = run_suite(tmp_path, env, str(ROOT / "features/app_proxy.feature"), features=False)
    assert run.returncode == 0, run.tail
    scenarios = run.scenarios()
    browser = next(s for name, s in scenarios.items() if "in the browser" in name)
    assert browser["status"] == "skipped", browser
    assert "no browser: /nonexistent/chromium is not an executable file" in run.output
    assert [s["status"] for name, s in scenarios.items() if s is not browser] == ["passed", "passed"]


def test_on_a_lab_without_code_server_the_smoke_passes_with_the_stand_in_named(tmp_path: Path) -> None:
    """bin/setup without --ide: the lab's workspaces run the stand-in IDE, the first line says so, and the browser
    scenario (no workbench to load) is skipped with that reason; everything else passes as before."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SPEC_", "CODER_"))}
    env["LAB_CODE_SERVER_PREFIX"] = str(tmp_path / "nothing-installed")
    run = run_suite(tmp_path, env, "--tags=@smoke")  # no target configured: the suite starts a lab of its own
    assert run.returncode == 0, tail(run.output, 4000)
    banner = next(line for line in run.output.splitlines() if line.startswith("target: "))
    assert (
        banner.startswith("target: lab (") and "a stand-in code-server: bin/setup --ide installs the real one" in banner
    )
    assert "the lab's workspaces run a stand-in code-server, no workbench" in run.output
    browser = next(name for name in run.scenarios() if "in the browser" in name)
    assert run.scenarios()[browser]["status"] == "skipped"
    assert browser not in run.statuses() and len(run.statuses()) == SMOKE_WITHOUT_BROWSER, run.tail
    assert set(run.statuses().values()) == {"passed"}, run.tail
