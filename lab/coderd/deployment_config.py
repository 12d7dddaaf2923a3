"""coderd's deployment settings: `GET /api/v2/deployment/config` (owners only; the values and options,
secrets left out) and `GET /api/v2/deployment/ssh` (coderd/deployment.go `deploymentValues`, `sshConfig`).

The OIDC issuer it names is the lab's Keycloak realm, another realm under `wrong-oidc-issuer`, or an
Okta-style authorization server on the same host under `issuer-not-keycloak`. The wildcard access URL is
set under `app-on-subdomain` only.
"""

from __future__ import annotations

from aiohttp import web

from lab.coderd.deployment import deployment
from lab.coderd.http import respond
from lab.faults import ISSUER_NOT_KEYCLOAK, WRONG_OIDC_ISSUER
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
        "wildcard_access_url": dep.app_hostname(),
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
        option(
            "Wildcard Access URL",
            "wildcard-access-url",
            "CODER_WILDCARD_ACCESS_URL",
            "wildcardAccessURL",
            dep.app_hostname(),
        ),
        option("OIDC Issuer URL", "oidc-issuer-url", "CODER_OIDC_ISSUER_URL", "issuerURL", issuer_url),
        option("OIDC Client ID", "oidc-client-id", "CODER_OIDC_CLIENT_ID", "clientID", OIDC_CLIENT_ID),
        option("OIDC Client Secret", "oidc-client-secret", "CODER_OIDC_CLIENT_SECRET", "", "", True),
    ]
    return respond({"config": config, "options": options})


@routes.get("/api/v2/deployment/ssh")
async def deployment_ssh(_: web.Request) -> web.Response:
    return respond({"hostname_prefix": "coder.", "ssh_config_options": {}})
