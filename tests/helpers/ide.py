"""A real code-server for the tests that open VS Code in a browser: found on this machine, started on a
loopback port for one folder, stopped by its own process id."""

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

REPO = Path(__file__).resolve().parent.parent.parent
ENTRY = Path("node_modules/code-server/out/node/entry.js")
NODE = Path("node_modules/node/bin/node")  # the npm package `node`: code-server 4.1xx wants Node 22+
LISTENING = re.compile(r"HTTP server listening on (http://127\.0\.0\.1:\d+)/")
START_TIMEOUT = 30.0


def code_server_dir() -> Path | None:
    """The npm prefix that holds code-server (and the Node it runs on): the repo's `.lab-tools/ide` first,
    then `LAB_CODE_SERVER_DIR`. This is the one place that knows where to look."""
    candidates = [REPO / ".lab-tools/ide"]
    if os.environ.get("LAB_CODE_SERVER_DIR"):
        candidates.append(Path(os.environ["LAB_CODE_SERVER_DIR"]))
    return next((d for d in candidates if (d / ENTRY).is_file() and (d / NODE).is_file()), None)


@dataclass(frozen=True)
class CodeServer:
    url: str  # http://127.0.0.1:<port>
    folder: Path  # the folder it opens


@contextmanager
def code_server(prefix: Path, home: Path, folder: Path) -> Iterator[CodeServer]:
    """code-server without auth on a free loopback port, its home, settings and extensions under `home`."""
    command = [
        str(prefix / NODE), str(prefix / ENTRY), "--auth", "none", "--bind-addr", "127.0.0.1:0",
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
