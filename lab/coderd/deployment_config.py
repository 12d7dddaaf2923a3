"""coderd's deployment settings: `GET /api/v2/deployment/config` (owners only; the values and options,
secrets left out) and `GET /api/v2/deployment/ssh` (coderd/deployment.go `deploymentValues`, `sshConfig`).

The config is codersdk.DeploymentValues of v2.24.2 as a default `coder server` with the lab's settings
marshals it: every field is `omitempty`, so a false, zero or empty scalar is absent, while the struct-typed
sections (serpent.URL, serpent.HostPort, the nested configs, serpent.Struct) are always there. Secrets
are blanked (DeploymentValues.WithoutSecrets) and secret options have no `value`.

The OIDC issuer it names is the lab's Keycloak realm, another realm under `wrong-oidc-issuer`, or an
Okta-style authorization server on the same host under `issuer-not-keycloak`. The wildcard access URL is
set under `app-on-subdomain` only.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from lab.coderd.deployment import Deployment, deployment
from lab.coderd.http import respond
from lab.faults import ISSUER_NOT_KEYCLOAK, WRONG_OIDC_ISSUER
from lab.identity.okta import OKTA_STYLE_PATH

routes = web.RouteTableDef()
OIDC_CLIENT_ID = "coder"
HOSTNAME_SUFFIX = "coder"  # CODER_WORKSPACE_HOSTNAME_SUFFIX's default


def issuer(request: web.Request) -> str:
    """The issuer coderd is configured with: the lab realm, another realm under wrong-oidc-issuer, or an
    Okta-style authorization server on the same host under issuer-not-keycloak."""
    dep = deployment(request)
    if dep.faults.on(WRONG_OIDC_ISSUER):
        return dep.oidc_issuer.rsplit("/realms/", 1)[0] + "/realms/master"
    if dep.faults.on(ISSUER_NOT_KEYCLOAK):
        return dep.oidc_issuer.rsplit("/realms/", 1)[0] + OKTA_STYLE_PATH
    return dep.oidc_issuer


SECOND = 1_000_000_000  # serpent.Duration marshals as integer nanoseconds
MINUTE, HOUR = 60 * SECOND, 3600 * SECOND
DOCS_URL = "https://coder.com/docs"
STUN = [f"stun{n}.l.google.com:19302" for n in ("", "1", "2", "3", "4")]
Json = dict[str, Any]


def _oidc(issuer_url: str) -> Json:
    return {
        "allow_signups": True,
        "client_id": OIDC_CLIENT_ID,
        "client_secret": "",
        "client_key_file": "",
        "client_cert_file": "",
        "email_domain": [],
        "issuer_url": issuer_url,
        "scopes": ["openid", "profile", "email"],
        "ignore_email_verified": False,
        "username_field": "preferred_username",
        "name_field": "name",
        "email_field": "email",
        "auth_url_params": {"access_type": "offline"},
        "ignore_user_info": False,
        "source_user_info_from_access_token": False,
        "organization_field": "",
        "organization_mapping": {},
        "organization_assign_default": True,
        "group_auto_create": False,
        "group_regex_filter": ".*",
        "group_allow_list": [],
        "groups_field": "",
        "group_mapping": {},
        "user_role_field": "",
        "user_role_mapping": {},
        "user_roles_default": [],
        "sign_in_text": "Sign in with Keycloak",
        "icon_url": "/icon/keycloak.svg",
        "signups_disabled_text": "",
        "skip_issuer_checks": False,
    }


def _external_auth(dep: Deployment) -> list[Json]:
    """CODER_EXTERNAL_AUTH_0_*: the GitHub provider the owner links (its client secret is `json:"-"`)."""
    if dep.github is None:
        return []
    web_url = dep.github.web_url.rstrip("/")
    return [
        {
            "type": "github",
            "client_id": "lab-github-app",
            "id": "github",
            "auth_url": f"{web_url}/login/oauth/authorize",
            "token_url": f"{web_url}/login/oauth/access_token",
            "validate_url": f"{web_url}/api/v3/user",
            "app_install_url": "",
            "app_installations_url": "",
            "no_refresh": False,
            "scopes": ["repo", "workflow"],
            "device_flow": False,
            "device_code_url": "",
            "regex": "",
            "display_name": "GitHub",
            "display_icon": "/icon/github.svg",
        }
    ]


def deployment_values(dep: Deployment, issuer_url: str) -> Json:
    host_port = dep.access_url.removeprefix("http://").removeprefix("https://")
    config: Json = {"access_url": dep.access_url}
    if wildcard := dep.app_hostname():
        config["wildcard_access_url"] = wildcard
    config |= {
        "docs_url": DOCS_URL,
        "http_address": host_port,
        "autobuild_poll_interval": MINUTE,
        "job_hang_detector_interval": MINUTE,
        "derp": {
            "server": {
                "enable": True,
                "region_id": 999,
                "region_code": "coder",
                "region_name": "Coder Embedded Relay",
                "stun_addresses": STUN,
                "relay_url": "",
            },
            "config": {"block_direct": False, "force_websockets": False, "url": "", "path": ""},
        },
        "prometheus": {
            "enable": False,
            "address": "127.0.0.1:2112",
            "collect_agent_stats": False,
            "collect_db_metrics": False,
            "aggregate_agent_stats_by": ["agent_name", "template_name", "username", "workspace_name"],
        },
        "pprof": {"enable": False, "address": "127.0.0.1:6060"},
        "cache_directory": "/home/coder/.cache/coder",
        "pg_auth": "password",
        "oauth2": {
            "github": {
                "client_id": "",
                "client_secret": "",
                "device_flow": False,
                "default_provider_enable": False,
                "allowed_orgs": [],
                "allowed_teams": [],
                "allow_signups": False,
                "allow_everyone": False,
                "enterprise_base_url": "",
            }
        },
        "oidc": _oidc(issuer_url),
        "telemetry": {"enable": False, "trace": False, "url": "https://telemetry.coder.com"},
        "tls": {
            "enable": False,
            "address": "127.0.0.1:3443",
            "redirect_http": True,
            "cert_file": [],
            "client_auth": "none",
            "client_ca_file": "",
            "key_file": [],
            "min_version": "tls12",
            "client_cert_file": "",
            "client_key_file": "",
            "supported_ciphers": [],
            "allow_insecure_ciphers": False,
        },
        "trace": {"enable": False, "honeycomb_api_key": "", "capture_logs": False, "data_dog": False},
        "http_cookies": {"secure_auth_cookie": False, "same_site": "lax"},
        "ssh_keygen_algorithm": "ed25519",
        "metrics_cache_refresh_interval": HOUR,
        "agent_stat_refresh_interval": 30 * SECOND,
        "agent_fallback_troubleshooting_url": "https://coder.com/docs/admin/templates/troubleshooting",
        "provisioner": {
            "daemons": 3,
            "daemon_types": [],
            "daemon_poll_interval": SECOND,
            "daemon_poll_jitter": SECOND // 10,
            "force_cancel_interval": 10 * MINUTE,
            "daemon_psk": "",
        },
        "rate_limit": {"disable_all": False, "api": 512},
        "swagger": {"enable": False},
        "logging": {"log_filter": [], "human": "/dev/stderr", "json": "", "stackdriver": ""},
        "dangerous": {
            "allow_path_app_sharing": False,
            "allow_path_app_site_owner_access": False,
            "allow_all_cors": False,
        },
        "session_lifetime": {
            "disable_expiry_refresh": False,
            "default_duration": 24 * HOUR,
            "default_token_lifetime": 7 * 24 * HOUR,
            "max_token_lifetime": 30 * 24 * HOUR,
            "max_admin_token_lifetime": 7 * 24 * HOUR,
        },
        "support": {"links": []},
        "external_auth": _external_auth(dep),
        "config_ssh": {"DeploymentName": "coder.", "SSHConfigOptions": []},
        "proxy_health_status_interval": MINUTE,
        "user_quiet_hours_schedule": {"default_schedule": "CRON_TZ=UTC 0 0 * * *", "allow_user_custom": True},
        "web_terminal_renderer": "canvas",
        "healthcheck": {"refresh": 10 * MINUTE, "threshold_database": 15_000_000},
        "notifications": {
            "max_send_attempts": 5,
            "retry_interval": 5 * MINUTE,
            "sync_interval": 2 * SECOND,
            "sync_buffer_size": 50,
            "lease_period": 2 * MINUTE,
            "lease_count": 20,
            "fetch_interval": 15 * SECOND,
            "method": "smtp",
            "dispatch_timeout": MINUTE,
            "email": {
                "from": "",
                "smarthost": "",
                "hello": "localhost",
                "auth": {"identity": "", "username": "", "password": "", "password_file": ""},
                "tls": {
                    "start_tls": False,
                    "server_name": "",
                    "insecure_skip_verify": False,
                    "ca_file": "",
                    "cert_file": "",
                    "key_file": "",
                },
                "force_tls": False,
            },
            "webhook": {"endpoint": ""},
            "inbox": {"enabled": True},
        },
        "workspace_hostname_suffix": HOSTNAME_SUFFIX,
        "workspace_prebuilds": {
            "reconciliation_interval": MINUTE,
            "reconciliation_backoff_interval": 15 * SECOND,
            "reconciliation_backoff_lookback": HOUR,
            "failure_hard_limit": 3,
        },
        "address": "",
    }
    return config


def _option(
    name: str,
    description: str,
    flag: str,
    env: str,
    yaml: str,
    value: str,
    group: str,
    default: str = "",
    secret: bool = False,
) -> Json:
    """A serpent.Option: every field is omitempty, a secret's value is dropped."""
    option: Json = {"name": name, "description": description, "flag": flag, "env": env}
    if yaml:
        option["yaml"] = yaml
    if default:
        option["default"] = default
    if not secret:
        option["value"] = value
    if secret:
        option["annotations"] = {"secret": "true"}
    return option | {"group": {"name": group, "yaml": group.lower()}, "value_source": "env" if value else "default"}


