"""The ledger on disk: what was created and not removed is left, whatever a kill cut short."""

from __future__ import annotations

from pathlib import Path

import pytest

from workspace_spec.cleanup import CleanupFailed, Ledger
from workspace_spec.journal import Journal, left


def test_what_is_created_and_not_removed_is_left(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "ledger-abc.jsonl")
    ledger = Ledger()
    ledger.journal = journal
    ledger.register("workspace", "spec-abc-1", "run", lambda: None)
    ledger.register("workspace", "spec-abc-2", "run", lambda: (_ for _ in ()).throw(RuntimeError("refused")))
    assert journal.left() == [("workspace", "spec-abc-1"), ("workspace", "spec-abc-2")]
    with pytest.raises(CleanupFailed, match="refused"):
        ledger.release()
    assert journal.left() == [("workspace", "spec-abc-2")]
    assert not journal.close_if_done() and journal.path.exists()


def test_a_line_cut_short_by_a_kill_is_skipped_and_an_empty_ledger_goes(tmp_path: Path) -> None:
    path = tmp_path / "ledger-abc.jsonl"
    journal = Journal(path)
    journal.write("create", "workspace", "spec-abc-1")
    journal.write("removed", "workspace", "spec-abc-1")
    with path.open("a") as file:
        file.write('{"op": "create", "kind": "work')
    assert left(path) == []
    assert journal.close_if_done() and not path.exists()
