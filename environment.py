"""behave hooks: settings -> target (live or lab) -> preflight -> cleanup ledger per scope.

Cleanups are registered with behave's `add_cleanup`, which runs them LIFO after the matching after_*
hook on pass, failure, hook error and Ctrl-C. SIGTERM is turned into KeyboardInterrupt so that a CI
runner cancelling the job gets the same cleanup as Ctrl-C (behave installs no handler of its own).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType

from behave.model import Feature, Scenario
from behave.runner import Context

from workspace_spec import reports
from workspace_spec.state import FeatureState, RunState, ScenarioState
from workspace_spec.target import select_target
from workspace_spec.world import World


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def before_all(context: Context) -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    target = select_target(context.config.userdata)
    world = context.world = World(target)
    context.run_state = RunState()
    # Testrun cleanups run after after_all, newest first: remove what is left, report, then stop the lab.
    context.add_cleanup(world.close)
    context.add_cleanup(_final_summary, world)
    context.add_cleanup(world.ledger.release)
    print(target.describe(), flush=True)
    if context.config.junit:
        reports.start_fresh(Path(context.config.junit_directory))
    if allure_dir := reports.allure_results_dir(context.config):
        reports.start_fresh(allure_dir)
        reports.write_allure_environment(allure_dir, reports.run_properties(world))
    print(world.preflight(), flush=True)


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
    # Runs before the scenario's cleanups: what is kept here is not removed by them.
    if scenario.status.has_failed() and context.world.settings.keep_on_failure:
        context.world.ledger.keep("scenario")


def after_feature(context: Context, feature: Feature) -> None:
    if feature.status.has_failed() and context.world.settings.keep_on_failure:
        context.world.ledger.keep("feature")


class NothingChecked(Exception):
    """The tag expression selected no scenario; behave alone would call that a success."""


def after_all(context: Context) -> None:
    if not hasattr(context, "world"):
        return  # before_all failed and said why
    if context.config.junit:
        reports.add_junit_properties(Path(context.config.junit_directory), reports.run_properties(context.world))
    if not context.run_state.scenarios_run:
        tags = " ".join(map(str, context.config.tags or []))
        raise NothingChecked(f"no scenario matched --tags={tags}: nothing was checked")


def _final_summary(world: World) -> None:
    summary = world.ledger.report.summary()
    print(summary, file=sys.stderr if world.ledger.report.failed else sys.stdout, flush=True)
