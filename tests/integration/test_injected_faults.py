"""What a real platform does that the lab's named faults do not: answers lost after the act, bodies that are
not JSON, HTML where an event stream's JSON should be, null or wrongly typed fields, a token echoed in an
error body, rate limits, and a signal while a create is in flight. Each is injected by tests/helpers/injector.py
between the suite and the lab's coderd; the run ends with one clear message naming the part, never a
Python traceback, leaves no workspace behind and shows no secret."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.helpers.injector import Injector, Rule
from tests.helpers.lab import STANDIN_IDE, Lab
from tests.helpers.suite import (
    FAST_TIMEOUTS,
    Cleanup,
    SuiteRun,
    cleanup_counts,
    finish,
    leaks,
    run_suite,
    start_suite,
    tail,
)
from workspace_spec.coder import ATTEMPTS
from workspace_spec.reachability import websocket_problem

SCENARIO = "A new workspace inherits the template's auto-stop (§5)"
CREATE = "/api/v2/users/me/workspaces"
WORKSPACE = r"/api/v2/workspaces/[0-9a-f-]{36}"
WATCH = WORKSPACE + "/watch"
OVER_SSH = "The repository is checked out (§1.1 check 3)"  # `coder ssh --stdio`: a WebSocket through the proxy

pytestmark = STANDIN_IDE  # what is under test is the suite's client of Coder's API, not code-server


def _run(lab: Lab, injector: Injector, tmp_path: Path, rule: Rule, **extra: str) -> SuiteRun:
    injector.inject(rule)
    env = lab.suite_env(**FAST_TIMEOUTS, CODER_URL=injector.url, **extra)
    return run_suite(tmp_path, env, "--tags=@policy", timeout=180)


def _failed_safely(lab: Lab, injector: Injector, run: SuiteRun, tmp_path: Path) -> str:
    """The fault was met, the run failed in its scenario with a message, and left nothing: the message."""
    assert injector.hits, f"the fault was never injected:\n{run.tail}"
    assert run.returncode != 0, run.tail
    assert run.statuses()[SCENARIO] == "failed", run.tail  # a failed check, not an error
    assert "Traceback" not in run.output, tail(run.output, 5000)
    lab.assert_clean(run.tail)
    assert cleanup_counts(run.output).not_removed == 0, run.tail
    assert not leaks(lab, run, tmp_path)
    return run.failure(SCENARIO)


def test_the_injector_passes_websocket_upgrades(injector: Injector) -> None:
    assert websocket_problem(injector.url, 5.0) == ""


def test_without_a_fault_the_smoke_passes_through_the_injector(
    healthy_lab: Lab, injector: Injector, tmp_path: Path
) -> None:
    """Event streams, path apps and `coder ssh` (a WebSocket) all pass: a fault is the rule's doing alone."""
    env = healthy_lab.suite_env(**FAST_TIMEOUTS, CODER_URL=injector.url)
    run = run_suite(tmp_path, env, "--tags=@smoke and not @browser", timeout=240)  # no workbench on the stand-in
    assert run.returncode == 0, run.tail
    assert run.statuses()[OVER_SSH] == "passed", run.tail
    assert any(path.endswith("/lab/ssh") for path in injector.upgrades), injector.upgrades
    healthy_lab.assert_clean()


@pytest.mark.parametrize("variant", ["502", "504", "slow"])
def test_a_create_whose_answer_is_lost_is_found_by_name_and_removed(
    variant: str, healthy_lab: Lab, injector: Injector, tmp_path: Path
) -> None:
    rule = Rule("lost_after_create", "POST", CREATE, variant=variant, delay=4.0)
    run = _run(healthy_lab, injector, tmp_path, rule, SPEC_REQUEST_TIMEOUT="2")
    message = _failed_safely(healthy_lab, injector, run, tmp_path)
    if variant == "slow":
        assert f"no answer from Coder to POST {CREATE}: ReadTimeout" in message, message
    else:
        assert f"Coder answered {variant} to POST {CREATE}" in message, message
    assert cleanup_counts(run.output) == Cleanup(created=1, removed=1, not_removed=0), run.tail


