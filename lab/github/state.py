"""What the lab's GitHub knows, shared by its REST and GraphQL APIs: the accounts, the pull requests
(in memory, numbered per repository) and the rules for opening one. Branches are the git host's own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from lab.faults import PR_HEAD_MOVED, Faults
from lab.github.githost import GitHost
from lab.github.gitrepo import BareRepo

log = logging.getLogger("lab.github")
Json = dict[str, Any]
DOCS = "https://docs.github.com/rest"
PULLS_DOCS = f"{DOCS}/pulls/pulls"
# Under pr-head-moved: the formatting bot that pushes onto a pull request's branch once it opens.
FORMAT_BOT = "ameide-format-bot[bot] <format-bot@users.noreply.example.invalid>"
FORMAT_STAMP = ".ameide/formatted"


def stamp(moment: datetime) -> str:
    """GitHub's timestamps: UTC, whole seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Account:
    login: str
    id: int
    type: str  # User | Organization
    name: str


BOT = Account("ameide-bot", 190_000_001, "User", "Ameide Bot")
ORGANIZATION = Account("ameideio", 190_000_000, "Organization", "Ameide")


def owner_account(login: str) -> Account:
    return ORGANIZATION if login == ORGANIZATION.login else Account(login, 0, "User", login)


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
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    closed_at: datetime | None = None

    @property
    def state(self) -> str:
        return "closed" if self.closed_at else "open"


class GitHubError(Exception):
    """An answer of GitHub's REST API: `{"message", ["errors",] "documentation_url", "status"}`."""

    def __init__(self, status: int, message: str, docs: str = DOCS, errors: list[Json] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []
        self.body: Json = {"message": message}
        if errors is not None:
            self.body["errors"] = errors
        self.body |= {"documentation_url": docs, "status": str(status)}


def not_found(docs: str = DOCS) -> GitHubError:
    return GitHubError(404, "Not Found", docs)


def invalid(docs: str, *errors: Json) -> GitHubError:
    return GitHubError(422, "Validation Failed", docs, list(errors))


def pull_error(**error: str) -> Json:
    return {"resource": "PullRequest", **error}


class GitHub:
    """The state behind both APIs; the git host's app finds it as `app[GITHUB]`."""

    def __init__(self, githost: GitHost, faults: Faults, user: Account = BOT) -> None:
        self.githost = githost
        self.faults = faults
        self.user = user
        self.created = now()
        self._pulls: dict[tuple[str, str], list[Pull]] = {}
        self._repo_ids: dict[tuple[str, str], int] = {}
        self._ids = 2_400_000_000

    def accepts(self, token: str) -> bool:
        return self.githost.accepts(token)

    def repo(self, owner: str, name: str) -> BareRepo:
        repo = self.githost.repo(owner, name)
        if repo is None:
            raise not_found(f"{DOCS}/repos/repos#get-a-repository")
        return repo

    def repo_id(self, owner: str, name: str) -> int:
        return self._repo_ids.setdefault((owner, name), 810_000_001 + len(self._repo_ids))

    def repo_by_id(self, repo_id: int) -> tuple[str, str] | None:
        return next((key for key, known in self._repo_ids.items() if known == repo_id), None)

    def pulls(self, owner: str, name: str) -> list[Pull]:
        """Oldest first."""
        return list(self._pulls.get((owner, name), []))

    def pull(self, owner: str, name: str, number: int) -> Pull:
        found = next((p for p in self._pulls.get((owner, name), []) if p.number == number), None)
        if found is None:
            raise not_found(f"{PULLS_DOCS}#get-a-pull-request")
        return found

    @staticmethod
    async def refresh(repo: BareRepo, pull: Pull) -> None:
        """Follow pushes to the branches (a deleted one keeps the last sha seen)."""
        pull.head_sha = await repo.branch_sha(pull.head) or pull.head_sha
        pull.base_sha = await repo.branch_sha(pull.base) or pull.base_sha

    async def open_pull(self, owner: str, name: str, head: str, base: str, title: str, body: str | None) -> Pull:
        """Open a pull request as GitHub validates one (422 with the reason); `head` may be `owner:branch`."""
        repo = self.repo(owner, name)
        docs = f"{PULLS_DOCS}#create-a-pull-request"
        for key, value in (("title", title), ("head", head), ("base", base)):
            if not value:
                raise invalid(docs, pull_error(code="missing_field", field=key))
        head_owner, _, head = head.rpartition(":")
        head_sha = await repo.branch_sha(head) if head_owner in ("", owner) else None
        base_sha = await repo.branch_sha(base)
        if base_sha is None:
            raise invalid(docs, pull_error(field="base", code="invalid"))
        if head_sha is None:
            raise invalid(docs, pull_error(field="head", code="invalid"))
        pulls = self._pulls.setdefault((owner, name), [])
        if any(p.state == "open" and p.head == head and p.base == base for p in pulls):
            duplicate = f"A pull request already exists for {owner}:{head}."
            raise invalid(docs, pull_error(code="custom", message=duplicate))
        merge_base = await repo.merge_base(base_sha, head_sha)
        if merge_base is None or await repo.count_commits(merge_base, head_sha) == 0:
            raise invalid(docs, pull_error(code="custom", message=f"No commits between {base} and {head}"))
        self._ids += 1
        pull = Pull(self._ids, len(pulls) + 1, owner, name, title, body, head, base, head_sha, base_sha, self.user)
        pulls.append(pull)
        log.info("pull request %s/%s#%d opened: %s -> %s", owner, name, pull.number, head, base)
        if self.faults.on(PR_HEAD_MOVED):
            # A formatting bot reacts to the opened pull request with a commit of its own on its branch.
            text = f"formatted {head_sha} for #{pull.number}\n"
            moved = await repo.commit_file(head, FORMAT_STAMP, text, "style: apply formatting", FORMAT_BOT)
            if moved is not None:
                pull.head_sha = moved
                log.info("pull request %s/%s#%d: the formatting bot pushed %s", owner, name, pull.number, moved)
        return pull

    def close_pulls_of(self, owner: str, name: str, branch: str) -> None:
        """GitHub closes the open pull requests whose head branch was deleted."""
        for pull in self._pulls.get((owner, name), []):
            if pull.head == branch and pull.state == "open":
                pull.closed_at = pull.updated_at = now()


GITHUB = web.AppKey("github", GitHub)


def github(request: web.Request) -> GitHub:
    return request.app[GITHUB]
