"""Whether every service the suite is configured to use answers, before anything is created (spec 629 §6).

The suite contacts only these: Coder (API and app proxy on the access URL), the Kubernetes API, and,
for the E2E flow, GitHub's API. Codex talks to OpenAI from inside the workspace, not from the runner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from workspace_spec.secrets import scrub
from workspace_spec.world import World

# Coder serves DERP relays at /derp over a WebSocket with this subprotocol, for clients without UDP:
# the one upgrade every deployment accepts without a workspace, and the one a blocking ingress breaks.
DERP_PATH = "/derp"
DERP_SUBPROTOCOL = Subprotocol("derp")


@dataclass(frozen=True)
class Probe:
    service: str
    address: str
    problem: str  # '' when it answered as it should

    def describe(self) -> str:
        return f"{self.service} at {self.address}: " + (self.problem or "answers")


def _probe(service: str, address: str, check: Callable[[], object]) -> Probe:
    try:
        check()
    except Exception as error:  # noqa: BLE001 - any failure is this service's problem, named below
        return Probe(service, address, scrub(f"{type(error).__name__}: {error}"))
    return Probe(service, address, "")


def services(world: World) -> list[Probe]:
    settings = world.settings
    probes = [
        _probe("Coder", settings.coder_url or "", world.coder.build_info),
        _probe("Kubernetes API", world.cluster.server, world.cluster.version),
    ]
    if not settings.e2e_problem():
        probes.append(_probe("GitHub API", settings.github_api_url, world.pull_requests.bot_login))
    return probes


def websocket_problem(coder_url: str, timeout: float) -> str:
    """'' when Coder (through its ingress) accepts a WebSocket upgrade; else what happened instead."""
    parts = urlsplit(coder_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    url = f"{scheme}://{parts.netloc}{DERP_PATH}"
    try:
        with connect(url, subprotocols=[DERP_SUBPROTOCOL], open_timeout=timeout, close_timeout=1) as socket:
            accepted = socket.subprotocol
    except InvalidStatus as error:
        return f"{url} answered {error.response.status_code} instead of switching protocols (101)"
    except (InvalidHandshake, OSError, TimeoutError) as error:
        return f"{url}: {type(error).__name__}: {error}"
    if accepted != DERP_SUBPROTOCOL:
        return f"{url} switched protocols but without the {DERP_SUBPROTOCOL!r} subprotocol"
    return ""
