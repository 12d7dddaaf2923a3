"""Git work helpers, against a real git repository through a stand-in for the workspace shell."""

import subprocess
from pathlib import Path

from workspace_spec import gitwork
from workspace_spec.shell import CommandResult


class LocalShell:
    """Runs commands here with bash, as the workspace's SSH session would there."""

    def run(self, command: str, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        done = subprocess.run(["bash", "-c", command], input=stdin, capture_output=True, text=True, timeout=timeout)
        return CommandResult(command, done.returncode, done.stdout, done.stderr)


def _repo(tmp_path: Path, remote: str) -> str:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "remote", "add", "origin", remote], check=True)
    return str(repo)


def test_a_clean_checkout_keeps_no_credential(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert gitwork.stored_credentials(LocalShell(), _repo(tmp_path, "https://github.com/o/r.git")) == []


def test_credentials_in_the_checkout_are_found_without_showing_them(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    repo = _repo(tmp_path, "https://x-access-token:ghp_secret@github.com/o/r.git")
    subprocess.run(["git", "-C", repo, "config", "http.https://github.com/.extraheader", "AUTHORIZATION: basic x"])
    (tmp_path / ".git-credentials").write_text("https://u:ghp_secret@github.com\n")
    found = gitwork.stored_credentials(LocalShell(), repo)
    assert found == [
        "remote.origin.url carries user info",
        "http.https://github.com/.extraheader",
        "~/.git-credentials",
    ]
    assert not any("ghp_secret" in place for place in found)


def test_the_token_file_exists_only_inside_the_block(tmp_path):
    path = str(tmp_path / "secrets" / "push-token")
    with gitwork.via_token_file(LocalShell(), "canary-token", path) as credentials:
        assert Path(path).read_text() == "canary-token"
        assert oct(Path(path).stat().st_mode)[-3:] == "600"
        assert "canary-token" not in credentials.git()
        helper = subprocess.run(["bash", "-c", f"{credentials.helper[1:]} get"], capture_output=True, text=True)
        assert helper.stdout == "username=x-access-token\npassword=canary-token\n"
    assert not Path(path).exists()
