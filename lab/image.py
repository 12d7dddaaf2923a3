"""The workspace image: the tools it ships on PATH (with Coder's `coder` CLI, as the agent puts it
there), what it lays in a workspace's home (Codex's config and credentials), and the template's VS Code
extension (the Codex extension), which the real code-server installs from its VSIX at each start, as
Coder's code-server module does (lab/ide.py); the stand-in IDE gets the record code-server would write."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab import vsix
from lab.codexhome import lay_codex_home
from lab.faults import COMMIT_HOOK_ADDS_FILE, EXTENSION_MISSING, GIT_CREDENTIAL_STORED, TOOL_MISSING, Faults

log = logging.getLogger(__name__)

# codex runs on node, which the devcontainer's node feature ships.
TOOLS = ("git", "gh", "codex", "curl", "node")
EXTENSION_ID = "openai.chatgpt"
EXTENSION_VERSION = "0.4.46"
EXTENSION_NAME = "Codex - OpenAI's coding agent"
SYSTEM_PATH = "/usr/bin:/bin"
# Without the real Codex CLI (`bin/setup --codex` installs it, 424 MB), the image ships this stand-in: the
# toolchain check still finds a codex that answers --version, and anything more says what to install.
CODEX_STAND_IN = """#!/bin/sh
# The lab's stand-in for the Codex CLI: the real one is not installed (bin/setup --codex installs it).
if [ "$1" = "--version" ]; then echo "codex-cli 0.0.0 (lab stand-in)"; exit 0; fi
echo "codex: the lab has only a stand-in for the Codex CLI; install the real one with bin/setup --codex" >&2
exit 127
"""
# Under commit-hook-adds-file: the image's global git hooks (its /etc/git/hooks) and what they stamp.
HOOKS_DIR = "etc/git/hooks"
COMMIT_STAMP = ".ameide/last-commit"
PRE_COMMIT = f"""#!/bin/sh
# Installed by the workspace image: record when and where each commit was made.
mkdir -p "$(dirname {COMMIT_STAMP})"
printf '%s %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${{CODER_WORKSPACE_NAME:-workspace}}" > {COMMIT_STAMP}
git add {COMMIT_STAMP}
"""


def codex_home(home: Path) -> Path:
    return home / ".codex"


def tool_search_path() -> str:
    """LAB_TOOLS_PATH when set; else the repo's .lab-tools, the venv's bin (gh), then PATH."""
    override = os.environ.get("LAB_TOOLS_PATH")
    if override:
        return override
    repo_tools = Path(__file__).resolve().parent.parent / ".lab-tools/node_modules/.bin"
    # Not resolved: the venv's bin is where sys.executable's symlink lives.
    venv_bin = Path(sys.executable).parent
    return os.pathsep.join([str(repo_tools), str(venv_bin), os.environ.get("PATH", "")])


@dataclass(frozen=True)
class CodexSetup:
    """Where the workspace's Codex finds its model (`.../v1`) and the key for it."""

    model_url: str
    key: str = field(repr=False)


