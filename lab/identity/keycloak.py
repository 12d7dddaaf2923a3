"""The Keycloak realm: `GET /realms/{realm}` (its public info), its OIDC discovery document
`GET /realms/{realm}/.well-known/openid-configuration` and its JWKS
`GET /realms/{realm}/protocol/openid-connect/certs`.

As Keycloak serves them (github.com/keycloak/keycloak, services/src/main/java/org/keycloak/):
services/resources/PublicRealmResource.java (realm info), protocol/oidc/OIDCWellKnownProvider.java (the
discovery document), protocol/oidc/OIDCLoginProtocolService.java (`certs`); an unknown realm answers
404 `{"error": "Realm does not exist"}` as services/resources/RealmsResource.java does (see __init__.py).
Under `discovery-issuer-mismatch` the discovery document's `issuer` names realm `other` instead.
"""

from __future__ import annotations

import base64

from aiohttp import web

from lab.faults import DISCOVERY_ISSUER_MISMATCH
from lab.identity.realm import realm

routes = web.RouteTableDef()
UNKNOWN_REALM = {"error": "Realm does not exist"}


def _discovery(issuer: str) -> dict[str, object]:
    oidc = f"{issuer}/protocol/openid-connect"
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{oidc}/auth",
        "token_endpoint": f"{oidc}/token",
        "introspection_endpoint": f"{oidc}/token/introspect",
        "userinfo_endpoint": f"{oidc}/userinfo",
        "end_session_endpoint": f"{oidc}/logout",
        "revocation_endpoint": f"{oidc}/revoke",
        "device_authorization_endpoint": f"{oidc}/auth/device",
        "jwks_uri": f"{oidc}/certs",
        "check_session_iframe": f"{oidc}/login-status-iframe.html",
        "grant_types_supported": [
            "authorization_code",
            "implicit",
            "refresh_token",
            "password",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "response_types_supported": [
            "code",
            "none",
            "id_token",
            "token",
            "id_token token",
            "code id_token",
            "code token",
            "code id_token token",
        ],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "userinfo_signing_alg_values_supported": ["RS256", "none"],
        "token_endpoint_auth_methods_supported": [
            "private_key_jwt",
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
        ],
        "code_challenge_methods_supported": ["plain", "S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access", "roles", "web-origins", "groups"],
        "claims_supported": [
            "aud",
            "sub",
            "iss",
            "auth_time",
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "email",
            "email_verified",
            "acr",
        ],
        "claims_parameter_supported": True,
        "request_parameter_supported": True,
        "request_uri_parameter_supported": True,
        "frontchannel_logout_supported": True,
        "backchannel_logout_supported": True,
    }


@routes.get("/realms/{realm}")
async def realm_info(request: web.Request) -> web.Response:
    served = realm(request)
    base = served.issuer(request)
    return web.json_response(
        {
            "realm": served.name,
            "public_key": base64.b64encode(served.public_der).decode(),
            "token-service": f"{base}/protocol/openid-connect",
            "account-service": f"{base}/account",
            "tokens-not-before": 0,
        }
    )


@routes.get("/realms/{realm}/.well-known/openid-configuration")
async def discovery(request: web.Request) -> web.Response:
    served = realm(request)
    document = _discovery(served.issuer(request))
    if served.faults.on(DISCOVERY_ISSUER_MISMATCH):
        # Only `issuer` is wrong (a stale frontend URL of another realm): endpoints still work, so
        # only a client checking the issuer against the URL it fetched from notices.
        document["issuer"] = f"{request.scheme}://{request.host}/realms/other"
    return web.json_response(document)


@routes.get("/realms/{realm}/protocol/openid-connect/certs")
async def certs(request: web.Request) -> web.Response:
    return web.json_response(realm(request).jwks)
