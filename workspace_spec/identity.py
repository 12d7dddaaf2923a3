"""Sign-in configuration: OIDC settings as Coder reports them, and the issuer's discovery document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from workspace_spec.coder import CoderClient, CoderError
from workspace_spec.errors import PlatformFailure


class DiscoveryError(PlatformFailure):
    """The issuer's discovery document could not be read."""


@dataclass(frozen=True)
class SignIn:
    oidc_enabled: bool
    issuer_url: str


class ConfigUnreadable(Exception):
    """The suite's user may not read what it needs to check (a setup problem, not a platform failure)."""


def sign_in(coder: CoderClient) -> SignIn:
    methods = coder.auth_methods()
    try:
        config = coder.deployment_config().get("config", {})
    except CoderError as error:
        if error.status == 403:
            raise ConfigUnreadable(
                "the token's user may not read the deployment config (GET /api/v2/deployment/config answered 403); "
                "the OIDC checks need a user with the owner or auditor role"
            ) from None
        raise
    oidc = methods.get("oidc") or {}
    return SignIn(
        oidc_enabled=bool(oidc.get("enabled")),
        issuer_url=(config.get("oidc") or {}).get("issuer_url", ""),
    )


def discovery(issuer_url: str, timeout: float) -> dict[str, Any]:
    """GET <issuer>/.well-known/openid-configuration, as any OIDC client (Coder included) does."""
    url = issuer_url.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as error:
        raise DiscoveryError(f"cannot reach {url}: {type(error).__name__}: {error}") from None
    if response.status_code != 200:
        raise DiscoveryError(f"{url} answered {response.status_code}")
    try:
        document = response.json()
    except ValueError:
        raise DiscoveryError(f"{url} did not answer JSON") from None
    if not isinstance(document, dict):
        raise DiscoveryError(f"{url} did not answer a JSON object")
    return document


def same_issuer(left: str, right: str) -> bool:
    """Issuers compare as strings (OIDC Discovery §4.3); only a trailing slash is forgiven."""
    return left.rstrip("/") == right.rstrip("/")


def is_keycloak_realm(url: str) -> bool:
    """Keycloak serves each realm's issuer at <base>/realms/<realm>."""
    return "/realms/" in urlsplit(url).path


def issuer_problem(configured: str, expected: str | None) -> str:
    """'' when Coder's issuer is the expected one (with none expected: any Keycloak realm); else why not."""
    if not configured:
        return "Coder's deployment config names no OIDC issuer (config.oidc.issuer_url is empty)"
    if expected:
        return "" if same_issuer(configured, expected) else f"Coder's OIDC issuer is {configured}, expected {expected}"
    return "" if is_keycloak_realm(configured) else f"Coder's OIDC issuer {configured} is not a Keycloak realm URL"


def discovery_problem(issuer: str, timeout: float) -> str:
    """'' when the issuer's discovery document names the issuer itself; else what it names."""
    document = discovery(issuer, timeout)
    if same_issuer(document.get("issuer", ""), issuer):
        return ""
    return f"the discovery document of {issuer} names issuer {document.get('issuer')!r}"
