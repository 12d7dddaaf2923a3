"""The E2E suite against the lab: a pull request from inside a workspace, by the shell and by Codex.
Each fault fails the step that covers it, and nothing the run created is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.breakage import CODEX_PR, E2E, SHELL_PR, Breaks, on_their_labs
from tests.helpers.lab import STANDIN_IDE, Lab
from tests.helpers.suite import FAST_TIMEOUTS, attachments, leaks, only, run_suite, tail


def _assert_nothing_left(lab: Lab) -> None:
    assert lab.sandbox_leftovers() == ([], []), "branches or pull requests left behind"
    lab.assert_clean("workspaces or namespaces left behind")


def test_e2e_passes_against_the_lab(healthy_lab: Lab, tmp_path: Path) -> None:
    """At behave's default logging level (INFO), and showing no canary."""
    run = run_suite(tmp_path, healthy_lab.suite_env(**FAST_TIMEOUTS), "--tags=@e2e")
    assert run.returncode == 0, tail(run.output, 4000)
    assert run.statuses() == {SHELL_PR: "passed", CODEX_PR: "passed"}
    assert not leaks(healthy_lab, run, tmp_path)
    _assert_nothing_left(healthy_lab)


# No form of a canary (tests/helpers/suite.py CANARIES) may show at any logging level, on a pass or on a
# failure: these rows run at the level where their failure path logs the most, or the least.
CANARY_LEVELS = {
    "push-rejected": "DEBUG",
    "external-auth-unlinked": "DEBUG",
    "pr-forbidden": "WARNING",
    "codex-no-change": "ERROR",
}


def test_every_canary_level_names_a_row_of_the_fault_table() -> None:
    assert set(CANARY_LEVELS) <= {row.fault for row in E2E}


@pytest.mark.parametrize("breaks", on_their_labs(E2E))
def test_each_fault_fails_the_step_that_covers_it(breaks: Breaks, lab: Lab, tmp_path: Path) -> None:
    level = [f"--logging-level={CANARY_LEVELS[breaks.fault]}"] if breaks.fault in CANARY_LEVELS else []
    with lab.faults(breaks.fault):
        env = lab.suite_env(**FAST_TIMEOUTS, **breaks.env)
        run = run_suite(tmp_path, env, "--tags=@e2e", *only(breaks.scenario), *level)
    assert run.returncode != 0
    assert list(run.statuses()) == [breaks.scenario], run.tail
    assert run.statuses()[breaks.scenario] == "failed", run.tail
    failed_step = run.failed_step_name(breaks.scenario)
    assert failed_step == breaks.step, f"{breaks.fault} failed {failed_step!r}, not {breaks.step!r}"
    assert breaks.message in run.failure(breaks.scenario), run.failure(breaks.scenario)
    assert not breaks.unsaid or breaks.unsaid not in run.failure(breaks.scenario), run.failure(breaks.scenario)
    assert {"workspace.json", "build.log", "coder-control-plane.log"} <= attachments(tmp_path, breaks.scenario)
    assert list(tmp_path.rglob("TESTS-*.xml")), "no JUnit report to look for canaries in"
    assert not leaks(lab, run, tmp_path)
    _assert_nothing_left(lab)


# A pass at INFO is test_e2e_passes_against_the_lab, failures at other levels the rows of CANARY_LEVELS. The
# suite shows nothing the IDE logs: this run meets the stand-in IDE.
@STANDIN_IDE
def test_no_canary_reaches_output_or_reports_of_a_pass_at_debug(lab: Lab, tmp_path: Path) -> None:
    run = run_suite(tmp_path, lab.suite_env(**FAST_TIMEOUTS), "--tags=@e2e", "--logging-level=DEBUG")
    assert run.returncode == 0, run.tail
    assert list(tmp_path.rglob("TESTS-*.xml")) and run.results
    assert not leaks(lab, run, tmp_path)
