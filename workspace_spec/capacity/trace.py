"""One workspace of the probe: the moments the platform reports and those the probe saw, and its phases.

The platform's own timestamps say where its time went: the start build's provisioner job (`created_at`,
`started_at`, `completed_at`) splits waiting for a provisioner from building, and the agents' `ready_at` ends
the agent phase. Coder stamps no moment for an app turning healthy, so that phase (and SSH, the browser, the
delete) is what the probe saw. Every duration is a difference of two moments on one clock (the platform's, or
the probe's), so a skew between the two clocks changes no figure; it only shifts the picture, which places the
platform's moments on the probe's clock (`shift`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The phases, in the order a workspace goes through them; ssh and browser only when the probe was asked to.
PHASES = ("queued", "build", "agent", "app", "ssh", "browser", "delete")
# What each phase means, for the table, the JSON and the docs.
MEANING = {
    "queued": "start build waiting for a provisioner (job created -> started, platform clock)",
    "build": "start build running (job started -> completed, platform clock)",
    "agent": "agent becoming ready (build completed -> agent ready_at, platform clock)",
    "app": "app turning healthy (agent seen ready -> app seen healthy, probe clock)",
    "ssh": "a command over SSH (app healthy -> command answered, probe clock)",
    "browser": "VS Code interactive in a browser (probe clock)",
    "delete": "removal (delete sent -> Coder no longer serves it, probe clock)",
    "usable": "create sent -> usable as the probe judges it (probe clock)",
}
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Coder writes nanoseconds; Python reads microseconds


def epoch(timestamp: Any) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp as Coder writes it; None when absent or unreadable."""
    if not isinstance(timestamp, str) or not timestamp:
        return None
    try:
        return datetime.fromisoformat(_FRACTION.sub(r"\1", timestamp.replace("Z", "+00:00"))).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class Failure:
    phase: str  # where it stopped: create, queued/build (the build), agent, app, ssh, browser, delete
    kind: str  # the exception's class: WaitFailed, WaitTimedOut, CoderError, ShellUnavailable...
    reason: str  # its first line, scrubbed when it was made

    def to_json(self) -> dict[str, str]:
        return {"phase": self.phase, "class": self.kind, "reason": self.reason}


@dataclass
class Trace:
    """Moments in seconds since the epoch: `create_*`, `*_seen`, `delete_*` on the probe's clock, `job_*` and
    `agent_ready` as the platform reported them."""

    index: int
    name: str = ""
    create_sent: float | None = None
    create_answered: float | None = None
    job_created: float | None = None
    job_started: float | None = None
    job_completed: float | None = None
    agent_ready: float | None = None
    agent_seen: float | None = None
    app_seen: float | None = None
    ssh_seen: float | None = None
    browser_seen: float | None = None
    delete_started: float | None = None
    delete_done: float | None = None
    failures: list[Failure] = field(default_factory=list)

    def read_job(self, build: dict[str, Any]) -> None:
        """The start build's job timestamps (a build Coder answered, as `latest_build`)."""
        job = build.get("job") or {}
        self.job_created = epoch(job.get("created_at"))
        self.job_started = epoch(job.get("started_at"))
        self.job_completed = epoch(job.get("completed_at"))

    def read_agents(self, build: dict[str, Any]) -> None:
        """The moment the last of the build's agents became ready (`ready_at`), as the platform says."""
        moments = [
            epoch(agent.get("ready_at"))
            for resource in build.get("resources") or []
            for agent in resource.get("agents") or []
        ]
        self.agent_ready = max((m for m in moments if m is not None), default=None)

    @property
    def label(self) -> str:
        """Its name, or its number when the create failed before Coder answered one."""
        return self.name or f"#{self.index}"

    @property
    def usable_seen(self) -> float | None:
        """When the last check asked of the probe passed."""
        return self.browser_seen or self.ssh_seen or self.app_seen

    def phases(self) -> dict[str, float]:
        """Seconds per phase that both ends of were seen; `usable` from the create request on."""
        spans = {
            "queued": (self.job_created, self.job_started),
            "build": (self.job_started, self.job_completed),
            "agent": (self.job_completed, self.agent_ready),
            "app": (self.agent_seen, self.app_seen),
            "ssh": (self.app_seen, self.ssh_seen),
            "browser": (self.ssh_seen or self.app_seen, self.browser_seen),
            "delete": (self.delete_started, self.delete_done),
            "usable": (self.create_sent, self.usable_seen),
        }
        return {
            phase: round(max(0.0, end - start), 3)
            for phase, (start, end) in spans.items()
            if start is not None and end is not None
        }

    def overhead(self) -> float | None:
        """The probe's own time until it saw the agent ready, beyond what the platform accounts for: (create
        sent -> agent seen ready, probe clock) - (job created -> agent ready_at, platform clock). The create
        request's round trip and how late the probe noticed each change; None until both are known."""
        if None in (self.create_sent, self.agent_seen, self.job_created, self.agent_ready):
            return None
        assert self.create_sent and self.agent_seen and self.job_created and self.agent_ready
        observed = self.agent_seen - self.create_sent
        return round(max(0.0, observed - (self.agent_ready - self.job_created)), 3)

    def shift(self) -> float:
        """What places the platform's moments on the probe's clock: zero when the job's creation lies within
        the create request, as it must on a shared clock; else the skew that puts it at the answer."""
        if self.job_created is None or self.create_sent is None or self.create_answered is None:
            return 0.0
        if self.create_sent <= self.job_created <= self.create_answered:
            return 0.0
        return self.create_answered - self.job_created

    def bars(self, origin: float) -> list[tuple[str, float, float]]:
        """(phase, start, end) in seconds since `origin` on the probe's clock, for the picture."""
        shift = self.shift()

        def local(moment: float | None) -> float | None:
            return None if moment is None else moment + shift

        spans = [
            ("queued", local(self.job_created), local(self.job_started)),
            ("build", local(self.job_started), local(self.job_completed)),
            ("agent", local(self.job_completed), local(self.agent_ready)),
            ("app", self.agent_seen, self.app_seen),
            ("ssh", self.app_seen, self.ssh_seen),
            ("browser", self.ssh_seen or self.app_seen, self.browser_seen),
            ("delete", self.delete_started, self.delete_done),
        ]
        return [
            (phase, start - origin, max(start, end) - origin)
            for phase, start, end in spans
            if start is not None and end is not None
        ]

    def to_json(self) -> dict[str, Any]:
        overhead = self.overhead()
        return {
            "workspace": self.name,
            "phases": self.phases(),
            "overhead": overhead,
            "failures": [failure.to_json() for failure in self.failures],
        }
