"""Workspace lifecycle as the suite drives it: create, wait until usable, stop, start, delete, remove."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from workspace_spec.cleanup import Entry, Ledger
from workspace_spec.coder import BadAnswer, CoderClient, CoderError, CoderUnreachable
from workspace_spec.coder_types import Template, Workspace
from workspace_spec.errors import PlatformFailure, TemplateChoice
from workspace_spec.naming import Namer
from workspace_spec.settings import Settings
from workspace_spec.timings import Timings
from workspace_spec.waiting import WaitFailed, wait_for_agent_ready, wait_for_app_healthy, wait_for_build
from workspace_spec.workspace_states import undeclared_health

# A delete that fails (a flaky provisioner) is tried again this many times before cleanup gives up.
DELETE_ATTEMPTS = 3
REFUSED_DELETE_PAUSE = 1.0  # between deletes refused while another build runs, when its state cannot be read


class DeleteUnconfirmed(Exception):
    """The delete was sent, but the platform's answers do not say whether the workspace is gone."""


class VersionRefused(Exception):
    """The run cannot check the configured template version as asked; nothing has been created for it."""


class VersionNotBuilt(PlatformFailure):
    """Coder created the workspace from another version than the one the run asked for."""


class Workspaces:
    """Creates workspaces from the configured template and guarantees their removal through the ledger."""

    def __init__(
        self, coder: CoderClient, settings: Settings, ledger: Ledger, namer: Namer, timings: Timings | None = None
    ) -> None:
        self.coder = coder
        self.settings = settings
        self.ledger = ledger
        self.namer = namer
        self.timings = timings or Timings()
        self._entries: dict[str, Entry] = {}
        # (template, version name, version id) of every workspace created: what the run checked.
        self.built_from: set[tuple[str, str, str]] = set()

    def template(self, name: str | None = None) -> Template:
        return self.coder.template(self.settings.organization, name or self.settings.template)

    def version_id(self, template: Template) -> str:
        """The pushed, not yet active version the run checks (SPEC_TEMPLATE_VERSION and its E2E twin);
        '' for the template's active version. Refused (VersionRefused) on a template that requires its active
        version: Coder would build the active one on every later start, and the gate would credit a version
        the workspaces did not run."""
        name, setting = self.candidate(template.name)
        if name and template.require_active_version:
            raise VersionRefused(
                f"template {template.name!r} requires its active version (require_active_version), so version "
                f"{name!r} ({setting}) cannot be what its workspaces run: unset {setting}, or lift the requirement"
            )
        return self.coder.template_version_id(template.id, name) if name else ""

    def candidate(self, template_name: str) -> tuple[str, str]:
        """The version setting for the template: (version name, setting name); ('', ...) for none."""
        settings = self.settings
        wanted = {
            settings.template: (settings.template_version, "SPEC_TEMPLATE_VERSION"),
            settings.e2e_template: (settings.e2e_template_version, "SPEC_E2E_TEMPLATE_VERSION"),
        }
        return wanted.get(template_name, ("", ""))

    def create(self, scope: str, ttl_ms: int | None = None, template_name: str | None = None) -> Workspace:
        """Create a workspace. Its name enters the ledger before the request: an answer that is lost (a
        timeout, a 502 after the create, a body that cannot be read, a signal) may hide a workspace that
        Coder did create, which cleanup then finds by name and removes."""
        template = self.template(template_name)
        version_id = self.version_id(template)
        name = self.namer.workspace()
        entry = self.ledger.register("workspace", name, scope, lambda: self.remove_named(name))
        workspace = self.coder.create_workspace(template.id, name, ttl_ms=ttl_ms, version_id=version_id)
        entry.remove = lambda: self.remove(workspace.id)
        self._entries[workspace.id] = entry
        if version_id and workspace.template_version_id != version_id:
            raise VersionNotBuilt(
                f"workspace {workspace.name} was asked to build version {self.candidate(template.name)[0]!r} of "
                f"template {template.name!r} ({version_id}), but Coder builds {workspace.template_version_id}"
            )
        build = workspace.raw.get("latest_build") or {}
        self.built_from.add((template.name, str(build.get("template_version_name", "")), workspace.template_version_id))
        return workspace

    # -- waits ----------------------------------------------------------------------------------
    def build_finished(self, workspace: Workspace) -> Workspace:
        result = wait_for_build(self.coder, workspace.id, workspace.build_id, self.settings.build_timeout)
        if result is None:
            raise WaitFailed(f"workspace {workspace.name} disappeared while its {workspace.transition} build ran")
        return result

    def agent_ready(self, workspace: Workspace) -> Workspace:
        settings = self.settings
        return wait_for_agent_ready(self.coder, workspace.id, settings.app_slug, settings.agent_timeout, settings.agent)

    def app_healthy(self, workspace: Workspace) -> Workspace:
        settings = self.settings
        return wait_for_app_healthy(self.coder, workspace.id, settings.app_slug, settings.app_timeout, settings.agent)

    def require_app_health(self, workspace: Workspace) -> None:
        """That Coder judged the app's health: a template that declares no health check leaves it unjudged,
        said as the template's choice (TemplateChoice), not as a fault of the platform."""
        if problem := undeclared_health(workspace, self.settings.app_slug, self.settings.agent):
            raise TemplateChoice(problem)

    def usable(self, workspace: Workspace) -> Workspace:
        """Build succeeded, agent ready, app healthy: 'connected' alone is not ready (peer lesson)."""
        self.build_finished(workspace)
        self.agent_ready(workspace)
        return self.app_healthy(workspace)

    # -- transitions ----------------------------------------------------------------------------
    def transition(self, workspace: Workspace, transition: str) -> Workspace | None:
        """Start a build and wait for it to succeed (None once a delete has succeeded)."""
        build = self.coder.start_build(workspace.id, transition)
        return wait_for_build(self.coder, workspace.id, build["id"], self.settings.build_timeout)

    def stop(self, workspace: Workspace) -> Workspace:
        with self.timings.timed(workspace.name, workspace.template_name, "stop"):
            stopped = self.transition(workspace, "stop")
        assert stopped is not None
        return stopped

    def start(self, workspace: Workspace) -> Workspace:
        with self.timings.timed(workspace.name, workspace.template_name, "start"):
            started = self.transition(workspace, "start")
            assert started is not None
            return self.usable(started)

    def delete(self, workspace: Workspace) -> None:
        """Delete as a scenario step: one attempt, its failure is the scenario's verdict. What Coder
        still serves stays in the ledger, for cleanup to remove."""
        with self.timings.timed(workspace.name, workspace.template_name, "delete"):
            self.transition(workspace, "delete")
        if self.is_gone(workspace.id)[0] and (entry := self._entries.pop(workspace.id, None)):
            self.ledger.forget(entry)

    def is_gone(self, workspace_id: str) -> tuple[bool, str]:
        """Whether Coder no longer serves the workspace, with what it answered."""
        try:
            workspace = self.coder.workspace(workspace_id)
        except CoderError as error:
            return error.status in (404, 410), f"{error.status} {error.message}"
        return False, f"200, status {workspace.status}"

    # -- cleanup --------------------------------------------------------------------------------
    def remove_named(self, name: str) -> None:
        """Remove the owner's workspace of that name, if Coder has one (a create whose answer was lost)."""
        found = self.coder.workspace_named(name)
        if found is not None:
            self.remove(found.id)

    def remove(self, workspace_id: str) -> None:
        """Delete idempotently (404/410 count as done) and verify, within a fresh cleanup deadline."""
        deadline = time.monotonic() + self.settings.cleanup_timeout
        self._entries.pop(workspace_id, None)
        last_error = ""
        for _ in range(DELETE_ATTEMPTS):
            try:
                self._delete_once(workspace_id, deadline)
                return
            except CoderError as error:
                if error.status in (404, 410):
                    return
                last_error = str(error)
            except DeleteUnconfirmed as error:
                raise RuntimeError(f"workspace {workspace_id}: {error}") from None  # sending it again cannot help
            except PlatformFailure as error:
                last_error = str(error)  # a failed delete build, an answer lost or unreadable: try again
            if time.monotonic() >= deadline:
                break
        raise RuntimeError(f"workspace {workspace_id} was not deleted: {last_error}")

    def _delete_once(self, workspace_id: str, deadline: float) -> None:
        """Send the delete first (it needs no read, and a platform whose reads fail may still act on it),
        then confirm that the workspace is gone."""
        build = self._send_delete(workspace_id, deadline)
        build_id = str(build.get("id", "")) if isinstance(build, dict) else ""
        try:
            self._confirm_deleted(workspace_id, build_id, deadline)
        except CoderError as error:
            if error.status in (404, 410):
                raise
            raise DeleteUnconfirmed(f"the delete was sent, but whether it is gone cannot be read: {error}") from None
        except (BadAnswer, CoderUnreachable) as error:
            raise DeleteUnconfirmed(f"the delete was sent, but whether it is gone cannot be read: {error}") from None

    def _send_delete(self, workspace_id: str, deadline: float) -> dict[str, Any]:
        """The delete build, sent again while Coder refuses it because another build is active (409): that
        one is awaited when its state can be read, and simply outlasted when it cannot."""
        while True:
            try:
                return self.coder.start_build(workspace_id, "delete")
            except CoderError as error:
                if error.status != 409 or time.monotonic() >= deadline:
                    raise
            try:
                self._let_active_build_end(workspace_id, deadline)
            except (BadAnswer, CoderUnreachable, CoderError):
                time.sleep(min(REFUSED_DELETE_PAUSE, max(0.0, deadline - time.monotonic())))

    def _let_active_build_end(self, workspace_id: str, deadline: float) -> None:
        current = self.coder.workspace(workspace_id)
        if current.never_picked_up():
            # No daemon will take it (none matches, or none was seen lately): waiting is pointless, and Coder
            # lets anyone cancel a pending job.
            self.coder.cancel_build(current.build_id, expect_status="pending")
        elif current.job_status in ("pending", "running", "canceling"):
            with contextlib.suppress(WaitFailed):  # whichever way the active build ends
                self._cleanup_wait(workspace_id, current.build_id, deadline)

    def _confirm_deleted(self, workspace_id: str, build_id: str, deadline: float) -> None:
        try:
            deleted = self._cleanup_wait(workspace_id, build_id, deadline)
        except WaitFailed:
            if not self._unmatched_and_never_provisioned(workspace_id, build_id):
                raise
            deleted = self._orphan_delete(workspace_id, build_id, deadline)
        if deleted is not None:
            gone, answer = self.is_gone(workspace_id)
            if not gone:
                raise WaitFailed(f"delete build succeeded but Coder still serves the workspace ({answer})")

    def _unmatched_and_never_provisioned(self, workspace_id: str, delete_build_id: str) -> bool:
        """The delete waits for a provisioner that will not come, and no start ever ran: nothing to destroy."""
        current = self.coder.workspace(workspace_id)
        if current.build_id != delete_build_id or not current.never_picked_up():
            return False
        builds = self.coder.builds(workspace_id)
        return not any(
            b.get("transition") == "start" and (b.get("job") or {}).get("status") == "succeeded" for b in builds
        )

    def _orphan_delete(self, workspace_id: str, delete_build_id: str, deadline: float) -> Workspace | None:
        """An orphan delete, which coderd (v2.24+) completes itself when no provisioner was seen lately
        (wsbuilder: no eligible daemon younger than the stale interval)."""
        self.coder.cancel_build(delete_build_id, expect_status="pending")
        build = self.coder.start_build(workspace_id, "delete", orphan=True)
        return self._cleanup_wait(workspace_id, build["id"], deadline)

    def _cleanup_wait(self, workspace_id: str, build_id: str, deadline: float) -> Workspace | None:
        """Wait for a build during cleanup, which never stops at an unreadable /watch stream: it polls."""
        timeout = max(1.0, deadline - time.monotonic())
        return wait_for_build(self.coder, workspace_id, build_id, timeout, strict_stream=False)
