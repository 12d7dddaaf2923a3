"""What the run counts (`RunState`), and what a scenario remembers between its steps: one small holder per
concept, each on behave's context under its own name. environment.py puts empty ones there before every
scenario (`fresh_holders`); behave drops them with the scenario's layer. The driver layer knows nothing of
them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from behave.model import Scenario
from behave.runner import Context

from workspace_spec.apps import AppVisit, BrowserVisit
from workspace_spec.coder_types import Template, Workspace
from workspace_spec.codeserver import Health
from workspace_spec.e2e import Proposal
from workspace_spec.identity import SignIn
from workspace_spec.inside import Checkout
from workspace_spec.kube import NamespaceObjects, Right
from workspace_spec.persistence import Marker
from workspace_spec.promotion import PromotionOutcome
from workspace_spec.reachability import Probe
from workspace_spec.shell import CommandResult

if TYPE_CHECKING:
    from workspace_spec.github import PullFacts  # PyGithub: loaded only by runs that open pull requests


@dataclass
class ScenarioWorkspace:
    """context.workspace: the workspace the scenario works with, once a step has brought one."""

    current: Workspace | None = None

    def require(self) -> Workspace:
        if self.current is None:
            # A Gherkin mistake (no step brought a workspace), not the platform's: reported as broken.
            raise RuntimeError("this step needs a workspace, and the scenario has none")
        return self.current


@dataclass
class AcrossStop:
    """context.across_stop: the marker written into the volume, and the namespace's objects before and
    during the stop."""

    marker: Marker | None = None
    before: NamespaceObjects | None = None
    during: NamespaceObjects | None = None


@dataclass
class AppProxy:
    """context.app_proxy: what opening the app through Coder's app proxy showed (over HTTP, in a browser)."""

    visit: AppVisit | None = None
    browser: BrowserVisit | None = None


@dataclass
class Terminal:
    """context.terminal: what the developer found in the workspace's terminal."""

    checkout: Checkout | None = None
    tools: dict[str, CommandResult] = field(default_factory=dict)
    ide_health: Health | None = None
    extensions: list[str] = field(default_factory=list)


@dataclass
class Auth:
    """context.auth: the deployment's sign-in configuration and first-run setup."""

    sign_in: SignIn | None = None
    first_user: tuple[bool, str] | None = None


@dataclass
class Network:
    """context.network: which services answered, and whether Coder accepts a WebSocket upgrade."""

    probes: list[Probe] = field(default_factory=list)
    websocket_problem: str = ""


@dataclass
class ClusterAccess:
    """context.cluster_access: the rights the suite's Kubernetes identity lacks."""

    missing_rights: list[Right] = field(default_factory=list)


@dataclass
class Autostop:
    """context.autostop: the template whose auto-stop a new workspace should inherit."""

    template: Template | None = None


@dataclass
class Workflow:
    """context.workflow: the E2E flow's checkout in the workspace, its proposal and the pull request."""

    checkout_dir: str = ""
    proposal: Proposal | None = None
    pull: PullFacts | None = None


def fresh_holders(context: Context) -> None:
    """Empty holders for a new scenario, one per concept."""
    context.workspace = ScenarioWorkspace()
    context.across_stop = AcrossStop()
    context.app_proxy = AppProxy()
    context.terminal = Terminal()
    context.auth = Auth()
    context.network = Network()
    context.cluster_access = ClusterAccess()
    context.autostop = Autostop()
    context.workflow = Workflow()


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
    # What the template-version gate did (SPEC_PROMOTE_ON_PASS), for the run's summary.
    promotion: PromotionOutcome = field(default_factory=PromotionOutcome)
