"""The run's end, after its scenarios: the console's last lines (timings, skips, what the cleanup did), the
template-version gate (SPEC_PROMOTE_ON_PASS), then reports/summary.json, the run's own results in Allure
and JUnit, every report scrubbed, and the metrics. environment.py registers each as a testrun cleanup."""

from __future__ import annotations

import sys
from pathlib import Path

from behave.runner import Context

import reporting
from reporting import allure_files, junit, metrics
from reporting import summary as report_summary
from workspace_spec import promotion, secrets


def finish_reports(context: Context) -> None:
    """reports/summary.json (and, when the run went wrong as a whole, an Allure result saying so), then a
    last pass over what the formatters wrote: JUnit and Allure copy messages verbatim; then the metrics."""
    config = context.config
    facts = summary_facts(context)
    summary = report_summary.build(facts)
    world = getattr(context, "world", None)
    ledger = world.ledger.journal.path if world is not None and world.ledger.journal else None
    problems = [(name, secrets.scrub(message)) for name, message in report_summary.run_problems(facts, summary)]
    if (allure_dir := reporting.allure_results_dir(config)) is not None:
        for name, message in problems:
            allure_files.write_run_result(allure_dir, name, message, facts.started_at, attachment=ledger)
    if (junit_dir := reporting.junit_dir(config)) is not None:
        junit.add_run_problems(junit_dir, problems, attachment=ledger)
    report_summary.write(reporting.summary_path(config), summary, secrets.scrub)
    for directory in (allure_dir, reporting.junit_dir(config)):
        if directory is not None:
            secrets.REDACTOR.scrub_files(directory)
    tags = metrics.tag_expression(config.tags)  # reports/metrics.prom, and the Pushgateway when one is set
    metrics.export(reporting.metrics_path(config), summary, getattr(context, "world", None), tags)


def summary_facts(context: Context) -> report_summary.RunFacts:
    """What summary.json says: how every scenario ended, and the run as a whole."""
    run = context.run_state
    reasons = {id(scenario): reason for scenario, reason in run.skipped}
    facts = report_summary.RunFacts(
        started_at=run.started_at,
        selected=len(run.selected),
        outcomes=[report_summary.Outcome.of(scenario, reasons.get(id(scenario), "")) for scenario in run.scenarios],
        refusal=run.refusal,
        nothing_checked=run.nothing_checked,
    )
    if (world := getattr(context, "world", None)) is not None:
        facts.interrupted = context.interrupts.received
        facts.run_id = world.namer.run_id
        facts.target = world.target.name
        facts.coder_url = world.settings.coder_url or ""
        facts.templates = [report_summary.TemplateVersion(*built) for built in world.workspaces.built_from]
        facts.cleanup = world.ledger.report
        facts.errored = run.errored
        facts.promotion = run.promotion.to_json()
    return facts


def gate_facts(context: Context) -> promotion.RunFacts:
    """How the run ended, counted as summary.json counts it (behave's final statuses), and the ledger."""
    run, ledger = context.run_state, context.world.ledger
    counts = report_summary.count(summary_facts(context))
    return promotion.RunFacts(
        started=run.started,
        selected=len(run.selected),
        passed=counts["passed"],
        failed=counts["failed"] + counts["errored"],
        skipped=counts["skipped"],
        interrupted=context.interrupts.received or context.aborted,
        errored=run.errored,
        left_behind=len(ledger.report.failed) + len(ledger.report.kept) + len(ledger.pending()),
    )


def promote_on_pass(context: Context) -> None:
    """The gate, after the ledger is released: promote the checked versions if the run earned it, else say
    why not, in one line each. Coder refusing a promotion fails the run (PromotionFailed, one line)."""
    world, outcome = context.world, context.run_state.promotion
    if outcome.status != "pending":
        return  # not asked for, or refused before the run
    decision = promotion.decide(gate_facts(context))
    if not decision.promote:
        outcome.status, outcome.reasons = "not promoted", list(decision.reasons)
        print(decision.line, file=sys.stderr, flush=True)
        return
    context.interrupts.promoting = True
    try:
        lines = promotion.promote(world.coder, world.settings.organization, outcome)
    finally:
        context.interrupts.promoting = False
    for line in lines:
        print(line, flush=True)
    if outcome.status == "failed":
        raise promotion.PromotionFailed(outcome.error)


def ends_interrupted(context: Context) -> None:
    """A run that got Ctrl-C or SIGTERM ends interrupted, exit status 1, even when the signal came too late
    to cut anything short (during the last cleanup, or once the run's end began, it only waits)."""
    interrupts = getattr(context, "interrupts", None)
    if interrupts is not None and interrupts.received:
        context.abort("Ctrl-C or SIGTERM: the run ends interrupted")


def final_summary(context: Context) -> None:
    world = context.world
    for line in world.timings.summary_lines():  # one per template: how long the platform took
        print(line, flush=True)
    for scenario, reason in context.run_state.skipped:  # the console's only word on why
        print(f"skipped: {scenario.name}: {reason}", flush=True)
    summary = world.ledger.report.summary()
    print(summary, file=sys.stderr if world.ledger.report.failed else sys.stdout, flush=True)
    ledger = world.ledger.journal
    if ledger is not None and not ledger.close_if_done():
        print(
            f"left on the platform, listed in {_shown(ledger.path)}; to remove exactly that, run:\n"
            f"  python -m workspace_spec.sweep --ledger {_shown(ledger.path)}",
            file=sys.stderr,
            flush=True,
        )


def _shown(path: Path) -> str:
    """The path as the reader can type it: relative to the working directory when it lies below it."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)
