"""The reports a run leaves, read as their readers read them: the Allure results (labels, links, severity,
description, skip reasons, categories, the CI build), JUnit, reports/summary.json; and dry runs that leave
them alone.

One run serves most checks: from a project directory with the project's pyproject.toml, as the README runs
the suite, against the shared lab with one check broken (the OIDC issuer) and Codex off, on a fake
GitHub Actions build."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from reporting import sections
from tests.helpers.lab import Lab
from tests.helpers.suite import FAST_TIMEOUTS, ROOT, SuiteRun, behave_as_readme, leaks, tail

TAGS = "--tags=@oidc or @policy or @codex"
BROKEN = "Coder signs people in through the Keycloak issuer (§1.1 auth)"
CODEX = "Codex makes the change inside the workspace (§1.2 extended path)"
CODEX_OFF = "Codex is not enabled (SPEC_CODEX=off); set SPEC_CODEX=auth-json when workspaces have it"
GITHUB = {
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_REPOSITORY": "ameideio/workspace-spec",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_RUN_NUMBER": "17",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_WORKFLOW": "coder-devcontainer-smoke",
}


@dataclass
class Reported:
    project: Path
    run: SuiteRun

    @property
    def reports(self) -> Path:
        return self.project / "reports"

    def allure(self) -> dict[str, dict]:
        """Allure results by scenario name."""
        results = (self.reports / "allure-results").glob("*-result.json")
        return {(result := json.loads(path.read_text()))["name"]: result for path in results}

    def summary(self) -> dict:
        return json.loads((self.reports / "summary.json").read_text())


def behave(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return behave_as_readme(project, env, str(ROOT / "features"), *args)


def new_project(directory: Path) -> Path:
    directory.mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", directory)
    return directory


def test_one_runs_reports_read_as_their_readers_read_them(lab: Lab, tmp_path: Path) -> None:
    """One suite run, read by every check below in turn (one test, so that the run is made once whichever
    pytest worker runs it)."""
    project = new_project(tmp_path / "project")
    env = lab.suite_env(**FAST_TIMEOUTS, SPEC_CODEX="off", **GITHUB)
    env.pop("PYTHONPATH", None)
    with lab.faults("wrong-oidc-issuer"):
        done = behave(project, env, TAGS)
    reported = Reported(project, SuiteRun(done.returncode, done.stdout + done.stderr, []))
    check_the_run_fails_on_the_broken_check_only(reported)
    check_each_result_names_its_spec_section_and_severity(reported)
    check_each_result_shows_its_features_spec_text(reported)
    check_a_skipped_check_says_why_on_the_console_in_allure_junit_and_the_summary(reported)
    check_failures_fall_into_the_suites_categories(reported)
    check_the_ci_build_is_named_in_the_results(reported)
    check_the_summary_holds_the_verdict_and_what_a_gate_needs(reported, lab)
    check_no_secret_in_the_new_report_files(reported, lab)
    check_dry_runs_leave_the_reports_of_the_last_run_alone(reported, tmp_path / "dry")


def check_the_run_fails_on_the_broken_check_only(reported: Reported) -> None:
    assert reported.run.returncode == 1, reported.run.tail
    statuses = {name: result["status"] for name, result in reported.allure().items()}
    assert statuses == {
        BROKEN: "failed",
        "The deployment is past first-run setup (§1.1 auth)": "passed",
        "A new workspace inherits the template's auto-stop (§5)": "passed",
        CODEX: "skipped",
    }, "a scenario the tags did not select is in the report, or a selected one is missing"


def check_each_result_names_its_spec_section_and_severity(reported: Reported) -> None:
    severities = {BROKEN: "critical", CODEX: "normal"}
    for name, result in reported.allure().items():
        labels = {(label["name"], label["value"]) for label in result["labels"]}
        section = sections.section_of(name)
        assert section is not None
        assert ("epic", "Spec 629") in labels
        assert ("owner", "platform-devx") in labels and ("tag", "owner:platform-devx") not in labels
        assert ("story", section.story) in labels
        assert [label for label in labels if label[0] == "severity"] == [("severity", severities.get(name, "critical"))]
        assert result["links"] == [{"type": "link", "url": section.url, "name": section.link_name}]
        assert section.url.startswith(sections.SPEC_URL + "#")


def check_each_result_shows_its_features_spec_text(reported: Reported) -> None:
    results = reported.allure()
    assert results[BROKEN]["description"].startswith("Spec 629 §1.1, auth expectations. People sign in to Coder")
    assert results[CODEX]["description"].startswith("Spec 629 §1.2 and §4 (E2E pass).")


def check_a_skipped_check_says_why_on_the_console_in_allure_junit_and_the_summary(reported: Reported) -> None:
    assert f"skipped: {CODEX}: {CODEX_OFF}" in reported.run.output.splitlines()
    assert reported.allure()[CODEX]["statusDetails"] == {"message": CODEX_OFF}
    suite = ElementTree.parse(reported.reports / "junit" / "TESTS-features.pull_request.xml").getroot()
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == [CODEX]
    assert cases[CODEX].find("skipped").get("message") == CODEX_OFF
    assert suite.find("properties/property[@name='target']") is not None
    skipped = [scenario for scenario in reported.summary()["scenarios"] if scenario["status"] == "skipped"]
    assert [(scenario["scenario"], scenario["reason"]) for scenario in skipped] == [(CODEX, CODEX_OFF)]


def check_failures_fall_into_the_suites_categories(reported: Reported) -> None:
    results = reported.reports / "allure-results"
    categories = json.loads((results / "categories.json").read_text())
    assert categories == json.loads((ROOT / "reporting/categories.json").read_text())
    message = reported.allure()[BROKEN]["statusDetails"]["message"]
    assert message.startswith("AssertionError: Coder's OIDC issuer is")
    matched = next(
        rule["name"]
        for rule in categories
        if "failed" in rule["matchedStatuses"] and re.search(rule.get("messageRegex", ""), message)
    )
    assert matched.startswith("Platform failure")


def check_the_ci_build_is_named_in_the_results(reported: Reported) -> None:
    executor = json.loads((reported.reports / "allure-results" / "executor.json").read_text())
    assert executor["buildUrl"] == "https://github.example/ameideio/workspace-spec/actions/runs/4242"
    assert executor["buildName"] == "coder-devcontainer-smoke #17" and executor["buildOrder"] == 17


def check_the_summary_holds_the_verdict_and_what_a_gate_needs(reported: Reported, lab: Lab) -> None:
    summary = reported.summary()
    assert summary["verdict"] == "failed" and summary["reason"] == "1 failed"
    assert summary["counts"] == {"passed": 2, "failed": 1, "skipped": 1, "errored": 0, "untested": 0}
    assert summary["target"] == {"name": "live", "coder_url": lab.url}  # the lab met as a deployment
    [template] = summary["templates"]
    assert template["template"] == "ameide-dev" and template["version"] and template["version_id"]
    cleanup = summary["cleanup"]
    assert cleanup["created"] == 1 and cleanup["not_removed"] == [] and cleanup["kept"] == []
    assert [name.split()[0] for name in cleanup["removed"]] == ["workspace"]
    assert re.fullmatch(r"[a-z0-9]{6}", summary["run_id"])
    assert summary["durations"]["run_seconds"] >= summary["durations"]["scenario_seconds"] > 0
    assert summary["promotion"] is None
    sections_checked = {scenario["section"] for scenario in summary["scenarios"]}
    assert sections_checked >= {"§1.1 Smoke, auth", "§5 Operational requirements"}


def check_no_secret_in_the_new_report_files(reported: Reported, lab: Lab) -> None:
    assert not leaks(lab, reported.run, reported.project)


def check_dry_runs_leave_the_reports_of_the_last_run_alone(reported: Reported, tmp_path: Path) -> None:
    """`--dry-run` and `--steps-catalog` check the Gherkin; run where a real run left its reports (a copy),
    they change no byte of them."""
    project = tmp_path / "project"
    shutil.copytree(reported.project, project)

    def files() -> dict[str, bytes]:
        return {str(path.relative_to(project)): path.read_bytes() for path in project.rglob("*") if path.is_file()}

    before = files()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SPEC_", "CODER_", "PYTHONPATH"))}
    for option in ("--dry-run", "--steps-catalog"):
        done = behave(project, env, option)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert files() == before, f"{option} changed the reports"


def test_codex_on_a_lab_without_the_codex_cli_is_refused_in_one_line(tmp_path: Path) -> None:
    """The suite starts its own lab, which finds no Codex CLI among the tools it is given."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("git", "gh", "curl", "node"):
        found = shutil.which(tool, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
        assert found, f"{tool} is needed"
        (tools / tool).symlink_to(found)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SPEC_", "CODER_", "PYTHONPATH"))}
    env.update(LAB_TOOLS_PATH=str(tools), SPEC_CODEX="auth-json")
    project = new_project(tmp_path / "project")
    done = behave(project, env, "--tags=@codex")
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert any(line.startswith("target: lab") and "a stand-in codex" in line for line in output.splitlines())
    lines = [line for line in output.splitlines() if "SPEC_CODEX=auth-json" in line]
    assert lines == [
        "HOOK-ERROR in before_all: ConfigurationError: SPEC_CODEX=auth-json needs the real Codex CLI in the lab's "
        "workspaces: install it with bin/setup --codex"
    ], tail(output, 2000)
    summary = json.loads((project / "reports" / "summary.json").read_text())
    assert summary["verdict"] == "refused" and summary["reason"].startswith("ConfigurationError: SPEC_CODEX=")
    assert summary["counts"]["untested"] == 1 and summary["cleanup"]["created"] == 0
    [result] = (project / "reports" / "allure-results").glob("*-result.json")
    assert json.loads(result.read_text())["statusDetails"]["message"] == summary["reason"]
