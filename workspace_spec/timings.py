"""How long the platform took, per workspace and phase, as data (reports/timings.json) and as a summary.

Phases, in seconds:
- `build`, `agent`, `app`: from the create request until the start build succeeded, the agent was ready,
  the app was healthy;
- `usable`: from the create request until the workspace was usable (build, agent and app);
- `stop`, `start`, `delete`: how long each of those transitions took (`start` until usable again);
- `browser`: from opening the app in a browser until VS Code was interactive (workbench, repository, a live
  connection to its server).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PHASES = ("build", "agent", "app", "usable", "stop", "start", "delete", "browser")


@dataclass
class _Workspace:
    template: str
    phases: dict[str, float] = field(default_factory=dict)


class Timings:
    """A thread-safe recorder of phase timings; workspaces are kept in the order they were first marked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workspaces: dict[str, _Workspace] = {}

    def mark(self, workspace: str, template: str, phase: str, seconds: float) -> None:
        """Record one phase of one workspace. A phase keeps its first mark: a shared workspace is found
        usable again on every use, and only its first time says how long the platform took."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}; phases are {', '.join(PHASES)}")
        with self._lock:
            entry = self._workspaces.setdefault(workspace, _Workspace(template))
            entry.phases.setdefault(phase, round(float(seconds), 3))

    @contextmanager
    def timed(self, workspace: str, template: str, phase: str) -> Iterator[None]:
        """Mark how long the block took, when it ends without an error (`with timings.timed(..., "stop"):`)."""
        started = time.monotonic()
        yield
        self.mark(workspace, template, phase, time.monotonic() - started)

    def _snapshot(self) -> dict[str, _Workspace]:
        with self._lock:
            return {name: _Workspace(entry.template, dict(entry.phases)) for name, entry in self._workspaces.items()}

    def to_json(self, run: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """{"run": <the caller's run id, target...>, "workspaces": [{"workspace", "template", "phases"}],
        "summary": [one line per template]}."""
        workspaces = self._snapshot()
        ordered = [
            {
                "workspace": name,
                "template": entry.template,
                "phases": {phase: entry.phases[phase] for phase in PHASES if phase in entry.phases},
            }
            for name, entry in workspaces.items()
        ]
        return {"run": dict(run or {}), "workspaces": ordered, "summary": self._summary(workspaces)}

    def write(self, path: Path | str, run: Mapping[str, Any] | None = None) -> Path:
        """Write to_json() to `path` (its directory is created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(run), indent=2) + "\n")
        return path

    def summary_lines(self) -> list[str]:
        """One line per template, from its slowest workspace (the longest `usable`; without one, the first
        marked): `ameide-dev: usable in 214 s (build 180, agent 30, app 4)`, where build, agent and app are
        the steps between them (build from create, then agent after build, app after agent), followed by
        the stop, start and delete times when measured, and how many workspaces the template had."""
        return self._summary(self._snapshot())

    def allure_text(self) -> str:
        """The summary, then every workspace's phases: a plain-text attachment."""
        workspaces = self._snapshot()
        lines = self._summary(workspaces) or ["no workspace timings recorded"]
        lines.append("")
        for name, entry in workspaces.items():
            phases = ", ".join(f"{phase} {entry.phases[phase]:.1f} s" for phase in PHASES if phase in entry.phases)
            lines.append(f"{name} ({entry.template}): {phases}")
        return "\n".join(lines) + "\n"

    @staticmethod
    def _summary(workspaces: dict[str, _Workspace]) -> list[str]:
        by_template: dict[str, list[_Workspace]] = {}
        for entry in workspaces.values():
            by_template.setdefault(entry.template, []).append(entry)
        lines = []
        for template, entries in by_template.items():
            timed = [entry for entry in entries if "usable" in entry.phases]
            chosen = max(timed, key=lambda entry: entry.phases["usable"]) if timed else entries[0]
            which = f" [{'slowest' if timed else 'first'} of {len(entries)} workspaces]" if len(entries) > 1 else ""
            lines.append(f"{template}: {_describe(chosen.phases)}{which}")
        return lines


def _describe(phases: dict[str, float]) -> str:
    steps, before = [], 0.0
    for phase in ("build", "agent", "app"):
        if phase in phases:
            steps.append(f"{phase} {phases[phase] - before:.0f}")
            before = phases[phase]
    usable = phases.get("usable", phases.get("app"))
    text = f"usable in {usable:.0f} s" if usable is not None else "never usable"
    if steps:
        text += f" ({', '.join(steps)})"
    after = [f"{phase} {phases[phase]:.0f} s" for phase in ("stop", "start", "delete") if phase in phases]
    if "browser" in phases:
        after.append(f"VS Code interactive in the browser in {phases['browser']:.1f} s")
    return text + (f"; {', '.join(after)}" if after else "")
