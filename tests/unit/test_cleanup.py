import pytest

from tests.helpers.suite import cleanup_counts
from workspace_spec.cleanup import CleanupFailed, Ledger


def test_release_removes_the_scope_newest_first():
    removed = []
    ledger = Ledger()
    ledger.register("workspace", "a", "feature", lambda: removed.append("a"))
    ledger.register("workspace", "b", "scenario", lambda: removed.append("b"))
    ledger.register("workspace", "c", "feature", lambda: removed.append("c"))
    ledger.release("scenario")
    assert removed == ["b"]
    ledger.release("feature")
    assert removed == ["b", "c", "a"]
    assert ledger.pending() == []
    assert ledger.report.removed == ["workspace b", "workspace c", "workspace a"]


def test_one_failure_does_not_stop_the_rest_and_is_reported():
    removed = []
    ledger = Ledger()
    ledger.register("workspace", "a", "run", lambda: removed.append("a"))

    def broken():
        raise RuntimeError("delete build failed")

    ledger.register("workspace", "b", "run", broken)
    with pytest.raises(CleanupFailed, match="workspace b: delete build failed"):
        ledger.release()
    assert removed == ["a"]
    assert ledger.report.failed == ["workspace b: delete build failed"]
    assert "  NOT REMOVED: workspace b: delete build failed" in ledger.report.summary().splitlines()


def test_forgotten_entries_are_not_removed_twice():
    removed = []
    ledger = Ledger()
    entry = ledger.register("workspace", "a", "scenario", lambda: removed.append("a"))
    ledger.forget(entry)
    ledger.release("scenario")
    assert removed == []
    assert ledger.report.removed == ["workspace a"]


def test_unknown_scope_is_a_programming_error():
    with pytest.raises(ValueError):
        Ledger().register("workspace", "a", "step", lambda: None)


def test_kept_entries_are_reported_loudly_and_not_removed():
    removed = []
    ledger = Ledger()
    ledger.register("workspace", "a", "scenario", lambda: removed.append("a"))
    ledger.keep("scenario")
    ledger.release("scenario")
    assert removed == []
    assert cleanup_counts(ledger.report.summary()).kept == 1
    assert "  KEPT: workspace a" in ledger.report.summary().splitlines()


def test_a_removal_that_failed_in_the_background_fails_the_runs_end() -> None:
    from workspace_spec.cleanup import CleanupFailed, Ledger

    ledger = Ledger()

    def fail() -> None:
        raise RuntimeError("delete build failed")

    ledger.register("workspace", "spec-abcdef-1", "run", fail)
    ledger.release_named("spec-abcdef-1")  # retired early, in the background: nothing raised yet
    with pytest.raises(CleanupFailed, match="spec-abcdef-1: delete build failed"):
        ledger.release()
    assert ledger.report.failed == ["workspace spec-abcdef-1: delete build failed"]
