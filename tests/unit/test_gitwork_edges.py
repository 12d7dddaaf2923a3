"""Reading git's own output in the workspace: which files a change left uncommitted, and where a checkout keeps
a credential when a setting's origin or value holds spaces, tabs or `=`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from workspace_spec import gitwork
from workspace_spec.shell import CommandResult


class LocalShell:
    """Runs commands here with bash, as the workspace's SSH session would there."""

    def run(self, command: str, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        done = subprocess.run(["bash", "-c", command], input=stdin, capture_output=True, text=True, timeout=timeout)
        return CommandResult(command, done.returncode, done.stdout, done.stderr)


class CannedShell:
    """A workspace shell whose command prints `stdout`; it records what it was asked to run."""

    def __init__(self, stdout: str) -> None:
        self.stdout = stdout
        self.commands: list[str] = []

    def run(self, command: str, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        self.commands.append(command)
        return CommandResult(command, 0, self.stdout, "")


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def test_uncommitted_files_are_listed_by_their_path(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "a").write_text("one-letter name\n")
    (repo / "notes.md").write_text("new\n")
    assert sorted(gitwork.changed_files(LocalShell(), str(repo))) == ["a", "notes.md"]  # type: ignore[arg-type]


def test_a_clean_checkout_has_no_changed_files(tmp_path: Path) -> None:
    assert gitwork.changed_files(LocalShell(), str(_repo(tmp_path))) == []  # type: ignore[arg-type]


def test_changed_files_asks_git_status_in_the_checkout_and_skips_lines_without_a_path() -> None:
    shell = CannedShell(" M src/app.py\n?? \n?? b\n")
    assert gitwork.changed_files(shell, "/home/coder/repo") == ["src/app.py", "b"]  # type: ignore[arg-type]
    assert shell.commands == ['cd "/home/coder/repo" && git status --porcelain']


def test_a_keeping_helper_in_a_global_config_under_a_path_with_spaces_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home with spaces"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    repo = _repo(tmp_path)
    subprocess.run(["git", "config", "--global", "credential.helper", "store"], check=True)
    assert gitwork.stored_credentials(LocalShell(), str(repo)) == ["credential.helper"]  # type: ignore[arg-type]


def test_a_setting_whose_value_holds_a_tab_is_still_read_by_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    repo = _repo(tmp_path)
    subprocess.run(["git", "-C", str(repo), "config", "credential.helper", "store\t--file /tmp/creds"], check=True)
    assert gitwork.stored_credentials(LocalShell(), str(repo)) == ["credential.helper"]  # type: ignore[arg-type]


def test_an_auth_header_whose_value_holds_an_equals_sign_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    repo = _repo(tmp_path)
    subprocess.run(["git", "-C", str(repo), "config", "http.extraheader", "AUTHORIZATION: basic eDp5eg=="], check=True)
    found = gitwork.stored_credentials(LocalShell(), str(repo))  # type: ignore[arg-type]
    assert found == ["http.extraheader"]
    assert not any("eDp5eg" in place for place in found)
