"""Which scenarios a run runs, and what they need before the first of them starts: the workspaces the plan
builds (from the steps that bring one), the cluster, and the reasons an optional check is skipped."""

from __future__ import annotations

from pathlib import Path

from behave.configuration import Configuration
from behave.model import Scenario
from behave.runner_util import collect_feature_locations, parse_features

from workspace_spec import browser, journeys
from workspace_spec.plan import Need
from workspace_spec.target import Target

# Scenarios that only ask the platform (its configuration, its reachability) and create nothing; a
# run of only these reports an unusable cluster in its scenarios instead of refusing to start.
ASKS_ONLY = frozenset({"preflight", "oidc"})


def selected_scenarios(config: Configuration) -> list[Scenario]:
    """The scenarios this run will run, as behave selects them (paths, line numbers, tags, names)."""
    locations = [loc for loc in collect_feature_locations(config.paths) if not config.exclude(loc.filename)]
    features = parse_features(locations, language=config.lang)  # type: ignore[attr-defined]  # set from its option
    return [scenario for feature in features for scenario in feature.walk_scenarios() if scenario.should_run(config)]


def needs_cluster(scenarios: list[Scenario]) -> bool:
    return any(not set(scenario.effective_tags) & ASKS_ONLY for scenario in scenarios)


# The steps that bring a workspace, and what each asks of the plan: (the setting naming the template,
# whether the scenario changes the workspace and so needs one of its own).
WORKSPACE_STEPS = {
    "a ready workspace": ("template", False),
    "a developer creates a workspace from the template": ("template", False),
    "a workspace is created without an auto-stop time of its own": ("template", False),
    "a ready workspace of its own": ("template", True),
    "a ready workspace of its own with a marker file in its volume": ("template", True),
    "a ready workspace from the E2E template": ("e2e_template", False),
}


# The steps that name what a scenario does to its own workspace: the plan runs it (a journey) as soon as
# the workspace is usable, and the steps wait for its outcome.
JOURNEY_STEPS = {
    "a ready workspace of its own with a marker file in its volume": journeys.STOP_AND_START,
    "the workspace is stopped and started again": journeys.STOP_AND_START,
    "the workspace is deleted": journeys.DELETE,
}


def scenario_key(scenario: Scenario) -> str:
    return f"{Path(scenario.filename).resolve()}:{scenario.line}"


def skip_reason(scenario: Scenario, target: Target) -> str:
    """Why an optional check is off in this run ('' when it runs): reported as skipped, never as passed."""
    settings = target.settings
    if "browser" in scenario.effective_tags:
        if reason := browser.browser_unavailable(settings.browser):
            return reason
        if target.lab is not None and not target.lab.ide:
            return (
                "the lab's workspaces run a stand-in code-server, no workbench: bin/setup --ide installs the real one"
            )
    if "extension" in scenario.effective_tags and not settings.vscode_extensions:
        return "no code-server extensions are expected (SPEC_VSCODE_EXTENSIONS is empty)"
    if "codex" in scenario.effective_tags and settings.codex == "off":
        return "Codex is not enabled (SPEC_CODEX=off); set SPEC_CODEX=auth-json when workspaces have it"
    return ""


def workspace_needs(scenarios: list[Scenario], target: Target) -> dict[str, list[Need]]:
    """Scenario key -> the workspaces it needs (a scenario that will be skipped needs none)."""
    settings = target.settings
    needs: dict[str, list[Need]] = {}
    for scenario in (s for s in scenarios if not skip_reason(s, target)):
        key = scenario_key(scenario)
        steps = list(scenario.all_steps)
        journey = next((JOURNEY_STEPS[step.name] for step in steps if step.name in JOURNEY_STEPS), "")
        for step in steps:
            if (wanted := WORKSPACE_STEPS.get(step.name)) is not None:
                template, own = wanted
                need = Need(getattr(settings, template), key, journey) if own else Need(getattr(settings, template))
                needs.setdefault(key, []).append(need)
    return needs


def codex_problem(target: Target, selected: list[Scenario]) -> str:
    """The lab gives its workspaces the real Codex CLI only when `bin/setup --codex` installed it."""
    wanted = target.settings.codex == "auth-json" and any("codex" in s.effective_tags for s in selected)
    if wanted and target.lab is not None and not target.lab.codex_cli:
        return (
            "SPEC_CODEX=auth-json needs the real Codex CLI in the lab's workspaces: install it with bin/setup --codex"
        )
    return ""
