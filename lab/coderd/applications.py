"""coderd's application routes on the access URL (coderd/workspaceapps.go, v2.24):

`GET /api/v2/applications/host` (with a session) answers `{"host": <wildcard>}`, `appurl.SubdomainAppHost`:
the wildcard access URL, the access URL's port added when it names none; `""` when subdomain apps are
not configured, as by default.

`GET /api/v2/applications/auth-redirect?redirect_uri=<app URL>` is where an app host sends a browser
without a session (`workspaceApplicationAuth`). Without a session it redirects to sign in, as its
`apiKeyMiddlewareRedirect` does (http.py); with one it checks that the URL is on the wildcard
(`ValidWorkspaceAppHostname`), mints an application_connect API key and sends the browser back with it,
encrypted for a minute, in `coder_application_connect_api_key_35e783` (303). The lab's encryption is a
random value that stands for the key until it expires.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web

from lab.coderd.appproxy import SMUGGLED_KEY_PARAM, wildcard_match
from lab.coderd.deployment import Deployment, deployment
from lab.coderd.http import AUTH_REDIRECT, respond
from lab.model import new_token

routes = web.RouteTableDef()
SMUGGLED_KEY_TTL = 60.0  # EncryptedAPIKeyPayload: one minute
NOT_AN_APP_HOST = (
    "The redirect_uri query parameter must be the primary wildcard app hostname, a workspace proxy access URL "
    "or a workspace proxy wildcard app hostname."
)


@routes.get("/api/v2/applications/host")
async def app_host(request: web.Request) -> web.Response:
    return respond({"host": deployment(request).app_hostname()})


@routes.get(AUTH_REDIRECT)
async def auth_redirect(request: web.Request) -> web.Response:
    dep = deployment(request)
    redirect_uri = request.query.get("redirect_uri", "")
    if not redirect_uri:
        return respond({"message": "Missing redirect_uri query parameter."}, 400)
    try:
        target = urlsplit(redirect_uri)
        host = target.netloc
    except ValueError as error:
        return respond({"message": "Invalid redirect_uri query parameter.", "detail": str(error)}, 400)
    if wildcard_match(dep.app_hostname(), host) is None:  # ValidWorkspaceAppHostname
        return respond({"message": "Invalid redirect_uri.", "detail": NOT_AN_APP_HOST}, 400)
    query = dict(parse_qsl(target.query, keep_blank_values=True)) | {SMUGGLED_KEY_PARAM: _smuggle(dep)}
    # The access URL's scheme is forced on it; the query is re-encoded, sorted, as url.Values.Encode does.
    scheme = urlsplit(dep.access_url).scheme
    back = urlunsplit((scheme, host, target.path, urlencode(sorted(query.items())), target.fragment))
    return web.Response(status=303, headers={"Location": back})


def _smuggle(dep: Deployment) -> str:
    """A new application_connect key, and the value that carries it to the app host for a minute."""
    key = "-".join(new_token())
    dep.app_connect_keys.add(key)
    clock = time.monotonic()
    for value in [v for v, (expires, _) in dep.smuggled_keys.items() if expires <= clock]:
        del dep.smuggled_keys[value]
    value = secrets.token_urlsafe(48)
    dep.smuggled_keys[value] = (clock + SMUGGLED_KEY_TTL, key)
    return value
