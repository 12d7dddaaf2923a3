"""Coder's JSON for the lab's state, shaped as codersdk marshals it (omitempty keys left out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lab.faults import NO_DEFAULT_TTL, REQUIRE_ACTIVE_VERSION, Faults
from lab.model import (
    VERSION,
    Agent,
    App,
    Build,
    Job,
    LogLine,
    Organization,
    Resource,
    Store,
    Template,
    TemplateVersion,
    User,
    Workspace,
    now,
)

Json = dict[str, Any]
DEFAULT_TTL_MS = 8 * 3600 * 1000
NIL_UUID = "00000000-0000-0000-0000-000000000000"
ACTIVITY_BUMP_MS = 3600 * 1000
HEALTHCHECK = {"interval": 5, "threshold": 6}
NO_HEALTHCHECK = {"interval": 0, "threshold": 0}
# The rich parameter both templates declare.
PARAMETERS: list[Json] = [
    {
        "name": "cpu",
        "display_name": "CPU",
        "description": "CPU cores of the workspace pod",
        "description_plaintext": "CPU cores of the workspace pod",
        "type": "number",
        "form_type": "input",
        "mutable": True,
        "default_value": "2",
        "icon": "",
        "options": [],
        "validation_min": 1,
        "validation_max": 8,
        # validation_error, validation_regex and validation_monotonic are omitempty: unset, they are absent.
        "required": False,
        "ephemeral": False,
    }
]


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _put(body: Json, key: str, value: object) -> None:
    """Set an omitempty key only when it has a value."""
    if value not in (None, "", [], {}):
        body[key] = value


class Renderer:
    def __init__(self, store: Store, faults: Faults) -> None:
        self.store = store
        self.faults = faults

    def default_ttl_ms(self) -> int:
        return 0 if self.faults.on(NO_DEFAULT_TTL) else DEFAULT_TTL_MS

    def user(self, user: User) -> Json:
        """codersdk.User: MinimalUser's name and avatar_url, theme_preference and a site role's
        organization_id are omitempty, so an empty one is absent."""
        body: Json = {"id": user.id, "username": user.username}
        _put(body, "name", user.name)
        return body | {
            "email": user.email,
            "created_at": iso(user.created_at),
            "updated_at": iso(user.created_at),
            "last_seen_at": iso(now()),
            "status": "active",
            "login_type": "password",
            "organization_ids": [self.store.organization.id],
            "roles": [{"name": "owner", "display_name": "Owner"}],
        }

    @staticmethod
    def minimal_user(user: User) -> Json:
        """codersdk.MinimalUser (a template version's created_by): name and avatar_url are omitempty."""
        body: Json = {"id": user.id, "username": user.username}
        _put(body, "name", user.name)
        return body

    def organization(self, org: Organization) -> Json:
        return {
            "id": org.id,
            "name": org.name,
            "display_name": org.display_name,
            "description": "",
            "icon": "",
            "created_at": iso(org.created_at),
            "updated_at": iso(org.created_at),
            "is_default": True,
        }

    def template(self, template: Template) -> Json:
        org, owner = self.store.organization, self.store.owner
        stats = {"P50": None, "P95": None}
        return {
            "id": template.id,
            "name": template.name,
            "display_name": template.display_name,
            "description": template.description,
            "icon": template.icon,
            "provisioner": "terraform",
            "organization_id": org.id,
            "organization_name": org.name,
            "organization_display_name": org.display_name,
            "organization_icon": "",
            "active_version_id": template.active_version.id,
            "active_user_count": len(
                {w.owner.id for w in self.store.workspaces.values() if w.template is template and not w.deleted}
            ),
            "build_time_stats": {t: dict(stats) for t in ("start", "stop", "delete")},
            "created_at": iso(template.created_at),
            "updated_at": iso(template.created_at),
            "created_by_id": owner.id,
            "created_by_name": owner.username,
            "default_ttl_ms": self.default_ttl_ms(),
            "activity_bump_ms": ACTIVITY_BUMP_MS,
            "autostop_requirement": {"days_of_week": [], "weeks": 1},
            "autostart_requirement": {
                "days_of_week": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
            },
            "allow_user_autostart": True,
            "allow_user_autostop": True,
            "allow_user_cancel_workspace_jobs": False,
            "failure_ttl_ms": 0,
            "time_til_dormant_ms": 0,
            "time_til_dormant_autodelete_ms": 0,
            "require_active_version": self.faults.on(REQUIRE_ACTIVE_VERSION),
            "deprecated": False,
            "deprecation_message": "",
            "max_port_share_level": "owner",
            "use_classic_parameter_flow": False,
        }

    def template_version(self, version: TemplateVersion) -> Json:
        owner = self.store.owner
        # coderd counts matching daemons only while the import job is pending.
        pending = version.job.status == "pending"
        # warnings (omitempty) is absent: the lab's versions have none.
        return {
            "id": version.id,
            # A version created without a template reads the nil UUID (coderd's &version.TemplateID.UUID).
            "template_id": version.template_id or NIL_UUID,
            "organization_id": self.store.organization.id,
            "created_at": iso(version.created_at),
            "updated_at": iso(version.created_at),
            "name": version.name,
            "message": version.message,
            "job": self.job(version.job, version),
            "readme": "",
            "created_by": self.minimal_user(owner),
            "archived": False,
        } | ({"matched_provisioners": self.matched_provisioners(version.job)} if pending else {})

    @staticmethod
    def matched_provisioners(job: Job) -> Json:
        """The daemons that could take a pending job (db2sdk.MatchedProvisioners); coderd counts them only
        for pending jobs, so any other job reads zero."""
        if job.status != "pending":
            return {"count": 0, "available": 0, "most_recently_seen": None}
        if job.stale_since is not None:  # matched, but not seen within the stale interval
            return {"count": 1, "available": 0, "most_recently_seen": iso(job.stale_since)}
        count = 0 if job.unmatched else 1
        return {"count": count, "available": count, "most_recently_seen": iso(now()) if count else None}

    def job(self, job: Job, version: TemplateVersion | None = None, workspace: Workspace | None = None) -> Json:
        """A provisioner job; with its version (and workspace) the metadata coderd joins in."""
        body: Json = {"id": job.id, "created_at": iso(job.created_at)}
        _put(body, "started_at", iso(job.started_at))
        _put(body, "completed_at", iso(job.completed_at))
        _put(body, "canceled_at", iso(job.canceled_at))
        _put(body, "error", job.error)
        body["status"] = job.status
        _put(body, "worker_id", job.worker_id)
        body |= {
            "file_id": job.file_id,
            "tags": {"scope": "organization", "owner": ""},
            "queue_position": 0,
            "queue_size": 0,
            "organization_id": self.store.organization.id,
            "input": dict(job.input),
            "type": job.type,
        }
        # metadata is always sent (a struct): zero values where coderd joins no template.
        template = self.store.template(version.template_id) if version is not None else None
        body["metadata"] = {
            "template_version_name": version.name if version is not None else "",
            "template_id": template.id if template is not None else NIL_UUID,
            "template_name": template.name if template is not None else "",
            "template_display_name": template.display_name if template is not None else "",
            "template_icon": template.icon if template is not None else "",
        }
        if workspace is not None:  # workspace_id and workspace_name are omitempty
            body["metadata"] |= {"workspace_id": workspace.id, "workspace_name": workspace.name}
        return body

    def log(self, line: LogLine) -> Json:
        return {
            "id": line.id,
            "created_at": iso(line.created_at),
            "log_source": line.source,
            "log_level": line.level,
            "stage": line.stage,
            "output": line.output,
        }

    def app(self, app: App, agent: Agent) -> Json:
        body: Json = {
            "id": app.id,
            "url": app.url,
            "external": False,
            "slug": app.slug,
            "display_name": app.display_name,
            "icon": "/icon/code.svg",
            "subdomain": app.subdomain,
        }
        workspace = self.store.workspaces.get(agent.workspace_id)
        if app.subdomain and workspace is not None:
            # db2sdk.Apps: appurl.ApplicationURL{slug, agent, workspace, owner}.String(); omitted when empty.
            body["subdomain_name"] = f"{app.slug}--{agent.name}--{workspace.name}--{workspace.owner.username}"
        return body | {
            "sharing_level": "owner",
            # A coder_app without a healthcheck block: Coder reports it zeroed, and its health disabled.
            "healthcheck": {"url": app.healthcheck_url} | (HEALTHCHECK if app.healthcheck_url else NO_HEALTHCHECK),
            "health": app.health,
            "hidden": False,
            "open_in": "slim-window",
            "statuses": [],
        }

    @staticmethod
    def agent_health(agent: Agent) -> Json:
        # Same precedence as coderd's db2sdk.WorkspaceAgent: an agent still connecting is judged by its lifecycle.
        if agent.status != "connected" and agent.lifecycle == "off":
            reason = "agent is not running"
        elif agent.status == "timeout":
            reason = "agent is taking too long to connect"
        elif agent.status == "disconnected":
            reason = "agent has lost connection"
        elif agent.lifecycle == "start_error":
            reason = "agent startup script exited with an error"
        elif agent.lifecycle in ("shutting_down", "shutdown_timeout", "shutdown_error", "off"):
            reason = "agent is shutting down"
        else:
            return {"healthy": True}
        return {"healthy": False, "reason": reason}

    def agent(self, agent: Agent) -> Json:
        body: Json = {"id": agent.id, "parent_id": agent.parent_id, "created_at": iso(agent.created_at)}
        body["updated_at"] = iso(now())
        for key in ("first_connected_at", "last_connected_at", "disconnected_at", "started_at", "ready_at"):
            _put(body, key, iso(getattr(agent, key)))
        source = {
            "workspace_agent_id": agent.id,
            "id": agent.log_source_id,
            "created_at": iso(agent.created_at),
            "display_name": "Startup Script",
            "icon": "/emojis/25b6.png",
        }
        script = {
            "id": agent.log_source_id,
            "log_source_id": agent.log_source_id,
            "log_path": "coder-startup-script.log",
            "script": "code-server --auth none",
            "cron": "",
            "run_on_start": True,
            "run_on_stop": False,
            "start_blocks_login": False,
            "timeout": 0,
            "display_name": "Startup Script",
        }
        body |= {
            "status": agent.status,
            "lifecycle_state": agent.lifecycle,
            "name": agent.name,
            "resource_id": agent.resource_id,
            # instance_id and directory (omitempty) are absent: the template sets neither.
            "architecture": "amd64",
            "operating_system": "linux",
            "environment_variables": {},
        }
        _put(body, "expanded_directory", agent.home)
        body |= {
            "version": VERSION,
            "api_version": "2.6",
            "logs_length": sum(len(line.output) for line in agent.logs),
            "logs_overflowed": False,
            "apps": [self.app(app, agent) for app in agent.apps],
            "connection_timeout_seconds": 120,
            "troubleshooting_url": "https://coder.com/docs/admin/templates/troubleshooting",
            "subsystems": ["envbuilder"],
            "health": self.agent_health(agent),
            "display_apps": ["vscode", "vscode_insiders", "web_terminal", "ssh_helper", "port_forwarding_helper"],
            "log_sources": [source],
            "scripts": [script],
            "startup_script_behavior": "non-blocking",
        }
        return body

    def resource(self, resource: Resource) -> Json:
        body: Json = {
            "id": resource.id,
            "created_at": iso(resource.created_at),
            "job_id": resource.job_id,
            "workspace_transition": resource.transition,
            "type": resource.type,
            "name": resource.name,
            "hide": False,
            "icon": "",
        }
        _put(body, "agents", [self.agent(a) for a in resource.agents])
        _put(body, "metadata", resource.metadata)
        body["daily_cost"] = 0
        return body

    def build(self, build: Build) -> Json:
        workspace = self.store.workspaces[build.workspace_id]
        # workspace_owner_avatar_url is omitempty: the owner has no avatar.
        body: Json = {
            "id": build.id,
            "created_at": iso(build.created_at),
            "updated_at": iso(build.updated_at),
            "workspace_id": workspace.id,
            "workspace_name": workspace.name,
            "workspace_owner_id": workspace.owner.id,
            "workspace_owner_name": workspace.owner.username,
            "template_version_id": build.template_version.id,
            "template_version_name": build.template_version.name,
            "build_number": build.number,
            "transition": build.transition,
            "initiator_id": build.initiator.id,
            "initiator_name": build.initiator.username,
            "reason": build.reason,
            "job": self.job(build.job, build.template_version, workspace),
            "resources": [self.resource(r) for r in build.resources],
            "deadline": iso(build.deadline),
            "max_deadline": None,
            "status": build.status,
            "daily_cost": 0,
            "matched_provisioners": self.matched_provisioners(build.job),
            "template_version_preset_id": None,  # built without a preset
        }
        # has_ai_task (omitempty) is null until the job completes; provisionerd then records whether the
        # template has a coder_ai_task (the lab's have none). ai_task_sidebar_app_id stays unset.
        if build.job.status == "succeeded":
            body["has_ai_task"] = False
        return body

    def workspace(self, workspace: Workspace) -> Json:
        template, latest = workspace.template, workspace.latest_build
        # Sub-agents do not count towards the workspace's health (coderd convertWorkspace).
        failing = [a.id for a in latest.agents if a.parent_id is None and not self.agent_health(a)["healthy"]]
        body: Json = {
            "id": workspace.id,
            "created_at": iso(workspace.created_at),
            "updated_at": iso(workspace.updated_at),
            "owner_id": workspace.owner.id,
            "owner_name": workspace.owner.username,
            "owner_avatar_url": "",
            "organization_id": self.store.organization.id,
            "organization_name": self.store.organization.name,
            "template_id": template.id,
            "template_name": template.name,
            "template_display_name": template.display_name,
            "template_icon": template.icon,
            "template_allow_user_cancel_workspace_jobs": False,
            "template_active_version_id": template.active_version.id,
            "template_require_active_version": self.faults.on(REQUIRE_ACTIVE_VERSION),
            "template_use_classic_parameter_flow": False,
            "latest_build": self.build(latest),
            "latest_app_status": None,
            "outdated": latest.template_version.id != template.active_version.id,
            "name": workspace.name,
        }
        _put(body, "autostart_schedule", workspace.autostart_schedule)
        if workspace.ttl_ms is not None:
            body["ttl_ms"] = workspace.ttl_ms
        body |= {
            "last_used_at": iso(workspace.last_used_at),
            "deleting_at": None,
            "dormant_at": None,
            "next_start_at": None,
            "health": {"healthy": not failing, "failing_agents": failing},
            "automatic_updates": workspace.automatic_updates,
            "allow_renames": False,
            "favorite": False,
        }
        return body
