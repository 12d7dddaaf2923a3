"""The ledger of everything the suite created, and its removal at the end of each scope.

An entry is written the moment the platform confirms a creation, so that a failure (or a signal) one
line later still finds it. Removal is best effort (one failure does not stop the rest), and each remover
gets its own fresh deadline rather than whatever time the failing step left over: pull requests and
branches first, newest first, then every workspace at once (a live delete takes minutes each).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from workspace_spec.journal import Journal

log = logging.getLogger(__name__)

SCOPES = ("scenario", "feature", "run")


@dataclass
class Entry:
    kind: str
    name: str
    scope: str
    remove: Callable[[], None]


@dataclass
class CleanupReport:
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"cleanup: {len(self.created)} created, {len(self.removed)} removed, {len(self.failed)} not removed"
        if self.kept:
            text += f", {len(self.kept)} KEPT for debugging (SPEC_KEEP_ON_FAILURE): delete them when done"
        return "\n".join(
            [
                text,
                *(f"  NOT REMOVED: {item}" for item in self.failed),
                *(f"  KEPT: {item}" for item in self.kept),
            ]
        )


class CleanupFailed(Exception):
    """Something the suite created could not be removed; it is named in the message."""


class Ledger:
    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self.report = CleanupReport()
        self.releasing = False  # a signal now must not cut the removals short
        self.ending = False  # the run's end has begun removing everything: nothing more will be created
        self._lock = threading.Lock()  # planned workspaces are registered from their own threads
        self._unraised: list[str] = []  # failed removals of workspaces retired before the run's end
        self.journal: Journal | None = None  # the ledger on disk (reports/ledger-<run>.jsonl), once opened

    def register(self, kind: str, name: str, scope: str, remove: Callable[[], None]) -> Entry:
        if scope not in SCOPES:
            raise ValueError(f"unknown cleanup scope {scope!r}")
        entry = Entry(kind, name, scope, remove)
        if self.journal is not None:
            self.journal.write("create", kind, name)  # before the caller acts: a kill leaves its name on disk
        with self._lock:
            self._entries.append(entry)
            self.report.created.append(f"{kind} {name}")
        return entry

    def forget(self, entry: Entry) -> None:
        """The suite removed it itself (a scenario that deletes its workspace), so nothing is left to do."""
        with self._lock:
            if entry in self._entries:
                self._entries.remove(entry)
                self.report.removed.append(f"{entry.kind} {entry.name}")
        self._mark_removed(entry)

    def pending(self, scope: str | None = None) -> list[Entry]:
        return [entry for entry in self._entries if scope is None or entry.scope == scope]

    def keep(self, scope: str | None = None, names: frozenset[str] | None = None) -> None:
        """Leave the scope's entries (or the named ones) in place for debugging: reported loudly, removed
        by nobody."""
        for entry in self.pending(scope):
            if names is not None and entry.name not in names:
                continue
            self._entries.remove(entry)
            self.report.kept.append(f"{entry.kind} {entry.name}")
            log.warning("keeping %s %s for debugging", entry.kind, entry.name)

    def release_named(self, name: str) -> None:
        """Remove one entry now (a workspace no remaining scenario needs); failures are reported at the end."""
        with self._lock:
            entries = [entry for entry in self._entries if entry.name == name]
        failures: list[str] = []
        self._remove_all(entries, failures)
        self.report.failed.extend(failures)
        self._unraised.extend(failures)  # the run's final release fails for them

    def release(self, scope: str | None = None) -> None:
        """Remove the scope's entries (all with None), newest first; raise if any could not be removed."""
        failures: list[str] = []
        self.releasing = True
        self.ending = self.ending or scope is None
        try:
            entries = list(reversed(self.pending(scope)))
            self._remove_all([entry for entry in entries if entry.kind != "workspace"], failures)
            workspaces = [entry for entry in entries if entry.kind == "workspace"]
            if workspaces:
                with ThreadPoolExecutor(max_workers=len(workspaces), thread_name_prefix="remove") as pool:
                    list(pool.map(lambda entry: self._remove_all([entry], failures), workspaces))
        finally:
            self.releasing = False
        self.report.failed.extend(failures)
        if scope is None:  # the run's end: also what failed in the background
            failures, self._unraised = self._unraised + failures, []
        if failures:
            raise CleanupFailed("; ".join(failures))

    def _remove_all(self, entries: Iterable[Entry], failures: list[str]) -> None:
        for entry in entries:
            with self._lock:
                if entry not in self._entries:
                    continue  # removed meanwhile (a workspace retired while the run ends)
                self._entries.remove(entry)
            try:
                entry.remove()
            except Exception as error:  # noqa: BLE001 - every entry gets its turn; failures are reported below
                failures.append(f"{entry.kind} {entry.name}: {error}")
                # Said once, in the run's cleanup summary; the log keeps it for the scenario's report.
                log.info("could not remove %s %s: %s", entry.kind, entry.name, error)
            else:
                self.report.removed.append(f"{entry.kind} {entry.name}")
                self._mark_removed(entry)

    def _mark_removed(self, entry: Entry) -> None:
        if self.journal is not None:
            self.journal.write("removed", entry.kind, entry.name)
