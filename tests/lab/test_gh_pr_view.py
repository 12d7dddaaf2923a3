"""`gh pr view` (its default view and `--json`) and `gh pr close` with the real GitHub CLI against a lab
(`python -m lab --handshake`), the pull request read back through REST."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.gh import GH, REPO, lab_with_bot_token, needs_gh
from tests.helpers.git import pushed_branch
from tests.helpers.lab import Lab

TOKEN = "ghp_GhPrViewBotToken00000000000000000000"

pytestmark = needs_gh


@pytest.fixture(scope="module")
def own_lab() -> Iterator[Lab]:
    with lab_with_bot_token(TOKEN) as lab:
        yield lab


def gh(lab: Lab, tmp_path: Path, *args: str) -> str:
    host = lab.env["GITHUB_API_URL"].removeprefix("https://").removesuffix("/api/v3")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GH_HOST": host,
        "GH_ENTERPRISE_TOKEN": TOKEN,
        "GH_CONFIG_DIR": str(tmp_path / "gh-config"),
        "GH_PROMPT_DISABLED": "1",
        "GH_NO_UPDATE_NOTIFIER": "1",
        "SSL_CERT_FILE": lab.env["SSL_CERT_FILE"],
    }
    done = subprocess.run(
        [str(GH), *args, "--repo", f"{host}/{REPO}"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def rest_pull(lab: Lab, number: int) -> dict:
    answer = httpx.get(
        f"{lab.env['GITHUB_API_URL']}/repos/{REPO}/pulls/{number}",
        headers={"Authorization": f"token {TOKEN}"},
        verify=ssl.create_default_context(cafile=lab.env["SSL_CERT_FILE"]),
    )
    return answer.raise_for_status().json()


def test_gh_pr_view_and_close(own_lab: Lab, tmp_path: Path) -> None:
    head = pushed_branch(own_lab, TOKEN, tmp_path, "spec/view-1")
    url = gh(
        own_lab, tmp_path, "pr", "create", "--head", "spec/view-1", "--base", "main", "--title", "View", "--body", "B"
    )
    number = int(url.strip().rsplit("/", 1)[1])
    deadline = time.monotonic() + 5
    while rest_pull(own_lab, number)["mergeable"] is None and time.monotonic() < deadline:
        time.sleep(0.05)  # GitHub computes it in the background

    view = gh(own_lab, tmp_path, "pr", "view", str(number))
    for line in ("title:\tView", "state:\tOPEN", "author:\tameide-bot (Ameide Bot)", f"number:\t{number}"):
        assert line in view
    assert "additions:\t1" in view and "deletions:\t0" in view and "auto-merge:\tdisabled" in view

    fields = "mergeable,mergeStateStatus,reviewDecision,statusCheckRollup,files,commits,labels"
    facts = json.loads(gh(own_lab, tmp_path, "pr", "view", str(number), "--json", fields))
    assert (facts["mergeable"], facts["mergeStateStatus"], facts["reviewDecision"]) == ("MERGEABLE", "CLEAN", "")
    assert (facts["statusCheckRollup"], facts["labels"]) == ([], [])
    assert facts["files"] == [{"path": "README.md", "additions": 1, "deletions": 0, "changeType": "MODIFIED"}]
    (commit,) = facts["commits"]
    assert (commit["oid"], commit["messageHeadline"]) == (head, "Change on spec/view-1")

    gh(own_lab, tmp_path, "pr", "close", str(number))
    closed = rest_pull(own_lab, number)
    assert closed["state"] == "closed" and closed["closed_at"] is not None
    assert "state:\tCLOSED" in gh(own_lab, tmp_path, "pr", "view", str(number))
