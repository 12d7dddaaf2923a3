"""What breaks each check: for every scenario of the features, the lab fault (or condition) under which it
fails, the step that must fail and what its message must say. The fault tests run every row; a test
checks that every `Then` step of the features is the failing step of at least one row, so a new check
without a fault to prove it can fail does not pass CI."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from _pytest.mark import ParameterSet

from tests.helpers.lab import STANDIN_IDE

USABLE = "A workspace created from the template becomes usable (§1.1 check 1)"
PERSISTENCE = "Stopping and starting a workspace keeps its volume (§1.1 check 5)"
DELETE = "A deleted workspace is gone (§1.1 check 6)"
PROXY_SIGNED_IN = "A signed-in developer reaches code-server through the app proxy (§1.1 check 2)"
PROXY_ANONYMOUS = "The app proxy does not serve the app without a session (§1.1 check 2)"
BROWSER = "A developer works in VS Code in the browser through the app proxy (§0, §1.1 check 2)"
CHECKOUT = "The repository is checked out (§1.1 check 3)"
TOOLCHAIN = "The toolchain is installed (§1.1 check 3)"
IDE_HEALTH = "code-server is healthy inside the workspace (§1.1 check 4)"
EXTENSION = "code-server has the Codex extension (§1.1 check 3, optional)"
ISSUER = "Coder signs people in through the Keycloak issuer (§1.1 auth)"
FIRST_USER = "The deployment is past first-run setup (§1.1 auth)"
AUTOSTOP = "A new workspace inherits the template's auto-stop (§5)"
SHELL_PR = "A change made in the workspace becomes a pull request (§1.2 minimal path)"
CODEX_PR = "Codex makes the change inside the workspace (§1.2 extended path)"
PREFLIGHT_SERVICES = "Every service the suite is configured to use answers (§6)"
PREFLIGHT_WEBSOCKET = "Coder's ingress passes WebSocket upgrades (§6)"
PREFLIGHT_RIGHTS = "The suite's Kubernetes identity has the rights its checks need (§5)"
# The scenarios whose subject is code-server, or the app proxy in front of it.
IDE_SCENARIOS = {PROXY_SIGNED_IN, PROXY_ANONYMOUS, BROWSER, IDE_HEALTH, EXTENSION}


@dataclass(frozen=True)
class Breaks:
    fault: str  # a lab fault, or a condition its test sets up
    scenario: str
    step: str  # the name of the step that must fail (Given, When or Then)
    message: str  # what the failure must say
    env: dict[str, str] = field(default_factory=dict)  # settings the row runs with
    unsaid: str = ""  # what the failure must not say: a sign that the suite itself made the fault worse

    @property
    def browser_only(self) -> bool:
        """A fault only the browser scenario can see: every other scenario must pass under it."""
        return self.scenario == BROWSER

    @property
    def in_the_ide(self) -> bool:
        """The fault is in code-server or what serves it (its scenario's or its failing step's subject)."""
        return self.scenario in IDE_SCENARIOS or "code-server" in self.step

    def __str__(self) -> str:
        return self.fault


def on_their_labs(rows: list[Breaks]) -> list[ParameterSet]:
    """The rows as test parameters: a fault in the IDE is met by the real code-server, any other fault on the
    stand-in IDE's lab, where the workspace starts cost a tenth."""
    return [pytest.param(row, id=str(row), marks=() if row.in_the_ide else STANDIN_IDE) for row in rows]


