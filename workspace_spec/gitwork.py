"""A developer's git work inside a workspace: clone, branch, commit, push.

Credentials reach git only through a credential helper given per command (`git -c credential.helper=...`):
it asks Coder for the user's linked GitHub token (`coder external-auth access-token github`, spec 629
§2.1) or reads the bot token from a private file that is removed right after. No token is ever in a
remote URL, on a command line, in the environment or in the repository's git config.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workspace_spec.shell import CommandResult, shell_path

if TYPE_CHECKING:
    from workspace_spec.ssh import WorkspaceShell

GIT = "GIT_TERMINAL_PROMPT=0 git"
NETWORK_TIMEOUT = 180.0
_EXTERNAL_AUTH = "coder external-auth access-token github"
# The helper answers git's `get` with the token; it stays silent for `store` and `erase`.
_HELPER = (
    '!f() { test "$1" = get || return 0; t=$(%s) || return 1; '
    "printf 'username=x-access-token\\npassword=%%s\\n' \"$t\"; }; f"
)


@dataclass(frozen=True)
class Credentials:
    """How git (and gh) authenticate: a command that prints the token, run at the moment it is needed,
    through Coder's external auth or from a bot token in a file while it lasts."""

    token_command: str

    @property
    def helper(self) -> str:
        return _HELPER % self.token_command

    def git(self) -> str:
        return f"{GIT} -c credential.helper= -c credential.helper={shlex.quote(self.helper)}"


def external_auth_problem(shell: WorkspaceShell) -> str:
    """'' when Coder hands out the user's GitHub token; else what to do about it. The token itself is
    kept in a shell variable and never printed; only the link URL (printed when unlinked) comes back."""
    result = shell.run(f'answer=$({_EXTERNAL_AUTH}) || {{ printf "%s" "$answer"; exit 1; }}')
    if result.ok:
        return ""
    url = result.stdout.strip()
    if url.startswith("http"):
        return f"GitHub is not linked in Coder for this user: open {url} once and authorize GitHub (spec 629 §2.1)"
    return f"`{_EXTERNAL_AUTH}` failed in the workspace: {result.summary()}"


def via_external_auth() -> Credentials:
    return Credentials(_EXTERNAL_AUTH)


@contextmanager
def via_token_file(shell: WorkspaceShell, token: str, path: str) -> Iterator[Credentials]:
    """The bot token in a 0600 file (sent over stdin, never argv) for the duration of the block."""
    where = shell_path(path)
    written = shell.run(f'umask 077 && mkdir -p "$(dirname {where})" && cat > {where}', stdin=token)
    if not written.ok:
        raise RuntimeError(f"cannot place the push token in the workspace: {written.summary()}")
    try:
        yield Credentials(f"cat {where}")
    finally:
        shell.run(f"rm -f {where}")


def clone(shell: WorkspaceShell, credentials: Credentials, url: str, directory: str) -> CommandResult:
    where = shell_path(directory)
    return shell.run(
        f'rm -rf {where} && mkdir -p "$(dirname {where})" '
        f"&& {credentials.git()} clone --quiet {shlex.quote(url)} {where}",
        timeout=NETWORK_TIMEOUT,
    )


def in_repo(directory: str, command: str) -> str:
    return f"cd {shell_path(directory)} && {command}"


def append_line(shell: WorkspaceShell, directory: str, filename: str, line: str) -> CommandResult:
    return shell.run(in_repo(directory, f"printf '%s\\n' {shlex.quote(line)} >> {shlex.quote(filename)}"))


def commit_all(shell: WorkspaceShell, directory: str, message: str, author: tuple[str, str]) -> CommandResult:
    name, email = (shlex.quote(part) for part in author)
    return shell.run(
        in_repo(
            directory,
            f"git add --all && git -c user.name={name} -c user.email={email} commit --quiet -m {shlex.quote(message)}",
        )
    )


def start_branch(shell: WorkspaceShell, directory: str, branch: str) -> CommandResult:
    return shell.run(in_repo(directory, f"git checkout --quiet -b {shlex.quote(branch)}"))


def changed_files(shell: WorkspaceShell, directory: str) -> list[str]:
    """Files with uncommitted changes (git status --porcelain)."""
    result = shell.run(in_repo(directory, "git status --porcelain"))
    return [line[3:] for line in result.stdout.splitlines() if len(line) > 3]


def head(shell: WorkspaceShell, directory: str) -> str:
    return shell.run(in_repo(directory, "git rev-parse HEAD")).stdout.strip()


def push(shell: WorkspaceShell, credentials: Credentials, directory: str, branch: str) -> CommandResult:
    refspec = shlex.quote(f"HEAD:refs/heads/{branch}")
    return shell.run(in_repo(directory, f"{credentials.git()} push --quiet origin {refspec}"), timeout=NETWORK_TIMEOUT)


def stored_credentials(shell: WorkspaceShell, directory: str) -> list[str]:
    """Where the checkout keeps a credential: user info in a remote URL or a URL rewrite, an auth header, a
    credential helper that keeps what it is given (store, cache). Returns the places, never their values."""
    result = shell.run(
        in_repo(directory, 'git config --list --show-origin; test -s "$HOME/.git-credentials" && echo CREDENTIALS_FILE')
    )
    found = []
    for line in result.stdout.splitlines():
        setting = line.split("\t", 1)[-1]
        key, _, value = setting.partition("=")
        if line == "CREDENTIALS_FILE":
            found.append("~/.git-credentials")
        elif key.endswith(".url") and _carries_user_info(value):
            found.append(f"{key} carries user info")
        elif (rewrite := _REWRITE.match(key)) and (_carries_user_info(rewrite[1]) or _carries_user_info(value)):
            found.append(f"url.<...>.{rewrite[2]} carries user info")  # the key itself holds the token: not shown
        elif key.endswith(".extraheader") or (_is_helper_key(key) and _keeps_credentials(value)):
            found.append(key)
    return found


# `url.<base>.insteadOf <prefix>`: git fetches and pushes `<base>...` for every URL starting `<prefix>`.
_REWRITE = re.compile(r"^url\.(.+)\.(insteadof|pushinsteadof)$")
# Helpers that keep what git hands them: on disk (store), in a daemon's memory (cache).
_KEEPING_HELPERS = ("store", "cache")


def _carries_user_info(url: str) -> bool:
    """An http(s) URL with user info (a token as user or password); ssh's `git@host` names only a user."""
    scheme, separator, rest = url.partition("://")
    return bool(separator) and scheme.lower() in ("http", "https") and "@" in rest.split("/", 1)[0]


def _is_helper_key(key: str) -> bool:
    """`credential.helper`, or `credential.<url>.helper` for one host."""
    return key.startswith("credential.") and key.endswith(".helper")


def _keeps_credentials(helper: str) -> bool:
    """Whether a helper setting names one that keeps credentials (`store --file ~/x`, `cache --timeout 900`,
    `/usr/lib/git-core/git-credential-store`); an empty value resets the list."""
    words = helper.split()
    if not words:
        return False
    name = words[0].rsplit("/", 1)[-1].removeprefix("git-credential-")
    return name in _KEEPING_HELPERS
