"""The run's results the Prometheus way: `reports/metrics.prom` (the text format) after every run, and the
same series pushed to a Pushgateway when SPEC_PUSHGATEWAY_URL is set. docs/metrics.md lists the series and
the alert rules on them (deploy/alerts/).

Built from what the run already reports (reports/summary.json, the workspace timings), so the metrics
never say something the summary does not. Every label value is scrubbed: scenario names and versions are
the platform's words, and a deployment URL may carry credentials.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from workspace_spec import secrets

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from workspace_spec.world import World

# prometheus_client is imported where it is used: preload.METRICS loads it while the run's target starts.

PREFIX = "workspace_spec"
JOB = "workspace_spec"
# Every series carries these: which deployment, which selection of scenarios (the CronJob's is `@smoke`).
RUN_LABELS = ("target", "deployment", "tags")
# name: (help, labels beyond RUN_LABELS)
SERIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "run_passed": ("1 when the run passed (summary.json verdict `passed`), else 0", ()),
    "run_verdict": ("1, labelled with the run's verdict (passed, failed, refused, interrupted...)", ("verdict",)),
    "run_timestamp_seconds": ("When the run ended, in Unix seconds", ()),
    "run_duration_seconds": ("How long the run took, start to end", ()),
    "last_success_timestamp_seconds": ("When a run passed; pushed only by runs that pass", ()),
    "scenarios": ("How many selected scenarios ended so", ("status",)),
    "scenario_verdict": (
        "1 when the scenario passed, else 0; status says how it ended",
        ("feature", "scenario", "status"),
    ),
    "scenario_duration_seconds": ("How long the scenario took", ("feature", "scenario")),
    "phase_duration_seconds": (
        "Seconds of a workspace phase (build, agent, app, usable from the create request; stop, start, delete,"
        " browser on their own), the template's slowest workspace",
        ("template", "version", "phase"),
    ),
    "template_workspaces": ("Workspaces the run created from the template", ("template", "version")),
    "cleanup_items": ("What the run created, removed, could not remove, kept (the ledger)", ("outcome",)),
    "left_behind": ("What the run created and left on the platform: not removed, or kept for debugging", ()),
}
PUSH_TIMEOUT = 10.0


def tag_expression(tags: Sequence[str] | str | None) -> str:
    """behave's --tags as one label value; `all` when the run gave none."""
    return " ".join(map(str, tags or [])) or "all"


def build(summary: Mapping[str, Any], timings: Mapping[str, Any], tags: str) -> CollectorRegistry:
    """The series of one run, from its summary.json content and its timings (Timings.to_json())."""
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry()
    gauges = {
        name: Gauge(f"{PREFIX}_{name}", text, [*RUN_LABELS, *labels], registry=registry)
        for name, (text, labels) in SERIES.items()
    }
    run = run_labels(summary, tags)

    def set_(name: str, value: float, **labels: str) -> None:
        gauges[name].labels(**run, **{key: secrets.scrub(text) for key, text in labels.items()}).set(value)

    verdict = summary["verdict"]
    finished = datetime.fromisoformat(summary["finished_at"]).timestamp()
    set_("run_passed", verdict == "passed")
    set_("run_verdict", 1, verdict=verdict)
    set_("run_timestamp_seconds", finished)
    set_("run_duration_seconds", summary["durations"]["run_seconds"])
    if verdict == "passed":
        set_("last_success_timestamp_seconds", finished)
    for status, count in summary["counts"].items():
        set_("scenarios", count, status=status)
    for outcome in summary["scenarios"]:
        which = {"feature": outcome["feature"], "scenario": outcome["scenario"]}
        set_("scenario_verdict", outcome["status"] == "passed", **which, status=outcome["status"])
        set_("scenario_duration_seconds", outcome["seconds"], **which)
    versions: dict[str, list[str]] = {}
    for item in summary["templates"]:
        versions.setdefault(item["template"], []).append(item["version"])
    for template, phases, count in _slowest_per_template(timings):
        version = ",".join(sorted(versions.get(template, []))) or "unknown"
        set_("template_workspaces", count, template=template, version=version)
        for phase, seconds in phases.items():
            set_("phase_duration_seconds", seconds, template=template, version=version, phase=phase)
    cleanup = summary["cleanup"]
    for outcome in ("removed", "not_removed", "kept"):
        set_("cleanup_items", len(cleanup[outcome]), outcome=outcome)
    set_("cleanup_items", cleanup["created"], outcome="created")
    set_("left_behind", len(cleanup["not_removed"]) + len(cleanup["kept"]))
    return registry


