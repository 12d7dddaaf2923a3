"""How the lab's GitHub writes its answers, for the REST and the GraphQL API alike: JSON bodies, request
ids, the URLs of the host a request came to, and the REST JSON of accounts, repositories, commits and pull
requests, with the fields GitHub Enterprise Server's REST description requires of each (npm `@octokit/openapi`,
`generated/ghes-3.19.json`: `simple-user`, `public-user`, `private-user`, `repository`, `full-repository`,
`commit`, `pull-request`, `pull-request-simple`)."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from aiohttp import web

from lab.github.gitrepo import BareRepo, FileChange
from lab.github.state import (
    ACCOUNTS_CREATED,
    Account,
    GitHub,
    Json,
    Pull,
    commit_node_id,
    node_id,
    owner_account,
    stamp,
)

PREFIX = "/api/v3"  # the REST API's base path on a GitHub Enterprise Server host
GRAPHQL_PATH = "/api/graphql"
GRAPHQL_DOCS = "https://docs.github.com/graphql"
GHES_VERSION = "3.19.0"  # what /meta's installed_version and every answer's X-GitHub-Enterprise-Version say
VIEWER = web.RequestKey("github-viewer", Account)  # the account of the request's token


def request_id() -> str:
    """Like GitHub's X-GitHub-Request-Id: five groups of hex digits."""
    return ":".join(secrets.token_hex(n).upper() for n in (2, 2, 3, 3, 4))


def respond(body: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, content_type="application/json", charset="utf-8", headers=headers
    )


def viewer(request: web.Request) -> Account:
    return request[VIEWER]


