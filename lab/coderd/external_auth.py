"""coderd's external auth (coder-api.md §9; coderd/externalauth.go): `GET /api/v2/external-auth`, the
owner's GitHub link `GET /api/v2/external-auth/{provider}`, and the token a workspace agent fetches for
`coder external-auth access-token github`, `GET /api/v2/workspaceagents/me/external-auth`.

Under the `external-auth-unlinked` fault the owner has not linked GitHub: the link reads
unauthenticated and the agent gets the URL to link at instead of a token.
"""

from __future__ import annotations

import re

from aiohttp import web

from lab.coderd.deployment import GitHubLink, deployment
from lab.coderd.http import NOT_FOUND, ApiError, agent_param, respond
from lab.codersdk import iso
from lab.faults import EXTERNAL_AUTH_UNLINKED

routes = web.RouteTableDef()
PROVIDER = "github"
DISPLAY_NAME = "GitHub"


def _link(request: web.Request) -> GitHubLink | None:
    """The owner's link, when there is one."""
    dep = deployment(request)
    return None if dep.faults.on(EXTERNAL_AUTH_UNLINKED) else dep.github


def _provider_regex(link: GitHubLink) -> str:
    """Like Coder's default for GitHub (`^(https?://)?github\\.com(/.*)?$`), for the lab's host."""
    host = link.web_url.split("://", 1)[-1].rstrip("/")
    return rf"^(https?://)?{re.escape(host)}(/.*)?$"


def _check_provider(request: web.Request, provider: str) -> GitHubLink:
    """The configured provider's settings; 404 (coderd's externalauthparam) for any other id."""
    configured = deployment(request).github
    if configured is None or provider != PROVIDER:
        raise ApiError(404, NOT_FOUND)
    return configured


@routes.get("/api/v2/external-auth")
async def list_links(request: web.Request) -> web.Response:
    configured = deployment(request).github
    providers = []
    if configured is not None:
        providers.append(
            {
                "id": PROVIDER,
                "type": PROVIDER,
                "device": False,
                "display_name": DISPLAY_NAME,
                "display_icon": "/icon/github.svg",
                "allow_refresh": True,
                "allow_validate": True,
            }
        )
    link = _link(request)
    links = []
    if link is not None:
        links.append(
            {
                "provider_id": PROVIDER,
                "created_at": iso(link.linked_at),
                "updated_at": iso(link.linked_at),
                "has_refresh_token": False,
                "expires": "0001-01-01T00:00:00Z",  # GitHub OAuth tokens do not expire
                "authenticated": True,
                "validate_error": "",
            }
        )
    return respond({"providers": providers, "links": links})


@routes.get("/api/v2/external-auth/{provider}")
async def get_link(request: web.Request) -> web.Response:
    _check_provider(request, request.match_info["provider"])
    link = _link(request)
    user = None
    if link is not None:
        user = {
            "id": link.user_id,
            "login": link.login,
            "avatar_url": f"{link.web_url}/avatars/{link.login}",
            "profile_url": f"{link.web_url}/{link.login}",
            "name": link.name,
        }
    return respond(
        {
            "authenticated": link is not None,
            "device": False,
            "display_name": DISPLAY_NAME,
            "user": user,
            "app_installable": False,
            "installations": [],
            "app_install_url": "",
        }
    )


@routes.get("/api/v2/workspaceagents/me/external-auth")
async def agent_token(request: web.Request) -> web.Response:
    """The owner's token for the provider named by `id`, or matching the URL `match` (or `url`)."""
    agent_param(request)
    match = request.query.get("match") or request.query.get("url", "")
    provider_id = request.query.get("id", "")
    if not match and not provider_id:
        raise ApiError(400, "'url' or 'id' must be provided!")
    if match and provider_id:
        raise ApiError(400, "'url' and 'id' cannot be provided together!")
    dep = deployment(request)
    configured = dep.github
    found = configured is not None and (
        provider_id == PROVIDER if provider_id else re.match(_provider_regex(configured), match) is not None
    )
    if not found:
        raise ApiError(
            404,
            f'No matching external auth provider found in Coder for the url "{match}".',
            "External auth provider not found.",
        )
    link = _link(request)
    if link is None:
        return respond(
            {
                "access_token": "",
                "token_extra": None,
                "url": f"{dep.access_url}/external-auth/{PROVIDER}",
                "type": "",
                "username": "",
                "password": "",
            }
        )
    return respond(
        {
            "access_token": link.token,
            "token_extra": {},
            "url": "",
            "type": PROVIDER,
            "username": link.token,  # coderd's legacy git-auth fields: GitHub takes the token as user
            "password": "",
        }
    )
