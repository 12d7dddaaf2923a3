"""The ledger's edges: what it names, what a keep or a named release touches, what a signal sees while it
removes, and how its time limit reports a removal the platform holds."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from workspace_spec import cleanup
from workspace_spec.cleanup import CleanupFailed, Ledger
from workspace_spec.interrupts import Interrupts
from workspace_spec.journal import Journal


def _refuse(message: str) -> Callable[[], None]:
    def remove() -> None:
        raise RuntimeError(message)

    return remove


def _unfinished(kind: str, name: str, limit: str) -> str:
    return f"{kind} {name}: still being removed when the cleanup time (SPEC_CLEANUP_TIMEOUT, {limit} s) ran out"


@pytest.fixture
def sigalrm_ignored() -> Iterator[None]:
    """A deferred interrupt re-arms SIGALRM: its look must not land in the test."""
    handler = signal.getsignal(signal.SIGALRM)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)


# What it names


def test_an_unknown_scope_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="unknown cleanup scope 'step'"):
        Ledger().register("workspace", "a", "step", lambda: None)


def test_the_report_lists_what_was_created_by_kind_and_name() -> None:
    ledger = Ledger()
    ledger.register("workspace", "spec-a", "run", lambda: None)
    ledger.register("branch", "spec/b", "scenario", lambda: None)
    assert ledger.report.created == ["workspace spec-a", "branch spec/b"]


def test_every_failure_is_named_in_the_error_newest_first() -> None:
    ledger = Ledger()
    ledger.register("branch", "a", "scenario", _refuse("refused a"))
    ledger.register("branch", "b", "scenario", _refuse("refused b"))
    with pytest.raises(CleanupFailed) as raised:
        ledger.release("scenario")
    assert str(raised.value) == "branch b: refused b; branch a: refused a"


def test_a_failed_removal_is_logged_with_what_and_why(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="workspace_spec.cleanup")
    ledger = Ledger()
    ledger.register("branch", "spec/a", "scenario", _refuse("protected branch"))
    with pytest.raises(CleanupFailed):
        ledger.release("scenario")
    assert caplog.messages == ["could not remove branch spec/a: protected branch"]


def test_forgetting_an_entry_marks_it_removed_in_the_ledger_file(tmp_path: Path) -> None:
    """A scenario that deleted its workspace itself: nothing is left on disk for the sweeper."""
    ledger = Ledger()
    ledger.journal = Journal(tmp_path / "ledger-run.jsonl")
    entry = ledger.register("workspace", "spec-a", "scenario", lambda: None)
    assert ledger.journal.left() == [("workspace", "spec-a")]
    ledger.forget(entry)
    assert ledger.journal.left() == []


# What a keep or a named release touches


def test_keeping_a_scope_leaves_the_other_scopes_to_be_removed() -> None:
    removed: list[str] = []
    ledger = Ledger()
    ledger.register("workspace", "f", "feature", lambda: removed.append("f"))
    ledger.register("workspace", "s", "scenario", lambda: removed.append("s"))
    ledger.keep("scenario")
    assert ledger.report.kept == ["workspace s"]
    ledger.release()
    assert removed == ["f"]


def test_keeping_by_name_keeps_only_the_named_ones() -> None:
    removed: list[str] = []
    ledger = Ledger()
    for name in ("a", "b", "c"):
        ledger.register("branch", name, "scenario", lambda name=name: removed.append(name))
    ledger.keep("scenario", names=frozenset({"b"}))
    assert ledger.report.kept == ["branch b"]
    ledger.release("scenario")
    assert removed == ["c", "a"]


def test_a_kept_entry_is_named_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="workspace_spec.cleanup")
    ledger = Ledger()
    ledger.register("workspace", "spec-a", "scenario", lambda: None)
    ledger.keep()
    assert caplog.messages == ["keeping workspace spec-a for debugging"]


def test_releasing_one_name_removes_that_one_only() -> None:
    removed: list[str] = []
    ledger = Ledger()
    ledger.register("workspace", "a", "run", lambda: removed.append("a"))
    ledger.register("workspace", "b", "run", lambda: removed.append("b"))
    ledger.release_named("a")
    assert removed == ["a"]
    assert [entry.name for entry in ledger.pending()] == ["b"]


def test_an_entry_removed_meanwhile_does_not_stop_the_rest() -> None:
    """Deleting a pull request can take its branch with it: the ledger skips that branch, not what follows."""
    removed: list[str] = []
    ledger = Ledger()
    ledger.register("branch", "z", "scenario", lambda: removed.append("z"))
    branch = ledger.register("branch", "y", "scenario", lambda: removed.append("y"))

    def close_pull_request() -> None:
        removed.append("x")
        ledger.forget(branch)

    ledger.register("pull request", "x", "scenario", close_pull_request)
    ledger.release("scenario")
    assert removed == ["x", "z"]
    assert ledger.pending() == []


# What a signal sees while the ledger removes


def test_a_signal_before_any_cleanup_cuts_the_run_short(sigalrm_ignored: None) -> None:
    """A fresh ledger is neither removing nor at the run's end: nothing defers the interrupt."""
    ledger = Ledger()
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        Interrupts(ledger)(signal.SIGTERM, sys._getframe())