def run_labels(summary: Mapping[str, Any], tags: str) -> dict[str, str]:
    """The labels of every series: the target (lab, live), the deployment's host name (never its URL, which
    may carry credentials) and the tag expression."""
    target = summary.get("target") or {}
    name = target.get("name") or "unknown"
    labels = {"target": name, "deployment": urlsplit(target.get("coder_url") or "").hostname or name, "tags": tags}
    return {key: secrets.scrub(value) for key, value in labels.items()}


def _slowest_per_template(timings: Mapping[str, Any]) -> list[tuple[str, dict[str, float], int]]:
    """(template, each phase's longest time among its workspaces, how many workspaces), in first-seen order."""
    by_template: dict[str, list[dict[str, float]]] = {}
    for workspace in timings.get("workspaces", []):
        by_template.setdefault(workspace["template"], []).append(workspace["phases"])
    result = []
    for template, workspaces in by_template.items():
        phases: dict[str, float] = {}
        for measured in workspaces:
            for phase, seconds in measured.items():
                phases[phase] = max(seconds, phases.get(phase, seconds))
        result.append((template, phases, len(workspaces)))
    return result


def export(path: Path, summary: Mapping[str, Any], world: World | None, tags: str) -> None:
    """reports/metrics.prom, always; then the push, when SPEC_PUSHGATEWAY_URL is set. A push that fails is
    one line on stderr and changes nothing else: the run's verdict is the platform's, not the gateway's."""
    from prometheus_client import generate_latest

    registry = build(summary, world.timings.to_json() if world else {}, tags)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(generate_latest(registry))
    if world is None or not world.settings.pushgateway_url:
        return  # refused before the settings were known, or no gateway asked for
    url = world.settings.pushgateway_url
    grouping = {key: value for key, value in run_labels(summary, tags).items() if key != "target"}
    if problem := push(url, registry, grouping, timeout=min(world.settings.request_timeout, PUSH_TIMEOUT)):
        print(problem, file=sys.stderr, flush=True)
    else:
        print(f"metrics: pushed to {secrets.scrub(url)}", flush=True)


def push(url: str, registry: CollectorRegistry, grouping: Mapping[str, str], timeout: float) -> str:
    """Push to the gateway's group job=workspace_spec + `grouping` (one group per deployment and selection);
    '' when it took them, else the one line saying why not. POST, not PUT: a failed run replaces every
    series it sends, and the last success's timestamp, which it does not send, stays."""
    from prometheus_client import pushadd_to_gateway

    try:
        pushadd_to_gateway(url, job=JOB, registry=registry, grouping_key=dict(grouping), timeout=timeout, handler=_send)
    except Exception as error:  # noqa: BLE001 - whatever the gateway (or what stands in for it) did: one line
        reason = str(error).splitlines()[0] if str(error).strip() else type(error).__name__
        return secrets.scrub(f"metrics: not pushed to {url}: {reason}")
    return ""


class PushRefused(Exception):
    """The gateway's answer was not a Pushgateway's acceptance."""


def _send(
    url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
) -> Callable[[], None]:
    """prometheus_client's push handler, with httpx: credentials in the URL become basic auth, and an answer
    that is not a Pushgateway's (an error, a redirect, a login page) is refused."""

    def send() -> None:
        response = httpx.request(method, url, content=data, headers=dict(headers), timeout=timeout or PUSH_TIMEOUT)
        if not 200 <= response.status_code < 300:
            raise PushRefused(f"HTTP {response.status_code} {response.reason_phrase}")
        if response.content.strip():  # a Pushgateway accepts with an empty body
            kind = response.headers.get("content-type", "unknown").split(";")[0]
            raise PushRefused(f"HTTP {response.status_code} with a {kind} body: is this a Pushgateway's URL?")

    return send
