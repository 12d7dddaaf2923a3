"""Without the real Codex CLI the lab's workspaces get a stand-in: the toolchain check finds a codex that
answers --version, and anything more says how to install the real one."""

from __future__ import annotations

import subprocess

from lab.image import CODEX_STAND_IN


def test_the_stand_in_answers_its_version_and_nothing_more(tmp_path):
    codex = tmp_path / "codex"
    codex.write_text(CODEX_STAND_IN)
    codex.chmod(0o755)
    version = subprocess.run([codex, "--version"], capture_output=True, text=True, check=False)
    assert (version.returncode, version.stdout) == (0, "codex-cli 0.0.0 (lab stand-in)\n")
    work = subprocess.run([codex, "exec", "change the README"], capture_output=True, text=True, check=False)
    assert work.returncode == 127 and "bin/setup --codex" in work.stderr
