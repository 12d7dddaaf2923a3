"""Where each scenario comes from in spec 629, and how much its failure matters.

Every scenario name ends with the section it checks, as product and QA read it in the Gherkin:
`A signed-in developer reaches code-server through the app proxy (§1.1 check 2)`. From that one reference
the Allure report gets the story (`§1.1 Smoke, check 2`) and a link to the section in the spec, so no
scenario carries report-only tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# The spec lives in the platform repository; its headings give the link anchors below.
SPEC_URL = "https://github.com/ameideio/ameide/blob/main/backlog/629-coder-workspace-e2e.md"
EPIC = "Spec 629"

# Section number -> its heading in spec 629, as written there.
HEADINGS = {
    "0": "0) Purpose",
    "1": "1) Test types",
    "1.1": "1.1 Smoke (fast, minimal secrets)",
    "1.2": "1.2 Full E2E (includes PR + optional Codex)",
    "2": "2) Secrets and identities",
    "2.1": "2.1 GitHub",
    "2.2": "2.2 Codex (optional/extended)",
    "3": "3) Environment scope",
    "4": "4) Pass/fail criteria",
    "5": "5) Operational requirements",
    "5.1": "5.1 Bootstrap diagnostics (Envbuilder/Coder)",
    "6": "6) Networking prerequisites for automation",
}

# `(§1.1 check 2)`, `(§1.2 minimal path)`, `(§5)` at the end of a scenario name.
_REFERENCE = re.compile(r"\(§(?P<number>\d+(?:\.\d+)?)(?P<detail>[^)]*)\)\s*$")

SEVERITIES = ("blocker", "critical", "normal", "minor", "trivial")
# Checks the spec calls optional (§1.1 check 3's extension, §2.2 Codex): their failure matters less.
OPTIONAL_TAGS = frozenset({"codex", "extension"})


@dataclass(frozen=True)
class Section:
    number: str
    detail: str  # what of the section the scenario checks: `check 2`, `minimal path`, or ''

    @property
    def heading(self) -> str:
        return HEADINGS.get(self.number, "")

    @property
    def title(self) -> str:
        """The heading without its number and its parenthesis: `Smoke`, `Pass/fail criteria`."""
        text = re.sub(r"^\d+(?:\.\d+)*\)?\s*", "", self.heading)
        return re.sub(r"\s*\(.*\)$", "", text)

    @property
    def story(self) -> str:
        """`§1.1 Smoke, check 2`: the section, then which of its checks (qualifiers after a comma dropped,
        so `check 3, optional` joins the other check 3 scenarios)."""
        name = f"§{self.number} {self.title}".rstrip()
        return f"{name}, {self.detail}" if self.detail else name

    @property
    def url(self) -> str:
        return f"{SPEC_URL}#{github_anchor(self.heading)}" if self.heading else SPEC_URL

    @property
    def link_name(self) -> str:
        return f"spec 629 §{self.number}"


def section_of(scenario_name: str) -> Section | None:
    match = _REFERENCE.search(scenario_name)
    if match is None:
        return None
    detail = match.group("detail").split(",")[0].strip()
    return Section(match.group("number"), detail)


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def severity(tags: Iterable[str]) -> str | None:
    """None when the scenario names its severity itself (a bare `@critical` tag, which allure-behave reads).

    @preflight is a blocker: nothing else can be checked when the services do not answer. The checks the
    spec calls optional are normal; every other smoke and E2E check is critical, because it is a promise
    the platform makes to every developer."""
    tags = set(tags)
    if tags & set(SEVERITIES):
        return None
    if "preflight" in tags:
        return "blocker"
    if tags & OPTIONAL_TAGS:
        return "normal"
    if tags & {"smoke", "e2e"}:
        return "critical"
    return "normal"


def description(feature_description: Iterable[str], scenario_description: Iterable[str]) -> str:
    """The feature's spec text, then the scenario's own (Allure shows only the scenario's by itself)."""
    parts = ["\n".join(lines) for lines in (list(feature_description), list(scenario_description)) if lines]
    return "\n\n".join(parts)
