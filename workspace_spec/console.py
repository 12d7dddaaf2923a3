"""Lines the suite says on the console while a run goes on, whatever behave captures."""

from __future__ import annotations

import sys


def say(line: str) -> None:
    """`line` on the process's real stderr: behave captures a step's and a hook's stderr and shows it only
    with that step's result, or never (a signal's notice during a cleanup, a retry in a background create)."""
    print(line, file=sys.__stderr__ or sys.stderr, flush=True)
