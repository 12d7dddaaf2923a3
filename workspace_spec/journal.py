"""The ledger on disk: one JSON line per fact, appended and synced before the suite acts, so that a run
killed at any moment (SIGKILL included) leaves a file naming what it may have created.

    {"op": "create", "kind": "workspace", "name": "spec-ab12cd-1"}   before the create request
    {"op": "removed", "kind": "workspace", "name": "spec-ab12cd-1"}  once it is gone

What was created and never marked removed is left: `python -m workspace_spec.sweep --ledger <file>`
removes exactly that.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

PATTERN = "ledger-*.jsonl"


def path_for(reports: Path, run_id: str) -> Path:
    """reports/ledgers/ledger-<run>.jsonl: a folder of its own, which CI caches and the CronJob keeps on a
    volume, so the next run finds what a broken one left."""
    return reports / "ledgers" / f"ledger-{run_id}.jsonl"


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, op: str, kind: str, name: str) -> None:
        line = json.dumps({"op": op, "kind": kind, "name": name}) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                file.write(line)
                file.flush()
                os.fsync(file.fileno())  # on disk before the request that may create it

    def left(self) -> list[tuple[str, str]]:
        return left(self.path)

    def close_if_done(self) -> bool:
        """Remove the file when nothing is left; True if it was."""
        if self.path.exists() and not self.left():
            self.path.unlink()
            return True
        return not self.path.exists()


def left(path: Path) -> list[tuple[str, str]]:
    """(kind, name) of what the ledger file says was created and not removed, in order of creation. A line
    cut short by a kill is skipped: only the last one can be, and it is written before its act."""
    pending: dict[tuple[str, str], None] = {}
    if not path.exists():
        return []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            fact = json.loads(line)
            key = (str(fact["kind"]), str(fact["name"]))
        except (ValueError, KeyError, TypeError):
            continue
        if fact.get("op") == "create":
            pending[key] = None
        elif fact.get("op") == "removed":
            pending.pop(key, None)
    return list(pending)
