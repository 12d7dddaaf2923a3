"""Ctrl-C and a CI runner's SIGTERM, turned into the KeyboardInterrupt that makes behave run every after_*
hook and cleanup, raised only where it cannot break the cleanup that follows.

A KeyboardInterrupt raised in the middle of a library call can leave a lock of that library held forever:
httpcore's connection pool, for one, takes its lock in a Python-level `__enter__`, and an interrupt between
the acquire and the `with` block poisons the pool that the cleanup must then use to remove the workspaces
(the run hung). So the interrupt is raised only while the main thread runs the project's own code or waits
on a condition (a future). Inside a library (behave's included) it is raised once the call returns: the
handler looks again every few milliseconds (SIGALRM), and every library call of the suite has a deadline.
"""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType

from workspace_spec.cleanup import Ledger
from workspace_spec.console import say

_PROJECT = Path(__file__).resolve().parent.parent
RETRY_SECONDS = 0.02


def safe_to_interrupt(frame: FrameType | None) -> bool:
    """Whether raising in `frame` (the one the signal interrupted) leaves no library's lock held: the
    project's own code, or a wait that is written to be interrupted."""
    if frame is None:
        return True
    path = Path(frame.f_code.co_filename)
    if path.name == "threading.py":  # Condition.wait and Thread.join release what they hold on the way out
        return frame.f_code.co_name in ("wait", "_wait_for_tstate_lock", "join")
    if path.parts[-2:] == ("invoke", "runners.py"):  # a command over SSH: invoke passes Ctrl-C on to it
        return True
    return path.is_relative_to(_PROJECT) and not {"site-packages", ".venv", ".lab-tools"} & set(path.parts)


class Interrupts:
    """The SIGINT/SIGTERM handler. The first signal cuts the run short (once a scenario's cleanup under way is
    done); any further one, and any once the run's end has begun or a promotion is under way, only waits."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.received = False  # the run is being cut short: cleaning up comes before collecting evidence
        self.promoting = False
        self._pending = ""  # a signal not yet raised, because it arrived inside a library call

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
            signal.signal(signum, self)

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGALRM:  # another look at a signal that arrived inside a library call
            name = self._pending
            if not name:
                return
            if self.ledger.ending or self.promoting:  # the run's end began meanwhile: what the signal asked for
                self._pending = ""
                return
            if self.ledger.releasing:  # a scenario's cleanup: the interrupt comes once it is done
                signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
                return
        else:
            name = signal.Signals(signum).name
            if self.promoting:
                say(f"{name}: promotion in progress, finishing it first")
                return
            # The run is cut short already, or its end has begun (from waiting for the creates and removals
            # under way to its reports): a CI runner's SIGTERM after its SIGINT lands here, and only waits.
            if self.received or self.ledger.ending:
                say(f"{name}: cleanup in progress, removing what the run created first")
                self.received = True  # the run ends as it would have, but interrupted (run_end)
                return
            if self.ledger.releasing:  # a scenario's cleanup: the interrupt comes once it is done
                say(f"{name}: cleanup in progress, removing what the run created first")
                self.received, self._pending = True, name
                signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
                return
        self.received = True
        if not safe_to_interrupt(frame):
            self._pending = name
            signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
            return
        self._pending = ""
        raise KeyboardInterrupt(name)
