"""The run's workspace plan: builds overlap (within the bound), a failed shared build is not built again,
a scenario run alone builds only what it needs, and removal runs in parallel. Behaviour, not time:
the times themselves are bin/benchmark's business."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path

import pytest

from tests.helpers.ide import BROWSER_RUNS
from tests.helpers.lab import Lab, module_lab
from tests.helpers.suite import FAST_TIMEOUTS, ROOT, Cleanup, cleanup_counts, run_suite, tail
from workspace_spec.cleanup import Ledger
from workspace_spec.coder import CoderClient
from workspace_spec.coder_types import Workspace
from workspace_spec.naming import Namer
from workspace_spec.plan import Need, Plan
from workspace_spec.settings import load_settings
from workspace_spec.workspaces import Workspaces


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _overlap(spans: list[tuple[datetime, datetime]]) -> bool:
    """Whether all the spans were under way at one moment."""
    return max(start for start, _ in spans) < min(end for _, end in spans)


@pytest.fixture(scope="module")
def paced_lab() -> Iterator[Lab]:
    """A lab whose builds take their usual time (the session lab's are near instant): whether builds and
    removals overlap shows only when they last long enough for a busy machine to start them all. The stand-in IDE:
    code-server is not what these tests prove."""
    with module_lab(code_server=False) as lab:
        yield lab


@pytest.fixture
def workspaces(paced_lab: Lab) -> Iterator[Workspaces]:
    paced_lab.prefix = "t" + secrets.token_hex(4)
    coder = CoderClient(paced_lab.url, paced_lab.token)
    settings = load_settings({"coder_url": "", "build_timeout": 20, "agent_timeout": 10, "cleanup_timeout": 20})
    yield Workspaces(coder, settings, Ledger(), Namer(paced_lab.prefix))
    coder.close()


def test_planned_builds_overlap_and_removal_runs_in_parallel(workspaces: Workspaces, paced_lab: Lab) -> None:
    plan = Plan(workspaces, max_parallel_builds=3)
    needs = [Need("ameide-dev"), Need("ameide-dev", "a scenario"), Need("ameide-gitops")]
    plan.start({"a scenario": needs})
    usable = [plan.usable(need) for need in needs]
    coder = workspaces.coder
    builds = [coder.builds(workspace.id)[-1]["job"] for workspace in usable]  # each one's first build
    assert _overlap([(_time(job["started_at"]), _time(job["completed_at"])) for job in builds])
    workspaces.ledger.release()
    deletes = []
    for workspace in usable:
        latest = coder._get(f"/api/v2/workspaces/{workspace.id}", params={"include_deleted": "true"})
        deletes.append(
            (_time(latest["latest_build"]["job"]["started_at"]), _time(latest["latest_build"]["job"]["completed_at"]))
        )
    assert _overlap(deletes), "the removals ran one after another"
    paced_lab.assert_clean()


def test_builds_beyond_the_bound_wait_for_a_free_slot(workspaces: Workspaces, paced_lab: Lab) -> None:
    plan = Plan(workspaces, max_parallel_builds=1)
    needs = [Need("ameide-dev"), Need("ameide-dev", "another")]
    plan.start({"another": needs})
    jobs = [workspaces.coder.builds(plan.built(need).id)[-1]["job"] for need in needs]
    spans = sorted((_time(job["created_at"]), _time(job["completed_at"])) for job in jobs)
    assert spans[0][1] <= spans[1][0], "the second build was created before the first one ended"
    workspaces.ledger.release()
    paced_lab.assert_clean()


def test_a_failed_shared_build_fails_its_scenarios_at_once_and_is_not_built_again(lab: Lab, tmp_path: Path) -> None:
    with lab.faults("build-fails"):
        run = run_suite(tmp_path, lab.suite_env(**FAST_TIMEOUTS), "--tags=@smoke")
    # three workspaces: the shared one, and the own ones of stop/start and of delete
    assert cleanup_counts(run.output) == Cleanup(created=3, removed=3, not_removed=0), tail(run.output, 2000)
    needing = [name for name, scenario in run.scenarios().items() if scenario["status"] == "failed"]
    assert len(needing) == (11 if BROWSER_RUNS else 10)  # every smoke scenario but the two identity checks
    assert all("the start build #1 failed" in run.failure(name) for name in needing)
    lab.assert_clean()


def test_a_workspace_no_scenario_still_needs_is_removed_at_once(workspaces: Workspaces, paced_lab: Lab) -> None:
    plan = Plan(workspaces, max_parallel_builds=3)
    shared, own = Need("ameide-dev"), Need("ameide-dev", "first")
    plan.start({"first": [shared, own], "second": [shared]})
    mine, theirs = plan.usable(own), plan.usable(shared)
    plan.scenario_done("first")
    plan.stop()  # waits for the removal under way
    assert [w["name"] for w in paced_lab.workspaces()] == [theirs.name], "the shared one went, or its own stayed"
    assert f"workspace {mine.name}" in workspaces.ledger.report.removed
    workspaces.ledger.release()
    paced_lab.assert_clean()


def test_a_scenario_run_alone_builds_only_what_it_needs(healthy_lab: Lab, tmp_path: Path) -> None:
    feature = ROOT / "features" / "working_inside.feature"
    line = next(n for n, text in enumerate(feature.read_text().splitlines(), 1) if "toolchain is installed" in text)
    env = healthy_lab.suite_env(**FAST_TIMEOUTS)
    run = run_suite(tmp_path, env, f"{feature}:{line}", features=False)
    assert run.returncode == 0, tail(run.output, 2000)
    assert run.statuses() == {"The toolchain is installed (§1.1 check 3)": "passed"}
    assert cleanup_counts(run.output) == Cleanup(created=1, removed=1, not_removed=0), tail(run.output, 2000)


class _Recorded:
    """A journey that records the workspace it was given, and may keep it."""

    builds = 3

    def __init__(self, done: bool) -> None:
        self.done, self.seen = done, Future()

    def run(self, workspace: Workspace, still_going: object) -> bool:
        self.seen.set_result(workspace)
        return self.done

    def fail(self, error: BaseException) -> None:
        self.seen.set_exception(error)


def test_the_longest_journey_builds_first_and_goes_when_done(workspaces: Workspaces, paced_lab: Lab) -> None:
    plan = Plan(workspaces, max_parallel_builds=1)
    shared, chain = Need("ameide-dev"), Need("ameide-dev", "stop-start", "chain")
    journey = _Recorded(done=True)
    plan.start({"reader": [shared], "stop-start": [chain]}, {"chain": lambda: journey})
    first, second = plan.created(chain), plan.created(shared)
    assert first.name < second.name, "the shared workspace got the only build slot before the stop/start chain"
    assert journey.seen.result(timeout=60).id == first.id
    plan.usable(shared)
    plan.stop()  # waits for the removal the journey's end started
    assert [w["name"] for w in paced_lab.workspaces()] == [second.name], "the chain's workspace stayed"
    workspaces.ledger.release()
    paced_lab.assert_clean()


def test_a_journey_that_finds_a_problem_keeps_its_workspace(workspaces: Workspaces, paced_lab: Lab) -> None:
    plan = Plan(workspaces, max_parallel_builds=3)
    chain = Need("ameide-dev", "stop-start", "chain")
    journey = _Recorded(done=False)
    plan.start({"stop-start": [chain]}, {"chain": lambda: journey})
    kept = journey.seen.result(timeout=60)
    plan.stop()
    assert [w["name"] for w in paced_lab.workspaces()] == [kept.name], "kept for diagnostics until its scenario ends"
    plan.scenario_done("stop-start")
    plan.stop()
    paced_lab.assert_clean()