class Image:
    def __init__(
        self,
        faults: Faults,
        coder_cli: Path | None = None,
        codex: CodexSetup | None = None,
        extension_vsix: Path | None = None,
    ) -> None:
        self.faults = faults
        self.coder_cli = coder_cli
        self.codex = codex
        # The packed extension, for the real code-server to install; None: the stand-in IDE's record.
        self.extension_vsix = extension_vsix
        search = tool_search_path()
        self.tools: dict[str, str] = {}
        for tool in TOOLS:
            found = shutil.which(tool, path=search)
            if found is not None:
                self.tools[tool] = os.path.abspath(found)
            elif tool == "codex":
                log.warning("no Codex CLI (bin/setup --codex installs it): lab workspaces get a stand-in")
            else:
                log.warning("tool %s not found; lab workspace images will lack it", tool)
        self.codex_cli = "codex" in self.tools  # the real one
        self._hooked: set[tuple[Path, Path]] = set()  # (hooks dir, home) laid under commit-hook-adds-file
        faults.subscribe(self._unhook)

    @staticmethod
    def path(bin_dir: Path) -> str:
        return f"{bin_dir}:{SYSTEM_PATH}"

    def lay(self, bin_dir: Path, home: Path, tmp: Path) -> None:
        """Fresh bin dir, home and /tmp, as a new container from the image has them."""
        for directory in (bin_dir, home, tmp):
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
        for tool, target in self.tools.items():
            if tool == "codex" and self.faults.on(TOOL_MISSING):
                continue
            (bin_dir / tool).symlink_to(target)
        if not self.codex_cli and not self.faults.on(TOOL_MISSING):
            stand_in = bin_dir / "codex"
            stand_in.write_text(CODEX_STAND_IN)
            stand_in.chmod(0o755)
        if self.coder_cli is not None:
            (bin_dir / "coder").symlink_to(self.coder_cli)
        if self.codex is not None:
            lay_codex_home(codex_home(home), self.codex.model_url, self.codex.key)
        if self.extension_vsix is None and not self.faults.on(EXTENSION_MISSING):
            self._lay_extension(home / ".local/share/code-server/extensions")
        if self.faults.on(GIT_CREDENTIAL_STORED):
            (home / ".gitconfig").write_text("[credential]\n\thelper = store\n")
        if self.faults.on(COMMIT_HOOK_ADDS_FILE):
            self._lay_hook(bin_dir.parent / HOOKS_DIR, home)

    def _lay_hook(self, hooks: Path, home: Path) -> None:
        """A global pre-commit hook (git's core.hooksPath in the user's ~/.gitconfig) that adds a file."""
        hooks.mkdir(parents=True, exist_ok=True)
        hook = hooks / "pre-commit"
        hook.write_text(PRE_COMMIT)
        hook.chmod(0o755)
        (home / ".gitconfig").write_text(f"[core]\n\thooksPath = {hooks}\n")
        self._hooked.add((hooks, home))

    def _unhook(self) -> None:
        """Once the fault is lifted, workspaces laid under it commit what their user staged, nothing more."""
        if self.faults.on(COMMIT_HOOK_ADDS_FILE):
            return
        for hooks, home in self._hooked:
            shutil.rmtree(hooks, ignore_errors=True)
            (home / ".gitconfig").unlink(missing_ok=True)
        self._hooked.clear()

    def extensions(self) -> list[Path]:
        """The VSIX files the real code-server installs at start (none under extension-missing)."""
        if self.extension_vsix is None or self.faults.on(EXTENSION_MISSING):
            return []
        return [self.extension_vsix]

    @staticmethod
    def pack_extension(directory: Path) -> Path:
        name = f"{EXTENSION_ID}-{EXTENSION_VERSION}.vsix"
        return vsix.pack(directory / name, EXTENSION_ID, EXTENSION_VERSION, EXTENSION_NAME)

    @staticmethod
    def _lay_extension(extensions: Path) -> None:
        """What code-server 4.139.1 writes for `--install-extension` of the VSIX (seen on this lab's real one)."""
        folder = f"{EXTENSION_ID}-{EXTENSION_VERSION}"
        (extensions / folder).mkdir(parents=True)
        manifest = vsix.package_json(EXTENSION_ID, EXTENSION_VERSION, EXTENSION_NAME)
        (extensions / folder / "package.json").write_text(json.dumps(manifest, indent=2))
        location = extensions / folder
        entry = {
            "identifier": {"id": EXTENSION_ID},
            "version": EXTENSION_VERSION,
            "location": {
                "$mid": 1,
                "fsPath": str(location),
                "external": location.as_uri(),
                "path": str(location),
                "scheme": "file",
            },
            "relativeLocation": folder,
            "metadata": {"installedTimestamp": int(time.time() * 1000), "pinned": True, "source": "vsix"},
        }
        (extensions / "extensions.json").write_text(json.dumps([entry]))
