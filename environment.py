"""behave hooks: settings -> target (live or lab) -> redaction -> preflight -> cleanup ledger per scope
-> diagnostics on failure.

Cleanups are registered with behave's `add_cleanup`, which runs them LIFO after the matching after_*
hook on pass, failure, hook error and Ctrl-C. SIGINT and SIGTERM both become KeyboardInterrupt, so a CI
runner cancelling the job gets the same cleanup as Ctrl-C (behave installs no handler of its own).
"""

from __future__ import annotations

from workspace_spec.target import start_lab_early

# behave loads this file first, then the steps, then the features: the lab (when no live target is set)
# starts here, and loads while the suite does; before_all's select_target takes it over.
start_lab_early()

import gc
import os
import sys
from collections.abc import Callable

import allure
from allure_commons.types import AttachmentType
from behave.api.formatter import register_formatter_as
from behave.configuration import Configuration
from behave.model import Scenario
from behave.reporter.junit import JUnitReporter
from behave.runner import Context

import reporting
from reporting import allure_files, junit, run_end
from reporting.formatter import AllureFormatter
from steps.support import selection
from steps.support.state import RunState, fresh_holders
from workspace_spec import diagnostics, journal, journeys, preload, promotion, secrets, sweep
from workspace_spec.cleanup import CleanupFailed
from workspace_spec.errors import ConfigurationError, NothingChecked
from workspace_spec.interrupts import Interrupts
from workspace_spec.plan import Need
from workspace_spec.progress import Progress, set_default_progress
from workspace_spec.promotion import PromotionOutcome
from workspace_spec.settings import Settings, parse_duration
from workspace_spec.target import select_target
from workspace_spec.world import World

TEXT = AttachmentType.TEXT

# The `allure` format of pyproject.toml is the suite's own. behave loads this file in every run, dry runs
# included, before it builds its formatters; it cannot import the project when it reads pyproject.toml.
register_formatter_as("allure", AllureFormatter)


def before_all(context: Context) -> None:
    run = context.run_state = RunState()
    context.add_cleanup(_spare_the_exit)  # runs last of all
    context.add_cleanup(run_end.ends_interrupted, context)
    # Runs after every other cleanup: reports/summary.json, then every report scrubbed.
    context.add_cleanup(run_end.finish_reports, context)
    context.on_cleanup_error = _on_cleanup_error
    try:
        _start(context)
    except BaseException as error:  # refused (or cut short) before anything was created: say so in the reports
        run.refusal = secrets.scrub(f"{type(error).__name__}: {error}".splitlines()[0])
        raise


def _start(context: Context) -> None:
    config = context.config
    selected = selection.selected_scenarios(config)
    # Scenarios that work with workspaces, not only ask the API, probe the cluster and open SSH sessions.
    workspaces = (*preload.KUBERNETES, *preload.SSH) if selection.needs_cluster(selected) else ()
    preload.in_background((*preload.HTTP, *workspaces, *preload.METRICS))
    context.run_state.selected = frozenset(selection.scenario_key(scenario) for scenario in selected)
    _start_reports(config)  # before the target: a refused run's reports are its own, not the last run's
    secrets.install_log_scrubbing()
    target = select_target(config.userdata)
    for secret in target.settings.secrets():
        secrets.REDACTOR.add(secret)
    world = context.world = World(target)
    # The ledger on disk before anything is created; kept after the run only when something is left.
    world.ledger.journal = journal.Journal(journal.path_for(reporting.reports_dir(config), world.namer.run_id))
    set_default_progress(Progress.from_settings(world.settings))  # long waits say what they wait for
    context.interrupts = Interrupts(world.ledger)
    context.interrupts.install()
    # Testrun cleanups run after after_all, newest first: stop creating, remove what is left, report,
    # promote what the run earned (SPEC_PROMOTE_ON_PASS), then stop the lab (and, registered first, the reports).
    context.add_cleanup(world.close)
    context.add_cleanup(run_end.promote_on_pass, context)
    context.add_cleanup(run_end.final_summary, context)
    context.add_cleanup(world.ledger.release)
    context.add_cleanup(world.plan.stop)
    print(target.describe(), flush=True)
    if allure_dir := reporting.allure_results_dir(config):
        allure_files.write_environment(allure_dir, reporting.run_properties(world))
    if problem := selection.codex_problem(target, selected):
        raise ConfigurationError(problem)
    needs = selection.workspace_needs(selected, target)
    if world.settings.promote_on_pass:
        _plan_promotion(context.run_state.promotion, needs, world.settings)
    print(world.preflight(needs_cluster=selection.needs_cluster(selected)), flush=True)
    if any("e2e" in scenario.effective_tags for scenario in selected) and (problem := world.settings.e2e_problem()):
        raise ConfigurationError(problem)
    if world.settings.sweep_on_start:
        _sweep_earlier_runs(world)
    world.plan.start(needs, journeys.catalogue(world))
    context.run_state.started = True


