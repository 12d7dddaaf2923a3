"""A wait that lasts says what it awaits, at an interval; a short one says nothing."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from workspace_spec import waiting
from workspace_spec.coder_types import Agent, App, Workspace
from workspace_spec.progress import Progress, default_progress, set_default_progress
from workspace_spec.settings import SettingsError, load_settings
from workspace_spec.waiting import WaitTimedOut, wait_for_build, wait_until


def workspace(job_status: str, agent_name: str = "main") -> Workspace:
    agent = Agent("a1", agent_name, "connecting", "starting", (App("code-server", "initializing", None),))
    return Workspace(
        id="w1",
        name="spec-x-1",
        owner_name="ci",
        template_name="ameide-dev",
        ttl_ms=None,
        build_id="b1",
        build_number=1,
        transition="start",
        status="starting" if job_status != "succeeded" else "running",
        job_status=job_status,
        job_error="",
        deadline=None,
        provisioners=None,
        agents=(agent,),
        raw={},
    )


class FakeCoder:
    """A build that runs for `build_seconds`; its /watch stream either reports every change or stays silent."""

    stream_buffered: bool | None = None  # as CoderClient: the waits judge the stream on their first look

    def __init__(self, build_seconds: float, silent_stream: bool = False, agent_name: str = "main") -> None:
        self.started = time.monotonic()
        self.build_seconds = build_seconds
        self.silent_stream = silent_stream
        self.agent_name = agent_name

    def workspace(self, workspace_id: str) -> Workspace:
        done = time.monotonic() - self.started >= self.build_seconds
        return workspace("succeeded" if done else "running", self.agent_name)

    @contextmanager
    def watch(self, workspace_id: str, read_timeout: float) -> Iterator[Iterator[Workspace]]:
        def events() -> Iterator[Workspace]:
            if self.silent_stream:
                time.sleep(read_timeout)
                raise httpx.ReadTimeout("stream silent")
            while True:
                time.sleep(0.02)
                yield self.workspace(workspace_id)

        yield events()


def build_done(ws: Workspace) -> bool:
    return ws.job_status == "succeeded"


def never_failed(ws: Workspace) -> None:
    return None


def test_a_long_wait_names_the_workspace_what_it_awaits_and_the_last_state() -> None:
    stream = io.StringIO()
    wait_for_build(FakeCoder(0.5), "w1", "b1", timeout=10, progress=Progress(0.1, stream))
    lines = stream.getvalue().splitlines()
    assert 3 <= len(lines) <= 6, lines
    pattern = r"waiting \d+s for spec-x-1: workspace build \(build #1 start, job running; agent main connecting/"
    assert all(re.match(pattern, line) for line in lines), lines


def test_a_short_wait_prints_nothing() -> None:
    stream = io.StringIO()
    wait_until(FakeCoder(0), "w1", "workspace build", build_done, never_failed, 10, Progress(2, stream))
    assert stream.getvalue() == ""


def test_an_interval_of_zero_turns_progress_off() -> None:
    stream = io.StringIO()
    wait_until(FakeCoder(0.3), "w1", "workspace build", build_done, never_failed, 10, Progress(0, stream))
    assert stream.getvalue() == ""


def test_progress_goes_on_while_the_stream_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting, "STREAM_SILENCE_SECONDS", 0.8)
    monkeypatch.setattr(waiting, "POLL_INTERVAL_SECONDS", 0.2)
    stream = io.StringIO()
    wait_until(FakeCoder(1.0, silent_stream=True), "w1", "build", build_done, never_failed, 10, Progress(0.2, stream))
    assert len(stream.getvalue().splitlines()) >= 3


def test_a_timed_out_wait_has_reported_all_along() -> None:
    stream = io.StringIO()
    with pytest.raises(WaitTimedOut):
        wait_until(FakeCoder(60), "w1", "workspace build", build_done, never_failed, 1.5, Progress(0.2, stream))
    assert stream.getvalue().count("\n") >= 2  # a line every 0.2 s: at least two in 1.5 s, even on a busy machine


def test_progress_lines_carry_no_secret() -> None:
    token = "ghp_" + "s3cret" * 7
    stream = io.StringIO()
    wait_for_build(FakeCoder(0.3, agent_name=token), "w1", "b1", timeout=10, progress=Progress(0.1, stream))
    assert stream.getvalue() and token not in stream.getvalue()
    assert "[REDACTED]" in stream.getvalue()


def test_waits_without_a_progress_use_the_default() -> None:
    stream = io.StringIO()
    saved = default_progress()
    set_default_progress(Progress(0.1, stream))
    try:
        wait_for_build(FakeCoder(0.3), "w1", "b1", timeout=10)
    finally:
        set_default_progress(saved)
    assert stream.getvalue().startswith("waiting ")


def test_the_interval_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Progress.from_settings(load_settings()).interval == 15
    monkeypatch.setenv("SPEC_PROGRESS_INTERVAL", "0")
    assert Progress.from_settings(load_settings()).interval == 0
    with pytest.raises(SettingsError, match=r"SPEC_PROGRESS_INTERVAL \(-D progress_interval\)"):
        load_settings({"progress_interval": "-1"})
