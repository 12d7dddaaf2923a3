"""What one scenario, and one feature, remember between their steps."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workspace_spec.apps import AppAnswer
from workspace_spec.coder import Template, Workspace
from workspace_spec.codeserver import Health
from workspace_spec.identity import SignIn
from workspace_spec.inside import Checkout
from workspace_spec.kube import NamespaceObjects, Right
from workspace_spec.promotion import PromotionOutcome
from workspace_spec.shell import CommandResult

if TYPE_CHECKING:  # the workflow module needs the world, which needs this module
    from behave.model import Feature, Scenario

    from workspace_spec.e2e import Proposal
    from workspace_spec.github import PullFacts
    from workspace_spec.reachability import Probe


@dataclass(frozen=True)
class Marker:
    directory: str
    name: str
    content: str


@dataclass
class ScenarioState:
    workspace: Workspace | None = None
    template: Template | None = None
    marker: Marker | None = None
    before_stop: NamespaceObjects | None = None
    while_stopped: NamespaceObjects | None = None
    app_answer: AppAnswer | None = None
    checkout: Checkout | None = None
    tool_results: dict[str, CommandResult] = field(default_factory=dict)
    ide_health: Health | None = None
    app_behind: Health | None = None
    extensions: list[str] = field(default_factory=list)
    sign_in: SignIn | None = None
    first_user: tuple[bool, str] | None = None
    probes: list[Probe] = field(default_factory=list)
    missing_rights: list[Right] = field(default_factory=list)
    websocket_problem: str = ""
    checkout_dir: str = ""
    proposal: Proposal | None = None
    pull: PullFacts | None = None

    def require_workspace(self) -> Workspace:
        if self.workspace is None:
            # A Gherkin mistake (no step brought a workspace), not the platform's: reported as broken.
            raise RuntimeError("this step needs a workspace, and the scenario has none")
        return self.workspace


@dataclass
class RunState:
    """What the whole run counts (kept on behave's root layer, which outlives every scenario)."""

    started_at: float = field(default_factory=time.time)
    selected: frozenset[str] = frozenset()  # keys of the scenarios the paths, lines and tags selected
    scenarios: list[Scenario] = field(default_factory=list)  # each that began, in order
    skipped: list[tuple[Scenario, str]] = field(default_factory=list)  # each the suite skipped, and why
    started: bool = False  # past preflight: the run was not refused
    refusal: str = ""  # why before_all stopped the run (`ExceptionName: message`)
    nothing_checked: str = ""  # why the run checked nothing, when it did not
    errored: bool = False  # a hook outside the scenarios failed (after_all)
    features: list[Feature] = field(default_factory=list)  # as behave ran them, with their final statuses
    # What the template-version gate did (SPEC_PROMOTE_ON_PASS), for the run's summary.
    promotion: PromotionOutcome = field(default_factory=PromotionOutcome)
