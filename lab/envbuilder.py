"""What envbuilder does in a starting workspace pod: clone the repository into the volume when it is
not there yet, read the devcontainer, run its postCreateCommand with output to the post-create log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEVCONTAINER = ".devcontainer/coder/devcontainer.json"
POST_CREATE_LOG = ".devcontainer/logs/coder-postCreate.log"
REPO_DIR = "ameide"
TAIL_LINES = 10


class EnvbuilderError(RuntimeError):
    pass


@dataclass
class Bootstrap:
    """What the `[workspace-bootstrap]` summary reports."""

    devcontainer: Path
    features: list[str]
    post_create: str
    log: Path
    tail: list[str]

    def summary(self) -> list[str]:
        lines = [
            f"devcontainer: {self.devcontainer}",
            f"features: {', '.join(self.features) or '(none)'}",
            f"postCreateCommand: {self.post_create or '(none)'}",
            f"postCreate log: {self.log} (last {len(self.tail)} lines)",
        ]
        lines += [f"  | {line}" for line in self.tail]
        return [f"[workspace-bootstrap] {line}" for line in lines]


async def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = await proc.communicate()
    except asyncio.CancelledError:
        # The lab is stopping (or the build was cancelled): a clone left running would write into the
        # volume after the lab removed it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise
    return proc.returncode or 0, output.decode(errors="replace")


async def bootstrap(
    repo_url: str,
    volume: Path,
    env: dict[str, str],
    pod_log: Callable[[str], None],
    checkout: Path | None = None,
) -> Bootstrap:
    """Prepare `volume` for the agent; `env` is the workspace user's environment. The repository goes to
    `checkout`, by default `<volume>/ameide` (elsewhere only to break the platform)."""
    pod_log("envbuilder v1.1.0 - Build development environments from repositories in a container")
    checkout = checkout or volume / REPO_DIR
    if (checkout / ".git").is_dir():
        pod_log(f"#1: 📦 The repository is already cloned at {checkout}, skipping clone")
    else:
        pod_log(f"#1: 📦 Cloning {repo_url} to {checkout}...")
        code, output = await _run(
            ["git", "clone", "--quiet", repo_url, str(checkout)], volume, env | {"GIT_TERMINAL_PROMPT": "0"}
        )
        if code != 0:
            pod_log(f"error: clone repository: {output.strip()}")
            raise EnvbuilderError(f"clone {repo_url}: exit status {code}")
        pod_log("#1: 📦 Cloned repository!")

    devcontainer = checkout / DEVCONTAINER
    try:
        spec = json.loads(devcontainer.read_text())
    except (OSError, ValueError) as error:
        pod_log(f"error: read devcontainer: {error}")
        raise EnvbuilderError(f"read {DEVCONTAINER}: {error}") from error
    features = list(spec.get("features", {}))
    pod_log(f"#2: Deploying from devcontainer.json with features {', '.join(features)}")
    pod_log("#2: 🏗️ Built image (cached)")

    post_create = spec.get("postCreateCommand", "")
    log_path = volume / POST_CREATE_LOG
    log_path.parent.mkdir(parents=True, exist_ok=True)
    output = ""
    if post_create:
        pod_log(f"#3: Running the postCreateCommand: {post_create}")
        code, output = await _run(["bash", "-c", post_create], checkout, env)
        log_path.write_text(output)
        log_path.chmod(0o644)  # world-readable, as the platform's post-create hook leaves it
        if code != 0:
            pod_log(f"error: postCreateCommand exited with status {code}")
            raise EnvbuilderError(f"postCreateCommand: exit status {code}")
    pod_log('=== Running the init command /bin/sh [-c /usr/bin/coder agent] as the "root" user...')
    tail = output.splitlines()[-TAIL_LINES:]
    return Bootstrap(devcontainer, features, post_create, log_path, tail)