def _start_reports(config: Configuration) -> None:
    """Each run replaces the reports of the last one; the Allure results start with the categories and the
    CI build (executor.json, on GitHub Actions only)."""
    if junit := reporting.junit_dir(config):
        reporting.start_fresh(junit)
    if allure_dir := reporting.allure_results_dir(config):
        reporting.start_fresh(allure_dir)
        allure_files.write_categories(allure_dir)
        allure_files.write_executor(allure_dir, os.environ)
    reporting.start_fresh(reporting.diagnostics_root(config))
    for path in (reporting.timings_path(config), reporting.summary_path(config), reporting.metrics_path(config)):
        path.unlink(missing_ok=True)


def _plan_promotion(outcome: PromotionOutcome, needs: dict[str, list[Need]], settings: Settings) -> None:
    """Which versions the run would promote, before anything is created; refused in one line when a template
    the selected scenarios use has no pushed version to promote."""
    configured = [
        promotion.Configured(settings.template, settings.template_version, "SPEC_TEMPLATE_VERSION"),
        promotion.Configured(settings.e2e_template, settings.e2e_template_version, "SPEC_E2E_TEMPLATE_VERSION"),
    ]
    used = {need.template for wanted in needs.values() for need in wanted}
    try:
        outcome.candidates = promotion.candidates(used, configured)
    except promotion.PromotionRefused as refused:
        outcome.status, outcome.reasons = "refused", [str(refused)]
        raise ConfigurationError(str(refused)) from None
    outcome.status = "pending"


def before_scenario(context: Context, scenario: Scenario) -> None:
    context.run_state.scenarios.append(scenario)
    fresh_holders(context)
    context.scenario_key = selection.scenario_key(scenario)
    context.add_cleanup(context.world.ledger.release, "scenario")
    context.add_cleanup(context.world.plan.scenario_done, context.scenario_key)
    if reason := selection.skip_reason(scenario, context.world.target):
        context.run_state.skipped.append((scenario, reason))
        scenario.skip(reason=reason)


def after_scenario(context: Context, scenario: Scenario) -> None:
    # Runs before the scenario's cleanups: the workspace is still there to be examined, and what is
    # kept here is not removed by them.
    if context.workspace.current is not None:
        allure.attach(context.world.timings.allure_text(), name="workspace timings", attachment_type=TEXT)
    if not scenario.status.has_failed():
        return
    if not context.interrupts.received:  # after Ctrl-C/SIGTERM, cleaning up comes before evidence
        _attach_diagnostics(context, scenario)
    if context.world.settings.keep_on_failure:
        workspace = context.workspace.current
        context.world.ledger.keep("scenario")
        if workspace is not None:
            context.world.ledger.keep(names=frozenset({workspace.name}))


