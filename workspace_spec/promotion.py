"""The template-version gate (SPEC_PROMOTE_ON_PASS): a pushed, inactive version becomes the template's active
version only when the run that checked it passed as a whole and left nothing behind.

No behave here: the hooks hand in what they know (which templates the selected scenarios use, how the
scenarios ended, whether the run was cut short, what cleanup left), and get back which versions to promote,
whether the run earned it and, once carried out, what happened, as one line each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from workspace_spec.coder_types import Template
from workspace_spec.errors import PlatformFailure, SuiteRefused


@dataclass(frozen=True)
class Candidate:
    """A template and the pushed version of it the run checks."""

    template: str
    version: str


@dataclass(frozen=True)
class Configured:
    """A template the run may create workspaces from, with the version setting that names its candidate."""

    template: str
    version: str  # '' when the setting is not set: the run checks the active version
    setting: str  # SPEC_TEMPLATE_VERSION or SPEC_E2E_TEMPLATE_VERSION


class PromotionRefused(SuiteRefused):
    """Promotion is asked for, but the run would not check a pushed version of every template it uses."""


class PromotionFailed(PlatformFailure):
    """Coder refused to promote a version the run had passed (its one line says what Coder answered)."""


def candidates(used: Iterable[str], configured: Sequence[Configured]) -> list[Candidate]:
    """The versions the run would promote: one per template its scenarios create workspaces from. Refused
    (one line) when a used template has no pushed version set, or when no scenario uses any template:
    promoting what the run did not check would make the gate a formality."""
    by_template = {item.template: item for item in configured}  # a later setting wins, as the workspaces use it
    used = sorted(set(used))
    if not used:
        raise PromotionRefused(
            "SPEC_PROMOTE_ON_PASS (-D promote_on_pass) is set, but the selected scenarios create no workspace, "
            "so they check no template version"
        )
    missing = [f"{by_template[name].setting} for template {name!r}" for name in used if not by_template[name].version]
    if missing:
        raise PromotionRefused(
            "SPEC_PROMOTE_ON_PASS (-D promote_on_pass) promotes the pushed version the run checks, and none is set: "
            f"set {' and '.join(missing)}"
        )
    return [Candidate(name, by_template[name].version) for name in used]


@dataclass(frozen=True)
class RunFacts:
    """How the run ended, as far as the gate cares."""

    started: bool  # past preflight: scenarios ran
    selected: int  # scenarios the run selected
    passed: int
    failed: int  # failed, errored, a failing hook or cleanup: anything but a pass or a skip
    skipped: int  # selected, but an optional check that is turned off
    interrupted: bool  # Ctrl-C, SIGTERM, behave aborted
    left_behind: int  # what cleanup did not remove (NOT REMOVED, or KEPT for debugging)
    errored: bool = False  # the suite broke outside its scenarios (a hook)

    @property
    def not_run(self) -> int:
        return max(0, self.selected - self.passed - self.failed - self.skipped)


def _count(number: int, what: str) -> str:
    return f"{number} {what}{'' if number == 1 else 's'}"


@dataclass(frozen=True)
class Decision:
    promote: bool
    reasons: tuple[str, ...] = ()

    @property
    def line(self) -> str:
        """Why not, in one line ('' when the run earned the promotion)."""
        return f"not promoted: {'; '.join(self.reasons)}" if self.reasons else ""


def decide(facts: RunFacts) -> Decision:
    """Promote only when every selected scenario passed (none failed or errored, none left unrun, not all
    skipped), the run was not cut short, and cleanup removed everything."""
    if facts.interrupted:
        return Decision(False, ("run interrupted",))  # the counts of a run cut short mean nothing
    if not facts.started:
        return Decision(False, ("the run stopped before its first check",))
    reasons = []
    if facts.failed:
        reasons.append(f"{_count(facts.failed, 'scenario')} failed")
    if facts.not_run:
        reasons.append(f"{_count(facts.not_run, 'scenario')} did not run")
    if not facts.passed and not facts.failed:
        reasons.append("nothing was checked")
    if facts.errored:
        reasons.append("the suite errored outside its scenarios")
    if facts.left_behind:
        reasons.append("cleanup incomplete")
    return Decision(not reasons, tuple(reasons))


def promoted_line(candidate: Candidate) -> str:
    return f"promoted: {candidate.template} version {candidate.version} is now active"


@dataclass
class PromotionOutcome:
    """What the gate did, for the run's summary.

    status: `off` (not asked for), `refused` (asked for without a version to promote), `pending` (asked for,
    the run still going), `promoted`, `not promoted` (the run did not earn it: `reasons`), `failed` (Coder
    refused a promotion: `error`)."""

    status: str = "off"
    candidates: list[Candidate] = field(default_factory=list)
    promoted: list[Candidate] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    error: str = ""

    def to_json(self) -> dict[str, Any] | None:
        """As summary.json says it; None when the gate was not asked for (SPEC_PROMOTE_ON_PASS)."""
        if self.status == "off":
            return None

        def named(candidates: list[Candidate]) -> list[dict[str, str]]:
            return [{"template": candidate.template, "version": candidate.version} for candidate in candidates]

        return {
            "status": self.status,
            "candidates": named(self.candidates),
            "promoted": named(self.promoted),
            "reasons": list(self.reasons),
            "error": self.error or None,
        }


class GateClient(Protocol):
    """What the gate asks of Coder (workspace_spec.coder.CoderClient)."""

    def template(self, organization: str, name: str) -> Template: ...

    def template_version_id(self, template_id: str, name: str) -> str: ...

    def promote_version(self, template_id: str, version_id: str) -> str: ...


def promote(client: GateClient, organization: str, outcome: PromotionOutcome) -> list[str]:
    """Make each candidate the active version of its template; the lines to print. When Coder refuses one,
    the gate stops there: `outcome` says `failed` with Coder's answer in `error` (those before stay promoted)."""
    lines: list[str] = []
    for candidate in outcome.candidates:
        try:
            template = client.template(organization, candidate.template)
            client.promote_version(template.id, client.template_version_id(template.id, candidate.version))
        except PlatformFailure as error:
            outcome.status = "failed"
            outcome.error = f"promotion failed: {candidate.template} version {candidate.version}: {error}"
            return lines
        outcome.promoted.append(candidate)
        lines.append(promoted_line(candidate))
    outcome.status = "promoted"
    return lines
