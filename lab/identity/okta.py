"""The Okta-style issuer the identity server also serves under the `issuer-not-keycloak` fault: an Okta
custom authorization server at `/oauth2/default` (developer.okta.com's OpenID Connect & OAuth 2.0 API
reference), `GET /oauth2/default/.well-known/openid-configuration` and its keys at
`GET /oauth2/default/v1/keys`. Without the fault every path under it answers Okta's 404 (see __init__.py).
"""

from __future__ import annotations

from aiohttp import web

from lab.identity.realm import realm

routes = web.RouteTableDef()
OKTA_STYLE_PATH = "/oauth2/default"
NOT_FOUND = {"errorCode": "E0000007", "errorSummary": "Not found: Resource not found"}


def _okta_discovery(issuer: str) -> dict[str, object]:
    """An Okta custom authorization server's discovery document (`{issuer}/v1/...` endpoints)."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/v1/authorize",
        "token_endpoint": f"{issuer}/v1/token",
        "userinfo_endpoint": f"{issuer}/v1/userinfo",
        "registration_endpoint": f"{issuer.split('/oauth2/')[0]}/oauth2/v1/clients",
        "jwks_uri": f"{issuer}/v1/keys",
        "response_types_supported": ["code", "id_token", "code id_token", "code token", "id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post", "okta_post_message"],
        "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "password"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "address", "phone", "offline_access"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "claims_supported": ["iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "name", "email"],
        "code_challenge_methods_supported": ["S256"],
        "introspection_endpoint": f"{issuer}/v1/introspect",
        "revocation_endpoint": f"{issuer}/v1/revoke",
        "end_session_endpoint": f"{issuer}/v1/logout",
    }


@routes.get(f"{OKTA_STYLE_PATH}/.well-known/openid-configuration")
async def discovery(request: web.Request) -> web.Response:
    return web.json_response(_okta_discovery(f"{request.scheme}://{request.host}{OKTA_STYLE_PATH}"))


@routes.get(f"{OKTA_STYLE_PATH}/v1/keys")
async def keys(request: web.Request) -> web.Response:
    return web.json_response(realm(request).jwks)
