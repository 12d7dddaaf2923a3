"""The named faults that break one part of the lab platform at a time.

The set is read live: every operation asks `faults.on(name)` when it happens, so replacing the set
through `PUT /lab/faults` changes what the next build, request or health check does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

KNOWN: dict[str, str] = {
    "build-fails": "every start build's provisioner job fails",
    "agent-never-ready": "the agent connects but its lifecycle stays starting",
    "app-proxy-502": "the path-app proxy answers 502 for every app request",
    "ide-health-down": "the IDE server's /healthz reports status expired",
    "pvc-lost-on-stop": "a stop build deletes the PVC",
    "volume-wiped-on-restart": "a start build after a stop empties the volume",
    "tool-missing": "the workspace image has no codex",
    "extension-missing": "code-server has no openai.chatgpt extension",
    "first-user-missing": "GET /api/v2/users/first answers 404",
    "wrong-oidc-issuer": "the deployment config names another issuer",
    "no-default-ttl": "templates have default_ttl_ms 0",
    "delete-fails-once": "the first delete build of each workspace fails",
    "delete-fails": "every delete build fails",
    "coder-flaky": "coderd's API answers a transient 503 or 429 to the first attempt of every 3rd request",
    "websocket-blocked": "the ingress strips WebSocket upgrades (/derp and the lab ssh websocket answer 426)",
    "push-rejected": "the git host refuses every push (protected branch)",
    "pr-forbidden": "creating a pull request answers 403",
    "repo-missing": "the bot-writable repository does not exist",
    "external-auth-unlinked": "the CI user has not linked GitHub in Coder",
    "codex-no-change": "the lab's model answers Codex without making any change",
    "namespace-kept-on-delete": "a delete build leaves the workspace namespace Active (removed when lifted)",
    "app-open-without-login": "the path-app proxy serves apps to requests without a session",
    "oidc-disabled": "GET /api/v2/users/authmethods reports oidc.enabled false",
    "discovery-issuer-mismatch": "the realm's discovery document names another issuer than its own URL",
    "repo-not-checked-out": "a start build does not clone the repository into the volume",
    "ttl-not-inherited": "a workspace created without ttl_ms gets no TTL despite the template default",
}


class UnknownFault(ValueError):
    pass


def validate(names: Iterable[str]) -> list[str]:
    """The names, deduplicated in order; UnknownFault names the first one the lab does not know."""
    result: list[str] = []
    for name in names:
        if name not in KNOWN:
            raise UnknownFault(f"unknown fault {name!r}; known: {', '.join(KNOWN)}")
        if name not in result:
            result.append(name)
    return result


class Faults:
    def __init__(self, names: Iterable[str] = ()) -> None:
        self._active = validate(names)
        self.generation = 0  # bumped on every replace: stateful faults restart their count
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every replace (in the event loop): faults that leave state behind undo it."""
        self._listeners.append(listener)

    def on(self, name: str) -> bool:
        assert name in KNOWN, name
        return name in self._active

    def replace(self, names: Iterable[str]) -> None:
        self._active = validate(names)
        self.generation += 1
        for listener in self._listeners:
            listener()

    @property
    def active(self) -> list[str]:
        return list(self._active)
