"""GitHub's REST API, the subset PyGithub uses for the E2E flow, on the git host under /api/v3 (one
port serves git and the API, as a GitHub Enterprise host does).

Branches are the bare repositories' own refs; pull requests live in memory. Every route needs a
token the lab issued (`Authorization: token X` or `Bearer X`), else 401 "Bad credentials". Errors
carry GitHub's body `{"message", "documentation_url", "status"}` (plus `errors` on a 422).
Faults: `pr-forbidden` (creating a pull request answers 403), `repo-missing` (through the git host).
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from lab.faults import PR_FORBIDDEN, Faults
from lab.githost import NAME, GitHost
from lab.gitrepo import BareRepo

log = logging.getLogger(__name__)
Json = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIX = "/api/v3"
DOCS = "https://docs.github.com/rest"
PULLS_DOCS = f"{DOCS}/pulls/pulls"
REFS_DOCS = f"{DOCS}/git/refs"
PER_PAGE, MAX_PER_PAGE = 30, 100


def stamp(moment: datetime) -> str:
    """GitHub's timestamps: UTC, whole seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Account:
    login: str
    id: int
    type: str  # User | Organization
    name: str


BOT = Account("ameide-bot", 190_000_001, "User", "Ameide Bot")
ORGANIZATION = Account("ameideio", 190_000_000, "Organization", "Ameide")


@dataclass
class Pull:
    id: int
    number: int
    owner: str
    repo: str
    title: str
    body: str | None
    head: str  # branch names
    base: str
    head_sha: str  # as last seen: a deleted branch keeps its pull request's last head
    base_sha: str
    user: Account
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    closed_at: datetime | None = None

    @property
    def state(self) -> str:
        return "closed" if self.closed_at else "open"


