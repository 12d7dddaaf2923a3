"""Names for what the suite creates: unique per run, valid for Coder, and sweepable by prefix.

A name is `<prefix>-<run>-<n>`: the prefix marks everything the suite made (the sweeper's key),
the run id tells runs apart, and the counter tells workspaces of one run apart.
"""

from __future__ import annotations

import itertools
import re
import secrets
import string

# codersdk.NameValid: 1..32 characters, alphanumeric groups joined by single dashes.
WORKSPACE_NAME = re.compile(r"^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$")
MAX_NAME_LENGTH = 32
# A run id: this many lower-case letters and digits.
RUN_ID_LENGTH = 6
_RUN_ID_ALPHABET = string.ascii_lowercase + string.digits
_RUN_ID_PATTERN = f"[{_RUN_ID_ALPHABET}]{{{RUN_ID_LENGTH}}}"


def is_valid_workspace_name(name: str) -> bool:
    return len(name) <= MAX_NAME_LENGTH and bool(WORKSPACE_NAME.match(name)) and name not in ("new", "create")


class Namer:
    """Hands out the names of one run."""

    def __init__(self, prefix: str, run_id: str | None = None) -> None:
        self.prefix = prefix
        self.run_id = run_id or "".join(secrets.choice(_RUN_ID_ALPHABET) for _ in range(RUN_ID_LENGTH))
        self._counter = itertools.count(1)

    def workspace(self) -> str:
        name = f"{self.prefix}-{self.run_id}-{next(self._counter)}"
        if not is_valid_workspace_name(name):
            raise ValueError(f"workspace name {name!r} is not valid for Coder")
        return name

    @property
    def branch_prefix(self) -> str:
        """What the git branches of every run begin with (the sweeper's key for branches)."""
        return f"{self.prefix}/"

    def branch(self) -> str:
        """A git branch of this run: `<prefix>/<run>-<n>`, found by the sweeper through its prefix."""
        return f"{self.branch_prefix}{self.run_id}-{next(self._counter)}"

    def marker(self) -> str:
        """A file name and content unique to this run, for persistence checks."""
        return f"{self.prefix}-{self.run_id}-{secrets.token_hex(8)}"

    def owns(self, name: str) -> bool:
        """Whether a workspace name was made by some run of this suite (any run id): the sweeper's key.
        A developer's `<prefix>-notes` shares the prefix, not the pattern."""
        return re.match(rf"^{re.escape(self.prefix)}-{_RUN_ID_PATTERN}-\d+$", name) is not None

    def owns_branch(self, name: str) -> bool:
        """Whether a branch was made by some run of this suite: `<prefix>/<run>-<n>`, not any `<prefix>/...`."""
        return re.match(rf"^{re.escape(self.branch_prefix)}{_RUN_ID_PATTERN}-\d+$", name) is not None
