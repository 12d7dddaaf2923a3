"""How the lab's GitHub writes its answers, for the REST and the GraphQL API alike: JSON bodies, request
ids, the URLs of the host a request came to, and the REST JSON of accounts, repositories and pull
requests (shapes as GitHub's REST API reference gives them, docs.github.com/rest)."""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from aiohttp import web

from lab.github.gitrepo import BareRepo
from lab.github.state import Account, GitHub, Json, Pull, owner_account, stamp

PREFIX = "/api/v3"  # the REST API's base path on a GitHub Enterprise Server host


def request_id() -> str:
    """Like GitHub's X-GitHub-Request-Id: five groups of hex digits."""
    return ":".join(secrets.token_hex(n).upper() for n in (2, 2, 3, 3, 4))


def respond(body: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, content_type="application/json", charset="utf-8", headers=headers
    )


class Urls:
    """The URLs of one request's host: the API base and the web (and git) base under it."""

    def __init__(self, request: web.Request) -> None:
        self.web = f"{request.scheme}://{request.host}"
        self.api = f"{self.web}{PREFIX}"

    def account(self, account: Account) -> Json:
        return {
            "login": account.login,
            "id": account.id,
            "node_id": f"U_lab{account.id}",
            "avatar_url": f"{self.web}/avatars/{account.login}",
            "gravatar_id": "",
            "url": f"{self.api}/users/{account.login}",
            "html_url": f"{self.web}/{account.login}",
            "type": account.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def repository(self, owner: str, name: str, repo_id: int, created: datetime) -> Json:
        url = f"{self.api}/repos/{owner}/{name}"
        return {
            "id": repo_id,
            "node_id": f"R_lab{repo_id}",
            "name": name,
            "full_name": f"{owner}/{name}",
            "private": False,
            "owner": self.account(owner_account(owner)),
            "html_url": f"{self.web}/{owner}/{name}",
            "description": None,
            "fork": False,
            "url": url,
            "branches_url": f"{url}/branches{{/branch}}",
            "git_refs_url": f"{url}/git/refs{{/sha}}",
            "pulls_url": f"{url}/pulls{{/number}}",
            "git_url": f"{self.web}/{owner}/{name}.git".replace("http", "git", 1),
            "ssh_url": f"git@{self.web.split('://', 1)[1]}:{owner}/{name}.git",
            "clone_url": f"{self.web}/{owner}/{name}.git",
            "created_at": stamp(created),
            "updated_at": stamp(created),
            "pushed_at": stamp(created),
            "homepage": None,
            "size": 1,
            "language": None,
            "visibility": "public",
            "archived": False,
            "disabled": False,
            "has_issues": True,
            "has_projects": False,
            "has_wiki": False,
            "forks_count": 0,
            "open_issues_count": 0,
            "watchers_count": 0,
            "stargazers_count": 0,
            "default_branch": "main",
            "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
            "allow_merge_commit": True,
            "allow_squash_merge": True,
            "allow_rebase_merge": True,
            "delete_branch_on_merge": False,
        }


def repo_json_of(urls: Urls, state: GitHub, owner: str, name: str) -> Json:
    return urls.repository(owner, name, state.repo_id(owner, name), state.created)


async def pull_json(urls: Urls, state: GitHub, repo: BareRepo, pull: Pull, full: bool = True) -> Json:
    """A pull request as GitHub shows it alone (`full`) or in a list (without the counts)."""
    await GitHub.refresh(repo, pull)
    repo_json = repo_json_of(urls, state, pull.owner, pull.repo)
    url = f"{urls.api}/repos/{pull.owner}/{pull.repo}/pulls/{pull.number}"
    html = f"{urls.web}/{pull.owner}/{pull.repo}/pull/{pull.number}"
    issue = f"{urls.api}/repos/{pull.owner}/{pull.repo}/issues/{pull.number}"

    def side(branch: str, sha: str) -> Json:
        return {
            "label": f"{pull.owner}:{branch}",
            "ref": branch,
            "sha": sha,
            "user": repo_json["owner"],
            "repo": repo_json,
        }

    body: Json = {
        "url": url,
        "id": pull.id,
        "node_id": f"PR_lab{pull.id}",
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue,
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "comments_url": f"{issue}/comments",
        "statuses_url": f"{urls.api}/repos/{pull.owner}/{pull.repo}/statuses/{pull.head_sha}",
        "number": pull.number,
        "state": pull.state,
        "locked": False,
        "title": pull.title,
        "user": urls.account(pull.user),
        "body": pull.body,
        "labels": [],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": stamp(pull.created_at),
        "updated_at": stamp(pull.updated_at),
        "closed_at": stamp(pull.closed_at) if pull.closed_at else None,
        "merged_at": None,
        "merge_commit_sha": None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": side(pull.head, pull.head_sha),
        "base": side(pull.base, pull.base_sha),
        "author_association": "MEMBER",
        "auto_merge": None,
        "draft": False,
    }
    if not full:
        return body
    commits = additions = deletions = changed = 0
    base = await repo.merge_base(pull.base_sha, pull.head_sha)
    if base is not None:
        commits = await repo.count_commits(base, pull.head_sha)
        changes = await repo.changes(base, pull.head_sha)
        additions, deletions = sum(c.additions for c in changes), sum(c.deletions for c in changes)
        changed = len(changes)
    return body | {
        "merged": False,
        "mergeable": None,  # GitHub computes it in the background; null until then
        "rebaseable": None,
        "mergeable_state": "unknown",
        "merged_by": None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": commits,
        "additions": additions,
        "deletions": deletions,
        "changed_files": changed,
    }