class Urls:
    """The URLs of one request's host: the API base, the web (and git) base, and the bare host name (an
    scp-style SSH remote has no room for a port)."""

    def __init__(self, request: web.Request) -> None:
        self.web = f"{request.scheme}://{request.host}"
        self.api = f"{self.web}{PREFIX}"
        self.hostname = request.url.host or "127.0.0.1"

    def ssh(self, owner: str, name: str) -> str:
        return f"git@{self.hostname}:{owner}/{name}.git"

    def account(self, account: Account) -> Json:
        """`simple-user`."""
        url = f"{self.api}/users/{account.login}"
        return {
            "login": account.login,
            "id": account.id,
            "node_id": account.node_id,
            "avatar_url": f"{self.web}/avatars/{account.login}",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.web}/{account.login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": account.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def profile(self, account: Account, public_repos: int, private: bool = False) -> Json:
        """`public-user` (`GET /users/{login}`), or `private-user` for the token's own (`GET /user`)."""
        body = self.account(account) | {
            "name": account.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": public_repos,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": stamp(ACCOUNTS_CREATED),
            "updated_at": stamp(ACCOUNTS_CREATED),
        }
        if private:
            body |= {
                "user_view_type": "private",
                "private_gists": 0,
                "total_private_repos": 0,
                "owned_private_repos": 0,
                "disk_usage": 0,
                "collaborators": 0,
                "two_factor_authentication": False,
            }
        return body

    def repository(
        self, owner: str, name: str, repo_id: int, created: datetime, pushed: datetime, full: bool = False
    ) -> Json:
        """`repository` (as a pull request's head and base carry it), or `full-repository` (`GET /repos/...`)."""
        url = f"{self.api}/repos/{owner}/{name}"
        html = f"{self.web}/{owner}/{name}"
        body: Json = {
            "id": repo_id,
            "node_id": node_id("R", str(repo_id)),
            "name": name,
            "full_name": f"{owner}/{name}",
            "private": False,
            "owner": self.account(owner_account(owner)),
            "html_url": html,
            "description": None,
            "fork": False,
            "url": url,
            "forks_url": f"{url}/forks",
            "keys_url": f"{url}/keys{{/key_id}}",
            "collaborators_url": f"{url}/collaborators{{/collaborator}}",
            "teams_url": f"{url}/teams",
            "hooks_url": f"{url}/hooks",
            "issue_events_url": f"{url}/issues/events{{/number}}",
            "events_url": f"{url}/events",
            "assignees_url": f"{url}/assignees{{/user}}",
            "branches_url": f"{url}/branches{{/branch}}",
            "tags_url": f"{url}/tags",
            "blobs_url": f"{url}/git/blobs{{/sha}}",
            "git_tags_url": f"{url}/git/tags{{/sha}}",
            "git_refs_url": f"{url}/git/refs{{/sha}}",
            "trees_url": f"{url}/git/trees{{/sha}}",
            "statuses_url": f"{url}/statuses/{{sha}}",
            "languages_url": f"{url}/languages",
            "stargazers_url": f"{url}/stargazers",
            "contributors_url": f"{url}/contributors",
            "subscribers_url": f"{url}/subscribers",
            "subscription_url": f"{url}/subscription",
            "commits_url": f"{url}/commits{{/sha}}",
            "git_commits_url": f"{url}/git/commits{{/sha}}",
            "comments_url": f"{url}/comments{{/number}}",
            "issue_comment_url": f"{url}/issues/comments{{/number}}",
            "contents_url": f"{url}/contents/{{+path}}",
            "compare_url": f"{url}/compare/{{base}}...{{head}}",
            "merges_url": f"{url}/merges",
            "archive_url": f"{url}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{url}/downloads",
            "issues_url": f"{url}/issues{{/number}}",
            "pulls_url": f"{url}/pulls{{/number}}",
            "milestones_url": f"{url}/milestones{{/number}}",
            "notifications_url": f"{url}/notifications{{?since,all,participating}}",
            "labels_url": f"{url}/labels{{/name}}",
            "releases_url": f"{url}/releases{{/id}}",
            "deployments_url": f"{url}/deployments",
            "created_at": stamp(created),
            "updated_at": stamp(created),
            "pushed_at": stamp(pushed),
            # The git daemon's form (no port: git:// has its own), as GitHub writes it; the lab serves no git://.
            "git_url": f"git://{self.hostname}/{owner}/{name}.git",
            "ssh_url": self.ssh(owner, name),
            "clone_url": f"{html}.git",
            "svn_url": html,
            "mirror_url": None,
            "homepage": None,
            "size": 1,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": False,
            "has_downloads": True,
            "has_wiki": False,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "archived": False,
            "disabled": False,
            "open_issues_count": 0,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "public",
            "forks": 0,
            "open_issues": 0,
            "watchers": 0,
            "default_branch": "main",
        }
        if full:
            body |= {
                "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
                "allow_merge_commit": True,
                "allow_squash_merge": True,
                "allow_rebase_merge": True,
                "allow_auto_merge": False,
                "delete_branch_on_merge": False,
                "allow_update_branch": False,
                "use_squash_pr_title_as_default": False,
                "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
                "squash_merge_commit_message": "COMMIT_MESSAGES",
                "merge_commit_title": "MERGE_MESSAGE",
                "merge_commit_message": "PR_TITLE",
                "network_count": 0,
                "subscribers_count": 0,
            }
            if owner_account(owner).type == "Organization":
                body["organization"] = self.account(owner_account(owner))
        return body

    def commit(self, owner: str, name: str, repo_id: int, found: dict[str, str]) -> Json:
        """`commit` as lists give it (a single commit adds `stats` and `files`). No GitHub account is
        behind the lab's commit identities, so `author` and `committer` are null."""
        api = f"{self.api}/repos/{owner}/{name}"
        sha = found["sha"]

        def person(role: str) -> Json:
            return {
                "name": found[f"{role}_name"],
                "email": found[f"{role}_email"],
                "date": stamp(datetime.fromisoformat(found[f"{role}_date"])),
            }

        return {
            "sha": sha,
            "node_id": commit_node_id(repo_id, sha),
            "commit": {
                "author": person("author"),
                "committer": person("committer"),
                "message": found["message"].rstrip("\n"),
                "tree": {"sha": found["tree"], "url": f"{api}/git/trees/{found['tree']}"},
                "url": f"{api}/git/commits/{sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "url": f"{api}/commits/{sha}",
            "html_url": f"{self.web}/{owner}/{name}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "author": None,
            "committer": None,
            "parents": [
                {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{self.web}/{owner}/{name}/commit/{p}"}
                for p in found["parents"].split()
            ],
        }

    def file(self, owner: str, name: str, ref: str, change: FileChange) -> Json:
        """`diff-entry`."""
        blob = f"{self.web}/{owner}/{name}/blob/{ref}/{change.filename}"
        entry: Json = {
            "sha": change.sha,
            "filename": change.filename,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": blob,
            "raw_url": blob.replace("/blob/", "/raw/", 1),
            "contents_url": f"{self.api}/repos/{owner}/{name}/contents/{change.filename}?ref={ref}",
        }
        if change.patch is not None:  # GitHub leaves it out for binary files
            entry["patch"] = change.patch
        return entry


def repo_json_of(urls: Urls, state: GitHub, owner: str, name: str, full: bool = False) -> Json:
    pushed = state.githost.pushed_at(owner, name) or state.created
    return urls.repository(owner, name, state.repo_id(owner, name), state.created, pushed, full)


def mergeable_state(mergeable: bool | None) -> str:
    """REST's `mergeable_state` with no branch protection and no checks: clean, dirty, or not yet known."""
    return "unknown" if mergeable is None else "clean" if mergeable else "dirty"


async def pull_json(urls: Urls, state: GitHub, repo: BareRepo, pull: Pull, full: bool = True) -> Json:
    """A pull request as GitHub shows it alone (`pull-request`, `full`) or in a list (`pull-request-simple`)."""
    await GitHub.refresh(repo, pull)
    repo_json = repo_json_of(urls, state, pull.owner, pull.repo)
    api = f"{urls.api}/repos/{pull.owner}/{pull.repo}"
    url = f"{api}/pulls/{pull.number}"
    html = f"{urls.web}/{pull.owner}/{pull.repo}/pull/{pull.number}"
    issue = f"{api}/issues/{pull.number}"
    statuses = f"{api}/statuses/{pull.head_sha}"

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
        "node_id": node_id("PR", str(pull.id)),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue,
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{issue}/comments",
        "statuses_url": statuses,
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
        "_links": {
            "self": {"href": url},
            "html": {"href": html},
            "issue": {"href": issue},
            "comments": {"href": f"{issue}/comments"},
            "review_comments": {"href": f"{url}/comments"},
            "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
            "commits": {"href": f"{url}/commits"},
            "statuses": {"href": statuses},
        },
        "author_association": "MEMBER",
        "auto_merge": None,
        "draft": False,
    }
    if not full:
        return body
    counts = await pull_counts(repo, pull)
    mergeable = state.mergeable(repo, pull)
    return body | {
        "merged": False,
        "mergeable": mergeable,  # null until GitHub's background job has looked
        "rebaseable": mergeable,
        "mergeable_state": mergeable_state(mergeable),
        "merged_by": None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": counts["commits"],
        "additions": counts["additions"],
        "deletions": counts["deletions"],
        "changed_files": counts["changed_files"],
    }


async def pull_counts(repo: BareRepo, pull: Pull) -> dict[str, Any]:
    """The commits, lines and files a pull request changes, from its merge base to its head."""
    counts: dict[str, Any] = {"commits": 0, "additions": 0, "deletions": 0, "changed_files": 0, "changes": []}
    base = await repo.merge_base(pull.base_sha, pull.head_sha)
    if base is not None:
        changes = await repo.changes(base, pull.head_sha)
        counts |= {
            "commits": await repo.count_commits(base, pull.head_sha),
            "additions": sum(c.additions for c in changes),
            "deletions": sum(c.deletions for c in changes),
            "changed_files": len(changes),
            "changes": changes,
        }
    return counts
