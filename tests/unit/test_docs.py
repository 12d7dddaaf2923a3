"""The docs a newcomer reads hold together: every relative link lands on a file and a heading that exist,
the README stays two screens with its two commands on the first, and the settings table is the settings
that `workspace_spec/settings.py` declares, so neither can drift from the other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.suite import ROOT
from workspace_spec.settings import TRUST_VARIABLES, Settings, env_name

DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "lab" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 200
FIRST_COMMANDS = ("bin/setup && .venv/bin/behave --tags=@smoke", "bin/setup --dev && bin/check && .venv/bin/pytest")
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`]*`")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # https:, mailto:, ...
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks: a link in an example is no link."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text as rendered, lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    text = re.sub(r"(\*\*|__|\*)", "", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a file's headings; a repeated heading gets -1, -2... as GitHub numbers them."""
    names: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(path.read_text()):
        if match := HEADING.match(line):
            base = slug(match.group(2))
            count = seen[base] = seen.get(base, -1) + 1
            names.add(f"{base}-{count}" if count else base)
    return names


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every relative link in a Markdown file."""
    found = []
    for number, line in prose_lines(path.read_text()):
        if reference := REFERENCE_LINK.match(line):
            targets = [reference.group(1)]
        else:
            targets = INLINE_LINK.findall(INLINE_CODE.sub("", line))
        found += [(number, target) for target in targets if not EXTERNAL.match(target)]
    return found


def broken(path: Path, target: str) -> str:
    """Why a link from `path` does not resolve, or '' when it does."""
    file_part, _, anchor = target.partition("#")
    destination = (path.parent / file_part).resolve() if file_part else path
    if not destination.exists():
        return f"{file_part} does not exist"
    if anchor and destination.suffix == ".md" and anchor not in anchors(destination):
        return f"{file_part or destination.name} has no heading #{anchor}"
    return ""


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    problems = [f"line {n}: ({target}): {why}" for n, target in links(path) if (why := broken(path, target))]
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_the_link_check_sees_broken_files_and_anchors(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# The `gate` (§5.1)\n\n## Twice\n\n## Twice\n\n```\n[in an example](nowhere.md)\n```\n"
        "[ok](#the-gate-51) [ok](#twice-1) [ok](page.md#twice) `[code](nowhere.md)` [web](https://x.y/z)\n"
        "[no file](missing.md) [no heading](page.md#nope) ![no image](img.png)\n[ref]: other.md#x\n"
    )
    assert [(n, t) for n, t in links(page) if broken(page, t)] == [
        (11, "missing.md"),
        (11, "page.md#nope"),
        (11, "img.png"),
        (12, "other.md#x"),
    ]


def test_slugs_follow_github() -> None:
    assert slug("The stand-in `coder` CLI (`CODER_CLI`)") == "the-stand-in-coder-cli-coder_cli"
    assert slug("Fail safe (spec §5, §5.1)") == "fail-safe-spec-5-51"
    assert slug("`reports/summary.json`") == "reportssummaryjson"
    assert slug("Injected faults: what a real platform does") == "injected-faults-what-a-real-platform-does"


def test_the_readme_is_two_screens_with_the_two_commands_first() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"
    first = [line.strip() for line in lines[:40]]
    for command in FIRST_COMMANDS:
        assert command in first, f"README.md's first 40 lines lack the command `{command}`"


# The settings table: one row per setting, `| env var | -D name | default | meaning |`.


def table_rows(path: Path) -> list[list[str]]:
    rows = []
    for _, line in prose_lines(path.read_text()):
        if line.startswith("| `"):
            rows.append([cell.strip() for cell in line.strip()[1:-1].split("|")])
    return rows


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def documented_default(value: object) -> list[str]:
    """How a default is written in the table: each literal in backticks; [] for one only prose can say."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, bool):
        return [str(value).lower()]
    if isinstance(value, float) and value.is_integer():
        return [str(int(value))]
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


def settings_problems(rows: list[list[str]]) -> list[str]:
    problems = []
    by_name: dict[str, list[str]] = {}
    for row in rows:
        if len(row) != 4:
            problems.append(f"a row without its four columns: {row}")
            continue
        variables, names = ticked(row[0]), ticked(row[1])
        if not names:  # a standard variable the suite does not read as a setting (a CA bundle)
            problems += [
                f"{v} is neither a setting nor a standard variable" for v in variables if v not in TRUST_VARIABLES
            ]
            continue
        if len(names) != 1 or names[0] not in Settings.model_fields:
            problems.append(f"a row for no setting: {row[1]}")
            continue
        name = names[0]
        if name in by_name:
            problems.append(f"two rows for {name}")
        by_name[name] = row
        if variables != [env_name(name)]:
            problems.append(f"{name} is read from {env_name(name)}, the row says {row[0]}")
    for name, field in Settings.model_fields.items():
        if name not in by_name:
            problems.append(f"no row for the setting {name} ({env_name(name)})")
            continue
        default, cell = documented_default(field.get_default(call_default_factory=True)), by_name[name][2]
        if not default and not cell:
            problems.append(f"{name}: the default column is empty; say what unset means")
        missing = [literal for literal in default if literal not in ticked(cell)]
        if missing:
            problems.append(f"{name}: the default is {' '.join(missing)}, the row says {cell!r}")
    return problems


def test_the_settings_table_is_the_settings() -> None:
    rows = table_rows(ROOT / "docs" / "settings.md")
    assert rows, "docs/settings.md has no settings table"
    assert not settings_problems(rows), "docs/settings.md:\n" + "\n".join(settings_problems(rows))


def test_the_settings_check_sees_drift() -> None:
    rows = table_rows(ROOT / "docs" / "settings.md")
    without_template = [row for row in rows if ticked(row[1]) != ["template"]]
    assert settings_problems(without_template) == ["no row for the setting template (SPEC_TEMPLATE)"]
    wrong_default = [[*row[:2], "`ameide`", row[3]] if ticked(row[1]) == ["template"] else row for row in rows]
    assert settings_problems(wrong_default) == ["template: the default is ameide-dev, the row says '`ameide`'"]
    assert settings_problems([*rows, ["`SPEC_GONE`", "`gone`", "`1`", "a setting since removed"]]) == [
        "a row for no setting: `gone`"
    ]
    renamed = [["`SPEC_TPL`", *row[1:]] if ticked(row[1]) == ["template"] else row for row in rows]
    assert settings_problems(renamed) == ["template is read from SPEC_TEMPLATE, the row says `SPEC_TPL`"]
    unknown_variable = [*rows, ["`SPEC_NOTHING`", "", "", "a variable nothing reads"]]
    assert settings_problems(unknown_variable) == ["SPEC_NOTHING is neither a setting nor a standard variable"]
    unsaid = [[*row[:2], "", row[3]] if ticked(row[1]) == ["coder_url"] else row for row in rows]
    assert settings_problems(unsaid) == ["coder_url: the default column is empty; say what unset means"]
