"""coderd's deployment-level routes: root, buildinfo, first user, auth methods, users, deployment
config and SSH settings, organizations."""

from __future__ import annotations

from aiohttp import web

from lab.coderd.deployment import deployment
from lab.coderd.http import org_param, respond, user_param
from lab.faults import FIRST_USER_MISSING, ISSUER_NOT_KEYCLOAK, OIDC_DISABLED, WRONG_OIDC_ISSUER
from lab.identity.okta import OKTA_STYLE_PATH

routes = web.RouteTableDef()
OIDC_CLIENT_ID = "coder"


def issuer(request: web.Request) -> str:
    """The issuer coderd is configured with: the lab realm, another realm under wrong-oidc-issuer, or an
    Okta-style authorization server on the same host under issuer-not-keycloak."""
    dep = deployment(request)
    if dep.faults.on(WRONG_OIDC_ISSUER):
        return dep.oidc_issuer.rsplit("/realms/", 1)[0] + "/realms/master"
    if dep.faults.on(ISSUER_NOT_KEYCLOAK):
        return dep.oidc_issuer.rsplit("/realms/", 1)[0] + OKTA_STYLE_PATH
    return dep.oidc_issuer


@routes.get("/api/v2/")
async def root(_: web.Request) -> web.Response:
    return respond({"message": "👋"})


@routes.get("/api/v2/buildinfo")
async def buildinfo(request: web.Request) -> web.Response:
    dep = deployment(request)
    return respond(
        {
            "external_url": "https://github.com/coder/coder/commit/lab",
            "version": dep.version(),
            "dashboard_url": dep.access_url,
            "telemetry": False,
            "workspace_proxy": False,
            "agent_api_version": "2.6",
            "provisioner_api_version": "1.6",
            "upgrade_message": "",
            "deployment_id": dep.store.deployment_id,
            "webpush_public_key": "",
        }
    )


@routes.get("/api/v2/users/first")
async def first_user(request: web.Request) -> web.Response:
    if deployment(request).faults.on(FIRST_USER_MISSING):
        return respond({"message": "The initial user has not been created!"}, 404)
    return respond({"message": "The initial user has already been created!"})


@routes.get("/api/v2/users/authmethods")
async def auth_methods(request: web.Request) -> web.Response:
    # oidc-disabled: CODER_OIDC_* unset on coderd, while the deployment config keeps its issuer_url.
    oidc_enabled = not deployment(request).faults.on(OIDC_DISABLED)
    return respond(
        {
            "terms_of_service_url": "",
            "password": {"enabled": True},
            "github": {"enabled": False, "default_provider_configured": False},
            "oidc": {"enabled": oidc_enabled, "signInText": "Sign in with Keycloak", "iconUrl": "/icon/keycloak.svg"},
        }
    )


@routes.get("/api/v2/users/{user}")
async def user(request: web.Request) -> web.Response:
    return respond(deployment(request).render.user(user_param(request)))


@routes.get("/api/v2/deployment/config")
async def deployment_config(request: web.Request) -> web.Response:
    # Owners and auditors only (else 403); the lab's only user is the owner.
    dep = deployment(request)
    issuer_url = issuer(request)
    oidc = {
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
        "auth_url_params": {},
        "ignore_user_info": False,
        "group_auto_create": False,
        "group_regex_filter": "",
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
    config = {
        "access_url": dep.access_url,
        "wildcard_access_url": "",
        "http_address": dep.access_url.removeprefix("http://"),
        "oidc": oidc,
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
        "pg_connection_url": "",
        "external_auth": [],
        "disable_path_apps": False,
        "disable_password_auth": False,
    }

    def option(name: str, flag: str, env: str, yaml: str, value: object, secret: bool = False) -> dict:
        annotations = {"secret": "true"} if secret else {}
        return {
            "name": name,
            "description": "",
            "flag": flag,
            "env": env,
            "yaml": yaml,
            "default": "",
            "value": None if secret else value,
            "annotations": annotations,
            "hidden": False,
            "value_source": "env",
        }

    options = [
        option("Access URL", "access-url", "CODER_ACCESS_URL", "accessURL", dep.access_url),
        option("OIDC Issuer URL", "oidc-issuer-url", "CODER_OIDC_ISSUER_URL", "issuerURL", issuer_url),
        option("OIDC Client ID", "oidc-client-id", "CODER_OIDC_CLIENT_ID", "clientID", OIDC_CLIENT_ID),
        option("OIDC Client Secret", "oidc-client-secret", "CODER_OIDC_CLIENT_SECRET", "", "", True),
    ]
    return respond({"config": config, "options": options})


@routes.get("/api/v2/deployment/ssh")
async def deployment_ssh(_: web.Request) -> web.Response:
    return respond({"hostname_prefix": "coder.", "ssh_config_options": {}})


@routes.get("/api/v2/organizations")
async def organizations(request: web.Request) -> web.Response:
    dep = deployment(request)
    return respond([dep.render.organization(dep.store.organization)])


@routes.get("/api/v2/organizations/{organization}")
async def organization(request: web.Request) -> web.Response:
    org_param(request)
    dep = deployment(request)
    return respond(dep.render.organization(dep.store.organization))