def test_a_scenarios_cleanup_is_marked_releasing_only_while_it_runs(sigalrm_ignored: None) -> None:
    """The interrupt handler defers a signal while `releasing`, and only waits once `ending`: a scenario's
    cleanup is the one, never the other, and a signal after it cuts the run short."""
    seen: list[tuple[bool, bool]] = []
    ledger = Ledger()
    ledger.register("workspace", "a", "scenario", lambda: seen.append((bool(ledger.releasing), bool(ledger.ending))))
    ledger.release("scenario")
    assert seen == [(True, False)]
    with pytest.raises(KeyboardInterrupt, match="SIGINT"):
        Interrupts(ledger)(signal.SIGINT, sys._getframe())


def test_once_the_runs_end_removes_everything_a_signal_only_waits(capfd: pytest.CaptureFixture[str]) -> None:
    seen: list[tuple[bool, bool]] = []
    ledger = Ledger()
    ledger.register("workspace", "a", "run", lambda: seen.append((bool(ledger.releasing), bool(ledger.ending))))
    ledger.release()
    assert seen == [(True, True)]
    Interrupts(ledger)(signal.SIGINT, sys._getframe())  # no raise
    assert "SIGINT: cleanup in progress" in capfd.readouterr().err


# The time limit


class Hung:
    """A removal the platform holds until `let_go` (or `after` seconds, so that no test hangs forever)."""

    def __init__(self, after: float = 5.0, error: str = "") -> None:
        self.started = threading.Event()
        self.done = threading.Event()
        self._go = threading.Event()
        self._error = error
        self._timer = threading.Timer(after, self._go.set)
        self._timer.start()
        self.on_daemon: bool | None = None

    def __call__(self) -> None:
        self.on_daemon = threading.current_thread().daemon
        self.started.set()
        try:
            self._go.wait()
            if self._error:
                raise RuntimeError(self._error)
        finally:
            self.done.set()

    def let_go(self) -> None:
        self._timer.cancel()
        self._go.set()
        assert self.done.wait(5)


def test_a_removal_still_under_way_when_the_time_runs_out_is_reported_once() -> None:
    hung = Hung(after=0.6)  # it ends soon after the limit: too late all the same
    ledger = Ledger()
    ledger.time_limit = 0.05
    ledger.register("workspace", "a", "run", hung)
    try:
        with pytest.raises(CleanupFailed) as raised:
            ledger.release()
        assert str(raised.value) == _unfinished("workspace", "a", "0.05")
        assert ledger.report.failed == [_unfinished("workspace", "a", "0.05")]
        assert hung.on_daemon is True  # one the platform holds forever does not keep the process alive
    finally:
        hung.let_go()


def test_a_removal_within_the_limit_is_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh ledger waits its whole limit, not the short grace kept for after an overrun."""
    monkeypatch.setattr(cleanup, "OVERRUN_GRACE", 0.05)
    ledger = Ledger()
    ledger.time_limit = 5.0
    ledger.register("workspace", "a", "run", lambda: time.sleep(0.3))
    ledger.release()
    assert ledger.report.removed == ["workspace a"]


def test_after_an_overrun_the_next_release_waits_only_the_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cleanup, "OVERRUN_GRACE", 0.05)
    hung = Hung()
    ledger = Ledger()
    ledger.time_limit = 1.0
    ledger.register("workspace", "a", "scenario", hung)
    ledger.register("workspace", "b", "run", lambda: time.sleep(0.4))
    try:
        with pytest.raises(CleanupFailed):
            ledger.release("scenario")
        with pytest.raises(CleanupFailed) as raised:
            ledger.release("run")
        assert str(raised.value) == _unfinished("workspace", "b", "1")
    finally:
        hung.let_go()


def _retired_in_the_background(ledger: Ledger, hung: Hung) -> threading.Thread:
    ledger.register("workspace", "spec-a", "run", hung)
    retiring = threading.Thread(target=ledger.release_named, args=("spec-a",), daemon=True)
    retiring.start()
    assert hung.started.wait(5)
    return retiring


def test_a_background_removal_under_way_at_the_runs_end_is_reported(tmp_path: Path) -> None:
    """A workspace retired early is still being deleted when the run ends: the end says so and goes, and the
    deletion that then succeeds is marked on disk only."""
    hung = Hung()
    ledger = Ledger()
    ledger.journal = Journal(tmp_path / "ledger-run.jsonl")
    ledger.time_limit = 300.0
    retiring = _retired_in_the_background(ledger, hung)
    try:
        with pytest.raises(CleanupFailed, match="spec-a: still being removed"):
            ledger.release()
    finally:
        hung.let_go()
    retiring.join(5)
    assert ledger.report.failed == [_unfinished("workspace", "spec-a", "300")]
    assert ledger.report.removed == []
    assert ledger.journal.left() == []


def test_a_scenarios_cleanup_leaves_a_background_removal_alone() -> None:
    hung = Hung()
    ledger = Ledger()
    ledger.time_limit = 300.0
    retiring = _retired_in_the_background(ledger, hung)
    try:
        ledger.release("scenario")  # nothing of its own: no error
    finally:
        hung.let_go()
    retiring.join(5)
    assert ledger.report.removed == ["workspace spec-a"]


def test_a_background_removal_that_fails_after_the_runs_end_gave_up_on_it_is_reported_once() -> None:
    hung = Hung(error="delete build failed")
    ledger = Ledger()
    ledger.time_limit = 300.0
    retiring = _retired_in_the_background(ledger, hung)
    try:
        with pytest.raises(CleanupFailed):
            ledger.release()
    finally:
        hung.let_go()
    retiring.join(5)
    assert ledger.report.failed == [_unfinished("workspace", "spec-a", "300")]
