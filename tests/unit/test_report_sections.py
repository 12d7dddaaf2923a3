"""Each scenario's place in spec 629, as the Allure report shows it: story, link and severity."""

from __future__ import annotations

import pytest
from behave.parser import parse_file

from reporting import sections
from tests.helpers.suite import ROOT

FEATURES = sorted((ROOT / "features").glob("*.feature"))
SCENARIOS = [scenario for path in FEATURES for scenario in parse_file(str(path)).walk_scenarios()]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_every_scenario_names_a_section_of_the_spec(scenario):
    section = sections.section_of(scenario.name)
    assert section is not None, f"{scenario.name!r} names no section: end it with (§<number> ...)"
    assert section.heading, f"{scenario.name!r} names §{section.number}, which spec 629 does not have"


@pytest.mark.parametrize(
    ("name", "story", "anchor"),
    [
        ("Reaches code-server (§1.1 check 2)", "§1.1 Smoke, check 2", "11-smoke-fast-minimal-secrets"),
        ("Has the extension (§1.1 check 3, optional)", "§1.1 Smoke, check 3", "11-smoke-fast-minimal-secrets"),
        ("Pull request (§1.2 minimal path)", "§1.2 Full E2E, minimal path", "12-full-e2e-includes-pr--optional-codex"),
        ("Auto-stop (§5)", "§5 Operational requirements", "5-operational-requirements"),
        ("WebSockets (§6)", "§6 Networking prerequisites for automation", "6-networking-prerequisites-for-automation"),
        ("Bootstrap logs (§5.1)", "§5.1 Bootstrap diagnostics", "51-bootstrap-diagnostics-envbuildercoder"),
        ("What passes (§4)", "§4 Pass/fail criteria", "4-passfail-criteria"),
    ],
)
def test_story_and_link_come_from_the_reference_in_the_name(name, story, anchor):
    section = sections.section_of(name)
    assert section is not None
    assert section.story == story
    assert section.url == f"{sections.SPEC_URL}#{anchor}"
    assert section.link_name == f"spec 629 §{section.number}"


def test_a_name_without_a_reference_has_no_section():
    assert sections.section_of("A scenario of no section") is None
    assert sections.section_of("A reference (§1.1) that is not at the end, then more") is None


@pytest.mark.parametrize(
    ("tags", "severity"),
    [
        ({"preflight"}, "blocker"),
        ({"smoke", "policy"}, "critical"),
        ({"e2e"}, "critical"),
        ({"e2e", "codex"}, "normal"),
        ({"smoke", "extension"}, "normal"),
        ({"wip"}, "normal"),
        ({"smoke", "minor"}, None),  # a bare severity tag wins, and allure-behave reads it itself
    ],
)
def test_severity_from_tags(tags, severity):
    assert sections.severity(tags) == severity


def test_the_description_is_the_features_spec_text_then_the_scenarios():
    assert sections.description(["Spec 629 §5.", "More."], []) == "Spec 629 §5.\nMore."
    assert sections.description(["Feature text."], ["Scenario text."]) == "Feature text.\n\nScenario text."
    assert sections.description([], []) == ""
