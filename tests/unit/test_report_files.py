"""The report files beside the formatters' own: categories, executor, JUnit skip reasons, summary.json."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree

import pytest

from reporting import allure_files, junit, summary
from workspace_spec.cleanup import CleanupReport

CATEGORIES = json.loads(allure_files.CATEGORIES.read_text())


def category(status: str, message: str) -> str:
    """The first category that takes a result, as Allure 3 matches (a regex search; Allure 2's full match
    gives the same, the patterns being wrapped in [\\s\\S]*)."""
    for rule in CATEGORIES:
        regex = rule.get("messageRegex")
        if status in rule["matchedStatuses"] and (regex is None or re.search(regex, message)):
            return rule["name"].split(":")[0]
    return ""


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        ("failed", "AssertionError: Coder's OIDC issuer is x, expected y\n", "Platform failure"),
        ("failed", "workspace_spec.coder.CoderError: Coder answered 502 to POST /api/v2/...", "Platform failure"),
        ("broken", "TypeError: 'NoneType' object is not subscriptable", "Suite bug"),
        ("broken", "KeyboardInterrupt: SIGTERM", "Interrupted"),
        ("broken", "HOOK-ERROR in before_scenario: KeyboardInterrupt", "Interrupted"),
        ("broken", "CleanupFailed: workspace spec-abc-1: Coder answered 500", "Cleanup failure"),
        ("broken", "PreflightError: CODER_SESSION_TOKEN was rejected by https://coder", "Configuration or preflight"),
        ("broken", "SettingsError: SPEC_BUILD_TIMEOUT: must be a number", "Configuration or preflight"),
        ("broken", "ConfigurationError: SPEC_E2E_REPO is required for @e2e", "Configuration or preflight"),
        ("broken", "NothingChecked: no scenario matched --tags=@nothing", "Configuration or preflight"),
        ("skipped", "Codex is not enabled (SPEC_CODEX=off)", ""),
    ],
)
def test_categories_sort_failures_by_who_broke(status, message, expected):
    assert category(status, message) == expected


def _subclasses(root: type) -> set[type]:
    return {cls for sub in root.__subclasses__() for cls in (sub, *_subclasses(sub))}


def test_every_refusal_of_the_suite_falls_into_the_refusal_category():
    """Allure matches the leaf class's name, so the category lists each SuiteRefused class by name."""
    import workspace_spec.capacity.__main__
    import workspace_spec.promotion
    import workspace_spec.target
    import workspace_spec.world  # noqa: F401 - each defines a refusal of its own
    from workspace_spec.errors import SuiteRefused

    refusals = _subclasses(SuiteRefused)
    assert len(refusals) >= 7, refusals
    for refusal in refusals:
        assert category("broken", f"{refusal.__name__}: why") == "Configuration or preflight", refusal


def test_every_category_pattern_is_valid_for_allure_2_and_3():
    for rule in CATEGORIES:
        if regex := rule.get("messageRegex"):
            # Allure 2 matches the whole message (Java's matches()), Allure 3 searches it (JavaScript).
            assert regex.startswith("[\\s\\S]*") and regex.endswith("[\\s\\S]*"), rule["name"]
            re.compile(regex)


GITHUB = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "ameideio/workspace-spec",
    "GITHUB_RUN_ID": "123",
    "GITHUB_RUN_NUMBER": "7",
    "GITHUB_RUN_ATTEMPT": "2",
    "GITHUB_WORKFLOW": "coder-devcontainer-smoke",
}


def test_executor_names_the_github_actions_run(tmp_path):
    allure_files.write_executor(tmp_path, GITHUB)
    executor = json.loads((tmp_path / "executor.json").read_text())
    assert executor == {
        "name": "GitHub Actions",
        "type": "github",
        "url": "https://github.com/ameideio/workspace-spec/actions",
        "buildName": "coder-devcontainer-smoke #7",
        "buildUrl": "https://github.com/ameideio/workspace-spec/actions/runs/123/attempts/2",
        "buildOrder": 7,
    }


def test_no_executor_outside_ci(tmp_path):
    allure_files.write_executor(tmp_path, {"HOME": "/root", "GITHUB_TOKEN": "not a CI variable"})
    assert not (tmp_path / "executor.json").exists()


