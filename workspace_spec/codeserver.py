"""code-server's health, asked inside the workspace (localhost) or through Coder's app proxy.

`GET /healthz` answers 200 `{"status": "alive" | "expired", "lastHeartbeat": <ms>}` (code-server
src/node/routes/health.ts). Both states are a healthy server: `alive` only means a client used it in the
last 60 s (src/node/heart.ts), and a fresh workspace that nobody opened says `expired`, lastHeartbeat 0.
Down is everything else: refused, a timeout, a 5xx, or a body that is not that JSON (another server).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from workspace_spec.coder import CoderClient
from workspace_spec.secrets import scrub

if TYPE_CHECKING:
    from workspace_spec.ssh import WorkspaceShell


STATES = ("alive", "expired")
EXCERPT = 120
# curl's exit codes for what went wrong before any answer (man curl, EXIT CODES).
CURL_FAILURES = {
    6: "host not found",
    7: "connection refused",
    28: "timed out",
    52: "empty reply",
    56: "connection reset",
}


@dataclass(frozen=True)
class Health:
    where: str
    problem: str  # '' when code-server answered its health JSON
    status: str = ""  # alive | expired

    def describe(self) -> str:
        return f"{self.where}: " + (self.problem or f"code-server answered, status {self.status}")


def health_port(healthcheck_url: str | None) -> int | None:
    """The IDE's port inside the workspace, from the app's own health check URL (code-server: 13337)."""
    if not healthcheck_url:
        return None
    parts = urlsplit(healthcheck_url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def judge(where: str, status_code: int, content_type: str, body: str) -> Health:
    """Whether an HTTP answer to /healthz is code-server's own health JSON."""
    excerpt = scrub(" ".join(body.split())[:EXCERPT])
    if status_code != 200:
        return Health(where, f"answered {status_code} {content_type}: {excerpt!r}".strip())
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("status") not in STATES or not isinstance(data.get("lastHeartbeat"), int):
        return Health(where, f"answered 200 {content_type}, not code-server's health JSON: {excerpt!r}")
    return Health(where, "", data["status"])


def inside(shell: WorkspaceShell, port: int) -> Health:
    """Ask on localhost inside the workspace, as a developer's terminal would (spec 629 §1.1 check 4)."""
    where = f"http://127.0.0.1:{port}/healthz inside the workspace"
    marker = "\n--- http %{http_code} %{content_type}"
    result = shell.run(f"curl -sS --max-time 5 -w '{marker}' http://127.0.0.1:{port}/healthz", timeout=30)
    body, _, trailer = result.stdout.rpartition("\n--- http ")
    if not result.ok or not trailer:
        reason = CURL_FAILURES.get(result.exit_code, "no answer")
        return Health(where, f"{reason} ({result.summary()})")
    code, _, content_type = trailer.strip().partition(" ")
    return judge(where, int(code) if code.isdigit() else 0, content_type, body)


def through_app_proxy(coder: CoderClient, app_url: str) -> Health:
    """Ask through Coder's app proxy (`app_url`: where Coder serves the app, path or subdomain): only
    code-server itself answers its /healthz this way."""
    url = app_url.rstrip("/") + "/healthz"
    where = f"{url} through the app proxy"
    try:
        response = coder.open_app(url, with_session=True)
    except httpx.HTTPError as error:
        return Health(where, f"no answer: {type(error).__name__}")
    return judge(where, response.status_code, response.headers.get("content-type", ""), response.text)
