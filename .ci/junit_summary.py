"""Writes a Markdown summary of behave's JUnit files (reports/junit/TESTS-*.xml) for a CI job summary.

    python .ci/junit_summary.py [reports/junit] >> "$GITHUB_STEP_SUMMARY"

Standard library only, so it runs before or without the suite's virtualenv. The JUnit files are already
scrubbed of secrets by the suite; failure messages are cut short and kept out of Markdown markup.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

MESSAGE_CHARS = 300


def _cell(text: str) -> str:
    one_line = " ".join(text.split())
    if len(one_line) > MESSAGE_CHARS:
        one_line = one_line[: MESSAGE_CHARS - 1] + "…"
    return one_line.replace("|", "\\|").replace("`", "'").replace("<", "&lt;")


def summarize(junit_dir: Path) -> str:
    files = sorted(junit_dir.glob("*.xml"))
    if not files:
        return f"### workspace-spec\n\nNo JUnit files in `{junit_dir}`: the run ended before any report.\n"
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    problems: list[tuple[str, str, str]] = []
    for path in files:
        root = ET.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
        for suite in suites:
            for case in suite.iter("testcase"):
                name = f"{case.get('classname', '')}: {case.get('name', '')}"
                for kind in ("failure", "error"):
                    found = case.find(kind)
                    if found is not None:
                        counts["failed" if kind == "failure" else "error"] += 1
                        problems.append((kind, name, found.get("message") or (found.text or "")))
                        break
                else:
                    skipped = case.find("skipped")
                    counts["skipped" if skipped is not None else "passed"] += 1
                    if skipped is not None and skipped.get("message"):  # a check the run turned off, and why
                        problems.append(("skipped", name, skipped.get("message", "")))
    verdict = "failed" if counts["failed"] or counts["error"] else "passed"
    lines = [
        f"### workspace-spec: {verdict}",
        "",
        "| passed | failed | errors | skipped |",
        "|---|---|---|---|",
        f"| {counts['passed']} | {counts['failed']} | {counts['error']} | {counts['skipped']} |",
    ]
    if problems:
        lines += ["", "| | scenario | message |", "|---|---|---|"]
        lines += [f"| {kind} | {_cell(name)} | {_cell(message)} |" for kind, name, message in problems]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    junit_dir = Path(argv[1]) if len(argv) > 1 else Path("reports/junit")
    sys.stdout.write(summarize(junit_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
