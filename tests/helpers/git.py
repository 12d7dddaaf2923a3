"""The real git against a lab's git host: no user or system configuration, no prompt; a token, when given,
comes from a credential helper that reads it from the environment, so it is never in a URL or argv."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.helpers.lab import Lab

HELPER = '!f() { test "$1" = get && echo username=lab && echo "password=$LAB_GIT_TOKEN"; }; f'


def git(
    *args: str, cwd: Path, token: str | None = None, ca_file: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`git *args` in `cwd`; with `token` it can push, with `ca_file` it trusts that CA (an HTTPS git host)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.invalid",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.invalid",
    }
    if ca_file is not None:
        env["GIT_SSL_CAINFO"] = ca_file
    helper: tuple[str, ...] = ()
    if token is not None:
        env["LAB_GIT_TOKEN"] = token
        helper = ("-c", f"credential.helper={HELPER}")
    return subprocess.run(
        ["git", *helper, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=60
    )


def lab_git(lab: Lab, token: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """git against the lab's GitHub (HTTPS with the lab CA), pushing with `token`."""
    return git(*args, cwd=cwd, token=token, ca_file=lab.env["SSL_CERT_FILE"])


def pushed_branch(lab: Lab, token: str, tmp_path: Path, branch: str) -> str:
    """Clone the lab's E2E repository over HTTPS, commit a change on `branch`, push it: its head sha."""
    work = tmp_path / branch.replace("/", "-")
    cloned = lab_git(lab, token, "clone", lab.env["E2E_REPO_URL"], str(work), cwd=tmp_path)
    assert cloned.returncode == 0, cloned.stderr
    lab_git(lab, token, "checkout", "-b", branch, cwd=work)
    (work / "README.md").write_text((work / "README.md").read_text() + f"{branch}\n")
    assert lab_git(lab, token, "commit", "-am", f"Change on {branch}", cwd=work).returncode == 0
    pushed = lab_git(lab, token, "push", "origin", branch, cwd=work)
    assert pushed.returncode == 0, pushed.stderr
    return lab_git(lab, token, "rev-parse", "HEAD", cwd=work).stdout.strip()
