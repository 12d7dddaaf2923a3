"""python -m workspace_spec.capacity --workspaces N --concurrency C [--template T] [--ssh] [--browser] --yes

The target as the suite selects it (a live deployment when CODER_URL is set, else the embedded lab), checked
before anything is created. Without --yes: one line saying what it would create, and nothing created. Bad
input: one line, exit 2. Exit 0 when every workspace became usable and everything was removed, 1 otherwise,
128 + the signal's number when cut short (after removing everything all the same).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import reporting
from reporting import allure_files
from workspace_spec import browser, journal, secrets
from workspace_spec.capacity import figures, timeline
from workspace_spec.capacity.probe import Probe
from workspace_spec.cleanup import CleanupFailed
from workspace_spec.errors import SuiteRefused
from workspace_spec.interrupts import Interrupts
from workspace_spec.progress import Progress, set_default_progress
from workspace_spec.target import Target, select_target
from workspace_spec.world import World

REPORT_NAME = "Capacity probe"
STEM = "capacity-probe"  # the Allure result's file stem: the next probe's replaces it


class BadInput(SuiteRefused):
    """The probe cannot run as asked; nothing has been created."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise BadInput(message)  # one line, not argparse's usage block


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="python -m workspace_spec.capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspaces", type=int, required=True, metavar="N", help="how many workspaces to create")
    parser.add_argument("--concurrency", type=int, required=True, metavar="C", help="at most this many at once")
    parser.add_argument("--template", default="", help="the template (default: SPEC_TEMPLATE)")
    parser.add_argument("--ssh", action="store_true", help="also run a command in each workspace over SSH")
    parser.add_argument("--browser", action="store_true", help="also open VS Code in a browser in each one")
    parser.add_argument("--yes", action="store_true", help="create them (without it: say what it would create)")
    parser.add_argument("--reports", default="reports", type=Path, help="the reports folder (default: reports)")
    args = parser.parse_args(argv)
    if args.workspaces < 1:
        raise BadInput(f"--workspaces must be at least 1, got {args.workspaces}")
    if args.concurrency < 1:
        raise BadInput(f"--concurrency must be at least 1, got {args.concurrency}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    target: Target | None = None
    world: World | None = None
    try:
        args = parse(argv)
        target = select_target({"template": args.template} if args.template else {})
        for secret in target.settings.secrets():
            secrets.REDACTOR.add(secret)
        world = World(target)
        checked = _preflight(world, args)
        if not args.yes:
            print(
                f"would create {args.workspaces} workspace(s) from template {world.settings.template}, at most "
                f"{min(args.concurrency, args.workspaces)} at once, on {target.name} {world.settings.coder_url}, "
                "then remove them: add --yes to do it",
                flush=True,
            )
            return 0
        print(target.describe(), flush=True)
        print(checked, flush=True)
        return _run(world, args)
    except SuiteRefused as refused:  # settings, target, preflight, or what the probe was asked
        print(f"capacity: {secrets.scrub(str(refused))}", file=sys.stderr, flush=True)
        return 2
    finally:
        if world is not None:
            world.close()
        elif target is not None:
            target.close()


def _preflight(world: World, args: argparse.Namespace) -> str:
    line = world.preflight(needs_cluster=False)
    settings = world.settings
    if args.ssh and shutil.which(settings.coder_cli) is None:
        raise BadInput(f"--ssh needs the Coder CLI {settings.coder_cli!r} (SPEC_CODER_CLI) on PATH")
    if args.browser and browser.browser_executable(settings.browser) is None:
        raise BadInput(f"--browser: {browser.browser_unavailable(settings.browser)}")
    return line


def _run(world: World, args: argparse.Namespace) -> int:
    reports: Path = args.reports
    ledger_file = journal.path_for(reports, world.namer.run_id)
    world.ledger.journal = journal.Journal(ledger_file)
    Interrupts(world.ledger).install()
    set_default_progress(Progress.from_settings(world.settings))  # long waits say what they wait for
    probe = Probe(world, args.workspaces, args.concurrency, ssh=args.ssh, browser=args.browser)
    print(
        f"capacity: {args.workspaces} workspace(s) from {world.settings.template}, at most {probe.concurrency} "
        f"at once; ledger {ledger_file}",
        flush=True,
    )
    started, interrupted = time.time(), ""
    try:
        probe.bring_up()
    except KeyboardInterrupt as received:
        interrupted = str(received) or "SIGINT"
        print(f"{interrupted}: removing what the probe created", file=sys.stderr, flush=True)
    finally:
        probe.stop()
        not_removed = ""
        try:
            probe.remove_all()
        except CleanupFailed as error:
            not_removed = str(error)
    report = world.ledger.report
    cleanup = {"created": len(report.created), "removed": len(report.removed), "not_removed": list(report.failed)}
    run: dict[str, Any] = reporting.run_properties(world) | {
        "workspaces": args.workspaces,
        "concurrency": probe.concurrency,
        "most_at_once": probe.most_at_once,
        "ssh": args.ssh,
        "browser": args.browser,
        "interrupted": interrupted,
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(),
        "seconds": round(time.time() - started, 3),
    }
    print(secrets.scrub(figures.table(probe.traces, cleanup)), flush=True)
    data = figures.to_json(probe.traces, run, cleanup)
    picture = timeline.svg(probe.traces, _title(world, args, probe))
    _write_reports(reports, data, picture, figures.table(probe.traces, cleanup), started)
    left = not world.ledger.journal.close_if_done()
    if left:
        print(
            f"left on the platform, listed in {ledger_file}; to remove exactly that, run:\n"
            f"  python -m workspace_spec.sweep --ledger {ledger_file}",
            file=sys.stderr,
            flush=True,
        )
    if interrupted:
        return 128 + signal.Signals[interrupted].value if interrupted in signal.Signals.__members__ else 130
    failed = any(trace.failures for trace in probe.traces) or not_removed or left
    return 1 if failed else 0


def _title(world: World, args: argparse.Namespace, probe: Probe) -> str:
    return (
        f"capacity probe: {args.workspaces} x {world.settings.template}, at most {probe.concurrency} at once "
        f"({world.target.name}, run {world.namer.run_id})"
    )


def _write_reports(reports: Path, data: dict[str, Any], picture: str, table: str, started: float) -> None:
    """reports/capacity.json, reports/capacity.svg, and an Allure result with the picture attached; every one
    scrubbed of secrets as it is written."""
    scrub = secrets.scrub
    json_path = figures.write(reports / "capacity.json", data)
    json_path.write_text(scrub(json_path.read_text()))
    (reports / "capacity.svg").write_text(scrub(picture))
    failures, cleanup = data["failures"], data["cleanup"]
    broken = bool(cleanup["not_removed"]) or bool(data["run"]["interrupted"])
    status = "broken" if broken else ("failed" if failures else "passed")
    usable = sum(1 for ws in data["workspaces"] if "usable" in ws["phases"] and not ws["failures"])
    message = f"{usable} of {data['run']['workspaces']} workspaces usable; " + (
        "; ".join(f"{f['count']} x {f['class']} in {f['phase']}" for f in failures) or "no failure"
    )
    allure_files.write_result(
        reports / "allure-results",
        REPORT_NAME,
        status,
        scrub(message),
        started,
        feature="Capacity",
        description="N workspaces at once, at most C brought up together: where the time went, per phase.",
        attachments=[
            allure_files.Attachment("timeline", scrub(picture).encode(), "image/svg+xml", "svg"),
            allure_files.Attachment("figures", scrub(table).encode(), "text/plain", "txt"),
            allure_files.Attachment("capacity.json", json_path.read_bytes(), "application/json", "json"),
        ],
        stem=STEM,
    )


if __name__ == "__main__":
    sys.exit(main())
