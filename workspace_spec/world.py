"""Everything one run shares: its target, the Coder client, the cluster probes and the cleanup ledger."""

from __future__ import annotations

import re
import shutil
from functools import cached_property
from typing import TYPE_CHECKING

from workspace_spec.cleanup import Ledger
from workspace_spec.coder import CoderClient, CoderError, NotCoderError
from workspace_spec.coder_types import Template, Workspace
from workspace_spec.errors import SuiteRefused
from workspace_spec.kube import Cluster, ClusterUnavailable
from workspace_spec.naming import Namer
from workspace_spec.plan import Plan
from workspace_spec.target import Target
from workspace_spec.timings import Timings
from workspace_spec.workspaces import VersionRefused, Workspaces

if TYPE_CHECKING:
    from workspace_spec.github import PullRequests
    from workspace_spec.ssh import WorkspaceShell

# POST /api/v2/users/{user}/workspaces and the `default` organization alias arrived in v2.14.
MINIMUM_VERSION = (2, 14)


def _minor_version(version: str) -> tuple[int, int] | None:
    """(major, minor) of a release; None for a development build (buildinfo: v0.0.0-devel+<sha>),
    whose real version nobody can tell."""
    match = re.match(r"v?(\d+)\.(\d+)", version)
    if not match or version.startswith(("v0.0.0", "0.0.0")):
        return None
    return int(match.group(1)), int(match.group(2))


class PreflightError(SuiteRefused):
    """The target is not usable as configured; nothing has been created."""


class World:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.settings = target.settings
        settings = self.settings
        self.coder = CoderClient(
            settings.coder_url or "", settings.token, settings.request_timeout, settings.rate_limit_wait
        )
        self.ledger = Ledger()
        self.ledger.time_limit = settings.cleanup_timeout  # the run's end waits no longer for the platform
        self.namer = Namer(self.settings.name_prefix)
        self.timings = Timings()
        self.workspaces = Workspaces(self.coder, self.settings, self.ledger, self.namer, self.timings)
        self.plan = Plan(self.workspaces, self.settings.max_parallel_builds, self.timings)

    @cached_property
    def cluster(self) -> Cluster:
        return Cluster(self.settings.kubeconfig, self.settings.request_timeout)

    @cached_property
    def pull_requests(self) -> PullRequests:
        if problem := self.settings.e2e_problem():
            raise PreflightError(problem)
        assert self.settings.github_token and self.settings.e2e_repo
        from workspace_spec.github import PullRequests  # PyGithub: only runs that open pull requests load it

        return PullRequests(
            self.settings.github_api_url,
            self.settings.github_token.get_secret_value(),
            self.settings.e2e_repo,
            self.settings.request_timeout,
        )

    def shell(self, workspace: Workspace, connect_timeout: float | None = None) -> WorkspaceShell:
        agent = workspace.ide_agent(self.settings.app_slug, self.settings.agent)
        timeout = connect_timeout or self.settings.ssh_connect_timeout
        from workspace_spec.ssh import WorkspaceShell  # fabric: preload.SSH loads it while the target starts

        return WorkspaceShell(workspace.name, agent.name if agent else "", self.settings.coder_cli, timeout)

    def preflight(self, needs_cluster: bool = True) -> str:
        """Check the deployment, the token, the template and (when the run's checks use it) the cluster
        before anything is created; one line back."""
        try:
            version = self.coder.build_info().get("version", "unknown version")
        except NotCoderError as error:
            raise PreflightError(str(error)) from None
        found = _minor_version(version)
        if found is None:
            version += f" (a development build: its version is unknown; this suite needs v2.{MINIMUM_VERSION[1]}+)"
        elif found < MINIMUM_VERSION:
            raise PreflightError(
                f"Coder {version} at {self.coder.url} is older than v2.{MINIMUM_VERSION[1]}, "
                "which this suite needs (POST /api/v2/users/{user}/workspaces)"
            )
        try:
            user = self.coder.me()
        except CoderError as error:
            if error.status == 401:
                raise PreflightError(
                    f"CODER_SESSION_TOKEN was rejected by {self.coder.url}: {error.detail or error.message}"
                ) from None
            raise PreflightError(f"cannot read the token's user: {error}") from None
        try:
            template = self.workspaces.template()
        except CoderError as error:
            if error.status == 404:
                raise PreflightError(
                    f"template {self.settings.template!r} not found in organization "
                    f"{self.settings.organization!r} on {self.coder.url}"
                ) from None
            raise PreflightError(f"cannot read template {self.settings.template!r}: {error}") from None
        self._preflight_version(template)
        if self.settings.e2e_template_version and self.settings.e2e_template != template.name:
            self._preflight_version(self._e2e_template())
        if needs_cluster:
            self._preflight_cluster()
            if shutil.which(self.settings.coder_cli) is None:
                raise PreflightError(
                    f"the Coder CLI {self.settings.coder_cli!r} (SPEC_CODER_CLI) is not on PATH: SSH into "
                    "workspaces runs `coder ssh --stdio` (install it from your deployment: <CODER_URL>/bin/)"
                )
        username = user.get("username", "?")
        return f"Coder {version} as {username}, template {self.settings.template}, run {self.namer.run_id}"

    def _preflight_version(self, template: Template) -> None:
        """The candidate version the run would build from the template exists, and the template lets the
        run's workspaces build it (VersionRefused)."""
        try:
            self.workspaces.version_id(template)
        except VersionRefused as refused:
            raise PreflightError(str(refused)) from None
        except CoderError as error:
            name, setting = self.workspaces.candidate(template.name)
            raise PreflightError(
                f"version {name!r} of template {template.name!r} ({setting}): {error.message}"
            ) from None

    def _e2e_template(self) -> Template:
        name = self.settings.e2e_template
        try:
            return self.workspaces.template(name)
        except CoderError as error:
            raise PreflightError(
                f"template {name!r} (SPEC_E2E_TEMPLATE_VERSION is set for it): {error.message}"
            ) from None

    def _preflight_cluster(self) -> None:
        """The cluster answers and the identity may do what the checks do (what `kubectl auth can-i` asks)."""
        try:
            missing = self.cluster.missing_rights()
        except ClusterUnavailable as error:
            raise PreflightError(f"the Kubernetes API cannot be used: {error}") from None
        if missing:
            rights = "; ".join(right.explain() for right in missing)
            raise PreflightError(
                f"the Kubernetes identity of {self.cluster.server} lacks rights the checks need, in all "
                f"namespaces: {rights} (docs/live-deployment.md: rights in the cluster)"
            )

    def close(self) -> None:
        if "pull_requests" in self.__dict__:
            self.pull_requests.close_connection()
        self.coder.close()
        self.target.close()
