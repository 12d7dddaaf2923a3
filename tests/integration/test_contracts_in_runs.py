"""What the lab's coderd answers during a real run of the suite (smoke and E2E) is what codersdk v2.24.2
sends: every recorded JSON body held to the table of tests/contracts/coder_sdk.py."""

from __future__ import annotations

from pathlib import Path

from tests.contracts.coder_sdk import check_recording, read_recording
from tests.helpers.lab import FAST, module_lab
from tests.helpers.suite import FAST_TIMEOUTS, run_suite


def test_every_coderd_answer_of_a_smoke_and_e2e_run_matches_codersdk(tmp_path: Path) -> None:
    recording = tmp_path / "coderd-answers.jsonl"
    # The stand-in IDE, and no browser: what coderd answers does not depend on which IDE its workspaces run.
    with module_lab(**FAST, secrets={"LAB_RECORD": str(recording)}, code_server=False) as lab:
        run = run_suite(tmp_path, lab.suite_env(**FAST_TIMEOUTS), "--tags=(@smoke and not @browser) or @e2e")
        assert run.returncode == 0, run.tail
    answers = read_recording(recording)
    routes = {(answer["method"], answer["route"]) for answer in answers}
    # What the suite asks during a run (the rest comes over /watch, which is not recorded).
    asked = {
        ("GET", "/api/v2/buildinfo"),
        ("GET", "/api/v2/deployment/config"),
        ("GET", "/api/v2/organizations/{organization}/templates/{name}"),
        ("POST", "/api/v2/users/{user}/workspaces"),
        ("GET", "/api/v2/workspaces/{workspace}"),
        ("POST", "/api/v2/workspaces/{workspace}/builds"),
        ("GET", "/api/v2/workspaceagents/me/external-auth"),  # git's credential helper in the E2E workspace
    }
    assert asked <= routes, sorted(asked - routes)
    assert check_recording(answers) == []
