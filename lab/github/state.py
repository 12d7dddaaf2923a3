"""What the lab's GitHub knows, shared by its REST and GraphQL APIs: the accounts, the pull requests
(in memory, numbered per repository) and the rules for opening one. Branches are the git host's own.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Mapping
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
# Seconds before GitHub's mergeability job answers (a few on github.com): the opening answer has no verdict,
# even on a busy machine.
MERGE_JOB_DELAY = 1.0


def stamp(moment: datetime) -> str:
    """GitHub's timestamps: UTC, whole seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Account:
    login: str
    id: int
    type: str  # User | Organization | Bot
    name: str

    @property
    def node_id(self) -> str:
        """The same in REST (`node_id`) and GraphQL (`id`), as on GitHub."""
        return node_id({"User": "U", "Organization": "O", "Bot": "BOT"}[self.type], str(self.id))


# The bot whose token is the suite's GITHUB_TOKEN, and the developer whose GitHub account Coder's external
# auth links (the lab's Coder owner, "Lab Admin"): two tokens, two accounts, as on GitHub.
BOT = Account("ameide-bot", 190_000_001, "User", "Ameide Bot")
DEVELOPER = Account("lab-admin", 190_000_002, "User", "Lab Admin")
ORGANIZATION = Account("ameideio", 190_000_000, "Organization", "Ameide")
ACCOUNTS = {account.login: account for account in (ORGANIZATION, BOT, DEVELOPER)}
ACCOUNTS_CREATED = datetime(2024, 1, 15, 9, 30, tzinfo=UTC)


def owner_account(login: str) -> Account:
    return ACCOUNTS.get(login) or Account(login, 0, "User", login)


def node_id(kind: str, *parts: str) -> str:
    """A global node id: the kind's prefix as GitHub's (`U`, `O`, `R`, `PR`, `C`, `REF`), then the lab's key."""
    return f"{kind}_lab{'_'.join(parts)}"


def parse_node_id(value: str) -> tuple[str, list[str]] | None:
    kind, marker, rest = value.partition("_lab")
    if not marker or not kind.isalpha() or not kind.isupper() or not rest:
        return None
    return kind, rest.split("_")


def ref_node_id(repo_id: int, ref: str) -> str:
    """A ref's id names its repository and its full name: two branches at one commit are two refs."""
    return node_id("REF", str(repo_id), base64.urlsafe_b64encode(ref.encode()).decode().rstrip("="))


def ref_of_node(part: str) -> str:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


def commit_node_id(repo_id: int, sha: str) -> str:
    return node_id("C", str(repo_id), sha)


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

    def __init__(self, githost: GitHost, faults: Faults, users: Mapping[str, Account]) -> None:
        """`users`: each token the API accepts, and whose it is (a token the git host takes but `users`
        does not name is refused by the API)."""
        self.githost = githost
        self.faults = faults
        self._users = dict(users)
        self.created = now()
        self._pulls: dict[tuple[str, str], list[Pull]] = {}
        self._repo_ids: dict[tuple[str, str], int] = {}
        self._ids = 2_400_000_000
        self._mergeable: dict[tuple[str, str], bool] = {}  # (base sha, head sha) -> merges cleanly
        self._merge_checks: dict[tuple[str, str], asyncio.Task[None]] = {}

    def user_of(self, token: str) -> Account | None:
        """The account a token is; None for a token the lab did not issue."""
        if not token or not self.githost.accepts(token):
            return None
        return self._users.get(token)

    def accepts(self, token: str) -> bool:
        return self.user_of(token) is not None

    def account(self, login: str) -> Account | None:
        """An account GitHub would show at /users/{login}: the organization, the bot, the developer."""
        return ACCOUNTS.get(login)

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

    def pull_by_id(self, pull_id: int) -> Pull | None:
        return next((p for pulls in self._pulls.values() for p in pulls if p.id == pull_id), None)

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

    def mergeable(self, repo: BareRepo, pull: Pull) -> bool | None:
        """Whether the pull request merges cleanly as its branches are now: None until GitHub's background
        job has looked (it starts on the first ask after the branches moved, and answers a moment later)."""
        key = (pull.base_sha, pull.head_sha)
        if key in self._mergeable:
            return self._mergeable[key]
        if key not in self._merge_checks:
            self._merge_checks[key] = asyncio.ensure_future(self._check_merge(repo, key))
        return None

    async def _check_merge(self, repo: BareRepo, key: tuple[str, str]) -> None:
        try:
            await asyncio.sleep(MERGE_JOB_DELAY)
            self._mergeable[key] = await repo.merges_cleanly(*key)
        except Exception:  # an unknown sha (a branch force-pushed away): it stays unknown
            log.warning("cannot tell whether %s merges into %s", key[1], key[0], exc_info=True)
        finally:
            self._merge_checks.pop(key, None)

    async def open_pull(
        self, owner: str, name: str, head: str, base: str, title: str, body: str | None, user: Account
    ) -> Pull:
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
        pull = Pull(self._ids, len(pulls) + 1, owner, name, title, body, head, base, head_sha, base_sha, user)
        pulls.append(pull)
        self.mergeable(repo, pull)  # GitHub starts computing it as the pull request opens
        log.info("pull request %s/%s#%d opened: %s -> %s", owner, name, pull.number, head, base)
        if self.faults.on(PR_HEAD_MOVED):
            # A formatting bot reacts to the opened pull request with a commit of its own on its branch.
            text = f"formatted {head_sha} for #{pull.number}\n"
            moved = await repo.commit_file(head, FORMAT_STAMP, text, "style: apply formatting", FORMAT_BOT)
            if moved is not None:
                pull.head_sha = moved
                self.githost.pushed(owner, name)
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
