"""The registry of named faults that break one part of the lab platform at a time.

Each fault is declared once, here, as a constant that the module it breaks imports: `faults.on(BUILD_FAILS)`.
The set is read live: every operation asks when it happens, so replacing the set through
`PUT /lab/faults` changes what the next build, request or health check does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    part: str  # the part of the platform it breaks, as the fault tables of lab/README.md group them
    breaks: str  # one line: what goes wrong


REGISTRY: dict[str, Fault] = {}


def _declare(name: str, part: str, breaks: str) -> Fault:
    assert name not in REGISTRY, name
    REGISTRY[name] = fault = Fault(name, part, breaks)
    return fault


# Coder: builds, agents, apps.
BUILD_FAILS = _declare("build-fails", "coder", "every start build's provisioner job fails")
NO_PROVISIONER = _declare(
    "no-provisioner", "coder", "new builds stay pending: no provisioner daemon matches their tags (matched count 0)"
)
PROVISIONER_STALE = _declare(
    "provisioner-stale",
    "coder",
    "new builds stay pending: the daemon that matches them was last seen long ago (available 0)",
)
BUILD_REPLACED = _declare(
    "build-replaced",
    "coder",
    "every start build is replaced, as it succeeds, by a stop (reason autostop, by the owner)",
)
AGENT_NEVER_READY = _declare("agent-never-ready", "coder", "the agent connects but its lifecycle stays starting")
AGENT_START_TIMEOUT = _declare(
    "agent-start-timeout", "coder", "the agent's startup script times out: lifecycle start_timeout, for good"
)
AGENT_DISCONNECTED = _declare(
    "agent-disconnected", "coder", "the agent becomes ready, then loses its connection (status disconnected)"
)
SUB_AGENT_FIRST = _declare(
    "sub-agent-first",
    "coder",
    "a devcontainer sub-agent, whose own code-server app never comes up, is listed before the root agent",
)
SUB_AGENT_FAILS = _declare(
    "sub-agent-fails", "coder", "the workspace's devcontainer sub-agent fails its startup (lifecycle start_error)"
)
REQUIRE_ACTIVE_VERSION = _declare(
    "require-active-version",
    "coder",
    "templates require their active version (require_active_version): workspaces build no other version",
)
NO_HEALTHCHECK = _declare(
    "no-healthcheck", "coder", "the template declares no healthcheck for code-server: its health is disabled"
)
APP_PROXY_502 = _declare("app-proxy-502", "coder", "the path-app proxy answers 502 for every app request")
APP_FOREIGN_PAGE = _declare(
    "app-foreign-page", "coder", "the app path answers 200 with a page that is not the app (an ingress default backend)"
)
APP_OPEN_WITHOUT_LOGIN = _declare(
    "app-open-without-login", "coder", "the path-app proxy serves apps to requests without a session"
)
APP_ON_SUBDOMAIN = _declare(
    "app-on-subdomain", "coder", "code-server is a subdomain app on a wildcard access URL; a healthy platform"
)
# Seen only by a browser: HTTP requests to the app still get the page and its health.
APP_WEBSOCKET_DROPPED = _declare(
    "app-websocket-dropped", "coder", "WebSocket upgrades to an app reach it as plain requests: never a 101"
)
APP_WEBSOCKET_CUT = _declare(
    "app-websocket-cut", "coder", "the app proxy cuts every proxied WebSocket one second after it opens"
)
APP_ASSETS_404 = _declare(
    "app-assets-404", "coder", "the app's page is served, but its static assets (paths with /static/) answer 404"
)
IDE_PORT_REFUSED = _declare(
    "ide-port-refused",
    "workspace",
    "code-server is killed once its app was reported healthy (a crash): its port refuses connections",
)
IDE_WEDGED = _declare(
    "ide-wedged",
    "workspace",
    "code-server hangs from the start (its processes stopped; the stand-in answers 503): its app never turns healthy",
)
DELETED_STILL_SERVED_ONCE = _declare(
    "deleted-still-served-once",
    "coder",
    "the first delete build of each workspace succeeds, but coderd keeps serving the workspace (200, not 410)",
)
DELETE_FAILS_ONCE = _declare("delete-fails-once", "coder", "the first delete build of each workspace fails")
DELETE_FAILS = _declare("delete-fails", "coder", "every delete build fails")
FIRST_USER_MISSING = _declare("first-user-missing", "coder", "GET /api/v2/users/first answers 404")
WRONG_OIDC_ISSUER = _declare("wrong-oidc-issuer", "coder", "the deployment config names another issuer")
OIDC_DISABLED = _declare("oidc-disabled", "coder", "GET /api/v2/users/authmethods reports oidc.enabled false")
NO_DEFAULT_TTL = _declare("no-default-ttl", "coder", "templates have default_ttl_ms 0")
TTL_NOT_INHERITED = _declare(
    "ttl-not-inherited", "coder", "a workspace created without ttl_ms gets no TTL despite the template default"
)
DEVEL_VERSION = _declare("devel-version", "coder", "coderd is a development build: its version is v0.0.0-devel")
CODER_FLAKY = _declare(
    "coder-flaky", "coder", "coderd's API answers a transient 503 or 429 to the first attempt of every 3rd request"
)
WEBSOCKET_BLOCKED = _declare(
    "websocket-blocked", "coder", "the ingress strips WebSocket upgrades (/derp and the lab ssh websocket answer 426)"
)
EXTERNAL_AUTH_UNLINKED = _declare("external-auth-unlinked", "coder", "the CI user has not linked GitHub in Coder")
NO_DEADLINE = _declare(
    "no-deadline", "coder", "a start build keeps the workspace's TTL but gets no deadline (autostop is broken)"
)
SECRETS_ECHOED = _declare(
    "secrets-echoed",
    "coder",
    "start builds fail printing the session and GitHub tokens; API error bodies echo the session token",
)

# The workspace: what the template builds.
PVC_LOST_ON_STOP = _declare("pvc-lost-on-stop", "workspace", "a stop build deletes the PVC")
POD_KEPT_ON_STOP = _declare("pod-kept-on-stop", "workspace", "a stop build leaves the workspace pod running")
GIT_CREDENTIAL_STORED = _declare(
    "git-credential-stored", "workspace", "the workspace image configures git's credential store (credential.helper)"
)
VOLUME_WIPED_ON_RESTART = _declare(
    "volume-wiped-on-restart", "workspace", "a start build after a stop empties the volume"
)
TOOL_MISSING = _declare("tool-missing", "workspace", "the workspace image has no codex")
EXTENSION_MISSING = _declare("extension-missing", "workspace", "code-server has no openai.chatgpt extension")
REPO_NOT_CHECKED_OUT = _declare(
    "repo-not-checked-out", "workspace", "a start build does not clone the repository into the volume"
)
NAMESPACE_KEPT_ON_DELETE = _declare(
    "namespace-kept-on-delete",
    "workspace",
    "a delete build leaves the workspace namespace Active (removed once lifted)",
)
COMMIT_HOOK_ADDS_FILE = _declare(
    "commit-hook-adds-file", "workspace", "a global pre-commit hook of the image adds a file to every commit"
)
NAMESPACE_REPLACED_ON_STOP = _declare(
    "namespace-replaced-on-stop", "workspace", "a stop build recreates the namespace and its PVC (new UIDs)"
)
CLAIM_REPLACED_ON_STOP = _declare(
    "claim-replaced-on-stop", "workspace", "a stop build replaces PVC workspaces with a new one (new UID, same data)"
)

# Identity.
DISCOVERY_ISSUER_MISMATCH = _declare(
    "discovery-issuer-mismatch", "identity", "the realm's discovery document names another issuer than its own URL"
)
ISSUER_NOT_KEYCLOAK = _declare(
    "issuer-not-keycloak", "identity", "coderd's OIDC issuer is an Okta-style /oauth2/default, not a Keycloak realm"
)

# Kubernetes.
KUBE_RIGHT_MISSING = _declare(
    "kube-right-missing", "kubernetes", "the CI identity lacks one right it needs: list persistentvolumeclaims"
)

# GitHub and Codex.
PUSH_REJECTED = _declare("push-rejected", "github", "the git host refuses every push (protected branch)")
PR_FORBIDDEN = _declare("pr-forbidden", "github", "creating a pull request answers 403")
REPO_MISSING = _declare("repo-missing", "github", "the bot-writable repository does not exist")
PR_HEAD_MOVED = _declare(
    "pr-head-moved", "github", "a bot pushes a commit onto a pull request's head branch right after it opens"
)
GRAPHQL_FAILS = _declare("graphql-fails", "github", "GitHub's GraphQL API answers 502 (its REST API still works)")
CODEX_NO_CHANGE = _declare("codex-no-change", "codex", "the lab's model answers Codex without making any change")


class UnknownFault(ValueError):
    pass


def validate(names: Iterable[str]) -> list[str]:
    """The names, deduplicated in order; UnknownFault names the first one the lab does not know."""
    result: list[str] = []
    for name in names:
        if name not in REGISTRY:
            raise UnknownFault(f"unknown fault {name!r}; known: {', '.join(REGISTRY)}")
        if name not in result:
            result.append(name)
    return result


class Faults:
    """The active set. `replace` is the one way to change it (the lab's `PUT /lab/faults` and its flags)."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._active = validate(names)
        self.generation = 0  # bumped on every replace: stateful faults restart their count
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every replace (in the event loop): faults that leave state behind undo it."""
        self._listeners.append(listener)

    def on(self, fault: Fault) -> bool:
        assert REGISTRY.get(fault.name) is fault, fault
        return fault.name in self._active

    def replace(self, names: Iterable[str]) -> None:
        self._active = validate(names)
        self.generation += 1
        for listener in self._listeners:
            listener()

    @property
    def active(self) -> list[str]:
        return list(self._active)