SMOKE = [
    Breaks("build-fails", USABLE, "the workspace build succeeds", "the start build #1 failed"),
    # The platform echoes the session token and the linked GitHub token in the build's error, build log,
    # pod log and every API error body: the run's output and reports must still hold none of them.
    Breaks("secrets-echoed", USABLE, "the workspace build succeeds", "the start build #1 failed"),
    Breaks("no-provisioner", USABLE, "the workspace build succeeds", "no provisioner accepts its tags"),
    Breaks(
        "provisioner-stale",
        USABLE,
        "the workspace build succeeds",
        "have not been seen lately (matched_provisioners.available 0",
    ),
    Breaks(
        "build-replaced",
        USABLE,
        "the workspace build succeeds",
        "was replaced by the stop build #2, started by admin (reason autostop)",
    ),
    Breaks("no-healthcheck", USABLE, "the code-server app becomes healthy", "that is the template's choice"),
    Breaks("agent-never-ready", USABLE, "the workspace agent becomes ready", "workspace agent readiness of workspace"),
    Breaks(
        "agent-start-timeout",
        USABLE,
        "the workspace agent becomes ready",
        "agent 'main' is start_timeout: its startup scripts timed out",
    ),
    Breaks("sub-agent-fails", USABLE, "the workspace agent becomes ready", "agent 'devcontainer' is start_error"),
    Breaks("agent-disconnected", USABLE, "the workspace agent becomes ready", "agent main disconnected/ready"),
    Breaks("ide-wedged", USABLE, "the code-server app becomes healthy", "code-server app health of workspace"),
    Breaks("app-proxy-502", PROXY_SIGNED_IN, "the app proxy serves code-server", "it answered 502"),
    Breaks(
        "app-foreign-page",
        PROXY_SIGNED_IN,
        "the app proxy serves code-server",
        "the app proxy serves something, but not code-server",
    ),
    Breaks(
        "app-open-without-login",
        PROXY_ANONYMOUS,
        "they are redirected to the Coder login page",
        "did not send an anonymous visitor to /login (expected 303): it answered 200",
    ),
    # Only a browser sees these: the HTTP-level checks of the app still pass under them.
    Breaks(
        "app-websocket-dropped",
        BROWSER,
        "VS Code shows the repository and stays connected to its server",
        "VS Code loaded, but cannot connect to its server: the WebSocket to",
    ),
    Breaks(
        "app-websocket-cut",
        BROWSER,
        "VS Code shows the repository and stays connected to its server",
        "VS Code connected, then lost its server: the WebSocket to",
    ),
    Breaks(
        "app-assets-404",
        BROWSER,
        "VS Code shows the repository and stays connected to its server",
        "VS Code did not load: the page came, but",
    ),
    Breaks(
        "ide-port-refused", IDE_HEALTH, "code-server answers that it is up", "code-server is down: http://127.0.0.1:"
    ),
    Breaks(
        "pvc-lost-on-stop",
        PERSISTENCE,
        "its namespace and volume claim outlived the stop unchanged",
        "were deleted when the workspace stopped",
    ),
    Breaks(
        "namespace-replaced-on-stop",
        PERSISTENCE,
        "its namespace and volume claim outlived the stop unchanged",
        "was replaced during the stop",
    ),
    Breaks(
        "claim-replaced-on-stop",
        PERSISTENCE,
        "its namespace and volume claim outlived the stop unchanged",
        "were replaced during the stop (new uid)",
    ),
    Breaks("pod-kept-on-stop", PERSISTENCE, "no workspace pod ran while it was stopped", "pods still ran"),
    Breaks(
        "volume-wiped-on-restart",
        PERSISTENCE,
        "the marker file still holds its content",
        "is gone after stop and start",
    ),
    Breaks("delete-fails-once", DELETE, "the workspace is deleted", "the delete build"),
    Breaks(
        "deleted-still-served-once",
        DELETE,
        "Coder no longer serves the workspace",
        "Coder still serves deleted workspace",
    ),
    Breaks("namespace-kept-on-delete", DELETE, "its namespace is removed", "is still Active after the workspace"),
    Breaks(
        "repo-not-checked-out",
        CHECKOUT,
        "it is a git work tree whose origin is the expected repository",
        "is not a git work tree in the workspace",
    ),
    Breaks("tool-missing", TOOLCHAIN, "every required tool answers with its version", "toolchain incomplete"),
    Breaks(
        "extension-missing", EXTENSION, "every expected extension is installed", "lacks extension(s) openai.chatgpt"
    ),
    Breaks(
        "first-user-missing",
        FIRST_USER,
        "it answers that the initial user has already been created",
        "first-run setup is not complete",
    ),
    Breaks("wrong-oidc-issuer", ISSUER, "Coder names the expected Keycloak issuer", "Coder's OIDC issuer is"),
    Breaks(
        "issuer-not-keycloak",
        ISSUER,
        "Coder names the expected Keycloak issuer",
        "is not a Keycloak realm URL",
        env={"SPEC_OIDC_ISSUER": ""},  # no issuer configured: any Keycloak realm will do
    ),
    Breaks("oidc-disabled", ISSUER, "sign-in with OIDC is enabled", "Coder reports OIDC sign-in disabled"),
    Breaks(
        "discovery-issuer-mismatch",
        ISSUER,
        "that issuer publishes a discovery document naming itself",
        "the discovery document of",
    ),
    Breaks(
        "no-default-ttl", AUTOSTOP, "the template stops workspaces after a default time", "has no default auto-stop"
    ),
    Breaks("ttl-not-inherited", AUTOSTOP, "the workspace carries the template's auto-stop time", "has ttl_ms None"),
    Breaks("no-deadline", AUTOSTOP, "its running build has a stop deadline", "has no deadline"),
]

E2E = [
    Breaks(
        "push-rejected",
        SHELL_PR,
        "a one-line README change made in the shell is proposed as a pull request",
        "was rejected",
    ),
    Breaks(
        "pr-forbidden",
        SHELL_PR,
        "a one-line README change made in the shell is proposed as a pull request",
        "GraphQL: Resource not accessible by integration (createPullRequest)",
    ),
    Breaks(
        "graphql-fails",
        SHELL_PR,
        "a one-line README change made in the shell is proposed as a pull request",
        "`gh pr create` in the workspace did not open a pull request",
    ),
    Breaks("repo-missing", SHELL_PR, "the bot-writable repository is checked out in the workspace", "cannot clone"),
    Breaks(
        "external-auth-unlinked",
        SHELL_PR,
        "git in the workspace can authenticate to GitHub",
        "GitHub is not linked in Coder",
    ),
    Breaks(
        "codex-no-change",
        CODEX_PR,
        "Codex makes a one-line README change that is proposed as a pull request",
        "Codex made no change",
    ),
    Breaks("pr-head-moved", SHELL_PR, "the pull request's head is the pushed commit", "was pushed"),
    Breaks(
        "commit-hook-adds-file",
        SHELL_PR,
        "the pull request changes exactly that line",
        "should add exactly",
    ),
    # The image's `store` helper is named; ~/.git-credentials would mean the suite's own push (without its
    # empty `credential.helper=` reset before its own helper) handed the token to that store.
    Breaks(
        "git-credential-stored",
        SHELL_PR,
        "the checkout keeps no GitHub credential",
        "keeps GitHub credentials in: credential.helper",
        unsaid="~/.git-credentials",
    ),
]

PREFLIGHT = [
    Breaks("websocket-blocked", PREFLIGHT_WEBSOCKET, "Coder accepts the upgrade", "/derp answered 426"),
    Breaks(
        "kube-right-missing",
        PREFLIGHT_RIGHTS,
        "every right the checks need is granted",
        "lacks, in all namespaces: list persistentvolumeclaims",
    ),
    Breaks(
        "unreachable Kubernetes API",  # a kubeconfig naming a closed port (test_fail_safe)
        PREFLIGHT_SERVICES,
        "every one of them answers",
        "unreachable: Kubernetes API at https://127.0.0.1:9",
    ),
]
