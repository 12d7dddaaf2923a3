"""The E2E suite against the lab: a pull request from inside a workspace, by the shell and by Codex.
Each fault fails the step that covers it, and nothing the run created is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FAST_TIMEOUTS, Lab, attachments, leaks, run_suite

SHELL_PR = "A change made in the workspace becomes a pull request (§1.2 minimal path)"
CODEX_PR = "Codex makes the change inside the workspace (§1.2 extended path)"

# fault -> (scenario, the step that must fail, what its message must say)
FAULTS = {
    "push-rejected": (SHELL_PR, "When a one-line README change made in the shell", "was rejected"),
    "pr-forbidden": (
        SHELL_PR,
        "When a one-line README change made in the shell",
        "GraphQL: Resource not accessible by integration (createPullRequest)",
    ),
    "repo-missing": (SHELL_PR, "the bot-writable repository is checked out", "cannot clone"),
    "external-auth-unlinked": (
        SHELL_PR,
        "git in the workspace can authenticate to GitHub",
        "GitHub is not linked in Coder",
    ),
    "codex-no-change": (CODEX_PR, "When Codex makes a one-line README change", "Codex made no change"),
    "graphql-fails": (
        SHELL_PR,
        "When a one-line README change made in the shell",
        "`gh pr create` in the workspace did not open a pull request",
    ),
}


def _assert_nothing_left(lab: Lab) -> None:
    assert lab.sandbox_leftovers() == ([], []), "branches or pull requests left behind"
    assert lab.wait_until_clean() == ([], []), "workspaces or namespaces left behind"


def test_e2e_passes_against_the_lab(healthy_lab: Lab, tmp_path: Path) -> None:
    run = run_suite(tmp_path, healthy_lab.suite_env(**FAST_TIMEOUTS), "--tags=@e2e")
    assert run.returncode == 0, run.output[-4000:]
    assert run.statuses() == {SHELL_PR: "passed", CODEX_PR: "passed"}
    _assert_nothing_left(healthy_lab)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_fails_the_step_that_covers_it(fault: str, lab: Lab, tmp_path: Path) -> None:
    scenario, step, message = FAULTS[fault]
    lab.set_faults(fault)
    try:
        run = run_suite(tmp_path, lab.suite_env(**FAST_TIMEOUTS), "--tags=@e2e")
    finally:
        lab.set_faults()
    assert run.returncode != 0
    assert run.statuses()[scenario] == "failed", run.output[-3000:]
    failed_step = run.failed_step(scenario)
    assert step in failed_step, f"{fault} failed {failed_step!r}, not the step {step!r}"
    assert message in run.failure(scenario), run.failure(scenario)
    assert {"workspace.json", "build.log", "coder-control-plane.log"} <= attachments(tmp_path, scenario)
    assert not leaks(lab, run, tmp_path)
    _assert_nothing_left(lab)


@pytest.mark.parametrize(
    ("fault", "level"),
    [
        ("", "DEBUG"),
        ("push-rejected", "DEBUG"),
        ("external-auth-unlinked", "DEBUG"),
        ("", "INFO"),
        ("pr-forbidden", "WARNING"),
        ("codex-no-change", "ERROR"),
    ],
)
def test_no_canary_reaches_output_or_reports(fault: str, level: str, lab: Lab, tmp_path: Path) -> None:
    lab.set_faults(*filter(None, [fault]))
    try:
        run = run_suite(tmp_path, lab.suite_env(**FAST_TIMEOUTS), "--tags=@e2e", f"--logging-level={level}")
    finally:
        lab.set_faults()
    assert list(tmp_path.rglob("TESTS-*.xml")) and run.results
    assert not leaks(lab, run, tmp_path)
