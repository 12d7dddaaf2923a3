"""behave hooks: settings -> target (live or lab) -> redaction -> preflight -> cleanup ledger per scope
-> diagnostics on failure.

Cleanups are registered with behave's `add_cleanup`, which runs them LIFO after the matching after_*
hook on pass, failure, hook error and Ctrl-C. SIGINT and SIGTERM both become KeyboardInterrupt, so a CI
runner cancelling the job gets the same cleanup as Ctrl-C (behave installs no handler of its own).
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

import allure
from behave.configuration import Configuration
from behave.model import Feature, Scenario
from behave.runner import Context
from behave.runner_util import collect_feature_locations, parse_features

from workspace_spec import diagnostics, reports, secrets, sweep
from workspace_spec.cleanup import Ledger
from workspace_spec.state import FeatureState, RunState, ScenarioState
from workspace_spec.target import select_target
from workspace_spec.world import World


class _Interrupts:
    """SIGINT and SIGTERM become KeyboardInterrupt, which behave answers by running every after_* hook
    and cleanup; but while the cleanup ledger is removing things, a further signal only waits."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.ledger.releasing:
            print(f"{name}: cleanup in progress, removing what the run created first", file=sys.stderr, flush=True)
            return
        raise KeyboardInterrupt(name)


def before_all(context: Context) -> None:
    secrets.install_log_scrubbing()
    target = select_target(context.config.userdata)
    for secret in target.settings.secrets():
        secrets.REDACTOR.add(secret)
    world = context.world = World(target)
    interrupts = _Interrupts(world.ledger)
    signal.signal(signal.SIGINT, interrupts)
    signal.signal(signal.SIGTERM, interrupts)
    context.run_state = RunState()
    # Testrun cleanups run after after_all, newest first: remove what is left, report, then stop the lab.
    context.add_cleanup(world.close)
    context.add_cleanup(_scrub_reports, context)
    context.add_cleanup(_final_summary, world)
    context.add_cleanup(world.ledger.release)
    print(target.describe(), flush=True)
    if junit := reports.junit_dir(context.config):
        reports.start_fresh(junit)
    if allure_dir := reports.allure_results_dir(context.config):
        reports.start_fresh(allure_dir)
        reports.write_allure_environment(allure_dir, reports.run_properties(world))
    print(world.preflight(needs_cluster=_needs_cluster(_selected_scenarios(context.config))), flush=True)
    if world.settings.sweep_on_start:
        _sweep_earlier_runs(world)


# Scenarios that only ask the platform (its configuration, its reachability) and create nothing; a
# run of only these reports an unusable cluster in its scenarios instead of refusing to start.
ASKS_ONLY = frozenset({"preflight", "oidc"})


def _selected_scenarios(config: Configuration) -> list[Scenario]:
    """The scenarios this run will run, as behave selects them (paths, line numbers, tags, names)."""
    locations = [loc for loc in collect_feature_locations(config.paths) if not config.exclude(loc.filename)]
    features = parse_features(locations, language=config.lang)
    return [scenario for feature in features for scenario in feature.walk_scenarios() if scenario.should_run(config)]


def _needs_cluster(scenarios: list[Scenario]) -> bool:
    return any(not set(scenario.effective_tags) & ASKS_ONLY for scenario in scenarios)


class ConfigurationError(Exception):
    """A feature needs a setting that is missing; nothing has been created for it."""


def before_feature(context: Context, feature: Feature) -> None:
    context.feature_state = FeatureState()
    context.add_cleanup(context.world.ledger.release, "feature")
    if "e2e" in feature.tags and (problem := context.world.settings.e2e_problem()):
        raise ConfigurationError(problem)


def before_scenario(context: Context, scenario: Scenario) -> None:
    context.run_state.scenarios_run += 1
    context.state = ScenarioState()
    context.add_cleanup(context.world.ledger.release, "scenario")
    settings = context.world.settings
    if "extension" in scenario.effective_tags and not settings.vscode_extensions:
        scenario.skip(reason="no code-server extensions are expected (SPEC_VSCODE_EXTENSIONS is empty)")
    if "codex" in scenario.effective_tags and settings.codex == "off":
        scenario.skip(reason="Codex is not enabled (SPEC_CODEX=off); set SPEC_CODEX=auth-json when workspaces have it")


def after_scenario(context: Context, scenario: Scenario) -> None:
    # Runs before the scenario's cleanups: the workspace is still there to be examined, and what is
    # kept here is not removed by them.
    if not scenario.status.has_failed():
        return
    if not context._runner.aborted:  # after Ctrl-C/SIGTERM, cleaning up comes before collecting evidence
        _attach_diagnostics(context, scenario)
    if context.world.settings.keep_on_failure:
        context.world.ledger.keep("scenario")


def _attach_diagnostics(context: Context, scenario: Scenario) -> None:
    artifacts = diagnostics.collect(context.world, context.state.workspace)
    directory = reports.diagnostics_dir(context.config, scenario.feature.name, scenario.name)
    diagnostics.write(artifacts, directory)
    for artifact in artifacts:
        kind = allure.attachment_type.JSON if artifact.name.endswith(".json") else allure.attachment_type.TEXT
        allure.attach(artifact.text, name=artifact.name, attachment_type=kind)
    print(f"diagnostics: {directory}", file=sys.stderr, flush=True)


def after_feature(context: Context, feature: Feature) -> None:
    if feature.status.has_failed() and context.world.settings.keep_on_failure:
        context.world.ledger.keep("feature")


class NothingChecked(Exception):
    """The tag expression selected no scenario; behave alone would call that a success."""


def after_all(context: Context) -> None:
    if not hasattr(context, "world"):
        return  # before_all failed and said why
    if junit := reports.junit_dir(context.config):
        reports.add_junit_properties(junit, reports.run_properties(context.world))
    if not context.run_state.scenarios_run:
        tags = " ".join(map(str, context.config.tags or []))
        raise NothingChecked(f"no scenario matched --tags={tags}: nothing was checked")


def _sweep_earlier_runs(world: World) -> None:
    removed, failed = sweep.sweep(world, sweep.parse_duration(world.settings.sweep_on_start), dry_run=False)
    for item in removed:
        print(f"swept (left by an earlier run): {item}", flush=True)
    for item in failed:
        print(f"NOT SWEPT: {item}", file=sys.stderr, flush=True)


def _scrub_reports(context: Context) -> None:
    """Last pass over what the formatters wrote: JUnit and Allure copy messages verbatim."""
    for directory in (reports.allure_results_dir(context.config), reports.junit_dir(context.config)):
        if directory is not None:
            secrets.REDACTOR.scrub_files(directory)


def _final_summary(world: World) -> None:
    summary = world.ledger.report.summary()
    print(summary, file=sys.stderr if world.ledger.report.failed else sys.stdout, flush=True)