def _attach_diagnostics(context: Context, scenario: Scenario) -> None:
    # A scenario whose workspace never became usable holds none: its planned one is examined instead.
    workspace = context.workspace.current or next(iter(context.world.plan.created_for(context.scenario_key)), None)
    artifacts = diagnostics.collect(context.world, workspace)
    assert scenario.feature is not None  # a parsed scenario's
    directory = reporting.diagnostics_dir(context.config, scenario.feature.name, scenario.name)
    diagnostics.write(artifacts, directory)
    for artifact in artifacts:
        kind = allure.attachment_type.JSON if artifact.name.endswith(".json") else allure.attachment_type.TEXT
        allure.attach(artifact.text, name=artifact.name, attachment_type=kind)
    print(f"diagnostics: {directory}", file=sys.stderr, flush=True)


def after_all(context: Context) -> None:
    try:
        _after_all(context)
    except NothingChecked:
        raise
    except Exception:
        if hasattr(context, "run_state"):
            context.run_state.errored = True  # a suite that broke after its scenarios promotes nothing
        raise


def _after_all(context: Context) -> None:
    if not hasattr(context, "world"):
        return  # before_all failed and said why
    world, run, config = context.world, context.run_state, context.config
    if world.timings.to_json()["workspaces"]:
        world.timings.write(reporting.timings_path(config), reporting.run_properties(world))
    if junit_dir := reporting.junit_dir(config):
        reporter = next((r for r in config.reporters if isinstance(r, JUnitReporter)), None)
        if reporter is not None:
            junit.add_skip_reasons(junit_dir, [junit.SkippedCase.of(s, why, reporter) for s, why in run.skipped])
        junit.add_properties(junit_dir, reporting.run_properties(world))
    if not run.started:
        return  # refused before anything ran, and said why in one line
    if not run.scenarios:
        tags = " ".join(map(str, config.tags or []))
        run.nothing_checked = f"no scenario matched --tags={tags}: nothing was checked"
    elif len(run.skipped) == len(run.scenarios):
        because = "; ".join(sorted({reason for _, reason in run.skipped}))
        run.nothing_checked = (
            f"nothing was checked: all {len(run.scenarios)} selected scenarios were skipped: {because}"
        )
    if run.nothing_checked:
        raise NothingChecked(run.nothing_checked)


def _sweep_earlier_runs(world: World) -> None:
    """First what earlier runs' ledger files say they left (exactly that, whatever its age), then by name."""
    own = world.ledger.journal.path if world.ledger.journal else None
    removed, failed = sweep.sweep_ledgers(world, own.parent, own) if own else ([], [])
    by_name, failed_by_name = sweep.sweep(world, parse_duration(world.settings.sweep_on_start), dry_run=False)
    removed, failed = removed + by_name, failed + failed_by_name
    for item in removed:
        print(f"swept (left by an earlier run): {item}", flush=True)
    for item in failed:
        print(f"NOT SWEPT: {item}", file=sys.stderr, flush=True)


def _on_cleanup_error(context: Context, cleanup: Callable[..., None], error: Exception) -> None:
    """A refused promotion is the platform's failure, said in one line (it fails the run); anything else as
    behave reports it, and the scenario's reports also say what its cleanup could not do."""
    if isinstance(error, promotion.PromotionFailed):
        print(error, file=sys.stderr, flush=True)
        return
    scenario = getattr(context, "scenario", None)
    if scenario is not None and not scenario.error_message:
        scenario.error_message = secrets.scrub(f"{type(error).__name__}: {error}")
    if isinstance(error, CleanupFailed):
        return  # the platform's failure: the final summary names each leftover once, with what to do
    Context.print_cleanup_error(context, cleanup, error)  # type: ignore[attr-defined]  # types-behave omits it


def _spare_the_exit() -> None:
    """The run's objects live until the interpreter exits, whose collection of them (some 190,000, the
    Kubernetes client's models among them) took half a second after every run; frozen, they are freed
    without it. By now every report is written and closed: no file waits on a collection to be flushed."""
    gc.freeze()