def test_a_skip_reason_lands_on_behaves_testcase_or_a_new_one(tmp_path):
    (tmp_path / "TESTS-features.a.xml").write_text(
        '<testsuite name="features.a.A" tests="2" skipped="1">'
        '<testcase classname="features.a.A" name="one" status="passed" />'
        '<testcase classname="features.a.A" name="two" status="skipped"><skipped /></testcase>'
        "</testsuite>"
    )
    cases = [
        junit.SkippedCase("TESTS-features.a.xml", "features.a.A", "two", "off (SPEC_X=off)"),
        junit.SkippedCase("TESTS-features.a.xml", "features.a.A", "three", "also off"),
        junit.SkippedCase("TESTS-features.b.xml", "features.b.B", "only", "the whole feature is off"),
    ]
    junit.add_skip_reasons(tmp_path, cases)
    a = ElementTree.parse(tmp_path / "TESTS-features.a.xml").getroot()
    skipped = {case.get("name"): case.find("skipped") for case in a.iter("testcase")}
    assert skipped["one"] is None
    assert (skipped["two"].get("message"), skipped["three"].get("message")) == ("off (SPEC_X=off)", "also off")
    assert (a.get("tests"), a.get("skipped")) == ("3", "2")
    b = ElementTree.parse(tmp_path / "TESTS-features.b.xml").getroot()
    assert b.get("name") == "features.b.B" and b.find("testcase/skipped").get("message") == "the whole feature is off"


def outcome(status: str, name: str = "a scenario (§1.1 check 1)", reason: str = "") -> summary.Outcome:
    return summary.Outcome("A feature", name, status, status, 1.5, reason)


@pytest.mark.parametrize(
    ("facts", "verdict"),
    [
        (summary.RunFacts(0, 2, [outcome("passed"), outcome("skipped", reason="off")]), "passed"),
        (summary.RunFacts(0, 2, [outcome("passed"), outcome("failed")]), "failed"),
        (summary.RunFacts(0, 1, [outcome("errored")]), "failed"),
        (summary.RunFacts(0, 3, [outcome("passed")]), "failed"),  # two never ran
        (summary.RunFacts(0, 1, [outcome("passed")], cleanup=CleanupReport(failed=["workspace w: 500"])), "failed"),
        (summary.RunFacts(0, 1, [outcome("skipped", reason="off")]), "nothing-checked"),
        (summary.RunFacts(0, 0, []), "nothing-checked"),
        (summary.RunFacts(0, 4, [], refusal="PreflightError: token rejected"), "refused"),
        (summary.RunFacts(0, 4, [], refusal="KeyboardInterrupt: SIGINT"), "interrupted"),
        (summary.RunFacts(0, 4, [outcome("errored")], interrupted=True), "interrupted"),
    ],
)
def test_verdict(facts, verdict):
    assert summary.verdict(facts)[0] == verdict


def test_summary_fields():
    facts = summary.RunFacts(
        started_at=1_000.0,
        selected=3,
        outcomes=[outcome("passed"), outcome("skipped", "b (§1.2 extended path)", reason="Codex is off")],
        run_id="abc123",
        target="lab",
        coder_url="http://127.0.0.1:1",
        templates=[summary.TemplateVersion("ameide-dev", "ci-1-1", "v-id")] * 2,
        cleanup=CleanupReport(created=["workspace w"], removed=["workspace w"]),
    )
    built = summary.build(facts, finished_at=1_010.0)
    assert built["verdict"] == "failed" and built["reason"] == "1 untested"
    assert built["counts"] == {"passed": 1, "failed": 0, "skipped": 1, "errored": 0, "untested": 1}
    assert built["scenarios"][1] == {
        "feature": "A feature",
        "scenario": "b (§1.2 extended path)",
        "section": "§1.2 Full E2E, extended path",
        "status": "skipped",
        "behave_status": "skipped",
        "seconds": 1.5,
        "reason": "Codex is off",
    }
    assert built["cleanup"] == {"created": 1, "removed": ["workspace w"], "not_removed": [], "kept": []}
    assert built["target"] == {"name": "lab", "coder_url": "http://127.0.0.1:1"}
    assert built["templates"] == [{"template": "ameide-dev", "version": "ci-1-1", "version_id": "v-id"}]
    assert built["run_id"] == "abc123"
    assert built["durations"] == {"run_seconds": 10.0, "scenario_seconds": 3.0}
    assert built["started_at"] == "1970-01-01T00:16:40+00:00"
    assert "promotion" in built and built["promotion"] is None


def test_run_problems_name_the_exception_the_categories_match():
    refused = summary.RunFacts(0, 2, [], refusal="PreflightError: template 'x' not found")
    assert summary.run_problems(refused, summary.build(refused)) == [
        ("The run starts: settings, target and preflight", "PreflightError: template 'x' not found")
    ]
    leftover = summary.RunFacts(0, 1, [outcome("passed")], cleanup=CleanupReport(failed=["workspace w: 500"]))
    [(_, message)] = summary.run_problems(leftover, summary.build(leftover))
    assert category("broken", message) == "Cleanup failure"
    nothing = summary.RunFacts(0, 0, [], nothing_checked="no scenario matched --tags=@x: nothing was checked")
    [(_, message)] = summary.run_problems(nothing, summary.build(nothing))
    assert message == "NothingChecked: no scenario matched --tags=@x: nothing was checked"
    assert category("broken", message) == "Configuration or preflight"
