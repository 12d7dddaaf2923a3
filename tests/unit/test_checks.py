"""The project's own checks: CI runs bin/check before the tests, and the commit-msg hook holds commit
subjects to 72 characters."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers.suite import ROOT

HOOK = ROOT / ".githooks" / "commit-msg"


def commit_msg(tmp_path: Path, message: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "COMMIT_EDITMSG"
    path.write_text(message)
    return subprocess.run([str(HOOK), str(path)], capture_output=True, text=True, timeout=10, check=False)


def test_ci_checks_before_it_tests() -> None:
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[-1] == "bin/setup --dev && bin/check && .venv/bin/pytest"


def test_bin_check_and_the_hook_are_executable() -> None:
    for path in (ROOT / "bin" / "check", HOOK):
        assert path.stat().st_mode & 0o111, f"{path} is not executable"


@pytest.mark.parametrize("length", [1, 72])
def test_the_hook_accepts_a_subject_of_at_most_72_characters(tmp_path: Path, length: int) -> None:
    result = commit_msg(tmp_path, "s" * length + "\n\nA body line may be longer than that: " + "b" * 100 + "\n")
    assert result.returncode == 0, result.stderr


def test_the_hook_refuses_a_subject_of_73_characters(tmp_path: Path) -> None:
    result = commit_msg(tmp_path, "s" * 73 + "\n")
    assert result.returncode == 1
    assert "73 characters, at most 72" in result.stderr


def test_the_hook_counts_characters_not_bytes(tmp_path: Path) -> None:
    assert commit_msg(tmp_path, "é" * 72 + "\n").returncode == 0


def test_the_hook_reads_the_subject_below_git_s_comments(tmp_path: Path) -> None:
    assert commit_msg(tmp_path, "# " + "c" * 80 + "\n" + "s" * 73 + "\n").returncode == 1
