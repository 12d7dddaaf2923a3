"""The git host's repositories: bare repositories under `root/<owner>/<name>.git`, each created with
one commit, the tokens the host accepts for a push, and the clone URLs.

The host serves them over git's smart HTTP protocol (smarthttp.py's `git_app(host)`), and GitHub's
APIs answer from them (`lab.github.install`). Fault: `repo-missing` hides the bot-writable repositories.
"""

from __future__ import annotations

import hmac
import subprocess
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from lab.faults import REPO_MISSING, Faults
from lab.github.gitrepo import BareRepo, git_env

AUTHOR = "Ameide Lab <lab@example.invalid>"
NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"  # an owner's or a repository's name, as routes match it


def _initial_commit(branch: str, files: dict[str, str]) -> bytes:
    """A `git fast-import` stream for one commit holding `files`; scripts (`#!`) are executable."""
    ident = f"{AUTHOR} {int(time.time())} +0000"
    message = b"Initial commit\n"
    stream = [
        f"commit refs/heads/{branch}\nauthor {ident}\ncommitter {ident}\n".encode(),
        b"data %d\n" % len(message),
        message,
    ]
    for path, text in sorted(files.items()):
        data = text.encode()
        mode = "100755" if text.startswith("#!") else "100644"
        stream += [f"M {mode} inline {path}\n".encode(), b"data %d\n" % len(data), data, b"\n"]
    return b"".join(stream)


class GitHost:
    """Bare repositories under `root/<owner>/<name>.git`; set `base_url` once the server listens."""

    def __init__(self, root: Path, tokens: Iterable[str], faults: Faults | None = None) -> None:
        self.root = root
        self._tokens = tuple(token.encode() for token in tokens)
        self.faults = faults or Faults()
        self.base_url = ""
        self._bot_writable: set[tuple[str, str]] = set()
        self._pushed: dict[tuple[str, str], datetime] = {}

    def accepts(self, token: str) -> bool:
        """Whether `token` is one the host issued; compares with every token in constant time."""
        given = token.encode()
        matches = [hmac.compare_digest(given, known) for known in self._tokens]
        return bool(given) and any(matches)

    def create_repo(
        self, owner: str, name: str, files: dict[str, str], default_branch: str = "main", bot_writable: bool = False
    ) -> None:
        """A new bare repository whose `default_branch` has one commit holding `files` (path -> text).

        A bot-writable repository is the one the `repo-missing` fault takes away.
        """
        path = self.root / owner / f"{name}.git"
        if path.exists():
            raise FileExistsError(f"repository {owner}/{name} exists")
        if bot_writable:
            self._bot_writable.add((owner, name))
        env = git_env()
        subprocess.run(
            ["git", "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(path)], check=True, env=env
        )
        subprocess.run(["git", "--git-dir", str(path), "config", "http.receivepack", "true"], check=True, env=env)
        subprocess.run(
            ["git", "--git-dir", str(path), "fast-import", "--quiet"],
            input=_initial_commit(default_branch, files),
            check=True,
            env=env,
        )

    def repo_names(self, owner: str) -> list[str]:
        """The names of the owner's repositories that clients see."""
        found = sorted(path.name.removesuffix(".git") for path in (self.root / owner).glob("*.git"))
        return [name for name in found if self.repo(owner, name) is not None]

    def pushed(self, owner: str, name: str) -> None:
        """Note a push to the repository (its `pushed_at`): over git, or a ref the API changed."""
        self._pushed[(owner, name)] = datetime.now(UTC)

    def pushed_at(self, owner: str, name: str) -> datetime | None:
        """When the repository was last pushed to; None when never since it was created."""
        return self._pushed.get((owner, name))

    def repo(self, owner: str, name: str) -> BareRepo | None:
        """The repository as clients see it: None when there is none (or the fault hides it)."""
        path = self.root / owner / f"{name}.git"
        if not path.is_dir() or (self.faults.on(REPO_MISSING) and (owner, name) in self._bot_writable):
            return None
        return BareRepo(path)

    def clone_url(self, owner: str, name: str) -> str:
        if not self.base_url:
            raise RuntimeError("GitHost.base_url is not set: assign it once the server listens")
        return f"{self.base_url.rstrip('/')}/{owner}/{name}.git"
