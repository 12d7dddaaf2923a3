"""reports/summary.json: the run's verdict for machines (a CI gate, a dashboard), written at the end of
every run, refused and interrupted ones included.

The verdict agrees with behave's exit code: `passed` exits 0, every other verdict exits 1.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from behave.model import Scenario
from behave.model_type import Status

from reporting import sections
from workspace_spec.cleanup import CleanupReport

SCHEMA = 1
# behave's statuses, counted as a reader of the verdict needs them.
_COUNTED_AS = {
    Status.passed: "passed",
    Status.failed: "failed",
    Status.skipped: "skipped",
    Status.untested: "untested",
}
COUNTS = ("passed", "failed", "skipped", "errored", "untested")


@dataclass(frozen=True)
class Outcome:
    feature: str
    scenario: str
    status: str  # one of COUNTS
    behave_status: str
    seconds: float
    reason: str = ""  # why it was skipped

    @classmethod
    def of(cls, scenario: Scenario, reason: str = "") -> Outcome:
        status = _COUNTED_AS.get(scenario.status, "errored")  # error, hook_error, cleanup_error, undefined...
        assert scenario.feature is not None  # a parsed scenario's
        return cls(scenario.feature.name, scenario.name, status, scenario.status.name, scenario.duration, reason)


@dataclass(frozen=True)
class TemplateVersion:
    template: str
    version: str
    version_id: str


@dataclass
class RunFacts:
    """What the run knows at its very end. Unknown parts (a run refused before its target was chosen)
    stay empty."""

    started_at: float
    selected: int  # scenarios the paths, lines and tags selected
    outcomes: Sequence[Outcome]
    refusal: str = ""  # why before_all stopped the run, as `ExceptionName: message`
    nothing_checked: str = ""  # why the run checked nothing, as the run said it
    interrupted: bool = False
    run_id: str = ""
    target: str = ""
    coder_url: str = ""
    templates: Iterable[TemplateVersion] = ()
    cleanup: CleanupReport | None = None
    errored: bool = False  # the suite broke outside its scenarios (after_all)
    promotion: dict[str, Any] | None = None  # what the template-version gate did; None when not asked for


def verdict(facts: RunFacts) -> tuple[str, str]:
    """(verdict, why) for a run that did not pass; ('passed', '') otherwise."""
    counts = count(facts)
    not_removed = facts.cleanup.failed if facts.cleanup else []
    if facts.refusal:
        interrupted = facts.refusal.startswith("KeyboardInterrupt")
        return ("interrupted" if interrupted else "refused"), facts.refusal
    if facts.interrupted:
        left = f"; {len(not_removed)} not removed" if not_removed else ""
        return "interrupted", f"a signal (Ctrl-C, SIGTERM) stopped the run{left}"
    if counts["passed"] + counts["failed"] + counts["errored"] == 0 and not counts["untested"]:
        return "nothing-checked", facts.nothing_checked or "no scenario was selected, or every selected one was skipped"
    promotion_error = (facts.promotion or {}).get("error") or ""
    if counts["failed"] or counts["errored"] or counts["untested"] or not_removed or facts.errored or promotion_error:
        parts = [f"{counts[name]} {name}" for name in ("failed", "errored", "untested") if counts[name]]
        if not_removed:
            parts.append(f"{len(not_removed)} not removed")
        if facts.errored:
            parts.append("the suite errored outside its scenarios")
        if promotion_error:
            parts.append(promotion_error)
        return "failed", ", ".join(parts)
    return "passed", ""


def count(facts: RunFacts) -> dict[str, int]:
    counts = dict.fromkeys(COUNTS, 0)
    for outcome in facts.outcomes:
        counts[outcome.status] += 1
    counts["untested"] += max(0, facts.selected - len(facts.outcomes))  # never reached: refused or cut short
    return counts


def build(facts: RunFacts, finished_at: float | None = None) -> dict[str, Any]:
    finished_at = time.time() if finished_at is None else finished_at
    name, why = verdict(facts)
    cleanup = facts.cleanup or CleanupReport()
    return {
        "schema": SCHEMA,
        "verdict": name,
        "reason": why or None,
        "counts": count(facts),
        "scenarios": [
            {
                "feature": outcome.feature,
                "scenario": outcome.scenario,
                "section": section.story if (section := sections.section_of(outcome.scenario)) else None,
                "status": outcome.status,
                "behave_status": outcome.behave_status,
                "seconds": round(outcome.seconds, 3),
                **({"reason": outcome.reason} if outcome.reason else {}),
            }
            for outcome in facts.outcomes
        ],
        "cleanup": {
            "created": len(cleanup.created),
            "removed": list(cleanup.removed),
            "not_removed": list(cleanup.failed),
            "kept": list(cleanup.kept),
        },
        "target": {"name": facts.target or None, "coder_url": facts.coder_url or None},
        "templates": [
            {"template": item.template, "version": item.version, "version_id": item.version_id}
            for item in sorted(set(facts.templates), key=lambda item: (item.template, item.version))
        ],
        "run_id": facts.run_id or None,
        "started_at": _iso(facts.started_at),
        "finished_at": _iso(finished_at),
        "durations": {
            "run_seconds": round(finished_at - facts.started_at, 3),
            "scenario_seconds": round(sum(outcome.seconds for outcome in facts.outcomes), 3),
        },
        # The template-version gate (SPEC_PROMOTE_ON_PASS): status, candidates, promoted, reasons, error.
        "promotion": facts.promotion,
    }


def run_problems(facts: RunFacts, summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, message) of what went wrong with the run as a whole, for a result of its own in the report;
    each message starts with the name the report's categories match."""
    problems = []
    if facts.refusal:
        problems.append(("The run starts: settings, target and preflight", facts.refusal))
    elif summary["verdict"] == "nothing-checked":
        problems.append(("The run checks at least one scenario", f"NothingChecked: {summary['reason']}"))
    if not_removed := summary["cleanup"]["not_removed"]:
        problems.append(("Everything the run created is removed", "CleanupFailed: " + "; ".join(not_removed)))
    return problems


def write(path: Path, summary: dict[str, Any], scrub: Callable[[str], str] | None = None) -> None:
    """Scrubbed as it is written (reasons quote exception messages): each string, so the JSON stays whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _scrubbed(summary, scrub) if scrub else summary
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _scrubbed(value: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: _scrubbed(item, scrub) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item, scrub) for item in value]
    return value


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
