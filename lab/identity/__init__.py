"""The lab's identity server: a Keycloak-style OIDC issuer serving one realm (keycloak.py), and under the
`issuer-not-keycloak` fault an Okta-style issuer on the same host (okta.py), both signing with the
realm's one key (realm.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from lab.faults import ISSUER_NOT_KEYCLOAK, Faults
from lab.identity import keycloak, okta
from lab.identity.okta import OKTA_STYLE_PATH
from lab.identity.realm import REALM, Realm

__all__ = ["idp_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def known_realm(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Keycloak's 404 for another realm (or a path of none); Okta's for its paths unless the fault is on."""
    served = request.app[REALM]
    if request.path.startswith(f"{OKTA_STYLE_PATH}/"):
        if not served.faults.on(ISSUER_NOT_KEYCLOAK) or request.match_info.http_exception:
            return web.json_response(okta.NOT_FOUND, status=404)
        return await handler(request)
    if request.match_info.get("realm") != served.name:
        return web.json_response(keycloak.UNKNOWN_REALM, status=404)
    return await handler(request)


def idp_app(realm: str = "ameide", faults: Faults | None = None) -> web.Application:
    """Serve `realm` with a fresh RSA signing key; the issuer follows the URL the client used.

    Under `discovery-issuer-mismatch` the discovery document's `issuer` names realm `other` instead; under
    `issuer-not-keycloak` the host also serves an Okta-style issuer at `/oauth2/default` (404 otherwise).
    """
    app = web.Application(middlewares=[known_realm])
    app[REALM] = Realm(realm, faults or Faults())
    for module in (okta, keycloak):
        app.router.add_routes(module.routes)
    return app
