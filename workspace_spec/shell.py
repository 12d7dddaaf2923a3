"""What a command inside a workspace returns, and how a path is written for the workspace's shell.

The SSH session that runs the commands is ssh.WorkspaceShell.
"""

from __future__ import annotations

from dataclasses import dataclass

from workspace_spec.errors import PlatformFailure
from workspace_spec.secrets import scrub


class ShellUnavailable(PlatformFailure):
    """SSH into the workspace could not be opened."""


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def summary(self) -> str:
        """Exit code and the last output lines, for failure messages."""
        output = (self.stderr.strip() or self.stdout.strip()).splitlines()[-5:]
        return scrub(f"exit {self.exit_code}" + (": " + " | ".join(output) if output else ""))


def shell_path(path: str) -> str:
    """Quote a path for the workspace's shell, still letting it expand $VARIABLES (the lab's volume)."""
    escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
    return f'"{escaped}"'
