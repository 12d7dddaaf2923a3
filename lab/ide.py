"""The IDE server of a workspace, on the code-server app's port: the real code-server when `bin/setup --ide`
installed it in .lab-tools/ide, otherwise the stand-in of lab/codeserver_standin.py.

The real one runs as Coder's code-server module runs it (coder/registry `registry/coder/modules/code-server`
run.sh): the template's extensions first, each installed by `code-server --install-extension`, then
`code-server --auth none` on the workspace's folder, as the workspace user (its HOME and environment), with
user data and extensions under `~/.local/share/code-server`, code-server's defaults. It listens on a port of
its own choosing (`--bind-addr 127.0.0.1:0`, read back from its log), since many workspaces share this host.
An extension is installed by code-server once per VSIX, and each workspace gets a copy of what that install
wrote: the same files a fresh `--install-extension` writes, without a Node start (about 0.8 CPU-s) per workspace.

A broken IDE is the real server broken (faults ide-wedged, ide-port-refused): its processes stopped with
SIGSTOP (connections are accepted and never answered), or killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import re
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aiohttp import web

from lab.codeserver_standin import codeserver_app
from lab.faults import Faults

log = logging.getLogger(__name__)

PREFIX = Path(__file__).resolve().parent.parent / ".lab-tools" / "ide"
LISTENING = re.compile(r"HTTP server listening on http://127\.0\.0\.1:(\d+)/")
START_TIMEOUT = 60.0  # a busy 2-core machine starting several workspaces at once
INSTALL_TIMEOUT = 60.0
STOP_GRACE = 3.0
_PR_SET_PDEATHSIG = 1
# Looked up here, not in the child: between fork and exec only what needs no lock may run.
_PRCTL = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)


@dataclass(frozen=True)
class CodeServerInstall:
    """code-server from npm and the Node 24 it needs (npm's `node@24`), under one npm prefix."""

    node: Path
    entry: Path
    version: str

    def describe(self) -> str:
        return f"code-server {self.version}"


def find_code_server(prefix: Path | None = None) -> CodeServerInstall | None:
    """The installed code-server (LAB_CODE_SERVER_PREFIX, else .lab-tools/ide), or None."""
    root = prefix or Path(os.environ.get("LAB_CODE_SERVER_PREFIX") or PREFIX)
    node = root / "node_modules/node/bin/node"
    package = root / "node_modules/code-server"
    entry = package / "out/node/entry.js"
    if not (node.is_file() and entry.is_file()):
        return None
    try:
        version = str(json.loads((package / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None
    return CodeServerInstall(node, entry, version)


class IDEServer(Protocol):
    port: int

    async def crash(self) -> None: ...

    async def stop(self) -> None: ...


def _die_with_parent() -> None:
    """In the child, before exec: the kernel kills it when the lab dies, even by SIGKILL."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


class RealCodeServer:
    """One code-server process group (the server, its extension host and helpers)."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path

    @classmethod
    async def start(
        cls,
        install: CodeServerInstall,
        folder: str,
        env: dict[str, str],
        extensions: list[Path],
        wedged: bool,
    ) -> RealCodeServer:
        home = Path(env["HOME"])
        data = home / ".local/share/code-server"
        dirs = ["--user-data-dir", str(data), "--extensions-dir", str(data / "extensions")]
        base = [str(install.node), str(install.entry)]
        env = env | {"PATH": f"{install.node.parent}:{env.get('PATH', '')}"}  # its own Node, as its release ships
        for vsix in extensions:
            await _lay_installed(base, vsix, data / "extensions", env)
        log_path = Path(env.get("TMPDIR", "/tmp")) / "code-server.log"
        argv = [*base, *dirs, "--auth", "none", "--bind-addr", "127.0.0.1:0", "--disable-telemetry"]
        argv += ["--disable-update-check", folder]
        with log_path.open("wb") as output:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=str(home),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # one group: stopping it stops its children too
                preexec_fn=_die_with_parent,
            )
        server = cls(process, 0, log_path)
        try:
            server.port = await server._listening()
        except BaseException:
            await server.stop()
            raise
        if wedged:
            server._signal(signal.SIGSTOP)
            log.info("code-server on port %d is stopped (ide-wedged)", server.port)
        return server

    async def _listening(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            if match := LISTENING.search(text):
                return int(match.group(1))
            if self.process.returncode is not None:
                tail = " | ".join(text.strip().splitlines()[-3:])
                raise RuntimeError(f"code-server exited with status {self.process.returncode}: {tail}")
            await asyncio.sleep(0.05)
        raise RuntimeError(f"code-server did not listen within {START_TIMEOUT:.0f} s")

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    async def crash(self) -> None:
        self._signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process.returncode is not None:
            self._signal(signal.SIGKILL)  # what is left of its group
            return
        self._signal(signal.SIGTERM)
        self._signal(signal.SIGCONT)  # a stopped (wedged) server must run to take the SIGTERM
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), STOP_GRACE)
        self._signal(signal.SIGKILL)
        await self.process.wait()


_install_locks: dict[Path, asyncio.Lock] = {}  # one install of a VSIX at a time: workspaces start together


async def _lay_installed(base: list[str], vsix: Path, extensions: Path, env: dict[str, str]) -> None:
    """The VSIX installed into `extensions` as `code-server --install-extension` leaves it: the extension's
    folder, and its entry in extensions.json pointing at where that folder is now."""
    installed = vsix.with_name(f"{vsix.name}.installed")  # the extensions dir of code-server's one install
    async with _install_locks.setdefault(vsix, asyncio.Lock()):
        if not installed.is_dir():
            scratch = vsix.with_name(f"{vsix.name}.installing")
            shutil.rmtree(scratch, ignore_errors=True)
            dirs = ["--user-data-dir", str(scratch / "data"), "--extensions-dir", str(scratch / "extensions")]
            await _install_extension(base + dirs, vsix, env)
            (scratch / "extensions").rename(installed)
            shutil.rmtree(scratch, ignore_errors=True)
    record = json.loads((installed / "extensions.json").read_text())
    for entry in record:
        folder = extensions / entry["relativeLocation"]
        shutil.copytree(installed / entry["relativeLocation"], folder, symlinks=True)
        where = {"fsPath": str(folder), "external": folder.as_uri(), "path": str(folder)}
        entry["location"] = entry["location"] | where
    known = extensions / "extensions.json"
    record = (json.loads(known.read_text()) if known.is_file() else []) + record
    known.write_text(json.dumps(record, separators=(",", ":")))


async def _install_extension(base: list[str], vsix: Path, env: dict[str, str]) -> None:
    """`code-server --install-extension <vsix>`, as the module does for each of the template's extensions."""
    process = await asyncio.create_subprocess_exec(
        *base,
        "--install-extension",
        str(vsix),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), INSTALL_TIMEOUT)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        raise
    if process.returncode != 0:
        text = output.decode(errors="replace").strip().splitlines()[-1:]
        raise RuntimeError(f"code-server --install-extension {vsix.name}: exit status {process.returncode}: {text}")


class StandInCodeServer:
    """The stand-in (lab/codeserver_standin.py) on a port of its own."""

    def __init__(self, runner: web.AppRunner, port: int) -> None:
        self.runner = runner
        self.port = port

    @classmethod
    async def start(cls, folder: str, faults: Faults) -> StandInCodeServer:
        runner = web.AppRunner(codeserver_app(folder, faults), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return cls(runner, int(runner.addresses[0][1]))

    async def crash(self) -> None:
        await self.runner.cleanup()

    async def stop(self) -> None:
        await self.runner.cleanup()
