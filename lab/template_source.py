"""What the lab's stand-in for terraform reads of an uploaded template (`coder templates push`).

The lab cannot run terraform, so it judges a template archive by what it can see without running it:

- **parse** (coderd's tfparse, when a version is created): every `*.tf` file at the archive's root must have
  its blocks closed; an unclosed or stray brace is the HCL diagnostic coderd answers 500 with;
- **plan** (the import job): there must be configuration at all (`terraform plan` in a directory without
  `*.tf` files fails with "No configuration files");
- **apply** (a start build): the workspace pod runs the first literal `image = "..."` the terraform names
  (the seeded templates' envbuilder image when it names none), and the lab's registry has only a few images:
  any other cannot be pulled, the pod stays in ImagePullBackOff and the build fails, as a real cluster does
  with a mistyped image tag that no plan catches.
"""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# What the lab's registry serves: the envbuilder images its workspaces run (its envbuilder is v1.1.0).
REGISTRY: dict[str, frozenset[str]] = {"ghcr.io/coder/envbuilder": frozenset({"latest", "1.1.0"})}
# provisionersdk.Tar leaves these out of a pushed directory.
SKIPPED_DIRS = frozenset({".git", ".terraform"})
_IMAGE = re.compile(r'^\s*image\s*=\s*"([^"$]+)"', re.MULTILINE)
_HEREDOC = re.compile(r"<<-?\s*([A-Za-z_][A-Za-z0-9_-]*)\n")


class ArchiveError(ValueError):
    """The upload is not an archive the lab can read."""


def read_archive(data: bytes) -> dict[str, str]:
    """The regular files of a tar archive, by path (an empty upload is an empty archive, as Go's tar reads it)."""
    if not data.strip(b"\0"):
        return {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            files = {}
            for member in archive.getmembers():
                handle = archive.extractfile(member) if member.isfile() else None
                if handle is not None:
                    files[member.name.removeprefix("./")] = handle.read().decode(errors="replace")
            return files
    except tarfile.TarError as error:
        raise ArchiveError(f"archive/tar: {error}") from error


def tar_from_zip(data: bytes) -> bytes:
    """A zip upload as the tar coderd stores for it (newer coderd converts zip uploads to tar)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    except zipfile.BadZipFile as error:
        raise ArchiveError(str(error)) from error
    return pack(files)


def pack(files: Mapping[str, str | bytes]) -> bytes:
    """A ustar archive of `files` (path -> content), as `coder templates push` uploads a directory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for path, content in sorted(files.items()):
            raw = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(raw), 0o644
            archive.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


def pack_directory(directory: Path) -> bytes:
    """The files under `directory` (without .git and .terraform), packed as the CLI packs them."""
    files: dict[str, str | bytes] = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if path.is_file() and not SKIPPED_DIRS & set(relative.parts) and not path.name.endswith(".tfstate"):
            files[relative.as_posix()] = path.read_bytes()
    return pack(files)


def _skip_heredoc(text: str, start: int) -> int:
    """The index after the heredoc that starts at `start` (`<<EOT` ... `EOT`), or the end of the text."""
    match = _HEREDOC.match(text, start)
    if match is None:
        return start + 2
    end = re.compile(rf"^\s*{re.escape(match.group(1))}\s*$", re.MULTILINE).search(text, match.end())
    return end.end() if end else len(text)


def brace_problem(name: str, text: str) -> str | None:
    """The HCL diagnostic for an unclosed or unexpected brace in one file, or None. Strings (with their
    `${...}` interpolations), heredocs and comments are skipped, as HCL's scanner does."""
    stack: list[tuple[str, int, int]] = []  # ("{" block, '"' string, "${" interpolation), line, column
    line, column, index = 1, 1, 0
    while index < len(text):
        char, top = text[index], stack[-1][0] if stack else ""
        step = 1
        if top == '"':
            if char == "\\":
                step = 2
            elif text.startswith(("${", "%{"), index):
                stack.append(("${", line, column))
                step = 2
            elif char == '"':
                stack.pop()
        elif char == "#" or text.startswith("//", index):
            end = text.find("\n", index)
            step = (end if end >= 0 else len(text)) - index
        elif text.startswith("/*", index):
            close = text.find("*/", index + 2)
            step = (close + 2 if close >= 0 else len(text)) - index
        elif text.startswith("<<", index):
            step = _skip_heredoc(text, index) - index
        elif char == '"':
            stack.append(('"', line, column))
        elif char == "{":
            stack.append(("{", line, column))
        elif char == "}":
            if top not in ("{", "${"):
                return (
                    f"{name}:{line},{column}-{column + 1}: Argument or block definition required; "
                    "An argument or block definition is required here."
                )
            stack.pop()
        for skipped in text[index : index + step]:
            line, column = (line + 1, 1) if skipped == "\n" else (line, column + 1)
        index += step
    if stack:
        _, open_line, open_column = stack[0]
        return (
            f"{name}:{open_line},{open_column}-{open_column + 1}: Unclosed configuration block; There is no closing "
            "brace for this block before the end of the file. This may be caused by incorrect brace nesting "
            "elsewhere in this file."
        )
    return None


def image_reference(image: str) -> tuple[str, str]:
    """(repository, tag) as a container runtime resolves a reference (docker.io/library/ for bare names)."""
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "latest")
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    return name, tag or "latest"


def pull_error(image: str) -> str | None:
    """What containerd answers when the lab's registry does not have `image` (None when it does)."""
    repository, tag = image_reference(image)
    if tag in REGISTRY.get(repository, frozenset()):
        return None
    ref = f"{repository}:{tag}"
    return (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
        f'failed to resolve reference "{ref}": {ref}: not found'
    )


@dataclass(frozen=True)
class TemplateSource:
    """A pushed template's files, and what the lab's terraform stand-in makes of them."""

    files: dict[str, str] = field(default_factory=dict)

    @property
    def terraform(self) -> dict[str, str]:
        """The root module: `*.tf` files at the archive's root (terraform reads no subdirectory)."""
        return {path: text for path, text in sorted(self.files.items()) if "/" not in path and path.endswith(".tf")}

    def parse_problems(self) -> list[str]:
        return [problem for name, text in self.terraform.items() if (problem := brace_problem(name, text))]

    def plan_problem(self) -> list[str]:
        """terraform plan's error output for a module it cannot plan (empty when it can)."""
        if self.terraform:
            return []
        return [
            "Error: No configuration files",
            "",
            "Plan requires configuration to be present. Planning without a configuration would mark everything for",
            "destruction, which is normally not what is desired. If you would like to destroy everything, run plan",
            "with the -destroy option. Otherwise, create a Terraform configuration file (.tf file) and try again.",
        ]

    @property
    def image(self) -> str | None:
        """The workspace pod's image: the first literal `image = "..."` of the root module."""
        for text in self.terraform.values():
            if match := _IMAGE.search(text):
                return match.group(1)
        return None
