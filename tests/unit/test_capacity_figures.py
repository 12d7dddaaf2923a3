"""The capacity probe's figures from known moments: phases, percentiles, failures by class, the overhead, the
table, capacity.json and the timeline picture."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from workspace_spec.capacity import figures, timeline
from workspace_spec.capacity.__main__ import BadInput, parse
from workspace_spec.capacity.trace import Failure, Trace, epoch

T0 = 1_800_000_000.0  # the probe's first create request
SVG = "{http://www.w3.org/2000/svg}"


def trace(index: int, queued: float, build: float = 10.0, start: float = 0.0) -> Trace:
    """A workspace created at T0+start: its job created 0.1 s into the request (answered at 0.2 s), queued and
    built for the given seconds, its agent ready 2 s after the build, seen 0.3 s later, its app 1 s after that;
    deleted in 4 s from T0+100."""
    sent = T0 + start
    created = sent + 0.1
    completed = created + queued + build
    return Trace(
        index,
        name=f"spec-ab12cd-{index}",
        create_sent=sent,
        create_answered=sent + 0.2,
        job_created=created,
        job_started=created + queued,
        job_completed=completed,
        agent_ready=completed + 2.0,
        agent_seen=completed + 2.3,
        app_seen=completed + 3.3,
        delete_started=T0 + 100,
        delete_done=T0 + 104,
    )


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(20, 0, -1)]
    assert figures.percentile(values, 0.5) == 10.0
    assert figures.percentile(values, 0.95) == 19.0
    assert figures.percentile([3.0], 0.95) == 3.0
    assert figures.Spread.of([1.0, 9.0, 5.0]) == figures.Spread(3, 5.0, 9.0, 9.0)
    with pytest.raises(ValueError):
        figures.percentile([], 0.5)


def test_the_phases_come_from_the_platforms_moments_and_the_probes() -> None:
    phases = trace(1, queued=4.0).phases()
    assert phases == {"queued": 4.0, "build": 10.0, "agent": 2.0, "app": 1.0, "delete": 4.0, "usable": 17.4}


def test_the_overhead_is_what_the_probe_saw_beyond_the_platforms_account() -> None:
    # create sent -> agent seen: 0.1 + 4 + 10 + 2.3 = 16.4 s; job created -> agent ready: 16 s.
    assert trace(1, queued=4.0).overhead() == pytest.approx(0.4)
    skewed = trace(1, queued=4.0)
    for name in ("job_created", "job_started", "job_completed", "agent_ready"):
        setattr(skewed, name, getattr(skewed, name) + 3600)  # the platform's clock an hour ahead
    assert skewed.overhead() == pytest.approx(0.4)
    assert skewed.phases() == trace(1, queued=4.0).phases()
    assert Trace(1, create_sent=T0).overhead() is None


def test_the_picture_puts_the_platforms_moments_on_the_probes_clock() -> None:
    shared = trace(1, queued=4.0)
    assert shared.shift() == 0.0
    assert shared.bars(T0)[0] == ("queued", pytest.approx(0.1), pytest.approx(4.1))
    skewed = trace(1, queued=4.0)
    for name in ("job_created", "job_started", "job_completed", "agent_ready"):
        setattr(skewed, name, getattr(skewed, name) + 3600)
    assert skewed.bars(T0)[0] == ("queued", pytest.approx(0.2), pytest.approx(4.2))  # placed at the answer


def test_coders_timestamps_are_read_with_nanoseconds() -> None:
    assert epoch("2027-01-15T08:00:00.123456789Z") == pytest.approx(1_800_000_000.123456, abs=1e-6)
    assert epoch("2027-01-15T08:00:00Z") == 1_800_000_000.0
    assert epoch(None) is None
    assert epoch("yesterday") is None
    read = Trace(1)
    read.read_job({"job": {"created_at": "2027-01-15T08:00:00Z", "started_at": "2027-01-15T08:00:05.5Z"}})
    read.read_agents(
        {
            "resources": [
                {"agents": [{"ready_at": "2027-01-15T08:00:20Z"}, {"ready_at": "2027-01-15T08:00:30Z"}]},
                {"agents": [{"name": "never ready"}]},
            ]
        }
    )
    assert (read.job_created, read.job_started, read.job_completed) == (T0, T0 + 5.5, None)
    assert read.agent_ready == T0 + 30  # the last of the agents
    assert read.phases() == {"queued": 5.5}


def test_the_spreads_over_workspaces_show_the_queue() -> None:
    traces = [trace(n, queued=float(q)) for n, q in enumerate([0, 0, 0, 8, 8, 9], start=1)]
    found = figures.spreads(traces)
    assert list(found) == ["queued", "build", "agent", "app", "delete", "usable"]
    assert found["queued"] == figures.Spread(6, 0.0, 9.0, 9.0)
    assert found["build"] == figures.Spread(6, 10.0, 10.0, 10.0)


def test_failures_are_grouped_by_phase_and_class() -> None:
    traces = [trace(n, queued=0.0) for n in range(1, 5)]
    traces[0].failures.append(Failure("build", "WaitFailed", "the start build #1 failed: boom"))
    traces[2].failures.append(Failure("build", "WaitFailed", "the start build #1 failed: bang"))
    traces[3].failures.append(Failure("app", "WaitTimedOut", "code-server app health: not reached"))
    classes = figures.failure_classes(traces)
    assert [(c.phase, c.kind, c.count, c.workspaces) for c in classes] == [
        ("build", "WaitFailed", 2, ("spec-ab12cd-1", "spec-ab12cd-3")),
        ("app", "WaitTimedOut", 1, ("spec-ab12cd-4",)),
    ]
    assert classes[0].example == "the start build #1 failed: boom"


def test_the_table_has_a_row_per_phase_and_says_the_failures_overhead_and_cleanup() -> None:
    traces = [trace(1, queued=0.0), trace(2, queued=6.0)]
    traces[1].failures.append(Failure("delete", "RuntimeError", "workspace x was not deleted"))
    cleanup = {"created": 2, "removed": 1, "not_removed": ["workspace spec-ab12cd-2: not deleted"]}
    lines = figures.table(traces, cleanup).splitlines()
    assert lines[0].split()[:5] == ["phase", "count", "p50", "s", "p95"]
    rows = {line.split()[0]: line.split()[1:5] for line in lines[1:7]}
    assert rows["queued"] == ["2", "0.00", "6.00", "6.00"]
    assert rows["usable"] == ["2", "13.40", "19.40", "19.40"]
    assert "usable: 2 of 2 workspaces" in lines
    assert "failed: 1 x RuntimeError in delete: workspace x was not deleted" in lines
    assert any(line.startswith("probe overhead per workspace: p50 0.40 s, p95 0.40 s") for line in lines)
    assert lines[-2:] == [
        "cleanup: 2 created, 1 removed, 1 not removed",
        "  NOT REMOVED: workspace spec-ab12cd-2: not deleted",
    ]


def test_the_json_holds_the_figures_and_every_workspace() -> None:
    traces = [trace(1, queued=0.0), trace(2, queued=6.0), Trace(3)]
    traces[2].failures.append(Failure("create", "CoderError", "Coder answered 500"))
    data = figures.to_json(traces, {"workspaces": 3}, {"created": 3, "removed": 3, "not_removed": []})
    assert data["phases"]["queued"] == {"count": 2, "p50": 0.0, "p95": 6.0, "max": 6.0}
    assert data["overhead"] == {
        "count": 2,
        "p50": pytest.approx(0.4),
        "p95": pytest.approx(0.4),
        "max": pytest.approx(0.4),
    }
    assert data["failures"] == [
        {"phase": "create", "class": "CoderError", "count": 1, "example": "Coder answered 500", "workspaces": ["#3"]}
    ]
    assert figures.overhead_per_workspace(data) == pytest.approx(0.4)  # what bin/benchmark prints
    assert figures.overhead_per_workspace(figures.to_json([Trace(1)], {}, {})) is None
    assert [ws["workspace"] for ws in data["workspaces"]] == ["spec-ab12cd-1", "spec-ab12cd-2", ""]
    assert data["workspaces"][1]["phases"]["queued"] == 6.0
    assert set(data["meaning"]) >= {"queued", "build", "agent", "app", "delete", "usable"}


def test_the_timeline_has_a_row_per_workspace_with_its_phase_bars_to_scale() -> None:
    late, early = trace(1, queued=6.0, start=1.0), trace(2, queued=0.0)
    late.failures.append(Failure("app", "WaitTimedOut", "never healthy"))
    root = ET.fromstring(timeline.svg([late, early], "probe <run>"))
    labels = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.startswith("spec-")]
    assert labels == ["spec-ab12cd-2", "spec-ab12cd-1"]  # in the order they were created
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(bars) == 2 * 5  # queued, build, agent, app, delete each
    tips = [r.find(f"{SVG}title").text for r in bars]
    assert "queued: 6.00 s" in tips and "build: 10.00 s" in tips
    widths = {tip: float(r.get("width")) for r, tip in zip(bars, tips, strict=True)}
    assert widths["build: 10.00 s"] / widths["queued: 6.00 s"] == pytest.approx(10 / 6, rel=0.02)
    colours = {r.get("fill") for r in bars}
    assert colours == {timeline.COLOURS[p] for p in ("queued", "build", "agent", "app", "delete")}
    crosses = [t for t in root.iter(f"{SVG}text") if t.get("fill") == "#d62728"]
    assert len(crosses) == 1 and "WaitTimedOut: never healthy" in crosses[0].find(f"{SVG}title").text
    assert root.find(f"{SVG}title").text == "probe <run>"  # escaped, and read back


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--workspaces", "0", "--concurrency", "1"], "--workspaces must be at least 1, got 0"),
        (["--workspaces", "2", "--concurrency", "-1"], "--concurrency must be at least 1, got -1"),
        (["--workspaces", "two", "--concurrency", "1"], "argument --workspaces: invalid int value: 'two'"),
        (["--concurrency", "1"], "the following arguments are required: --workspaces"),
    ],
)
def test_bad_input_is_one_line(argv: list[str], said: str) -> None:
    with pytest.raises(BadInput) as refused:
        parse(argv)
    assert str(refused.value) == said
