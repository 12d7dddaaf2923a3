"""The ledger file of a run: where it goes, and reading one whose lines are not all whole or in order."""

from __future__ import annotations

from pathlib import Path

from workspace_spec.journal import PATTERN, Journal, left, path_for


def test_a_runs_ledger_goes_in_reports_ledgers_and_is_found_there(tmp_path: Path) -> None:
    """reports/ledgers/ is the folder CI caches and the CronJob mounts (deploy/cronjob.yaml); nothing of
    reports/ need exist before the first write."""
    reports = tmp_path / "reports"
    path = path_for(reports, "ab12cd")
    Journal(path).write("create", "workspace", "spec-ab12cd-1")
    assert path == reports / "ledgers" / "ledger-ab12cd.jsonl"
    assert list((reports / "ledgers").glob(PATTERN)) == [path]
    assert left(path) == [("workspace", "spec-ab12cd-1")]


def test_a_broken_line_does_not_hide_the_lines_after_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger-ab12cd.jsonl"
    path.write_text(
        '{"op": "create", "kind": "workspace", "name": "spec-ab12cd-1"}\n'
        '{"op": "create", "kind": "work\n'
        '{"op": "create", "kind": "branch", "name": "spec/ab12cd-2"}\n'
    )
    assert left(path) == [("workspace", "spec-ab12cd-1"), ("branch", "spec/ab12cd-2")]


def test_a_removal_of_what_was_never_listed_is_no_error(tmp_path: Path) -> None:
    """A removal marked twice, or of what an older ledger listed, leaves the rest as it was."""
    journal = Journal(tmp_path / "ledger-ab12cd.jsonl")
    journal.write("create", "workspace", "spec-ab12cd-1")
    journal.write("removed", "workspace", "spec-ab12cd-9")
    journal.write("removed", "workspace", "spec-ab12cd-1")
    journal.write("removed", "workspace", "spec-ab12cd-1")
    journal.write("create", "workspace", "spec-ab12cd-2")
    assert journal.left() == [("workspace", "spec-ab12cd-2")]
