"""Reads and ref updates in one of the git host's bare repositories, with git's plumbing.

The GitHub API answers from these, so a branch pushed over git is at once a branch of the API,
and a ref the API deletes is gone for git too.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

ZERO_SHA = "0" * 40
STATUS = {"A": "added", "D": "removed", "M": "modified", "T": "changed"}
COMMIT_FIELDS = ("sha", "tree", "parents", "author_name", "author_email", "author_date")
COMMIT_FIELDS += ("committer_name", "committer_email", "committer_date", "message")
LOG_FORMAT = "%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"


def git_env() -> dict[str, str]:
    # Keep the machine's and the user's git configuration out of the host's repositories.
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }


class GitError(RuntimeError):
    pass


@dataclass
class FileChange:
    """One file of a diff, as GitHub's pull request files list it."""

    filename: str
    status: str
    sha: str  # the blob at the head (at the base for a removed file)
    additions: int
    deletions: int
    patch: str | None  # the hunks without git's file header; None for a binary file


class BareRepo:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def _git(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None, input: bytes | None = None
    ) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            "git",
            "--git-dir",
            str(self.path),
            *args,
            env=git_env() | (env or {}),
            stdin=asyncio.subprocess.DEVNULL if input is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate(input)
        code = process.returncode or 0
        if check and code != 0:
            raise GitError(f"git {args[0]}: exit {code}: {err.decode(errors='replace').strip()}")
        return code, out.decode(errors="replace")

    async def branches(self) -> dict[str, str]:
        """Branch name -> tip commit, sorted by name as GitHub lists them."""
        _, out = await self._git("for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads/")
        pairs = sorted(line.split(" ", 1) for line in out.splitlines())
        return {name: sha for name, sha in pairs}

    async def branch_sha(self, branch: str) -> str | None:
        code, out = await self._git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", check=False)
        return out.strip() if code == 0 else None

    async def commit(self, ref: str) -> dict[str, str] | None:
        """A commit's metadata (sha, tree, parents, author, committer, message), or None if unknown."""
        code, out = await self._git("show", "-s", f"--format={LOG_FORMAT}", ref, "--", check=False)
        return dict(zip(COMMIT_FIELDS, out.split("\x00"), strict=False)) if code == 0 and out else None

    async def log(self, base: str, head: str) -> list[dict[str, str]]:
        """The commits reachable from `head` and not from `base`, oldest first (as a pull request lists
        them), each as `commit` gives it."""
        _, out = await self._git("log", "--reverse", f"--format={LOG_FORMAT}%x1e", f"{base}..{head}", "--")
        return [
            dict(zip(COMMIT_FIELDS, entry.lstrip("\n").split("\x00"), strict=False)) for entry in out.split("\x1e")[:-1]
        ]

    async def merges_cleanly(self, base: str, head: str) -> bool:
        """Whether `head` merges into `base` without conflicts (git's merge-ort, writing no ref)."""
        code, _ = await self._git("merge-tree", "--write-tree", "--no-messages", base, head, check=False)
        if code not in (0, 1):
            raise GitError(f"git merge-tree: exit {code}")
        return code == 0

    async def file(self, ref: str, path: str) -> tuple[str, bytes] | None:
        """The blob at `path` in `ref`'s tree: (its sha, its bytes), or None when there is none."""
        code, out = await self._git("rev-parse", "--verify", "--quiet", f"{ref}:{path}", check=False)
        if code != 0:
            return None
        sha = out.strip()
        code, kind = await self._git("cat-file", "-t", sha, check=False)
        if code != 0 or kind.strip() != "blob":
            return None
        return sha, await self._blob(sha)

    async def _blob(self, sha: str) -> bytes:
        process = await asyncio.create_subprocess_exec(
            "git",
            "--git-dir",
            str(self.path),
            "cat-file",
            "blob",
            sha,
            env=git_env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode:
            raise GitError(f"git cat-file: {err.decode(errors='replace').strip()}")
        return out

    async def tree_paths(self, ref: str) -> list[str]:
        """The paths at the top of `ref`'s tree."""
        code, out = await self._git("ls-tree", "--name-only", ref, check=False)
        return out.splitlines() if code == 0 else []

    async def merge_base(self, base: str, head: str) -> str | None:
        code, out = await self._git("merge-base", base, head, check=False)
        return out.strip() if code == 0 else None

    async def count_commits(self, base: str, head: str) -> int:
        """Commits reachable from `head` and not from `base`."""
        _, out = await self._git("rev-list", "--count", f"{base}..{head}")
        return int(out.strip())

    async def changes(self, base: str, head: str) -> list[FileChange]:
        """The files that differ between two commits, with their hunks (renames as remove + add)."""
        _, raw = await self._git("diff", "--raw", "-z", "--no-renames", "--no-abbrev", base, head)
        _, numstat = await self._git("diff", "--numstat", "-z", "--no-renames", base, head)
        fields = raw.split("\0")
        entries: list[tuple[str, str, str]] = []  # (path, status letter, sha)
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            if not meta.startswith(":"):
                continue
            _, _, old_sha, new_sha, letter = meta[1:].split(" ")
            entries.append((path, letter[0], old_sha if letter[0] == "D" else new_sha))
        counts: dict[str, tuple[int, int] | None] = {}
        for record in numstat.split("\0"):
            if record.count("\t") == 2:
                added, deleted, path = record.split("\t")
                counts[path] = None if added == "-" else (int(added), int(deleted))
        result = []
        for path, letter, sha in entries:
            count = counts.get(path)
            patch = None
            if count is not None:
                _, diff = await self._git("diff", "--no-color", "--no-renames", base, head, "--", path)
                at = diff.find("\n@@")
                patch = diff[at + 1 :].removesuffix("\n") if at >= 0 else ""
            added, deleted = count or (0, 0)
            result.append(FileChange(path, STATUS.get(letter, "modified"), sha, added, deleted, patch))
        return result

    async def commit_file(self, branch: str, path: str, text: str, message: str, author: str) -> str | None:
        """Commit `path` (set to `text`) on top of `branch` as `author` ("Name <email>"), with git's plumbing,
        as a bot pushing to the branch would; the new sha, or None when the branch is gone or moved meanwhile."""
        parent = await self.branch_sha(branch)
        if parent is None:
            return None
        name, _, email = author.removesuffix(">").partition(" <")
        identity = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
        with tempfile.TemporaryDirectory() as scratch:
            index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            await self._git("read-tree", parent, env=index)
            _, blob = await self._git("hash-object", "-w", "--stdin", input=text.encode())
            await self._git("update-index", "--add", "--cacheinfo", f"100644,{blob.strip()},{path}", env=index)
            _, tree = await self._git("write-tree", env=index)
        _, sha = await self._git("commit-tree", tree.strip(), "-p", parent, "-m", message, env=identity)
        sha = sha.strip()
        code, _ = await self._git("update-ref", f"refs/heads/{branch}", sha, parent, check=False)
        return sha if code == 0 else None

    async def delete_branch(self, branch: str) -> bool:
        """Remove the branch; False when there was none."""
        sha = await self.branch_sha(branch)
        if sha is None:
            return False
        code, _ = await self._git("update-ref", "-d", f"refs/heads/{branch}", sha, check=False)
        return code == 0
