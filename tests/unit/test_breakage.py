"""Every check of the features can be shown to fail: each `Then` step is the failing step of some row of
tests/helpers/breakage.py, whose rows the fault tests run (tests/integration)."""

from __future__ import annotations

import re

from behave.runner_util import collect_feature_locations, parse_features

from lab.faults import REGISTRY
from tests.helpers.breakage import E2E, PREFLIGHT, SMOKE
from tests.helpers.suite import ROOT

ROWS = SMOKE + E2E + PREFLIGHT


def _scenarios() -> dict[str, list[tuple[str, str]]]:
    """Scenario name -> (step type, step name) of its steps, background included."""
    features = parse_features(collect_feature_locations([str(ROOT / "features")]))
    return {
        scenario.name: [(step.step_type, step.name) for step in scenario.all_steps]
        for feature in features
        for scenario in feature.walk_scenarios()
    }


def test_every_then_step_is_failed_by_some_fault() -> None:
    checks = {name for steps in _scenarios().values() for kind, name in steps if kind == "then"}
    failed = {row.step for row in ROWS}
    assert not checks - failed, f"checks that no fault is shown to fail: {sorted(checks - failed)}"


def test_every_row_names_a_step_of_its_scenario_and_a_lab_fault() -> None:
    scenarios = _scenarios()
    for row in ROWS:
        assert row.step in {name for _, name in scenarios[row.scenario]}, row
        assert row.fault in REGISTRY or " " in row.fault, f"{row.fault} is not a lab fault"  # or a condition


def _fault_names(page: str, section: str) -> set[str]:
    """The fault names in the first column of a docs section's table."""
    text = (ROOT / page).read_text()
    body = text[text.index(section) :]
    body = body[: body.find("\n## ", 1)] if "\n## " in body[1:] else body
    names: set[str] = set()
    for line in body.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names |= set(re.findall(r"`([a-z0-9-]+)`", first))
    return names


def test_the_fault_tables_list_exactly_the_lab_faults() -> None:
    for page, section in (("docs/fail-safe.md", "## Fault table"), ("lab/README.md", "## Faults")):
        listed = _fault_names(page, section)
        assert listed == set(REGISTRY), f"{page}: missing {set(REGISTRY) - listed}, unknown {listed - set(REGISTRY)}"
