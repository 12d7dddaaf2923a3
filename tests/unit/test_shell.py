"""SSH through a ProxyCommand that exits: the failure comes at once, in the command's own words."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from workspace_spec.shell import ShellUnavailable
from workspace_spec.ssh import WorkspaceShell


@pytest.mark.parametrize("wait", ["", "sleep 0.3"], ids=["at-once", "after-a-moment"])
def test_a_proxy_command_that_exits_fails_fast_with_its_words(wait: str, tmp_path: Path) -> None:
    cli = tmp_path / "coder"
    cli.write_text(f'#!/bin/sh\necho "error: workspace must be started" >&2\n{wait}\nexit 1\n')
    cli.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(ShellUnavailable, match="workspace must be started"), WorkspaceShell("ws", "main", str(cli), 30):
        pass
    assert time.monotonic() - started < 5, "the connect timeout ran out instead"
