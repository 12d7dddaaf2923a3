"""The template-version gate against the lab: a version pushed inactive (as `coder templates push
--activate=false` does) becomes active through the smoke run only when the run passed and cleaned up."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.cli_templates import push_version
from tests.helpers.injector import Injector, Rule
from tests.helpers.lab import STANDIN_IDE, Lab
from tests.helpers.suite import FAST_TIMEOUTS, cleanup_counts, leaks, printed_ledger, run_suite, sweep_ledger, tail

pytestmark = STANDIN_IDE  # what is under test is the gate, not code-server

GOOD = {"main.tf": 'resource "kubernetes_pod" "main" {\n  image = "ghcr.io/coder/envbuilder:1.1.0"\n}\n'}
# Imports fine (no plan pulls an image), but every start build fails: the registry has no such tag.
BROKEN = {"main.tf": 'resource "kubernetes_pod" "main" {\n  image = "ghcr.io/coder/envbuilder:no-such-tag"\n}\n'}


def active_version(lab: Lab) -> str:
    with lab.api() as api:
        return str(api.get("/api/v2/organizations/default/templates/ameide-dev").json()["active_version_id"])


@pytest.fixture
def candidate_lab(healthy_lab: Lab) -> Iterator[Lab]:
    """The shared lab, its template's active version put back afterwards for the tests that follow."""
    before = active_version(healthy_lab)
    yield healthy_lab
    with healthy_lab.api() as api:
        template = api.get("/api/v2/organizations/default/templates/ameide-dev").json()
        api.patch(f"/api/v2/templates/{template['id']}/versions", json={"id": before}).raise_for_status()


def gated_smoke(lab: Lab, tmp_path: Path, version: str) -> tuple[int, str]:
    env = lab.suite_env(**FAST_TIMEOUTS, SPEC_TEMPLATE_VERSION=version, SPEC_PROMOTE_ON_PASS="true")
    run = run_suite(tmp_path, env, "--tags=@smoke and not @browser")  # the stand-in IDE has no workbench
    return run.returncode, run.output


def test_a_candidate_the_smoke_passes_becomes_the_active_version(candidate_lab: Lab, tmp_path: Path) -> None:
    name = f"ci-{candidate_lab.prefix}"
    pushed = push_version(candidate_lab.env, "ameide-dev", GOOD, name)
    assert active_version(candidate_lab) != pushed["id"], "pushed inactive"
    returncode, output = gated_smoke(candidate_lab, tmp_path, name)
    assert returncode == 0, tail(output)
    assert re.search(rf"^promoted: ameide-dev version {name} is now active$", output, re.MULTILINE), tail(output, 2000)
    assert active_version(candidate_lab) == pushed["id"]
    candidate_lab.assert_clean()
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert summary["verdict"] == "passed"
    assert {(t["template"], t["version"]) for t in summary["templates"]} == {("ameide-dev", name)}
    checked = [{"template": "ameide-dev", "version": name}]
    assert summary["promotion"] == {
        "status": "promoted",
        "candidates": checked,
        "promoted": checked,
        "reasons": [],
        "error": None,
    }


def test_a_candidate_whose_builds_fail_is_not_promoted(candidate_lab: Lab, tmp_path: Path) -> None:
    before = active_version(candidate_lab)
    name = f"ci-{candidate_lab.prefix}"
    pushed = push_version(candidate_lab.env, "ameide-dev", BROKEN, name)
    assert pushed["job"]["status"] == "succeeded"
    returncode, output = gated_smoke(candidate_lab, tmp_path, name)
    assert returncode != 0
    assert re.search(r"terraform apply: exit status 1\b", output)  # the candidate's failed start build, named
    assert re.search(r"^not promoted: \d+ scenarios? failed$", output, re.MULTILINE), tail(output, 2000)
    assert "promoted: ameide-dev" not in output
    assert "Traceback" not in output
    assert active_version(candidate_lab) == before
    candidate_lab.assert_clean()


