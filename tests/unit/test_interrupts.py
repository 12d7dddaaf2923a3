"""Where a Ctrl-C or SIGTERM may become a KeyboardInterrupt: never inside a library holding its lock."""

from __future__ import annotations

import io
import signal
import sys
import threading
import time
from types import FrameType

import httpx
import pytest

from workspace_spec.cleanup import Ledger
from workspace_spec.interrupts import Interrupts, safe_to_interrupt


def test_the_projects_own_code_and_waits_are_safe_places() -> None:
    assert safe_to_interrupt(sys._getframe())
    waiting: list[FrameType] = []
    condition = threading.Condition()

    def watch() -> None:  # the main thread, seen from outside while it waits on a condition
        time.sleep(0.1)
        waiting.append(sys._current_frames()[threading.main_thread().ident])
        with condition:
            condition.notify()

    threading.Thread(target=watch).start()
    with condition:
        condition.wait(5)
    assert waiting and safe_to_interrupt(waiting[0])


def test_a_librarys_frame_is_not() -> None:
    frames: list[FrameType] = []

    def transport(request: httpx.Request) -> httpx.Response:
        frames.append(sys._getframe(1))  # httpx's frame that called this transport
        return httpx.Response(200)

    httpx.Client(transport=httpx.MockTransport(transport)).get("http://coder.invalid/")
    assert not safe_to_interrupt(frames[0])


# A library's code, as the interpreter sees it: its frames name a file under site-packages.
LIBRARY = """
import os, signal, time

def call(done):
    os.kill(os.getpid(), signal.SIGTERM)  # arrives while the library is at work
    started = time.monotonic()
    while time.monotonic() - started < 0.2:
        pass
    done.append(True)
"""


def test_a_signal_inside_a_library_call_is_raised_once_it_returns() -> None:
    library: dict = {}
    exec(compile(LIBRARY, "/usr/lib/python3/site-packages/somelib/pool.py", "exec"), library)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    interrupts = Interrupts(Ledger())
    interrupts.install()
    done: list[bool] = []
    try:
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            library["call"](done)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # the project's code again: the interrupt lands here
                time.sleep(0.01)
        assert done, "the interrupt was raised inside the library call"
        assert interrupts.received
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def test_a_deferred_interrupt_never_cuts_a_cleanup_short() -> None:
    """Deferred into a scenario's cleanup, it waits for the cleanup; deferred into the run's end, it is what
    the run is doing already, and goes."""
    handler = signal.getsignal(signal.SIGALRM)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)  # the re-armed look must not land in this test
    try:
        ledger = Ledger()
        interrupts = Interrupts(ledger)
        interrupts._pending = "SIGTERM"  # as a signal inside a library call leaves it
        ledger.releasing = True
        interrupts(signal.SIGALRM, sys._getframe())  # no raise: the scenario's cleanup goes on
        ledger.releasing = False
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            interrupts(signal.SIGALRM, sys._getframe())
        interrupts._pending = "SIGINT"
        ledger.releasing = ledger.ending = True
        interrupts(signal.SIGALRM, sys._getframe())
        ledger.releasing = False
        interrupts(signal.SIGALRM, sys._getframe())  # dropped: the run's end is under way
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)


def test_a_second_signal_only_waits_for_the_cleanup_the_first_began(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI runner that cancels a job sends SIGINT, then SIGTERM: the second lands in the cleanup the first
    started, and must not cut it short. It says so on the console, not into behave's capture of a hook's
    stderr (shown with that hook's result, or never)."""
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)  # as behave's capture does
    ledger = Ledger()
    interrupts = Interrupts(ledger)
    with pytest.raises(KeyboardInterrupt, match="SIGINT"):
        interrupts(signal.SIGINT, sys._getframe())
    interrupts(signal.SIGTERM, sys._getframe())  # no raise: between cleanups as much as in one
    ledger.releasing = True
    interrupts(signal.SIGTERM, sys._getframe())
    assert (
        capfd.readouterr().err.splitlines() == ["SIGTERM: cleanup in progress, removing what the run created first"] * 2
    )
    assert not captured.getvalue()


@pytest.mark.parametrize("where", ["the run's end", "a promotion"])
def test_a_first_signal_at_the_runs_end_or_in_a_promotion_only_waits(
    where: str, capfd: pytest.CaptureFixture[str]
) -> None:
    ledger = Ledger()
    interrupts = Interrupts(ledger)
    if where == "a promotion":
        interrupts.promoting = True
    else:
        ledger.ending = True  # set by the plan's stop, the run's first cleanup
    interrupts(signal.SIGINT, sys._getframe())
    said = "promotion in progress, finishing it first" if where == "a promotion" else "cleanup in progress"
    assert said in capfd.readouterr().err


def test_a_first_signal_in_a_scenarios_cleanup_comes_once_it_is_done(capfd: pytest.CaptureFixture[str]) -> None:
    """Not lost: the run is still cut short, after the removals of the scenario."""
    handler = signal.getsignal(signal.SIGALRM)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)  # the re-armed look must not land in this test
    try:
        ledger = Ledger()
        interrupts = Interrupts(ledger)
        ledger.releasing = True
        interrupts(signal.SIGTERM, sys._getframe())  # no raise
        assert interrupts.received and "cleanup in progress" in capfd.readouterr().err
        interrupts(signal.SIGALRM, sys._getframe())  # still releasing: it waits
        ledger.releasing = False
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            interrupts(signal.SIGALRM, sys._getframe())
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)


def test_a_signal_that_came_only_to_wait_still_ends_the_run_interrupted() -> None:
    """Ctrl-C once the run's end has begun cuts nothing short, but the run does not end as passed."""
    from reporting.run_end import ends_interrupted

    class Context:
        aborted_for = ""

        def abort(self, reason: str = "") -> None:
            self.aborted_for = reason

    ledger = Ledger()
    ledger.ending = True
    context = Context()
    context.interrupts = Interrupts(ledger)  # type: ignore[attr-defined]
    ends_interrupted(context)  # type: ignore[arg-type]
    assert not context.aborted_for
    context.interrupts(signal.SIGINT, sys._getframe())  # type: ignore[attr-defined]  # only waits: no raise
    ends_interrupted(context)  # type: ignore[arg-type]
    assert context.aborted_for == "Ctrl-C or SIGTERM: the run ends interrupted"
