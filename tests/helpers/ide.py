"""A real code-server for the tests that open VS Code in a browser: the lab's (lab/ide.py finds it), started
on a loopback port for one folder, stopped with its whole process group."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lab.ide import CodeServerInstall, find_code_server
from workspace_spec.browser import browser_unavailable

# The browser scenario runs where a browser opens the real code-server (bin/setup --dev installs both).
BROWSER_RUNS = not browser_unavailable() and find_code_server() is not None


def code_server_page(html: str) -> bool:
    """Whether a page is code-server's workbench page: the real one's (it carries VS Code's web configuration)
    or the lab's stand-in's."""
    return "vscode-workbench-web-configuration" in html or "<title>code-server</title>" in html


LISTENING = re.compile(r"HTTP server listening on (http://127\.0\.0\.1:\d+)/")
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class CodeServer:
    url: str  # http://127.0.0.1:<port>
    folder: Path  # the folder it opens


@contextmanager
def code_server(install: CodeServerInstall, home: Path, folder: Path) -> Iterator[CodeServer]:
    """code-server without auth on a free loopback port, its home, settings and extensions under `home`."""
    command = [
        str(install.node), str(install.entry), "--auth", "none", "--bind-addr", "127.0.0.1:0",
        "--disable-telemetry", "--disable-update-check", "--user-data-dir", str(home / "ud"),
        "--extensions-dir", str(home / "ext"), str(folder),
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(home)}
    # A session of its own: code-server keeps an extension host per browser that connected (for a reconnect),
    # and these outlive the server itself unless its whole process group is stopped.
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        yield CodeServer(_listening(process), folder)
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen[str]) -> None:
    """Stop code-server and everything it started: its process group, which has its own process's id."""
    os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)
    with contextlib.suppress(ProcessLookupError):  # what lingers (or all of it, if it ignored SIGTERM)
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def _listening(process: subprocess.Popen[str]) -> str:
    """The URL code-server says it listens on; its further output is drained so that it never blocks."""
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if not found and (match := LISTENING.search(line)):
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    started = time.monotonic()
    if not ready.wait(START_TIMEOUT) or not found:
        raise RuntimeError(f"code-server did not start in {time.monotonic() - started:.0f} s (exit {process.poll()})")
    return found[0]
