"""What a pull request changes, read from the per-file patches GitHub lists, against the one line the
workflow proposed: an added line alone is the change; adding it and removing another is not."""

from __future__ import annotations

from workspace_spec.e2e import CHANGED_FILE, Proposal
from workspace_spec.github import FileChange, PullFacts, _changed_lines

LINE = "workspace-spec spec/abc123-1: a deterministic change"
PROPOSAL = Proposal("spec/abc123-1", LINE, "c0ffee", 7)


def pull(*patches: tuple[str, str]) -> PullFacts:
    """A pull request as PullRequests.facts reads it: (filename, patch) for each file GitHub lists."""
    return PullFacts(7, PROPOSAL.branch, "c0ffee", tuple(FileChange(name, *_changed_lines(p)) for name, p in patches))


def test_a_patch_that_only_adds_the_line_is_the_proposed_change() -> None:
    patch = f"@@ -3,2 +3,3 @@\n context one\n context two\n+{LINE}"
    assert pull((CHANGED_FILE, patch)).changes() == PROPOSAL.changes


def test_adding_the_line_and_removing_another_is_not() -> None:
    patch = f"@@ -3,2 +3,2 @@\n context one\n-the licence paragraph\n+{LINE}"
    changes = pull((CHANGED_FILE, patch)).changes()
    assert changes == [(CHANGED_FILE, (LINE,), ("the licence paragraph",))]
    assert changes != PROPOSAL.changes


def test_the_line_added_with_another_file_or_twice_is_not() -> None:
    added = f"@@ -3,1 +3,2 @@\n context\n+{LINE}"
    assert pull((CHANGED_FILE, added), ("NOTES.md", "@@ -0,0 +1 @@\n+hook")).changes() != PROPOSAL.changes
    assert pull((CHANGED_FILE, f"{added}\n+{LINE}")).changes() != PROPOSAL.changes


def test_the_file_headers_of_a_full_diff_are_no_changed_lines() -> None:
    patch = f"--- a/{CHANGED_FILE}\n+++ b/{CHANGED_FILE}\n@@ -1 +1,2 @@\n context\n+{LINE}"
    assert _changed_lines(patch) == ((LINE,), ())
