"""coderd's user routes: `GET /api/v2/users/first` (coderd/users.go `firstUser`; 404 under
`first-user-missing`), `GET /api/v2/users/authmethods` (coderd/userauth.go `userAuthMethods`; OIDC off
under `oidc-disabled`) and `GET /api/v2/users/{user}` (coderd/users.go `userByName`)."""

from __future__ import annotations

from aiohttp import web

from lab.coderd.deployment import deployment
from lab.coderd.http import respond, user_param
from lab.faults import FIRST_USER_MISSING, OIDC_DISABLED

routes = web.RouteTableDef()


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
            # terms_of_service_url is omitempty: none is configured.
            "password": {"enabled": True},
            "github": {"enabled": False, "default_provider_configured": False},
            "oidc": {"enabled": oidc_enabled, "signInText": "Sign in with Keycloak", "iconUrl": "/icon/keycloak.svg"},
        }
    )


@routes.get("/api/v2/users/{user}")
async def user(request: web.Request) -> web.Response:
    return respond(deployment(request).render.user(user_param(request)))
