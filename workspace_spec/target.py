"""Which platform the suite runs against: a live deployment (CODER_URL set) or the embedded lab.

The lab is started as a child process (`python -m lab --handshake`) and met only over the wire: it
answers one JSON line with the settings that point at it. It runs in its own session, so a Ctrl-C
in the terminal reaches the suite (which then cleans up through the lab) and not the lab itself; it
exits by itself when its stdin closes, so it never outlives the suite.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from workspace_spec.settings import TRUST_VARIABLES, Settings, SettingsError, load_settings, unknown_names

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAB_START_TIMEOUT = 60.0
LAB_STOP_TIMEOUT = 15.0


class LabStartError(Exception):
    """The embedded lab did not come up."""


class LabProcess:
    def __init__(self, process: subprocess.Popen[bytes], stderr: IO[bytes], handshake: dict[str, Any]) -> None:
        self.process = process
        self._stderr = stderr
        self.env: dict[str, str] = handshake["env"]
        self.faults: list[str] = handshake.get("faults", [])
        self.codex_cli: bool = handshake.get("codex_cli", True)  # its workspaces have the real Codex CLI
        self.ide: str = handshake.get("ide", "")  # the real IDE its workspaces run; '' for the stand-in

    @classmethod
    def start(cls, settings: Settings) -> LabProcess:
        command = [sys.executable, "-m", "lab", "--handshake"]
        for fault in settings.lab_faults:
            command += ["--fault", fault]
        if settings.lab_build_delay is not None:
            command += ["--build-delay", str(settings.lab_build_delay)]
        if settings.lab_agent_delay is not None:
            command += ["--agent-delay", str(settings.lab_agent_delay)]
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the lab; closed by stop()
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            return cls(process, stderr, cls._read_handshake(process, stderr))
        except BaseException:
            process.kill()
            process.wait()
            raise

    @staticmethod
    def _read_handshake(process: subprocess.Popen[bytes], stderr: IO[bytes]) -> dict[str, Any]:
        assert process.stdout is not None
        deadline = time.monotonic() + LAB_START_TIMEOUT
        ready, _, _ = select.select([process.stdout], [], [], LAB_START_TIMEOUT)
        line = process.stdout.readline() if ready else b""
        try:
            handshake: dict[str, Any] = json.loads(line)
        except ValueError:
            handshake = {}
        if not handshake.get("ready"):
            waited = LAB_START_TIMEOUT - max(0.0, deadline - time.monotonic())
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace").strip().splitlines()[-5:]
            reason = " | ".join(tail) or f"no handshake after {waited:.0f} s"
            raise LabStartError(f"the embedded lab did not start: {reason}")
        return handshake

    def stop(self) -> None:
        """Close its stdin (the lab's cue to shut down cleanly), then insist if it lingers."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(LAB_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        self._stderr.close()


@dataclass
class Target:
    name: str  # "live" or "lab"
    settings: Settings
    lab: LabProcess | None = None

    def describe(self) -> str:
        faults = f", faults: {', '.join(self.lab.faults)}" if self.lab and self.lab.faults else ""
        if self.lab and not self.lab.codex_cli:
            faults += ", a stand-in codex: bin/setup --codex installs the real CLI"
        if self.lab and not self.lab.ide:
            faults += ", a stand-in code-server: bin/setup --ide installs the real one"
        return f"target: {self.name} (Coder {self.settings.coder_url}{faults})"

    def close(self) -> None:
        if self.lab is not None:
            self.lab.stop()


def select_target(userdata: Mapping[str, Any]) -> Target:
    """Live when CODER_URL is configured; otherwise start the lab and point the settings at it."""
    if problems := unknown_names(userdata):
        raise SettingsError("; ".join(problems))
    settings = load_settings(userdata)
    if settings.is_live:
        target = Target("live", settings)
    else:
        lab = LabProcess.start(settings)
        try:
            target = Target("lab", load_settings(lab.env, userdata), lab)
        except BaseException:
            lab.stop()
            raise
        # The lab's HTTPS servers (its GitHub) present certificates of its own CA.
        os.environ.update({name: lab.env[name] for name in TRUST_VARIABLES if name in lab.env})
    # The Coder CLI behind the SSH ProxyCommand reads these; the environment keeps the token off argv.
    os.environ["CODER_URL"] = target.settings.coder_url or ""
    os.environ["CODER_SESSION_TOKEN"] = target.settings.token
    return target