@pytest.mark.parametrize("variant", ["truncated", "html"])
def test_a_body_that_is_not_json_names_the_endpoint(
    variant: str, healthy_lab: Lab, injector: Injector, tmp_path: Path
) -> None:
    # Asked again as often as the client asks a read (ATTEMPTS): one body cut short is ridden through.
    rule = Rule("not_json", "GET", WORKSPACE, variant=variant, times=ATTEMPTS)
    run = _run(healthy_lab, injector, tmp_path, rule)
    message = _failed_safely(healthy_lab, injector, run, tmp_path)
    kind = "text/html" if variant == "html" else "application/json"
    assert "Coder answered 200 to GET /api/v2/workspaces/" in message, message
    assert f"with a body that is not JSON ({kind}" in message, message


def test_an_html_error_event_on_the_watch_stream_names_the_stream(
    healthy_lab: Lab, injector: Injector, tmp_path: Path
) -> None:
    run = _run(healthy_lab, injector, tmp_path, Rule("html_sse_error", "GET", WATCH, times=None))
    message = _failed_safely(healthy_lab, injector, run, tmp_path)
    assert "the error event of GET /api/v2/workspaces/{id}/watch is not JSON" in message, message
    assert "502 Bad Gateway" in message, message


@pytest.mark.parametrize("variant", ["null", "wrong_type"])
def test_null_or_wrongly_typed_fields_name_the_endpoint(
    variant: str, healthy_lab: Lab, injector: Injector, tmp_path: Path
) -> None:
    run = _run(healthy_lab, injector, tmp_path, Rule("null_fields", "GET", WORKSPACE, variant=variant))
    message = _failed_safely(healthy_lab, injector, run, tmp_path)
    assert "Coder's answer to GET /api/v2/workspaces/" in message, message
    assert "is not what its API promises" in message, message
    assert ("'NoneType'" if variant == "null" else "'str'") in message, message


def test_a_token_echoed_in_an_error_body_is_not_shown(healthy_lab: Lab, injector: Injector, tmp_path: Path) -> None:
    run = _run(healthy_lab, injector, tmp_path, Rule("token_echo", "GET", WORKSPACE))
    message = _failed_safely(healthy_lab, injector, run, tmp_path)
    assert "Coder answered 500 to GET /api/v2/workspaces/" in message, message
    assert "invalid api key" in message and "[REDACTED]" in message, message  # the detail, without the token
    assert healthy_lab.token not in run.output


def test_a_rate_limit_is_waited_out_as_asked(healthy_lab: Lab, injector: Injector, tmp_path: Path) -> None:
    run = _run(healthy_lab, injector, tmp_path, Rule("rate_limited", "POST", CREATE, times=2, delay=2.0))
    assert run.returncode == 0, run.tail
    assert len(injector.hits) == 2
    assert injector.hits[1].at - injector.hits[0].at >= 1.9, "the suite did not wait as Retry-After asked"
    assert "Coder rate-limits the suite (429): waiting 2 s as it asks" in run.output
    assert "Traceback" not in run.output
    healthy_lab.assert_clean()
    assert not leaks(healthy_lab, run, tmp_path)


def test_sigterm_while_the_create_is_in_flight_removes_what_it_created(
    healthy_lab: Lab, injector: Injector, tmp_path: Path
) -> None:
    injector.inject(Rule("hold", "POST", CREATE, delay=3.0))
    env = healthy_lab.suite_env(**FAST_TIMEOUTS, CODER_URL=injector.url)
    suite = start_suite(env, "--tags=@policy", "-f", "plain", cwd=tmp_path)
    try:
        assert injector.holding.wait(60), "the suite sent no create"
        suite.send_signal(signal.SIGTERM)
        output = finish(suite, timeout=90)
    finally:
        if suite.poll() is None:
            suite.kill()
    # The create reaches coderd whether or not the suite still waits: what the lab holds counts only after.
    assert injector.held.wait(30), "the held create never reached the lab"
    assert suite.returncode != 0, tail(output)
    assert "ABORTED" in output, tail(output)
    assert "Traceback" not in output, tail(output, 5000)
    assert cleanup_counts(output) == Cleanup(created=1, removed=1, not_removed=0), tail(output)
    healthy_lab.assert_clean(tail(output))
    assert not leaks(healthy_lab, SuiteRun(suite.returncode, output, []), tmp_path)