class GitHubError(Exception):
    def __init__(self, status: int, message: str, docs: str = DOCS, errors: list[Json] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: Json = {"message": message}
        if errors is not None:
            self.body["errors"] = errors
        self.body |= {"documentation_url": docs, "status": str(status)}


def _not_found(docs: str = DOCS) -> GitHubError:
    return GitHubError(404, "Not Found", docs)


def _invalid(docs: str, *errors: Json) -> GitHubError:
    return GitHubError(422, "Validation Failed", docs, list(errors))


def _pull_error(**error: str) -> Json:
    return {"resource": "PullRequest", **error}


def _rate_headers() -> dict[str, str]:
    return {
        "X-GitHub-Media-Type": "github.v3; format=json",
        "X-GitHub-Request-Id": secrets.token_hex(8).upper(),
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "4999",
        "X-RateLimit-Reset": str(int(time.time()) + 3600),
        "X-RateLimit-Used": "1",
        "X-RateLimit-Resource": "core",
    }


def _respond(body: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, content_type="application/json", charset="utf-8", headers=headers
    )


class _Urls:
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
            "owner": self.account(ORGANIZATION if owner == ORGANIZATION.login else Account(owner, 0, "User", owner)),
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


class GitHub:
    """The API's state (pull requests) and handlers; `install` adds them to the git host's app."""

    def __init__(self, githost: GitHost, faults: Faults, user: Account = BOT) -> None:
        self.githost = githost
        self.faults = faults
        self.user = user
        self.created = _now()
        self._pulls: dict[tuple[str, str], list[Pull]] = {}
        self._repo_ids: dict[tuple[str, str], int] = {}
        self._ids = 2_400_000_000

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self._middleware)
        repo = f"{PREFIX}/repos/{{owner:{NAME}}}/{{repo:{NAME}}}"
        routes = [
            web.get(f"{PREFIX}/user", self._get_user),
            web.get(repo, self._get_repo),
            web.get(f"{repo}/branches", self._list_branches),
            web.get(f"{repo}/branches/{{branch:.+}}", self._get_branch),
            web.get(f"{repo}/commits/{{sha:[0-9a-f]{{7,40}}}}", self._get_commit),
            web.get(f"{repo}/pulls", self._list_pulls),
            web.post(f"{repo}/pulls", self._create_pull),
            web.get(f"{repo}/pulls/{{number:[0-9]+}}", self._get_pull),
            web.patch(f"{repo}/pulls/{{number:[0-9]+}}", self._edit_pull),
            web.get(f"{repo}/pulls/{{number:[0-9]+}}/files", self._pull_files),
        ]
        for refs in ("ref", "refs"):  # PyGithub reads .../git/ref/..., the ref's own url is .../git/refs/...
            routes += [
                web.get(f"{repo}/git/{refs}/heads/{{branch:.+}}", self._get_ref),
                web.delete(f"{repo}/git/{refs}/heads/{{branch:.+}}", self._delete_ref),
            ]
        app.router.add_routes(routes)

    # -- plumbing -----------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() in ("token", "bearer") and self.githost.accepts(token.strip())

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not (request.path == PREFIX or request.path.startswith(f"{PREFIX}/")):
            return await handler(request)
        try:
            if not self._authorized(request):
                raise GitHubError(401, "Bad credentials")
            if request.match_info.http_exception is not None:
                raise _not_found()
            response = await handler(request)
        except GitHubError as error:
            response = _respond(error.body, error.status)
        response.headers.update(_rate_headers())
        return response

    def _repo(self, request: web.Request) -> tuple[str, str, BareRepo]:
        owner, name = request.match_info["owner"], request.match_info["repo"]
        repo = self.githost.repo(owner, name)
        if repo is None:
            raise _not_found(f"{DOCS}/repos/repos#get-a-repository")
        return owner, name, repo

    def _repo_json(self, urls: _Urls, owner: str, name: str) -> Json:
        repo_id = self._repo_ids.setdefault((owner, name), 810_000_001 + len(self._repo_ids))
        return urls.repository(owner, name, repo_id, self.created)

    def _pull(self, owner: str, name: str, number: str) -> Pull:
        found = next((p for p in self._pulls.get((owner, name), []) if p.number == int(number)), None)
        if found is None:
            raise _not_found(f"{PULLS_DOCS}#get-a-pull-request")
        return found

    async def _refresh(self, repo: BareRepo, pull: Pull) -> None:
        """Follow pushes to the branches (a deleted one keeps the last sha seen)."""
        pull.head_sha = await repo.branch_sha(pull.head) or pull.head_sha
        pull.base_sha = await repo.branch_sha(pull.base) or pull.base_sha

    async def _pull_json(self, urls: _Urls, repo: BareRepo, pull: Pull, full: bool = True) -> Json:
        """A pull request as GitHub shows it alone (`full`) or in a list (without the counts)."""
        await self._refresh(repo, pull)
        repo_json = self._repo_json(urls, pull.owner, pull.repo)
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

    @staticmethod
    def _page(request: web.Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        """One page of `items` and its Link header, as GitHub paginates (`per_page`, `page`)."""
        try:
            per_page = min(max(int(request.query.get("per_page", PER_PAGE)), 1), MAX_PER_PAGE)
            page = max(int(request.query.get("page", 1)), 1)
        except ValueError:
            per_page, page = PER_PAGE, 1
        last = max(math.ceil(len(items) / per_page), 1)
        links = []

        def link(number: int, rel: str) -> str:
            return f'<{request.url.update_query(per_page=per_page, page=number)}>; rel="{rel}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        headers = {"Link": ", ".join(links)} if links else {}
        return items[(page - 1) * per_page : page * per_page], headers

    @staticmethod
    async def _json_body(request: web.Request) -> Json:
        try:
            body = json.loads(await request.text() or "{}")
        except ValueError as error:
            raise GitHubError(400, "Problems parsing JSON") from error
        if not isinstance(body, dict):
            raise GitHubError(400, "Problems parsing JSON")
        return body

    # -- routes --------------------------------------------------------------------------------

    async def _get_user(self, request: web.Request) -> web.Response:
        return _respond(_Urls(request).account(self.user) | {"name": self.user.name, "email": None})

    async def _get_repo(self, request: web.Request) -> web.Response:
        owner, name, _ = self._repo(request)
        return _respond(self._repo_json(_Urls(request), owner, name))

    async def _list_branches(self, request: web.Request) -> web.Response:
        owner, name, repo = self._repo(request)
        urls = _Urls(request)
        branches = [
            self._branch_json(urls, owner, name, branch, sha) for branch, sha in (await repo.branches()).items()
        ]
        page, headers = self._page(request, branches)
        return _respond(page, headers=headers)

    @staticmethod
    def _branch_json(urls: _Urls, owner: str, name: str, branch: str, sha: str) -> Json:
        return {
            "name": branch,
            "commit": {"sha": sha, "url": f"{urls.api}/repos/{owner}/{name}/commits/{sha}"},
            "protected": False,
        }

    async def _get_branch(self, request: web.Request) -> web.Response:
        owner, name, repo = self._repo(request)
        branch = request.match_info["branch"]
        sha = await repo.branch_sha(branch)
        if sha is None:
            raise GitHubError(404, "Branch not found", f"{DOCS}/branches/branches#get-a-branch")
        return _respond(self._branch_json(_Urls(request), owner, name, branch, sha))

    async def _get_commit(self, request: web.Request) -> web.Response:
        """GET /repos/{o}/{r}/commits/{sha}: PyGithub reads a branch's commit date through it."""
        owner, name, repo = self._repo(request)
        found = await repo.commit(request.match_info["sha"])
        if found is None:
            raise GitHubError(422, f"No commit found for SHA: {request.match_info['sha']}", f"{DOCS}/commits/commits")
        urls = _Urls(request)
        api = f"{urls.api}/repos/{owner}/{name}"

        def person(role: str) -> Json:
            return {"name": found[f"{role}_name"], "email": found[f"{role}_email"], "date": found[f"{role}_date"]}

        return _respond(
            {
                "sha": found["sha"],
                "node_id": f"C_lab{found['sha'][:12]}",
                "url": f"{api}/commits/{found['sha']}",
                "html_url": f"{urls.web}/{owner}/{name}/commit/{found['sha']}",
                "commit": {
                    "url": f"{api}/git/commits/{found['sha']}",
                    "author": person("author"),
                    "committer": person("committer"),
                    "message": found["message"].rstrip("\n"),
                    "tree": {"sha": found["tree"], "url": f"{api}/git/trees/{found['tree']}"},
                    "comment_count": 0,
                },
                "author": None,  # no GitHub account behind the lab's commit identities
                "committer": None,
                "parents": [{"sha": p, "url": f"{api}/commits/{p}"} for p in found["parents"].split()],
            }
        )

    async def _list_pulls(self, request: web.Request) -> web.Response:
        owner, name, repo = self._repo(request)
        state = request.query.get("state", "open")
        head, base = request.query.get("head", ""), request.query.get("base", "")
        pulls = []
        for pull in reversed(self._pulls.get((owner, name), [])):  # newest first (sort=created, desc)
            if state != "all" and pull.state != state:
                continue
            if head and head not in (f"{owner}:{pull.head}", pull.head):
                continue
            if base and base != pull.base:
                continue
            pulls.append(pull)
        page, headers = self._page(request, pulls)
        urls = _Urls(request)
        return _respond([await self._pull_json(urls, repo, p, full=False) for p in page], headers=headers)

    async def _create_pull(self, request: web.Request) -> web.Response:
        owner, name, repo = self._repo(request)
        docs = f"{PULLS_DOCS}#create-a-pull-request"
        if self.faults.on(PR_FORBIDDEN):
            raise GitHubError(403, "Resource not accessible by integration", docs)
        body = await self._json_body(request)
        for key in ("title", "head", "base"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise _invalid(docs, _pull_error(code="missing_field", field=key))
        head_owner, _, head = str(body["head"]).rpartition(":")
        base = str(body["base"])
        head_sha = await repo.branch_sha(head) if head_owner in ("", owner) else None
        base_sha = await repo.branch_sha(base)
        if base_sha is None:
            raise _invalid(docs, _pull_error(field="base", code="invalid"))
        if head_sha is None:
            raise _invalid(docs, _pull_error(field="head", code="invalid"))
        pulls = self._pulls.setdefault((owner, name), [])
        if any(p.state == "open" and p.head == head and p.base == base for p in pulls):
            duplicate = f"A pull request already exists for {owner}:{head}."
            raise _invalid(docs, _pull_error(code="custom", message=duplicate))
        merge_base = await repo.merge_base(base_sha, head_sha)
        if merge_base is None or await repo.count_commits(merge_base, head_sha) == 0:
            raise _invalid(docs, _pull_error(code="custom", message=f"No commits between {base} and {head}"))
        self._ids += 1
        text = body.get("body")
        pull = Pull(
            self._ids,
            len(pulls) + 1,
            owner,
            name,
            str(body["title"]),
            text if isinstance(text, str) else None,
            head,
            base,
            head_sha,
            base_sha,
            self.user,
        )
        pulls.append(pull)
        log.info("pull request %s/%s#%d opened: %s -> %s", owner, name, pull.number, head, base)
        result = await self._pull_json(_Urls(request), repo, pull)
        return _respond(result, 201, headers={"Location": result["url"]})

    async def _get_pull(self, request: web.Request) -> web.Response:
        owner, name, repo = self._repo(request)
        pull = self._pull(owner, name, request.match_info["number"])
        return _respond(await self._pull_json(_Urls(request), repo, pull))

    async def _edit_pull(self, request: web.Request) -> web.Response:
        owner, name, repo = self._repo(request)
        pull = self._pull(owner, name, request.match_info["number"])
        docs = f"{PULLS_DOCS}#update-a-pull-request"
        body = await self._json_body(request)
        state = body.get("state")
        if state not in (None, "open", "closed"):
            raise _invalid(docs, _pull_error(field="state", code="invalid"))
        if state == "open" and pull.state == "closed" and await repo.branch_sha(pull.head) is None:
            message = f"state cannot be changed. The {pull.head} branch has been deleted."
            raise _invalid(docs, _pull_error(field="state", code="custom", message=message))
        if isinstance(body.get("title"), str):
            pull.title = body["title"]
        if "body" in body:
            pull.body = body["body"] if isinstance(body["body"], str) else None
        if state is not None and state != pull.state:
            pull.closed_at = _now() if state == "closed" else None
            log.info("pull request %s/%s#%d %s", owner, name, pull.number, "closed" if pull.closed_at else "reopened")
        pull.updated_at = _now()
        return _respond(await self._pull_json(_Urls(request), repo, pull))

    async def _pull_files(self, request: web.Request) -> web.Response:
        owner, name, repo = self._repo(request)
        pull = self._pull(owner, name, request.match_info["number"])
        await self._refresh(repo, pull)
        urls = _Urls(request)
        files: list[Json] = []
        base = await repo.merge_base(pull.base_sha, pull.head_sha)
        for change in await repo.changes(base, pull.head_sha) if base else []:
            blob = f"{urls.web}/{owner}/{name}/blob/{pull.head_sha}/{change.filename}"
            entry: Json = {
                "sha": change.sha,
                "filename": change.filename,
                "status": change.status,
                "additions": change.additions,
                "deletions": change.deletions,
                "changes": change.additions + change.deletions,
                "blob_url": blob,
                "raw_url": blob.replace("/blob/", "/raw/", 1),
                "contents_url": f"{urls.api}/repos/{owner}/{name}/contents/{change.filename}?ref={pull.head_sha}",
            }
            if change.patch is not None:  # GitHub leaves it out for binary files
                entry["patch"] = change.patch
            files.append(entry)
        page, headers = self._page(request, files)
        return _respond(page, headers=headers)

    async def _get_ref(self, request: web.Request) -> web.Response:
        owner, name, repo = self._repo(request)
        branch = request.match_info["branch"]
        sha = await repo.branch_sha(branch)
        if sha is None:
            raise _not_found(f"{REFS_DOCS}#get-a-reference")
        urls = _Urls(request)
        return _respond(
            {
                "ref": f"refs/heads/{branch}",
                "node_id": f"REF_lab{sha[:12]}",
                "url": f"{urls.api}/repos/{owner}/{name}/git/refs/heads/{branch}",
                "object": {"sha": sha, "type": "commit", "url": f"{urls.api}/repos/{owner}/{name}/git/commits/{sha}"},
            }
        )

    async def _delete_ref(self, request: web.Request) -> web.Response:
        owner, name, repo = self._repo(request)
        branch = request.match_info["branch"]
        if not await repo.delete_branch(branch):
            raise GitHubError(422, "Reference does not exist", f"{REFS_DOCS}#delete-a-reference")
        log.info("branch %s of %s/%s deleted", branch, owner, name)
        for pull in self._pulls.get((owner, name), []):  # GitHub closes the open pulls of a deleted head
            if pull.head == branch and pull.state == "open":
                pull.closed_at = pull.updated_at = _now()
        return web.Response(status=204)
