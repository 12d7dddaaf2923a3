"""Git work helpers, against a real git repository through a stand-in for the workspace shell."""

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


def _git(repo: str, *args: str) -> None:
    subprocess.run(["git", "-C", repo, *args], check=True)


@pytest.mark.parametrize(
    ("key", "value", "place"),
    [
        ("url.https://x-access-token:ghp_secret@github.com/.insteadOf", "https://github.com/", "url.<...>.insteadof"),
        ("url.https://ghp_secret@github.com/.pushInsteadOf", "https://github.com/", "url.<...>.pushinsteadof"),
        ("credential.helper", "cache --timeout 900", "credential.helper"),
        ("credential.helper", "store --file /home/coder/.creds", "credential.helper"),
        ("credential.helper", "/usr/lib/git-core/git-credential-store", "credential.helper"),
        ("credential.https://github.com.helper", "store", "credential.https://github.com.helper"),
    ],
)
def test_a_url_rewrite_with_a_token_and_a_helper_that_keeps_credentials_are_found(
    key: str, value: str, place: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    repo = _repo(tmp_path, "https://github.com/o/r.git")
    _git(repo, "config", key, value)
    found = gitwork.stored_credentials(LocalShell(), repo)
    assert [where.removesuffix(" carries user info") for where in found] == [place]
    assert not any("ghp_secret" in where for where in found)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("url.git@github.com:.insteadOf", "https://github.com/"),  # ssh names a user, holds no secret
        ("url.https://mirror.example/.insteadOf", "https://github.com/"),
        ("credential.helper", ""),  # the reset of the helper list
        ("credential.helper", "!f() { echo password=$(cat /run/token); }; f"),  # hands out, keeps nothing
        ("credential.helper", "manager-restored"),
    ],
)
def test_settings_that_keep_no_credential_are_not_found(
    key: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    repo = _repo(tmp_path, "https://github.com/o/r.git")
    _git(repo, "config", key, value)
    assert gitwork.stored_credentials(LocalShell(), repo) == []


def test_the_suites_git_ignores_a_credential_store_the_workspace_configures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workspace's ~/.gitconfig sets `credential.helper = store`: git asks every configured helper to
    keep a credential that worked, so without the reset the suite itself would write the token to disk."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    subprocess.run(["git", "config", "--global", "credential.helper", "store"], check=True)
    path = str(tmp_path / "secrets" / "push-token")
    credential = "protocol=https\nhost=github.com\n"
    with gitwork.via_token_file(LocalShell(), "canary-token", path) as credentials:
        asked = LocalShell().run(f"{credentials.git()} credential fill", stdin=credential)
        assert asked.ok and "password=canary-token" in asked.stdout, asked.summary()
        approved = LocalShell().run(f"{credentials.git()} credential approve", stdin=asked.stdout)
        assert approved.ok, approved.summary()
    assert not (tmp_path / ".git-credentials").exists(), "the suite's own git stored the token"