@routes.get("/api/v2/deployment/config")
async def deployment_config(request: web.Request) -> web.Response:
    # Owners and auditors only (else 403); the lab's only user is the owner.
    dep = deployment(request)
    issuer_url = issuer(request)
    options = [
        _option(
            "Access URL",
            "The URL that users will use to access the Coder deployment.",
            "access-url",
            "CODER_ACCESS_URL",
            "accessURL",
            dep.access_url,
            "Networking",
        ),
        _option(
            "Wildcard Access URL",
            'Specifies the wildcard hostname to use for workspace applications in the form "*.example.com".',
            "wildcard-access-url",
            "CODER_WILDCARD_ACCESS_URL",
            "wildcardAccessURL",
            dep.app_hostname(),
            "Networking",
        ),
        _option(
            "OIDC Issuer URL",
            "Issuer URL to use for Login with OIDC.",
            "oidc-issuer-url",
            "CODER_OIDC_ISSUER_URL",
            "issuerURL",
            issuer_url,
            "OIDC",
        ),
        _option(
            "OIDC Client ID",
            "Client ID to use for Login with OIDC.",
            "oidc-client-id",
            "CODER_OIDC_CLIENT_ID",
            "clientID",
            OIDC_CLIENT_ID,
            "OIDC",
        ),
        _option(
            "OIDC Client Secret",
            "Client secret to use for Login with OIDC.",
            "oidc-client-secret",
            "CODER_OIDC_CLIENT_SECRET",
            "",
            "",
            "OIDC",
            secret=True,
        ),
    ]
    return respond({"config": deployment_values(dep, issuer_url), "options": options})


@routes.get("/api/v2/deployment/ssh")
async def deployment_ssh(_: web.Request) -> web.Response:
    """codersdk.SSHConfigResponse: the deprecated prefix and the suffix `coder config-ssh` uses since v2.19."""
    return respond({"hostname_prefix": "coder.", "hostname_suffix": HOSTNAME_SUFFIX, "ssh_config_options": {}})