def test_a_run_that_passed_but_could_not_remove_its_workspace_is_not_promoted(
    candidate_lab: Lab, tmp_path: Path
) -> None:
    """Every scenario passed, but the delete builds fail: the run left a workspace behind, which the gate
    must count against the candidate however green the scenarios are."""
    before = active_version(candidate_lab)
    name = f"ci-{candidate_lab.prefix}"
    push_version(candidate_lab.env, "ameide-dev", GOOD, name)
    env = candidate_lab.suite_env(**FAST_TIMEOUTS, SPEC_TEMPLATE_VERSION=name, SPEC_PROMOTE_ON_PASS="true")
    with candidate_lab.faults("delete-fails"):
        run = run_suite(tmp_path, env, "--tags=@policy")  # one scenario, one workspace
    swept = sweep_ledger(candidate_lab, printed_ledger(run.output, tmp_path))
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert set(run.statuses().values()) == {"passed"}, run.tail
    assert run.returncode != 0
    assert cleanup_counts(run.output).not_removed == 1, run.tail
    assert re.search(r"^not promoted: cleanup incomplete$", run.output, re.MULTILINE), run.tail
    assert "promoted: ameide-dev" not in run.output and "Traceback" not in run.output
    assert active_version(candidate_lab) == before
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert summary["verdict"] == "failed"
    assert (summary["promotion"]["status"], summary["promotion"]["reasons"]) == ("not promoted", ["cleanup incomplete"])
    candidate_lab.assert_clean()


def test_a_promotion_coder_refuses_fails_the_run_in_one_line(candidate_lab: Lab, tmp_path: Path) -> None:
    """The run passed, but Coder answers the promotion with an error (here a 500 whose detail echoes the
    session token): the run fails, saying so in one line, without a traceback or the token."""
    before = active_version(candidate_lab)
    name = f"ci-{candidate_lab.prefix}"
    push_version(candidate_lab.env, "ameide-dev", GOOD, name)
    proxy = Injector(candidate_lab.url).start()
    try:
        proxy.inject(Rule("token_echo", "PATCH", r"/api/v2/templates/[0-9a-f-]{36}/versions"))
        env = candidate_lab.suite_env(
            **FAST_TIMEOUTS, CODER_URL=proxy.url, SPEC_TEMPLATE_VERSION=name, SPEC_PROMOTE_ON_PASS="true"
        )
        run = run_suite(tmp_path, env, "--tags=@policy")  # one scenario, one workspace: the cheapest gated run
    finally:
        proxy.stop()
    assert run.returncode != 0, run.tail
    assert set(run.statuses().values()) == {"passed"}, run.tail
    failed = [line for line in run.output.splitlines() if line.startswith("promotion failed:")]
    assert len(failed) == 1, run.tail
    assert failed[0].startswith(f"promotion failed: ameide-dev version {name}: Coder answered 500 to PATCH ")
    assert "[REDACTED]" in failed[0]
    assert "Traceback" not in run.output and "CLEANUP-ERROR" not in run.output
    assert not leaks(candidate_lab, run, tmp_path)
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert summary["verdict"] == "failed" and summary["reason"] == failed[0]
    assert summary["promotion"]["status"] == "failed" and summary["promotion"]["error"] == failed[0]
    assert active_version(candidate_lab) == before
    candidate_lab.assert_clean()


def test_a_candidate_of_a_template_that_requires_its_active_version_is_refused_up_front(
    candidate_lab: Lab, tmp_path: Path
) -> None:
    """Coder would build the active version for the template's other users: the gate could credit a version
    no workspace of theirs runs. The run stops in one line, before anything is created."""
    before = active_version(candidate_lab)
    name = f"ci-{candidate_lab.prefix}"
    push_version(candidate_lab.env, "ameide-dev", GOOD, name)
    with candidate_lab.faults("require-active-version"):
        code, output = gated_smoke(candidate_lab, tmp_path, name)
    assert code != 0, tail(output)
    refused = [line for line in output.splitlines() if "requires its active version" in line]
    assert len(refused) == 1 and "SPEC_TEMPLATE_VERSION" in refused[0], tail(output)
    assert "Traceback" not in output and cleanup_counts(output).created == 0
    assert refused[0].startswith("HOOK-ERROR in before_all: PreflightError: template 'ameide-dev' requires")
    assert active_version(candidate_lab) == before
    candidate_lab.assert_clean()
