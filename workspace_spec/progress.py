"""How a long wait says it is still waiting: one plain line per interval on stderr, naming the workspace,
what is awaited and the platform's last state (`Progress`)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from workspace_spec.coder_types import Workspace
from workspace_spec.secrets import scrub
from workspace_spec.workspace_states import state

if TYPE_CHECKING:
    from workspace_spec.settings import Settings


DEFAULT_PROGRESS_INTERVAL = 15.0


_WRITE_LOCK = threading.Lock()  # waits may run in parallel threads: one whole line at a time


@dataclass(frozen=True)
class Progress:
    """How a wait reports that it is still waiting: every `interval` seconds (0: never), one line on
    `stream`. No stream means the process's real stderr (`sys.__stderr__`), which behave's output capture
    does not swallow. Lines are plain text, flushed at once (no TTY needed), scrubbed of secrets."""

    interval: float = DEFAULT_PROGRESS_INTERVAL
    stream: TextIO | None = None

    @classmethod
    def from_settings(cls, settings: Settings, stream: TextIO | None = None) -> Progress:
        return cls(settings.progress_interval, stream)

    @contextmanager
    def reporting(self, what: str, subject: Callable[[], tuple[str, Workspace | None]]) -> Iterator[None]:
        """While the block runs, write a line per interval; `subject` gives the name and the last state."""
        if self.interval <= 0:
            yield
            return
        started = time.monotonic()
        done = threading.Event()

        def report() -> None:
            while not done.wait(self.interval):
                name, last = subject()
                self.write(progress_line(time.monotonic() - started, name, what, last))

        reporter = threading.Thread(target=report, name=f"progress: {what}", daemon=True)
        reporter.start()
        try:
            yield
        finally:
            done.set()
            reporter.join()

    def write(self, line: str) -> None:
        stream = self.stream or sys.__stderr__ or sys.stderr
        with _WRITE_LOCK:
            stream.write(scrub(line) + "\n")
            stream.flush()


_default_progress = Progress()


def set_default_progress(progress: Progress) -> None:
    """The progress every wait uses when its caller passes none; set once from the run's settings."""
    global _default_progress
    _default_progress = progress


def default_progress() -> Progress:
    return _default_progress


def progress_line(elapsed: float, name: str, what: str, last: Workspace | None) -> str:
    """`waiting 45s for spec-x-1: workspace build (build #1 start, job running)`."""
    return f"waiting {elapsed:.0f}s for {name}: {what} ({state(last)})"
