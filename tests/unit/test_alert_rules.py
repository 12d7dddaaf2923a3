"""The alert rules in deploy/alerts/ (and the dashboard beside them) pass promtool, each alert is unit-tested
by promtool in a file of its own that shows it firing and not firing, and every series they read is one a
run exports."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from reporting import metrics
from tests.helpers.prometheus import PROMTOOL, needs_promtool

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "alerts" / "workspace-spec.rules.yaml"
DASHBOARD = ROOT / "deploy" / "dashboards" / "workspace-spec.json"
ALERT_TESTS = sorted((ROOT / "tests" / "alerts").glob("*.test.yaml"))
EXPORTED = {f"{metrics.PREFIX}_{name}" for name in metrics.SERIES}


def alerts() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def promtool(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60)


@needs_promtool
def test_the_rules_pass_promtool_check() -> None:
    done = promtool("check", "rules", RULES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in done.stdout


def test_the_four_alerts_each_have_a_test_file_of_their_own_that_fires_and_does_not() -> None:
    names = [rule["alert"] for rule in alerts()]
    smoke = ["WorkspaceSpecSmokeFailing", "WorkspaceSpecNoSuccessfulSmoke"]
    assert sorted(names) == sorted([*smoke, "WorkspaceSpecLeftBehind", "WorkspaceSpecSlowToUsable"])
    assert [path.name for path in ALERT_TESTS] == sorted(f"{name}.test.yaml" for name in names)
    for path in ALERT_TESTS:
        cases = [case for test in yaml.safe_load(path.read_text())["tests"] for case in test["alert_rule_test"]]
        assert {case["alertname"] for case in cases} == {path.name.removesuffix(".test.yaml")}, path.name
        assert any(case["exp_alerts"] for case in cases), f"{path.name}: no case in which the alert fires"
        assert any(not case["exp_alerts"] for case in cases), f"{path.name}: no case in which it stays quiet"


@needs_promtool
@pytest.mark.parametrize("path", ALERT_TESTS, ids=lambda path: path.name)
def test_each_alert_passes_its_promtool_unit_test(path: Path) -> None:
    done = promtool("test", "rules", path.name, cwd=path.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def series_read(text: str) -> set[str]:
    return set(re.findall(rf"\b{metrics.PREFIX}_[a-z_]+\b", text))


def test_the_rules_and_the_dashboard_read_only_series_a_run_exports() -> None:
    expressions = [rule["expr"] for rule in alerts()]
    assert series_read(" ".join(expressions)) <= EXPORTED
    panels = json.loads(DASHBOARD.read_text())["panels"]
    queries = [target["expr"] for panel in panels for target in panel.get("targets", [])]
    assert queries and series_read(" ".join(queries)) <= EXPORTED
