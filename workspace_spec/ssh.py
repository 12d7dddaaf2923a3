"""Commands inside a workspace over SSH: fabric through `coder ssh --stdio` as the ProxyCommand.

Live, the ProxyCommand is the real Coder CLI (it reads CODER_URL and CODER_SESSION_TOKEN from the
environment, so the token never appears on a command line); on the lab it is the lab's stand-in of it.
It names the agent (`<workspace>.<agent>`: with several agents the CLI will not guess) and passes
`--disable-autostart` (Coder v2.5+): `coder ssh` would otherwise start a stopped workspace, and a
check that expects one stopped would then pass for the wrong reason.
The agent's SSH server accepts any client key and changes its host key per connection, so the suite
brings a throwaway key and keeps no known_hosts.
"""

from __future__ import annotations

import io
import logging
import os
import select
import shlex
import subprocess
import time
from functools import cache

import paramiko
from fabric import Config, Connection
from invoke.exceptions import CommandTimedOut

from workspace_spec.shell import CommandResult, ShellUnavailable

# paramiko logs a failed connection's traceback from its transport thread; the failure itself is
# reported, with the ProxyCommand's own words, as ShellUnavailable.
logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)


class FailFastProxy(paramiko.ProxyCommand):
    """paramiko's ProxyCommand reads an exited command's closed output as b'' until its timeout runs out
    (a failing `coder` cost the whole connect timeout); this one says at once that the command is gone."""

    process: subprocess.Popen[bytes]  # paramiko starts it with pipes, in binary mode

    def recv(self, size: int) -> bytes:
        stdout = self.process.stdout
        assert stdout is not None
        buffer = b""
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while len(buffer) < size:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                if buffer:
                    return buffer
                raise TimeoutError("no answer from the ProxyCommand")
            readable, _, _ = select.select([stdout], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(stdout.fileno(), size - len(buffer))
            if not chunk:
                if buffer:
                    return buffer
                raise EOFError("the ProxyCommand exited")
            buffer += chunk
        return buffer


@cache
def _client_key() -> paramiko.PKey:
    # One throwaway key per run: Coder's agent accepts any key, and none of ours should be offered.
    return paramiko.ECDSAKey.generate()


class WorkspaceShell:
    """An SSH session to one workspace; open it with `with`."""

    def __init__(self, workspace_name: str, agent_name: str, coder_cli: str, connect_timeout: float = 60.0) -> None:
        self.workspace_name = workspace_name
        host = f"{workspace_name}.{agent_name}" if agent_name else workspace_name
        self._proxy_command = shlex.join([coder_cli, "ssh", "--stdio", "--disable-autostart", host])
        self._connect_timeout = connect_timeout
        self._proxy: FailFastProxy | None = None
        self._connection: Connection | None = None

    def __enter__(self) -> WorkspaceShell:
        self._proxy = FailFastProxy(self._proxy_command)
        connection = Connection(
            self.workspace_name,
            user="coder",
            config=Config(ssh_config=paramiko.SSHConfig()),  # ignore ~/.ssh/config: no surprises from it
            connect_timeout=self._connect_timeout,
            connect_kwargs={
                "sock": self._proxy,
                "pkey": _client_key(),
                "look_for_keys": False,
                "allow_agent": False,
                "banner_timeout": self._connect_timeout,
                "auth_timeout": self._connect_timeout,
            },
        )
        try:
            connection.open()
        except (paramiko.SSHException, OSError, EOFError) as error:
            reason = self._proxy_stderr() or f"{type(error).__name__}: {error}"
            connection.close()
            raise ShellUnavailable(
                f"cannot open SSH to workspace {self.workspace_name!r} through `{self._proxy_command}`: {reason}"
            ) from None
        self._connection = connection
        return self

    def __exit__(self, *exc: object) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._proxy is not None:
            self._proxy.close()

    def run(self, command: str, timeout: float = 60.0, stdin: str | None = None) -> CommandResult:
        """Run a command; `stdin` is how secrets get in (never the command line, which `ps` shows)."""
        if self._connection is None:
            raise ShellUnavailable("the SSH session is not open")
        stream = io.StringIO(stdin) if stdin is not None else False
        try:
            result = self._connection.run(command, hide=True, warn=True, in_stream=stream, timeout=timeout)
        except CommandTimedOut:
            return CommandResult(command, 124, "", f"timed out after {timeout:.0f} s")
        return CommandResult(command, result.exited, result.stdout, result.stderr)

    def _proxy_stderr(self) -> str:
        """What the ProxyCommand said, once it has exited: the reason SSH did not come up."""
        process = self._proxy.process if self._proxy else None
        if process is None or process.stderr is None:
            return ""
        try:  # its output closes a moment before it can be reaped: give it that moment
            process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return ""  # still running: it is not what failed
        return process.stderr.read().decode(errors="replace").strip()[-500:]
