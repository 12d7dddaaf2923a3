"""The SSH server of a workspace agent: commands run with `bash -c` in the workspace's environment.

Like Coder's agent it asks clients for no credentials (any key, or none, gets in) and serves SFTP,
which fabric's put/get use.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
import pty
import signal
import struct
import termios
from asyncio.subprocess import PIPE
from pathlib import Path

import asyncssh


class _Server(asyncssh.SSHServer):
    def __init__(self, connections: set[asyncssh.SSHServerConnection]) -> None:
        self._connections = connections
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return False  # no authentication required


class _HomeSFTP(asyncssh.SFTPServer):
    """SFTP whose relative paths start at the workspace home, as a session's cwd does."""

    def __init__(self, chan: asyncssh.SSHServerChannel, home: Path) -> None:
        super().__init__(chan)
        self._home = os.fsencode(home)

    def map_path(self, path: bytes) -> bytes:
        return path if path.startswith(b"/") else os.path.join(self._home, path)


async def _pump(
    source: asyncio.StreamReader | asyncssh.SSHReader[bytes], sink: asyncio.StreamWriter | asyncssh.SSHWriter[bytes]
) -> None:
    with contextlib.suppress(OSError, asyncssh.Error):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    if isinstance(sink, asyncio.StreamWriter):
        sink.close()  # EOF on the command's stdin


@functools.cache
def host_key() -> asyncssh.SSHKey:
    """The lab's SSH host key, which every agent's SSH server presents (the suite keeps no known_hosts)."""
    return asyncssh.generate_private_key("ssh-ed25519")


class SSHD:
    """One agent's SSH server on 127.0.0.1; `env` and `home` describe the workspace."""

    def __init__(self, host_key: asyncssh.SSHKey, env: dict[str, str], home: Path) -> None:
        self._host_key = host_key
        self._env = env
        self._home = home
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._processes: set[asyncio.subprocess.Process] = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None

    async def start(self) -> int:
        """Listen on an ephemeral port; returns it."""
        self._acceptor = await asyncssh.create_server(
            lambda: _Server(self._connections),
            "127.0.0.1",
            0,
            server_host_keys=[self._host_key],
            process_factory=self._session,
            encoding=None,
            sftp_factory=lambda chan: _HomeSFTP(chan, self._home),
            line_editor=False,
        )
        return self._acceptor.get_port()

    async def _session(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        command = process.command
        argv = ["bash", "-c", command] if command is not None else ["bash"]
        if process.get_terminal_type():
            await self._pty_session(process, argv)
            return
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=PIPE, stdout=PIPE, stderr=PIPE, env=self._env, cwd=self._home, start_new_session=True
        )
        self._processes.add(proc)
        assert proc.stdin and proc.stdout and proc.stderr

        async def run() -> int:
            await asyncio.gather(_pump(proc.stdout, process.stdout), _pump(proc.stderr, process.stderr))
            return await proc.wait()

        feed = asyncio.create_task(_pump(process.stdin, proc.stdin))
        finished = asyncio.create_task(run())
        hangup = asyncio.create_task(process.wait_closed())
        try:
            await asyncio.wait({finished, hangup}, return_when=asyncio.FIRST_COMPLETED)
            if finished.done():
                code = finished.result()
                process.exit(code if code >= 0 else 128 - code)
        finally:
            for task in (feed, finished, hangup):
                task.cancel()
            self._processes.discard(proc)
            _kill(proc)  # the client went away, or the command left children behind

    async def _pty_session(self, process: asyncssh.SSHServerProcess[bytes], argv: list[str]) -> None:
        """The command (or an interactive bash) on a pseudo-terminal, as `ssh -t` asks for."""
        master, slave = pty.openpty()
        _resize(slave, process.get_terminal_size())
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=self._home,
            preexec_fn=_take_terminal,
            env=self._env | {"TERM": process.get_terminal_type() or "xterm"},
        )
        os.close(slave)
        self._processes.add(proc)
        loop, output_done = asyncio.get_running_loop(), asyncio.Event()

        def forward_output() -> None:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every holder of the terminal has gone
                data = b""
            if data:
                process.stdout.write(data)
            else:
                loop.remove_reader(master)
                output_done.set()

        async def forward_input() -> None:
            while True:
                try:
                    data = await process.stdin.read(65536)
                except asyncssh.TerminalSizeChanged as change:
                    _resize(master, (change.width, change.height, 0, 0))
                    continue
                if not data:
                    return
                os.write(master, data)

        loop.add_reader(master, forward_output)
        feed = asyncio.create_task(forward_input())
        hangup = asyncio.create_task(process.wait_closed())
        finished = asyncio.create_task(output_done.wait())
        try:
            await asyncio.wait({finished, hangup}, return_when=asyncio.FIRST_COMPLETED)
            if finished.done():
                code = await proc.wait()
                process.exit(code if code >= 0 else 128 - code)
        finally:
            for task in (feed, finished, hangup):
                task.cancel()
            loop.remove_reader(master)
            os.close(master)
            self._processes.discard(proc)
            _kill(proc)

    async def stop(self) -> None:
        """Stop listening, end every session and its command, as a stopping pod does."""
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
        for proc in list(self._processes):
            _kill(proc)
        for conn in list(self._connections):
            conn.close()


def _take_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty on stdin."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _resize(fd: int, size: tuple[int, int, int, int]) -> None:
    columns, rows = size[0] or 80, size[1] or 24
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
