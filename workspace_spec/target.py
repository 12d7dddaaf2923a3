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

from workspace_spec.errors import SuiteRefused
from workspace_spec.settings import TRUST_VARIABLES, Settings, SettingsError, load_settings, unknown_names

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAB_START_TIMEOUT = 60.0
LAB_STOP_TIMEOUT = 15.0


class LabStartError(SuiteRefused):
    """The embedded lab did not come up."""


class LabProcess:
    def __init__(self, process: subprocess.Popen[bytes], stderr: IO[bytes], command: list[str]) -> None:
        self.process = process
        self._stderr = stderr
        self.command = command  # what it was started with: the lab a run's settings ask for
        self.env: dict[str, str] = {}
        self.faults: list[str] = []
        self.codex_cli = True  # its workspaces have the real Codex CLI
        self.ide = ""  # the real IDE its workspaces run; '' for the stand-in

    @staticmethod
    def command_for(settings: Settings) -> list[str]:
        command = [sys.executable, "-m", "lab", "--handshake"]
        for fault in settings.lab_faults:
            command += ["--fault", fault]
        if settings.lab_build_delay is not None:
            command += ["--build-delay", str(settings.lab_build_delay)]
        if settings.lab_agent_delay is not None:
            command += ["--agent-delay", str(settings.lab_agent_delay)]
        return command

    @classmethod
    def start(cls, settings: Settings) -> LabProcess:
        return cls.spawn(settings).ready()

    @classmethod
    def spawn(cls, settings: Settings) -> LabProcess:
        """The lab's process, started; `ready()` waits for its handshake."""
        command = cls.command_for(settings)
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the lab; closed by stop()
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )
        return cls(process, stderr, command)

    def ready(self) -> LabProcess:
        try:
            handshake = self._read_handshake(self.process, self._stderr)
        except BaseException:
            self.process.kill()
            self.process.wait()
            self._stderr.close()
            raise
        self.env = handshake["env"]
        self.faults = handshake.get("faults", [])
        self.codex_cli = handshake.get("codex_cli", True)
        self.ide = handshake.get("ide", "")
        return self

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


# The lab start_lab_early began, until select_target takes it (or stops it).
_early: list[LabProcess] = []


def start_lab_early() -> None:
    """Start the lab from the environment's settings while behave goes on loading the suite (half a
    second of imports each, on a machine's two cores at once); select_target takes it over when the run's
    settings (the environment and -D) ask for that lab, and stops it otherwise. Nothing starts when the
    environment names a live target or its settings are wrong: select_target says what is wrong."""
    try:
        settings = load_settings()
    except SettingsError:
        return
    if not settings.is_live and not _early:
        _early.append(LabProcess.spawn(settings))


def _lab_for(settings: Settings) -> LabProcess:
    early = _early.pop() if _early else None
    if early is not None and early.command == LabProcess.command_for(settings):
        return early.ready()
    if early is not None:
        early.stop()
    return LabProcess.start(settings)


def _stop_early_lab() -> None:
    while _early:
        _early.pop().stop()


def select_target(userdata: Mapping[str, Any]) -> Target:
    """Live when CODER_URL is configured; otherwise start the lab (or take the one started early) and point
    the settings at it."""
    try:
        if problems := unknown_names(userdata):
            raise SettingsError("; ".join(problems))
        settings = load_settings(userdata)
    except BaseException:
        _stop_early_lab()
        raise
    if settings.is_live:
        _stop_early_lab()
        target = Target("live", settings)
    else:
        lab = _lab_for(settings)
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
