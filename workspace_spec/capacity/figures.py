"""The probe's figures: per phase p50/p95/max over the workspaces, the failures by class, the probe's own
overhead; as a console table and as reports/capacity.json."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workspace_spec.capacity.trace import MEANING, PHASES, Trace

ROWS = (*PHASES, "usable")


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value that `share` (0..1] of the values do not exceed."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Spread:
    count: int
    p50: float
    p95: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(len(values), percentile(values, 0.5), percentile(values, 0.95), max(values))

    def to_json(self) -> dict[str, float]:
        return {"count": self.count, "p50": self.p50, "p95": self.p95, "max": self.max}


def spreads(traces: Iterable[Trace]) -> dict[str, Spread]:
    """Per phase (in ROWS order) the spread of the workspaces that went through it."""
    seen: dict[str, list[float]] = {}
    for trace in traces:
        for phase, seconds in trace.phases().items():
            seen.setdefault(phase, []).append(seconds)
    return {phase: Spread.of(seen[phase]) for phase in ROWS if phase in seen}


@dataclass(frozen=True)
class FailureClass:
    phase: str
    kind: str
    count: int
    example: str  # the first workspace's reason
    workspaces: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "class": self.kind,
            "count": self.count,
            "example": self.example,
            "workspaces": list(self.workspaces),
        }


def failure_classes(traces: Iterable[Trace]) -> list[FailureClass]:
    """Failures grouped by phase and exception class, the most frequent first."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for trace in traces:
        for failure in trace.failures:
            groups.setdefault((failure.phase, failure.kind), []).append((trace.label, failure.reason))
    classes = [
        FailureClass(phase, kind, len(items), items[0][1], tuple(name for name, _ in items))
        for (phase, kind), items in groups.items()
    ]
    return sorted(classes, key=lambda found: -found.count)


def overhead(traces: Iterable[Trace]) -> Spread | None:
    """The probe's own seconds per workspace (Trace.overhead), over the workspaces that have it."""
    values = [value for trace in traces if (value := trace.overhead()) is not None]
    return Spread.of(values) if values else None


def table(traces: Sequence[Trace], cleanup: Mapping[str, Any]) -> str:
    """The console's table: a row per phase, then the failures by class, the overhead and the cleanup."""
    lines = [f"{'phase':8} {'count':>5} {'p50 s':>8} {'p95 s':>8} {'max s':>8}  meaning"]
    for phase, spread in spreads(traces).items():
        lines.append(
            f"{phase:8} {spread.count:>5} {spread.p50:>8.2f} {spread.p95:>8.2f} {spread.max:>8.2f}  {MEANING[phase]}"
        )
    usable = sum(1 for trace in traces if trace.usable_seen is not None and not _failed_before_delete(trace))
    lines.append(f"usable: {usable} of {len(traces)} workspaces")
    classes = failure_classes(traces)
    for found in classes:
        lines.append(f"failed: {found.count} x {found.kind} in {found.phase}: {found.example}")
    if extra := overhead(traces):
        lines.append(
            f"probe overhead per workspace: p50 {extra.p50:.2f} s, p95 {extra.p95:.2f} s, max {extra.max:.2f} s "
            "(seen by the probe beyond the platform's timestamps, until the agent was ready)"
        )
    lines.append(
        f"cleanup: {cleanup.get('created', 0)} created, {cleanup.get('removed', 0)} removed, "
        f"{len(cleanup.get('not_removed', []))} not removed"
    )
    lines += [f"  NOT REMOVED: {item}" for item in cleanup.get("not_removed", [])]
    return "\n".join(lines)


def _failed_before_delete(trace: Trace) -> bool:
    return any(failure.phase != "delete" for failure in trace.failures)


def to_json(traces: Sequence[Trace], run: Mapping[str, Any], cleanup: Mapping[str, Any]) -> dict[str, Any]:
    spread = overhead(traces)
    return {
        "run": dict(run),
        "meaning": {phase: MEANING[phase] for phase in ROWS},
        "phases": {phase: found.to_json() for phase, found in spreads(traces).items()},
        "failures": [found.to_json() for found in failure_classes(traces)],
        "overhead": spread.to_json() if spread else None,
        "cleanup": dict(cleanup),
        "workspaces": [trace.to_json() for trace in traces],
    }


def write(path: Path, data: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def overhead_per_workspace(data: Mapping[str, Any]) -> float | None:
    """From a run's capacity.json: the probe's own seconds per workspace (the median), None if none was timed."""
    found = data.get("overhead")
    return float(found["p50"]) if found else None
