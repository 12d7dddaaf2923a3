"""A Keycloak-style OIDC issuer: one realm's discovery document, its JWKS and its realm info."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lab.faults import DISCOVERY_ISSUER_MISMATCH, ISSUER_NOT_KEYCLOAK, Faults

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Under issuer-not-keycloak: an Okta-style authorization server's issuer path on the same host.
OKTA_STYLE_PATH = "/oauth2/default"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _jwk(public: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public.public_numbers()
    n, e = _b64url_uint(numbers.n), _b64url_uint(numbers.e)
    # kid is the RFC 7638 thumbprint, so it is stable for the key and unique per app.
    thumbprint = hashlib.sha256(json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":")).encode())
    kid = base64.urlsafe_b64encode(thumbprint.digest()).rstrip(b"=").decode()
    return {"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": n, "e": e}


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


def idp_app(realm: str = "ameide", faults: Faults | None = None) -> web.Application:
    """Serve `realm` with a fresh RSA signing key; the issuer follows the URL the client used.

    Under `discovery-issuer-mismatch` the discovery document's `issuer` names realm `other` instead; under
    `issuer-not-keycloak` the host also serves an Okta-style issuer at `/oauth2/default` (404 otherwise).
    """
    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    jwks = {"keys": [_jwk(public)]}
    public_der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    @web.middleware
    async def known_realm(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(f"{OKTA_STYLE_PATH}/"):
            if faults is None or not faults.on(ISSUER_NOT_KEYCLOAK) or request.match_info.http_exception:
                missing = {"errorCode": "E0000007", "errorSummary": "Not found: Resource not found"}
                return web.json_response(missing, status=404)
            return await handler(request)
        if request.match_info.get("realm") != realm:
            return web.json_response({"error": "Realm does not exist"}, status=404)
        return await handler(request)

    def issuer(request: web.Request) -> str:
        # Like Keycloak without a fixed frontend URL: the issuer is built from the request's origin.
        return f"{request.scheme}://{request.host}/realms/{realm}"

    async def realm_info(request: web.Request) -> web.Response:
        base = issuer(request)
        return web.json_response(
            {
                "realm": realm,
                "public_key": base64.b64encode(public_der).decode(),
                "token-service": f"{base}/protocol/openid-connect",
                "account-service": f"{base}/account",
                "tokens-not-before": 0,
            }
        )

    async def discovery(request: web.Request) -> web.Response:
        document = _discovery(issuer(request))
        if faults is not None and faults.on(DISCOVERY_ISSUER_MISMATCH):
            # Only `issuer` is wrong (a stale frontend URL of another realm): endpoints still work, so
            # only a client checking the issuer against the URL it fetched from notices.
            document["issuer"] = f"{request.scheme}://{request.host}/realms/other"
        return web.json_response(document)

    async def certs(_: web.Request) -> web.Response:
        return web.json_response(jwks)

    async def okta_discovery(request: web.Request) -> web.Response:
        return web.json_response(_okta_discovery(f"{request.scheme}://{request.host}{OKTA_STYLE_PATH}"))

    app = web.Application(middlewares=[known_realm])
    app.router.add_get(f"{OKTA_STYLE_PATH}/.well-known/openid-configuration", okta_discovery)
    app.router.add_get(f"{OKTA_STYLE_PATH}/v1/keys", certs)
    app.router.add_get("/realms/{realm}", realm_info)
    app.router.add_get("/realms/{realm}/.well-known/openid-configuration", discovery)
    app.router.add_get("/realms/{realm}/protocol/openid-connect/certs", certs)
    return app
