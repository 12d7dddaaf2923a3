"""The ledger of everything the suite created, and its removal at the end of each scope.

An entry is written the moment the platform confirms a creation, so that a failure (or a signal) one
line later still finds it. Removal is best effort (one failure does not stop the rest), and each remover
gets its own fresh deadline rather than whatever time the failing step left over: pull requests and
branches first, newest first, then every workspace at once (a live delete takes minutes each).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from workspace_spec.journal import Journal

log = logging.getLogger(__name__)

SCOPES = ("scenario", "feature", "run")
# What a release waits once an earlier one ran out of time: enough for a platform that recovered.
OVERRUN_GRACE = 5.0


@dataclass(eq=False)  # one entry is one thing created: compared (and hashed) by identity
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
        self.journal: Journal | None = None  # the ledger on disk (reports/ledgers/ledger-<run>.jsonl), once opened
        self.time_limit: float | None = None  # the longest one release waits (SPEC_CLEANUP_TIMEOUT); None: no limit
        self.overran = False  # a release ran out of time: the platform hangs
        self._in_flight: set[Entry] = set()  # being removed now
        self._given_up: set[Entry] = set()  # reported as not removed while still being removed

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
        """Remove the scope's entries (all with None), newest first; raise if any could not be removed.
        Bounded as a whole by `time_limit`: what is still being removed then is reported as not removed
        (and stays in the ledger file), so a platform that hangs cannot hold the run's end."""
        failures: list[str] = []
        self.releasing = True
        self.ending = self.ending or scope is None
        try:
            entries = list(reversed(self.pending(scope)))
            others = [entry for entry in entries if entry.kind != "workspace"]
            groups = [others] if others else []
            groups += [[entry] for entry in entries if entry.kind == "workspace"]  # every workspace at once
            self._run_bounded(groups, failures)
            if scope is None:
                self._report_unfinished(self._in_flight, failures)
        finally:
            self.releasing = False
        self.report.failed.extend(failures)
        if scope is None:  # the run's end: also what failed in the background
            failures, self._unraised = self._unraised + failures, []
        if failures:
            raise CleanupFailed("; ".join(failures))

    def _run_bounded(self, groups: list[list[Entry]], failures: list[str]) -> None:
        """Each group in a thread of its own (daemon: one the platform holds forever does not keep the
        process alive), waited for until the time limit; what is unfinished then is reported."""
        limit = self.time_limit
        if limit is not None and self.overran:
            limit = min(limit, OVERRUN_GRACE)  # the platform already hung one removal: no full wait again
        deadline = None if limit is None else time.monotonic() + limit
        threads = [
            threading.Thread(target=self._remove_all, args=(group, failures), name="remove", daemon=True)
            for group in groups
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._report_unfinished([entry for group in groups for entry in group if entry in self._in_flight], failures)

    def _report_unfinished(self, entries: Iterable[Entry], failures: list[str]) -> None:
        with self._lock:
            unfinished = [entry for entry in entries if entry not in self._given_up]
            self._given_up.update(unfinished)
        for entry in unfinished:
            self.overran = True
            failures.append(
                f"{entry.kind} {entry.name}: still being removed when the cleanup time "
                f"(SPEC_CLEANUP_TIMEOUT, {self.time_limit:g} s) ran out"
            )

    def _remove_all(self, entries: Iterable[Entry], failures: list[str]) -> None:
        for entry in entries:
            with self._lock:
                if entry not in self._entries:
                    continue  # removed meanwhile (a workspace retired while the run ends)
                self._entries.remove(entry)
                self._in_flight.add(entry)
            try:
                entry.remove()
            except Exception as error:  # noqa: BLE001 - every entry gets its turn; failures are reported below
                with self._lock:
                    self._in_flight.discard(entry)
                    reported = entry in self._given_up
                if not reported:
                    failures.append(f"{entry.kind} {entry.name}: {error}")
                # Said once, in the run's cleanup summary; the log keeps it for the scenario's report.
                log.info("could not remove %s %s: %s", entry.kind, entry.name, error)
            else:
                with self._lock:
                    self._in_flight.discard(entry)
                    reported = entry in self._given_up
                if not reported:  # one given up on and gone later is only marked so on disk
                    self.report.removed.append(f"{entry.kind} {entry.name}")
                self._mark_removed(entry)

    def _mark_removed(self, entry: Entry) -> None:
        if self.journal is not None:
            self.journal.write("removed", entry.kind, entry.name)
