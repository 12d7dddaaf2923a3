"""What coderd v2.24.2 sends, object by object: the keys it always sends, the keys it leaves out when empty
(Go's `omitempty`) and the values its enums take, as codersdk's struct tags declare them.

Written from codersdk at tag v2.24.2 (July 2025). Each shape names its file; the stored copies of
coder/coder read for it, and the golden files that show coderd's JSON as it marshals it, were:
`codersdk/workspacebuilds.go` (the v2.23 line: `template_version_preset_id` without omitempty,
`matched_provisioners` omitempty), `cli/testdata/coder_list_--output_json.golden` at 0f380ab4b410 (a
workspace and its build as coderd writes them: `template_use_classic_parameter_flow`, no
`workspace_owner_avatar_url` when empty, `max_deadline: null`, the job's metadata with zero values),
`codersdk/workspaces.go` at 39d864150f5c, `codersdk/workspaceagents.go` at 001ccdaf437e (`parent_id`,
`instance_id`/`directory`/`expanded_directory` omitempty), `codersdk/workspaceapps.go` at 0062275c4861,
`codersdk/templateversions.go` at 0002a0780a75 and `coderd/presets.go` at 0953e7eb182a (`Preset` has no
json tags; no presets marshal as `null`); and `docs/reference/api/builds.md` at f6e4ba6ed9 (2025-06-23,
the v2.24 line), whose build carries `has_ai_task` and `ai_task_sidebar_app_id`. Keys added after
v2.24 (`logs_overflowed` of a job, `supports_revocation`, `is_prebuild`, `tooltip` of an app, a build's
`reason` request field...) are not here, so the lab sending one fails as an unknown key; keys removed
before it (`Template.max_ttl_ms`) likewise.

`check(body, spec)` lists every difference: a missing always-sent key, a key the type does not have, a
value outside an enum. Types of values are not checked, and a null is accepted for any key (Go pointers,
nil slices and maps). `ROUTES` names the type each route answers with.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TAG = "v2.24.2"


@dataclass(frozen=True)
class Of:
    """What a key holds: an object of a shape, a list of them, or a map of them."""

    shape: str
    many: str = ""  # "" one object, "list" a list, "map" a map whose values are objects


def one(shape: str) -> Of:
    return Of(shape)


def list_of(shape: str) -> Of:
    return Of(shape, "list")


def map_of(shape: str) -> Of:
    return Of(shape, "map")


Keys = Mapping[str, Of | None]  # None: a scalar, or a free-form map/list whose keys are data


@dataclass(frozen=True)
class Shape:
    source: str
    always: Keys
    omitempty: Keys = field(default_factory=dict)
    # key -> values; for a list of scalars, every element is held to them
    enums: Mapping[str, frozenset[str]] = field(default_factory=dict)


def keys(*names: str) -> dict[str, Of | None]:
    return dict.fromkeys(names)


def enum(*values: str) -> frozenset[str]:
    return frozenset(values)


TRANSITIONS = enum("start", "stop", "delete")
WORKSPACE_STATUSES = enum(
    "pending", "starting", "running", "stopping", "stopped", "failed", "canceling", "canceled", "deleting", "deleted"
)
JOB_STATUSES = enum("pending", "running", "succeeded", "canceling", "canceled", "failed")
LOG_LEVELS = enum("trace", "debug", "info", "warn", "error")
WEEKDAYS = enum("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SHARING_LEVELS = enum("owner", "authenticated", "organization", "public")
TIMING_STAGES = enum("init", "plan", "graph", "apply", "start", "stop", "cron", "connect")

SHAPES: dict[str, Shape] = {
    # --- codersdk/workspaces.go ---------------------------------------------------------------------------
    "Workspace": Shape(
        "codersdk/workspaces.go",
        keys(
            "id",
            "created_at",
            "updated_at",
            "owner_id",
            "owner_name",
            "owner_avatar_url",
            "organization_id",
            "organization_name",
            "template_id",
            "template_name",
            "template_display_name",
            "template_icon",
            "template_allow_user_cancel_workspace_jobs",
            "template_active_version_id",
            "template_require_active_version",
            "template_use_classic_parameter_flow",
            "latest_app_status",
            "outdated",
            "name",
            "last_used_at",
            "deleting_at",
            "dormant_at",
            "automatic_updates",
            "allow_renames",
            "favorite",
            "next_start_at",
        )
        | {"latest_build": one("WorkspaceBuild"), "health": one("WorkspaceHealth")},
        keys("autostart_schedule", "ttl_ms"),
        {"automatic_updates": enum("always", "never")},
    ),
    "WorkspaceHealth": Shape("codersdk/workspaces.go", keys("healthy", "failing_agents")),
    "WorkspacesResponse": Shape("codersdk/workspaces.go", {"workspaces": list_of("Workspace"), "count": None}),
    # --- codersdk/workspacebuilds.go ----------------------------------------------------------------------
    "WorkspaceBuild": Shape(
        "codersdk/workspacebuilds.go",
        keys(
            "id",
            "created_at",
            "updated_at",
            "workspace_id",
            "workspace_name",
            "workspace_owner_id",
            "workspace_owner_name",
            "template_version_id",
            "template_version_name",
            "build_number",
            "transition",
            "initiator_id",
            "initiator_name",
            "reason",
            "deadline",  # NullTime: a struct, so omitempty never drops it (null when unset)
            "max_deadline",
            "status",
            "daily_cost",
            "template_version_preset_id",
        )
        | {"job": one("ProvisionerJob"), "resources": list_of("WorkspaceResource")},
        keys("workspace_owner_avatar_url", "has_ai_task", "ai_task_sidebar_app_id")
        | {"matched_provisioners": one("MatchedProvisioners")},
        {
            "transition": TRANSITIONS,
            "reason": enum("initiator", "autostart", "autostop"),
            "status": WORKSPACE_STATUSES,
        },
    ),
    "WorkspaceResource": Shape(
        "codersdk/workspacebuilds.go",
        keys("id", "created_at", "job_id", "workspace_transition", "type", "name", "hide", "icon", "daily_cost"),
        {"agents": list_of("WorkspaceAgent"), "metadata": list_of("WorkspaceResourceMetadata")},
        {"workspace_transition": TRANSITIONS},
    ),
    "WorkspaceResourceMetadata": Shape("codersdk/workspacebuilds.go", keys("key", "value", "sensitive")),
    "WorkspaceBuildParameter": Shape("codersdk/workspacebuilds.go", keys("name", "value")),
    "WorkspaceBuildTimings": Shape(
        "codersdk/workspacebuilds.go",
        {
            "provisioner_timings": list_of("ProvisionerTiming"),
            "agent_script_timings": list_of("AgentScriptTiming"),
            "agent_connection_timings": list_of("AgentConnectionTiming"),
        },
    ),
    "ProvisionerTiming": Shape(
        "codersdk/workspacebuilds.go",
        keys("job_id", "started_at", "ended_at", "stage", "source", "action", "resource"),
        enums={"stage": TIMING_STAGES},
    ),
    "AgentScriptTiming": Shape(
        "codersdk/workspacebuilds.go",
        keys(
            "started_at",
            "ended_at",
            "exit_code",
            "stage",
            "status",
            "display_name",
            "workspace_agent_id",
            "workspace_agent_name",
        ),
        enums={"stage": TIMING_STAGES},
    ),
    "AgentConnectionTiming": Shape(
        "codersdk/workspacebuilds.go",
        keys("started_at", "ended_at", "stage", "workspace_agent_id", "workspace_agent_name"),
        enums={"stage": TIMING_STAGES},
    ),
    # --- codersdk/provisionerdaemons.go -------------------------------------------------------------------
    "ProvisionerJob": Shape(
        "codersdk/provisionerdaemons.go",
        keys("id", "created_at", "status", "file_id", "tags", "queue_position", "queue_size", "organization_id", "type")
        | {"input": one("ProvisionerJobInput"), "metadata": one("ProvisionerJobMetadata")},
        keys(
            "started_at",
            "completed_at",
            "canceled_at",
            "error",
            "error_code",
            "worker_id",
            "worker_name",
            "available_workers",
        ),
        {
            "status": JOB_STATUSES,
            "type": enum("template_version_import", "workspace_build", "template_version_dry_run"),
            "error_code": enum("REQUIRED_TEMPLATE_VARIABLES"),
        },
    ),
    "ProvisionerJobInput": Shape(
        "codersdk/provisionerdaemons.go", {}, keys("template_version_id", "workspace_build_id", "error")
    ),
    "ProvisionerJobMetadata": Shape(
        "codersdk/provisionerdaemons.go",
        keys("template_version_name", "template_id", "template_name", "template_display_name", "template_icon"),
        keys("workspace_id", "workspace_name"),
    ),
    "MatchedProvisioners": Shape(
        "codersdk/provisionerdaemons.go", keys("count", "available"), keys("most_recently_seen")
    ),
    "ProvisionerJobLog": Shape(
        "codersdk/provisionerdaemons.go",
        keys("id", "created_at", "log_source", "log_level", "stage", "output"),
        enums={"log_source": enum("provisioner_daemon", "provisioner"), "log_level": LOG_LEVELS},
    ),
    # --- codersdk/workspaceagents.go ----------------------------------------------------------------------
    "WorkspaceAgent": Shape(
        "codersdk/workspaceagents.go",
        keys(
            "id",
            "parent_id",
            "created_at",
            "updated_at",
            "status",
            "lifecycle_state",
            "name",
            "resource_id",
            "architecture",
            "environment_variables",
            "operating_system",
            "logs_length",
            "logs_overflowed",
            "version",
            "api_version",
            "connection_timeout_seconds",
            "troubleshooting_url",
            "subsystems",
            "display_apps",
            "startup_script_behavior",
        )
        | {
            "apps": list_of("WorkspaceApp"),
            "health": one("WorkspaceAgentHealth"),
            "log_sources": list_of("WorkspaceAgentLogSource"),
            "scripts": list_of("WorkspaceAgentScript"),
        },
        keys(
            "first_connected_at",
            "last_connected_at",
            "disconnected_at",
            "started_at",
            "ready_at",
            "instance_id",
            "directory",
            "expanded_directory",
            "latency",
        ),
        {
            "status": enum("connecting", "connected", "disconnected", "timeout"),
            "lifecycle_state": enum(
                "created",
                "starting",
                "start_timeout",
                "start_error",
                "ready",
                "shutting_down",
                "shutdown_timeout",
                "shutdown_error",
                "off",
            ),
            "subsystems": enum("envbox", "envbuilder", "exectrace"),
            "display_apps": enum("vscode", "vscode_insiders", "web_terminal", "port_forwarding_helper", "ssh_helper"),
            "startup_script_behavior": enum("blocking", "non-blocking"),
        },
    ),
    "WorkspaceAgentHealth": Shape("codersdk/workspaceagents.go", keys("healthy"), keys("reason")),
    "WorkspaceAgentLogSource": Shape(
        "codersdk/workspaceagents.go", keys("workspace_agent_id", "id", "created_at", "display_name", "icon")
    ),
    "WorkspaceAgentScript": Shape(
        "codersdk/workspaceagents.go",
        keys(
            "id",
            "log_source_id",
            "log_path",
            "script",
            "cron",
            "run_on_start",
            "run_on_stop",
            "start_blocks_login",
            "timeout",
            "display_name",
        ),
    ),
    "WorkspaceAgentLog": Shape(
        "codersdk/workspaceagents.go",
        keys("id", "created_at", "output", "level", "source_id"),
        enums={"level": LOG_LEVELS},
    ),
    # --- codersdk/workspaceapps.go ------------------------------------------------------------------------
    "WorkspaceApp": Shape(
        "codersdk/workspaceapps.go",
        keys("id", "external", "slug", "subdomain", "sharing_level", "health", "hidden", "open_in", "statuses")
        | {"healthcheck": one("Healthcheck")},  # a struct: omitempty never drops it
        keys("url", "display_name", "command", "icon", "subdomain_name", "group"),
        {
            "sharing_level": SHARING_LEVELS,
            "health": enum("disabled", "initializing", "healthy", "unhealthy"),
            "open_in": enum("slim-window", "tab"),
        },
    ),
    "Healthcheck": Shape("codersdk/workspaceapps.go", keys("url", "interval", "threshold")),
    # --- codersdk/templates.go ----------------------------------------------------------------------------
    "Template": Shape(
        "codersdk/templates.go",
        keys(
            "id",
            "created_at",
            "updated_at",
            "organization_id",
            "organization_name",
            "organization_display_name",
            "organization_icon",
            "name",
            "display_name",
            "provisioner",
            "active_version_id",
            "active_user_count",
            "description",
            "deprecated",
            "deprecation_message",
            "icon",
            "default_ttl_ms",
            "activity_bump_ms",
            "created_by_id",
            "created_by_name",
            "allow_user_autostart",
            "allow_user_autostop",
            "allow_user_cancel_workspace_jobs",
            "failure_ttl_ms",
            "time_til_dormant_ms",
            "time_til_dormant_autodelete_ms",
            "require_active_version",
            "max_port_share_level",
            "use_classic_parameter_flow",
        )
        | {
            "build_time_stats": map_of("TransitionStats"),
            "autostop_requirement": one("TemplateAutostopRequirement"),
            "autostart_requirement": one("TemplateAutostartRequirement"),
        },
        enums={"provisioner": enum("terraform"), "max_port_share_level": SHARING_LEVELS},
    ),
    "TransitionStats": Shape("codersdk/templates.go", keys("P50", "P95")),  # no json tags: Go's field names
    "TemplateAutostopRequirement": Shape(
        "codersdk/templates.go", keys("days_of_week", "weeks"), enums={"days_of_week": WEEKDAYS}
    ),
    "TemplateAutostartRequirement": Shape(
        "codersdk/templates.go", keys("days_of_week"), enums={"days_of_week": WEEKDAYS}
    ),
    # --- codersdk/templateversions.go ---------------------------------------------------------------------
    "TemplateVersion": Shape(
        "codersdk/templateversions.go",
        keys("id", "organization_id", "created_at", "updated_at", "name", "message", "readme", "archived")
        | {"job": one("ProvisionerJob"), "created_by": one("MinimalUser")},
        keys("template_id", "warnings") | {"matched_provisioners": one("MatchedProvisioners")},
        {"warnings": enum("DEPRECATED_PARAMETERS")},
    ),
    "TemplateVersionParameter": Shape(
        "codersdk/templateversions.go",
        keys(
            "name",
            "description",
            "description_plaintext",
            "type",
            "form_type",
            "mutable",
            "default_value",
            "icon",
            "required",
            "ephemeral",
        )
        | {"options": list_of("TemplateVersionParameterOption")},
        keys("display_name", "validation_error", "validation_regex", "validation_min", "validation_max")
        | keys("validation_monotonic"),
        {
            "type": enum("string", "number", "bool", "list(string)"),
            "form_type": enum(
                "",
                "radio",
                "dropdown",
                "input",
                "textarea",
                "slider",
                "checkbox",
                "switch",
                "tag-select",
                "multi-select",
                "error",
            ),
            "validation_monotonic": enum("increasing", "decreasing"),
        },
    ),
    "TemplateVersionParameterOption": Shape(
        "codersdk/templateversions.go", keys("name", "description", "value", "icon")
    ),
    "TemplateVersionExternalAuth": Shape(
        "codersdk/templateversions.go",
        keys("id", "type", "display_name", "display_icon", "authenticate_url", "authenticated"),
        keys("optional"),
    ),
    # --- codersdk/presets.go: no json tags, so Go's field names ------------------------------------------
    "Preset": Shape("codersdk/presets.go", keys("ID", "Name", "Default") | {"Parameters": list_of("PresetParameter")}),
    "PresetParameter": Shape("codersdk/presets.go", keys("Name", "Value")),
    # --- codersdk/users.go --------------------------------------------------------------------------------
    "MinimalUser": Shape("codersdk/users.go", keys("id", "username"), keys("name", "avatar_url")),
    "User": Shape(
        "codersdk/users.go",
        keys(
            "id",
            "username",
            "email",
            "created_at",
            "updated_at",
            "last_seen_at",  # a time.Time: omitempty never drops it
            "status",
            "login_type",
            "organization_ids",
        )
        | {"roles": list_of("SlimRole")},
        keys("name", "avatar_url", "theme_preference"),
        {
            "status": enum("active", "dormant", "suspended"),
            "login_type": enum("", "password", "github", "oidc", "token", "none"),
        },
    ),
    "SlimRole": Shape("codersdk/roles.go", keys("name", "display_name"), keys("organization_id")),
    "AuthMethods": Shape(
        "codersdk/users.go",
        {"password": one("AuthMethod"), "github": one("GithubAuthMethod"), "oidc": one("OIDCAuthMethod")},
        keys("terms_of_service_url"),
    ),
    "AuthMethod": Shape("codersdk/users.go", keys("enabled")),
    "GithubAuthMethod": Shape("codersdk/users.go", keys("enabled", "default_provider_configured")),
    "OIDCAuthMethod": Shape("codersdk/users.go", keys("enabled", "signInText", "iconUrl")),
    # --- codersdk/organizations.go ------------------------------------------------------------------------
    "Organization": Shape(
        "codersdk/organizations.go",
        keys("id", "name", "display_name", "icon", "description", "created_at", "updated_at", "is_default"),
    ),
    # --- codersdk/buildinfo.go, codersdk/deployment.go ----------------------------------------------------
    "BuildInfoResponse": Shape(
        "codersdk/deployment.go",
        keys(
            "external_url",
            "version",
            "dashboard_url",
            "telemetry",
            "workspace_proxy",
            "agent_api_version",
            "provisioner_api_version",
            "upgrade_message",
            "deployment_id",
        ),
        keys("webpush_public_key"),
    ),
    "SSHConfigResponse": Shape(
        "codersdk/deployment.go", keys("hostname_prefix", "hostname_suffix", "ssh_config_options")
    ),
    "AppHostResponse": Shape("codersdk/deployment.go", keys("host")),
    "DeploymentConfig": Shape(
        "codersdk/deployment.go", {}, {"config": one("DeploymentValues"), "options": list_of("Option")}
    ),
    # Every field of DeploymentValues is omitempty; serpent's scalar types (Bool, String, Int64, Duration,
    # StringArray) are then dropped when empty, its struct types (URL, HostPort, Struct[T]) and the nested
    # configs never are. The nested sections' own keys are held for the ones the suite reads.
    "DeploymentValues": Shape(
        "codersdk/deployment.go",
        keys(
            "access_url",
            "docs_url",
            "derp",
            "prometheus",
            "pprof",
            "telemetry",
            "tls",
            "trace",
            "http_cookies",
            "agent_fallback_troubleshooting_url",
            "provisioner",
            "rate_limit",
            "swagger",
            "logging",
            "dangerous",
            "session_lifetime",
            "support",
            "external_auth",
            "user_quiet_hours_schedule",
            "healthcheck",
            "notifications",
            "workspace_prebuilds",
            "address",
        )
        | {"oauth2": one("OAuth2Config"), "oidc": one("OIDCConfig"), "config_ssh": one("SSHConfig")},
        keys(
            "verbose",
            "wildcard_access_url",
            "redirect_to_access_url",
            "http_address",
            "autobuild_poll_interval",
            "job_hang_detector_interval",
            "proxy_trusted_headers",
            "proxy_trusted_origins",
            "cache_directory",
            "ephemeral_deployment",
            "pg_connection_url",
            "pg_auth",
            "strict_transport_security",
            "strict_transport_security_options",
            "ssh_keygen_algorithm",
            "metrics_cache_refresh_interval",
            "agent_stat_refresh_interval",
            "browser_only",
            "scim_api_key",
            "external_token_encryption_keys",
            "experiments",
            "update_check",
            "disable_path_apps",
            "disable_password_auth",
            "wgtunnel_host",
            "disable_owner_workspace_exec",
            "proxy_health_status_interval",
            "enable_terraform_debug_mode",
            "web_terminal_renderer",
            "allow_workspace_renames",
            "cli_upgrade_message",
            "terms_of_service_url",
            "additional_csp_policy",
            "workspace_hostname_suffix",
            "config",
            "write_config",
        ),
        {"pg_auth": enum("password", "awsiamrds"), "web_terminal_renderer": enum("canvas", "webgl", "dom")},
    ),
    "OAuth2Config": Shape("codersdk/deployment.go", {"github": one("OAuth2GithubConfig")}),
    "OAuth2GithubConfig": Shape(
        "codersdk/deployment.go",
        keys(
            "client_id",
            "client_secret",
            "device_flow",
            "default_provider_enable",
            "allowed_orgs",
            "allowed_teams",
            "allow_signups",
            "allow_everyone",
            "enterprise_base_url",
        ),
    ),
    "OIDCConfig": Shape(
        "codersdk/deployment.go",
        keys(
            "allow_signups",
            "client_id",
            "client_secret",
            "client_key_file",
            "client_cert_file",
            "email_domain",
            "issuer_url",
            "scopes",
            "ignore_email_verified",
            "username_field",
            "name_field",
            "email_field",
            "auth_url_params",
            "ignore_user_info",
            "source_user_info_from_access_token",
            "organization_field",
            "organization_mapping",
            "organization_assign_default",
            "group_auto_create",
            "group_regex_filter",
            "group_allow_list",
            "groups_field",
            "group_mapping",
            "user_role_field",
            "user_role_mapping",
            "user_roles_default",
            "sign_in_text",
            "icon_url",
            "signups_disabled_text",
            "skip_issuer_checks",
        ),
    ),
    "SSHConfig": Shape("codersdk/deployment.go", keys("DeploymentName", "SSHConfigOptions")),  # its tags, so
    # serpent's Option (github.com/coder/serpent option.go): every field omitempty.
    "Option": Shape(
        "serpent/option.go",
        {},
        keys(
            "name",
            "description",
            "required",
            "flag",
            "flag_shorthand",
            "env",
            "yaml",
            "default",
            "value",
            "annotations",
            "use_instead",
            "hidden",
            "value_source",
        )
        | {"group": one("OptionGroup")},
        {"value_source": enum("", "flag", "env", "yaml", "default")},
    ),
    "OptionGroup": Shape("serpent/option.go", {}, keys("name", "yaml", "description") | {"parent": one("OptionGroup")}),
    # --- codersdk/externalauth.go -------------------------------------------------------------------------
    "ExternalAuth": Shape(
        "codersdk/externalauth.go",
        keys("authenticated", "device", "display_name", "app_installable", "installations", "app_install_url")
        | {"user": one("ExternalAuthUser")},
    ),
    "ExternalAuthUser": Shape("codersdk/externalauth.go", keys("id", "login", "avatar_url", "profile_url", "name")),
    "ListUserExternalAuthResponse": Shape(
        "codersdk/externalauth.go",
        {"providers": list_of("ExternalAuthLinkProvider"), "links": list_of("ExternalAuthLink")},
    ),
    "ExternalAuthLinkProvider": Shape(
        "codersdk/externalauth.go",
        keys("id", "type", "device", "display_name", "display_icon", "allow_refresh", "allow_validate"),
    ),
    "ExternalAuthLink": Shape(
        "codersdk/externalauth.go",
        keys(
            "provider_id", "created_at", "updated_at", "has_refresh_token", "expires", "authenticated", "validate_error"
        ),
    ),
    "ExternalAuthResponse": Shape(  # codersdk/agentsdk: the agent's token for `coder external-auth access-token`
        "codersdk/agentsdk/agentsdk.go", keys("access_token", "token_extra", "url", "type", "username", "password")
    ),
    # --- codersdk/files.go, codersdk/client.go ------------------------------------------------------------
    "UploadResponse": Shape("codersdk/files.go", keys("hash")),
    "Response": Shape(
        "codersdk/client.go", keys("message"), {"detail": None, "validations": list_of("ValidationError")}
    ),
    "ValidationError": Shape("codersdk/client.go", keys("field", "detail")),
}

# The type each (method, route) answers with on success; every error body is a Response.
ROUTES: dict[tuple[str, str], Of | None] = {
    ("GET", "/api/v2/"): one("Response"),
    ("GET", "/api/v2/buildinfo"): one("BuildInfoResponse"),
    ("GET", "/api/v2/users/first"): one("Response"),
    ("GET", "/api/v2/users/authmethods"): one("AuthMethods"),
    ("GET", "/api/v2/users/{user}"): one("User"),
    ("GET", "/api/v2/users/{user}/organizations"): list_of("Organization"),
    ("GET", "/api/v2/users/{user}/organizations/{organizationname}"): one("Organization"),
    ("GET", "/api/v2/deployment/config"): one("DeploymentConfig"),
    ("GET", "/api/v2/deployment/ssh"): one("SSHConfigResponse"),
    ("GET", "/api/v2/applications/host"): one("AppHostResponse"),
    ("GET", "/api/v2/organizations"): list_of("Organization"),
    ("GET", "/api/v2/organizations/{organization}"): one("Organization"),
    ("GET", "/api/v2/organizations/{organization}/templates"): list_of("Template"),
    ("GET", "/api/v2/organizations/{organization}/templates/{name}"): one("Template"),
    ("POST", "/api/v2/organizations/{organization}/templateversions"): one("TemplateVersion"),
    ("GET", "/api/v2/templates"): list_of("Template"),
    ("GET", "/api/v2/templates/{template}"): one("Template"),
    ("GET", "/api/v2/templates/{template}/versions"): list_of("TemplateVersion"),
    ("GET", "/api/v2/templates/{template}/versions/{name}"): one("TemplateVersion"),
    ("PATCH", "/api/v2/templates/{template}/versions"): one("Response"),
    ("GET", "/api/v2/templateversions/{templateversion}"): one("TemplateVersion"),
    ("GET", "/api/v2/templateversions/{templateversion}/logs"): list_of("ProvisionerJobLog"),
    ("GET", "/api/v2/templateversions/{templateversion}/rich-parameters"): list_of("TemplateVersionParameter"),
    ("GET", "/api/v2/templateversions/{templateversion}/resources"): list_of("WorkspaceResource"),
    ("GET", "/api/v2/templateversions/{templateversion}/presets"): list_of("Preset"),
    ("GET", "/api/v2/templateversions/{templateversion}/external-auth"): list_of("TemplateVersionExternalAuth"),
    ("POST", "/api/v2/files"): one("UploadResponse"),
    ("POST", "/api/v2/users/{user}/workspaces"): one("Workspace"),
    ("POST", "/api/v2/organizations/{organization}/members/{user}/workspaces"): one("Workspace"),
    ("GET", "/api/v2/workspaces"): one("WorkspacesResponse"),
    ("GET", "/api/v2/users/{user}/workspace/{name}"): one("Workspace"),
    ("GET", "/api/v2/workspaces/{workspace}"): one("Workspace"),
    ("POST", "/api/v2/workspaces/{workspace}/builds"): one("WorkspaceBuild"),
    ("GET", "/api/v2/workspaces/{workspace}/builds"): list_of("WorkspaceBuild"),
    ("GET", "/api/v2/users/{user}/workspace/{name}/builds/{number}"): one("WorkspaceBuild"),
    ("GET", "/api/v2/workspacebuilds/{workspacebuild}"): one("WorkspaceBuild"),
    ("GET", "/api/v2/workspacebuilds/{workspacebuild}/logs"): list_of("ProvisionerJobLog"),
    ("GET", "/api/v2/workspacebuilds/{workspacebuild}/parameters"): list_of("WorkspaceBuildParameter"),
    ("GET", "/api/v2/workspacebuilds/{workspacebuild}/timings"): one("WorkspaceBuildTimings"),
    ("GET", "/api/v2/workspaces/{workspace}/timings"): one("WorkspaceBuildTimings"),
    ("PATCH", "/api/v2/workspacebuilds/{workspacebuild}/cancel"): one("Response"),
    ("GET", "/api/v2/workspaceagents/{workspaceagent}"): one("WorkspaceAgent"),
    ("GET", "/api/v2/workspaceagents/{workspaceagent}/logs"): list_of("WorkspaceAgentLog"),
    ("GET", "/api/v2/workspaceagents/me/external-auth"): one("ExternalAuthResponse"),
    ("GET", "/api/v2/external-auth"): one("ListUserExternalAuthResponse"),
    ("GET", "/api/v2/external-auth/{provider}"): one("ExternalAuth"),
}


def check(body: Any, spec: Of | None, where: str = "") -> list[str]:
    """Every way `body` differs from `spec`: "<path>: <problem>" lines (empty when it conforms)."""
    if spec is None or body is None:
        return []
    if spec.many == "list":
        if not isinstance(body, list):
            return [f"{where or '.'}: a {spec.shape} list expected, got {type(body).__name__}"]
        return [p for i, item in enumerate(body) for p in check(item, one(spec.shape), f"{where}[{i}]")]
    if spec.many == "map":
        if not isinstance(body, dict):
            return [f"{where or '.'}: a map of {spec.shape} expected, got {type(body).__name__}"]
        return [p for k, item in body.items() for p in check(item, one(spec.shape), f"{where}[{k!r}]")]
    shape = SHAPES[spec.shape]
    label = f"{spec.shape}{' at ' + where if where else ''}"
    if not isinstance(body, dict):
        return [f"{label}: an object expected, got {type(body).__name__}"]
    problems = [f"{label}: missing always-sent key {key!r}" for key in shape.always if key not in body]
    known = {**shape.always, **shape.omitempty}
    problems += [f"{label}: unknown key {key!r} (not in {shape.source} at {TAG})" for key in body if key not in known]
    for key, allowed in shape.enums.items():
        value = body.get(key)
        for item in value if isinstance(value, list) else [value]:
            if item is not None and item not in allowed:
                problems.append(f"{label}: {key} = {item!r} is outside its enum {sorted(allowed)}")
    for key, child in known.items():
        if key in body:
            problems += check(body[key], child, f"{where}.{key}" if where else key)
    return problems


def check_answer(method: str, route: str, status: int, body: Any) -> list[str]:
    """The problems of one answer of coderd's, each naming the endpoint; an unknown route is one."""
    endpoint = f"{method} {route} ({status})"
    spec = one("Response") if status >= 400 else ROUTES.get((method, route), Of("?"))
    if spec is not None and spec.shape == "?":
        return [f"{endpoint}: no codersdk type is tabled for this route"]
    return [f"{endpoint}: {problem}" for problem in check(body, spec)]


def read_recording(path: Path) -> list[dict[str, Any]]:
    """A LAB_RECORD file's answers (lab/coderd/record.py), in the order coderd gave them."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def check_recording(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    return [p for e in entries for p in check_answer(e["method"], e["route"], e["status"], e["body"])]


def main(argv: list[str]) -> int:
    """`python -m tests.contracts.coder_sdk <recording>...`: hold a suite run's recording (a lab started with
    LAB_RECORD=<file>) to the table; exit 1 listing the differences."""
    problems = sorted({p for name in argv for p in check_recording(read_recording(Path(name)))})
    print("\n".join(problems) or f"every answer matches codersdk {TAG}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
