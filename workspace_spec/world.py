"""Everything one run shares: its target, the Coder client, the cluster probes and the cleanup ledger."""

from __future__ import annotations

from functools import cached_property

from workspace_spec.cleanup import Ledger
from workspace_spec.coder import CoderClient, CoderError, NotCoderError, Workspace
from workspace_spec.kube import Cluster
from workspace_spec.naming import Namer
from workspace_spec.shell import WorkspaceShell
from workspace_spec.target import Target
from workspace_spec.workspaces import Workspaces


class PreflightError(Exception):
    """The target is not usable as configured; nothing has been created."""


class World:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.settings = target.settings
        self.coder = CoderClient(self.settings.coder_url or "", self.settings.token, self.settings.request_timeout)
        self.ledger = Ledger()
        self.namer = Namer(self.settings.name_prefix)
        self.workspaces = Workspaces(self.coder, self.settings, self.ledger, self.namer)

    @cached_property
    def cluster(self) -> Cluster:
        return Cluster(self.settings.kubeconfig, self.settings.request_timeout)

    def shell(self, workspace: Workspace) -> WorkspaceShell:
        return WorkspaceShell(workspace.name, self.settings.coder_cli)

    def preflight(self) -> str:
        """Check the deployment, the token and the template before anything is created; one line back."""
        try:
            version = self.coder.build_info().get("version", "unknown version")
        except NotCoderError as error:
            raise PreflightError(str(error)) from None
        try:
            user = self.coder.me()
        except CoderError as error:
            if error.status == 401:
                raise PreflightError(
                    f"CODER_SESSION_TOKEN was rejected by {self.coder.url}: {error.detail or error.message}"
                ) from None
            raise PreflightError(f"cannot read the token's user: {error}") from None
        try:
            self.workspaces.template()
        except CoderError as error:
            if error.status == 404:
                raise PreflightError(
                    f"template {self.settings.template!r} not found in organization "
                    f"{self.settings.organization!r} on {self.coder.url}"
                ) from None
            raise PreflightError(f"cannot read template {self.settings.template!r}: {error}") from None
        username = user.get("username", "?")
        return f"Coder {version} as {username}, template {self.settings.template}, run {self.namer.run_id}"

    def close(self) -> None:
        self.coder.close()
        self.target.close()
