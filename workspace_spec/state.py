"""What one scenario, and one feature, remember between their steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workspace_spec.apps import AppVisit
from workspace_spec.coder import Template, Workspace
from workspace_spec.codeserver import Health
from workspace_spec.identity import SignIn
from workspace_spec.inside import Checkout
from workspace_spec.kube import NamespaceObjects, Right
from workspace_spec.persistence import Marker
from workspace_spec.shell import CommandResult

if TYPE_CHECKING:  # the workflow module needs the world, which needs this module
    from workspace_spec.e2e import Proposal
    from workspace_spec.github import PullFacts
    from workspace_spec.reachability import Probe


@dataclass
class ScenarioState:
    workspace: Workspace | None = None
    template: Template | None = None
    marker: Marker | None = None
    before_stop: NamespaceObjects | None = None
    while_stopped: NamespaceObjects | None = None
    app_visit: AppVisit | None = None
    checkout: Checkout | None = None
    tool_results: dict[str, CommandResult] = field(default_factory=dict)
    ide_health: Health | None = None
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
            raise AssertionError("this step needs a workspace, and the scenario has none")
        return self.workspace


@dataclass
class RunState:
    """What the whole run counts (kept on behave's root layer, which outlives every scenario)."""

    scenarios_run: int = 0
    skipped: list[str] = field(default_factory=list)  # why each skipped scenario was skipped
    started: bool = False  # past preflight: the run was not refused
