"""Pull requests on the bot-writable repository, through PyGithub with the bot's token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from github import Auth, Github, GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from workspace_spec.errors import PlatformFailure


class GitHubFailure(PlatformFailure):
    """GitHub refused or failed a request; the message says which and what it answered."""


@dataclass(frozen=True)
class FileChange:
    filename: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class PullFacts:
    number: int
    head_ref: str
    head_sha: str
    files: tuple[FileChange, ...]

    def changes(self) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
        """(file, lines added, lines removed) for each file the pull request changes."""
        return [(change.filename, change.added, change.removed) for change in self.files]


def _reason(error: GithubException) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    text = f"{error.status} {data.get('message') or error.message or ''}".strip()
    details = [item.get("message") or item.get("code") for item in data.get("errors") or [] if isinstance(item, dict)]
    return text + (f" ({'; '.join(filter(None, details))})" if details else "")


def _changed_lines(patch: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The added and removed lines of a unified diff hunk, as GitHub gives it per file."""
    lines = patch.splitlines()
    added = tuple(line[1:] for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = tuple(line[1:] for line in lines if line.startswith("-") and not line.startswith("---"))
    return added, removed


class PullRequests:
    """The suite's view of one repository: open a pull request, read it back, close it, drop its branch."""

    def __init__(self, api_url: str, token: str, repository: str, timeout: float = 15.0) -> None:
        self.repository = repository
        self._github = Github(base_url=api_url, auth=Auth.Token(token), timeout=int(timeout), retry=None)
        self._repo: Repository | None = None

    def close_connection(self) -> None:
        self._github.close()

    def repo(self) -> Repository:
        if self._repo is None:
            try:
                self._repo = self._github.get_repo(self.repository)
            except GithubException as error:
                raise GitHubFailure(f"cannot read repository {self.repository} on GitHub: {_reason(error)}") from None
        return self._repo

    def default_branch(self) -> str:
        return self.repo().default_branch

    def bot_login(self) -> str:
        try:
            return self._github.get_user().login
        except GithubException as error:
            raise GitHubFailure(f"GitHub did not accept the bot token: {_reason(error)}") from None

    def open(self, branch: str, title: str, body: str) -> int:
        base = self.default_branch()
        try:
            return self.repo().create_pull(base=base, head=branch, title=title, body=body).number
        except GithubException as error:
            raise GitHubFailure(
                f"GitHub refused to open a pull request from {branch} into {base} on {self.repository}: "
                f"{_reason(error)}"
            ) from None

    def facts(self, number: int) -> PullFacts:
        try:
            pull: PullRequest = self.repo().get_pull(number)
            files = []
            for item in pull.get_files():
                added, removed = _changed_lines(item.patch or "")
                files.append(FileChange(item.filename, added, removed))
        except GithubException as error:
            raise GitHubFailure(f"cannot read pull request #{number} on {self.repository}: {_reason(error)}") from None
        return PullFacts(number, pull.head.ref, pull.head.sha, tuple(files))

    # -- cleanup: idempotent, 404/422 mean it is already gone -------------------------------------
    def branches_with_prefix(self, prefix: str) -> list[tuple[str, datetime]]:
        """Branches named with the prefix, with the time of their last commit (their age for the sweeper)."""
        try:
            return [
                (branch.name, branch.commit.commit.committer.date)
                for branch in self.repo().get_branches()
                if branch.name.startswith(prefix)
            ]
        except GithubException as error:
            raise GitHubFailure(f"cannot list branches of {self.repository}: {_reason(error)}") from None

    def remove_branch(self, branch: str) -> None:
        """Close the branch's open pull requests, then delete it."""
        owner = self.repository.split("/")[0]
        try:
            pulls = list(self.repo().get_pulls(state="open", head=f"{owner}:{branch}"))
        except GithubException as error:
            raise GitHubFailure(f"cannot list pull requests of {branch}: {_reason(error)}") from None
        for pull in pulls:
            self.close(pull.number)
        self.delete_branch(branch)

    def close(self, number: int) -> None:
        try:
            pull = self.repo().get_pull(number)
            if pull.state == "open":
                pull.edit(state="closed")
        except GithubException as error:
            if error.status != 404:
                raise GitHubFailure(f"cannot close pull request #{number}: {_reason(error)}") from None

    def delete_branch(self, branch: str) -> None:
        try:
            self.repo().get_git_ref(f"heads/{branch}").delete()
        except GithubException as error:
            if error.status not in (404, 422):
                raise GitHubFailure(f"cannot delete branch {branch}: {_reason(error)}") from None
