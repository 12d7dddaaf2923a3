"""One validated settings object, from environment variables and behave `-D` userdata.

Precedence, lowest first: defaults, environment, the lab's own values (when the lab is the target),
`-D name=value`. Every problem is reported as one line naming the setting, before anything is created.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from workspace_spec.errors import SuiteRefused

# Coder's session token: a 10-character id, a dash, a 22-character secret (coder-api.md §1).
_TOKEN_FORMAT = re.compile(r"^[A-Za-z0-9]{10}-[A-Za-z0-9]{22}$")
# Workspace names are `<prefix>-<run>-<n>` and must stay within Coder's 32 characters.
_PREFIX_FORMAT = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_PREFIX_LENGTH = 16
# The environment variables read under the names the platform's own tools use; every other setting is
# SPEC_<NAME>. The lab's handshake names its values the same way (lab/server.py, PLATFORM_VARIABLES).
# SSL_CERT_FILE and REQUESTS_CA_BUNDLE are no settings: they make HTTPS clients trust a private CA (httpx
# and the GitHub CLI read SSL_CERT_FILE, PyGithub's requests REQUESTS_CA_BUNDLE); the lab names its CA
# bundle in them.
PLATFORM_VARIABLES = (
    "CODER_URL",
    "CODER_SESSION_TOKEN",
    "KUBECONFIG",
    "GITHUB_TOKEN",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
)
# A duration, as SPEC_SWEEP_ON_START and the sweeper's --older-than take it: 90s, 90m, 2h, 1d.
_DURATION = re.compile(r"^(\d+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# GitHub's own rule for owner/repository names.
_REPO_FORMAT = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")


class SettingsError(SuiteRefused):
    """A setting is missing or malformed; the message is one line that names it."""


def parse_duration(text: str) -> float:
    """Seconds in a duration like 90m or 2h."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a duration like 90m or 2h: {text!r}")
    return int(match.group(1)) * _SECONDS[match.group(2)]


class Settings(BaseSettings):
    """Everything the suite needs to know about its target and its expectations."""

    # Our own settings read SPEC_<NAME>; the platform's standard variables keep their usual names.
    model_config = SettingsConfigDict(
        env_prefix="SPEC_", case_sensitive=False, extra="ignore", validate_default=True, populate_by_name=True
    )

    # Where the platform is. No CODER_URL means: start the embedded lab.
    coder_url: str | None = Field(default=None, validation_alias=AliasChoices("coder_url", "CODER_URL"))
    coder_session_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("coder_session_token", "CODER_SESSION_TOKEN")
    )
    coder_cli: str = "coder"
    kubeconfig: str | None = Field(default=None, validation_alias=AliasChoices("kubeconfig", "KUBECONFIG"))

    # What the platform is expected to provide.
    template: str = "ameide-dev"
    template_version: str = ""  # a pushed, not yet active version of it to check; '' for the active one
    organization: str = "default"
    app_slug: str = "code-server"
    agent: str = ""  # the workspace agent developers work in; unset: the root agent that serves app_slug
    # code-server's port inside the workspace; unset: the port of the app's health check URL.
    code_server_port: int | None = Field(default=None, gt=0, lt=65536)
    workspace_dir: str = "/workspaces"
    repo_dir: str = ""  # defaults to <workspace_dir>/ameide
    repo_url: str = "https://github.com/ameideio/ameide"
    tools: Annotated[list[str], NoDecode] = []  # beyond the feature's table: mandatory Ameide tooling
    vscode_extensions: Annotated[list[str], NoDecode] = ["openai.chatgpt"]
    # code-server's default; expanded by the workspace's shell.
    extensions_dir: str = "${XDG_DATA_HOME:-$HOME/.local/share}/code-server/extensions"
    browser: str = ""  # the Chromium that opens VS Code (@browser); unset: chromium on PATH
    oidc_issuer: str | None = None
    coder_namespace: str = "ameide-dev"  # where deploy/coder runs, for control-plane logs on failure

    # The E2E workflow (spec 629 §1.2): branch, push and pull request from inside a workspace.
    e2e_template: str = "ameide-gitops"
    e2e_template_version: str = ""  # likewise for the E2E template
    e2e_repo: str | None = None  # owner/name of a bot-writable repository; never the product repository
    e2e_repo_url: str = ""  # defaults to https://github.com/<e2e_repo>.git
    github_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("github_token", "GITHUB_TOKEN"))
    github_api_url: str = "https://api.github.com"
    push_auth: Literal["external-auth", "token"] = "external-auth"
    # Who opens the pull request: the GitHub CLI inside the workspace (spec 629 §1.2 step 6), or the API
    # from the runner (PyGithub).
    pr_client: Literal["gh", "api"] = "gh"
    git_author_name: str = "workspace-spec bot"
    git_author_email: str = "workspace-spec-bot@users.noreply.github.com"
    codex: Literal["off", "auth-json"] = "off"
    keep_on_failure: bool = False
    # The gate: make the checked template version(s) active when the whole run passed and cleaned up.
    promote_on_pass: bool = False
    sweep_on_start: str = ""  # e.g. 2h: before the run, remove what earlier runs left that is older than this
    pushgateway_url: str = ""  # a Prometheus Pushgateway the run's metrics go to (docs/metrics.md); '' for none

    # How the suite behaves.
    name_prefix: str = "spec"
    build_timeout: float = Field(default=900.0, gt=0)
    agent_timeout: float = Field(default=600.0, gt=0)
    app_timeout: float = Field(default=120.0, gt=0)
    browser_timeout: float = Field(default=60.0, gt=0)  # VS Code loading in a browser, through the proxy
    request_timeout: float = Field(default=10.0, gt=0)
    # Coder's rate limiter asks for up to a minute (Retry-After); the suite waits as asked, up to this.
    rate_limit_wait: float = Field(default=10.0, ge=0)
    ssh_connect_timeout: float = Field(default=60.0, gt=0)  # `coder ssh` may have to wait for the agent
    pod_termination_timeout: float = Field(default=60.0, gt=0)  # a stopped workspace's pod may take this to go
    cleanup_timeout: float = Field(default=300.0, gt=0)
    # Builds the run starts at once; Coder's built-in provisioner daemons (CODER_PROVISIONER_DAEMONS) are 3.
    max_parallel_builds: int = Field(default=3, ge=1)
    progress_interval: float = Field(default=15.0, ge=0)  # a wait says what it awaits this often; 0: never

    # The embedded lab (used only when coder_url is not set).
    lab_faults: Annotated[list[str], NoDecode] = []
    lab_build_delay: float | None = Field(default=None, ge=0)
    lab_agent_delay: float | None = Field(default=None, ge=0)

    @field_validator("tools", "vscode_extensions", "lab_faults", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item for item in re.split(r"[,\s]+", value) if item]
        return value

    @field_validator("coder_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http(s) URL such as https://coder.dev.ameide.io, got {value!r}")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError("must be the deployment's access URL, without a path or query")
        return value.rstrip("/")

    @field_validator("coder_session_token", "github_token", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and not raw.strip():
            raise ValueError("is empty: give the token, or leave the setting out")
        return value

    @field_validator("kubeconfig")
    @classmethod
    def _kubeconfig_exists(cls, value: str | None) -> str | None:
        if value and os.pathsep not in value and not os.path.isfile(os.path.expanduser(value)):
            raise ValueError(f"names no file: {value}")
        return value

    @field_validator("coder_session_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TOKEN_FORMAT.match(value.get_secret_value()):
            # Never echo the value: it is a secret even when malformed.
            raise ValueError("is not a Coder session token (expected 10 characters, '-', 22 characters)")
        return value

    @field_validator("name_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        if not _PREFIX_FORMAT.match(value) or len(value) > MAX_PREFIX_LENGTH:
            raise ValueError(
                f"must be lower-case letters and digits with single inner dashes, at most "
                f"{MAX_PREFIX_LENGTH} characters, got {value!r}"
            )
        return value

    @field_validator("e2e_repo")
    @classmethod
    def _check_repo(cls, value: str | None) -> str | None:
        if value and not _REPO_FORMAT.match(value):
            raise ValueError(f"must be owner/name of a GitHub repository, got {value!r}")
        return value or None

    @field_validator("pushgateway_url")
    @classmethod
    def _check_pushgateway(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if value.strip() and (parts.scheme not in ("http", "https") or not parts.hostname or parts.query):
            # Never echo the value: it may carry credentials (https://user:password@host).
            raise ValueError("must be a Pushgateway's http(s) URL such as http://pushgateway.monitoring.svc:9091")
        return value.strip().rstrip("/")

    @field_validator("sweep_on_start")
    @classmethod
    def _check_sweep(cls, value: str) -> str:
        if value:
            try:
                parse_duration(value)
            except ValueError:
                raise ValueError(f"must be a duration like 90m or 2h, got {value!r}") from None
        return value.strip()

    @field_validator("template", "e2e_template", "organization", "app_slug")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @model_validator(mode="after")
    def _complete(self) -> Settings:
        if self.coder_url and self.coder_session_token is None:
            raise ValueError("CODER_SESSION_TOKEN is required when CODER_URL is set")
        if not self.repo_dir:
            self.repo_dir = f"{self.workspace_dir.rstrip('/')}/ameide"
        if self.e2e_repo and not self.e2e_repo_url:
            self.e2e_repo_url = f"https://github.com/{self.e2e_repo}.git"
        return self

    @property
    def is_live(self) -> bool:
        return self.coder_url is not None

    def secrets(self) -> list[str]:
        """Every secret value among the settings, for the redactor (a Pushgateway URL's password among them)."""
        tokens = [value.get_secret_value() for value in (self.coder_session_token, self.github_token) if value]
        return [*tokens, password] if (password := urlsplit(self.pushgateway_url).password) else tokens

    def e2e_problem(self) -> str:
        """Why the E2E flow cannot run as configured, or '' when it can."""
        if not self.e2e_repo:
            return "SPEC_E2E_REPO (-D e2e_repo) is not set: name a bot-writable owner/repository"
        if self.github_token is None:
            return "GITHUB_TOKEN (-D github_token) is not set: the bot token opens and closes the pull requests"
        product = _repository_of(self.repo_url)
        if self.e2e_repo.casefold() == product or _repository_of(self.e2e_repo_url) == product:
            return (
                f"SPEC_E2E_REPO (-D e2e_repo) {self.e2e_repo} is the product repository (SPEC_REPO_URL): the E2E "
                "flow pushes branches and opens pull requests there; name a bot-writable sandbox repository"
            )
        return ""

    @property
    def token(self) -> str:
        if self.coder_session_token is None:
            raise SettingsError("CODER_SESSION_TOKEN is not set")
        return self.coder_session_token.get_secret_value()


def _repository_of(url: str) -> str:
    """`owner/name` of a repository URL (or scp-like `git@host:owner/name.git`), case-folded as GitHub treats
    names; '' when it names none."""
    path = url.split("://", 1)[1].partition("/")[2] if "://" in url else url.partition(":")[2]
    path = path.strip("/").removesuffix(".git")
    return path.casefold() if _REPO_FORMAT.match(path) else ""


# Of the platform's variables, those that are no setting: the lab's values for them go to the environment.
TRUST_VARIABLES = tuple(name for name in PLATFORM_VARIABLES if name.lower() not in Settings.model_fields)


def unknown_names(names: Iterable[str]) -> list[str]:
    """`-D` names that are no setting (with a suggestion); dotted names belong to formatters (AllureFormatter.x)."""
    known = set(Settings.model_fields)
    problems = []
    for name in names:
        key = name.lower()
        if "." in key or key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1)
        problems.append(f"-D {name} is no setting" + (f" (did you mean -D {close[0]}?)" if close else ""))
    return problems


def load_settings(*overrides: Mapping[str, Any]) -> Settings:
    """Build the settings; later mappings win over earlier ones and over the environment."""
    merged: dict[str, Any] = {}
    for mapping in overrides:
        merged.update({key.lower(): value for key, value in mapping.items() if "." not in key})
    try:
        return Settings(**merged)
    except ValidationError as error:
        raise SettingsError(_one_line(error)) from None


def env_name(field: str) -> str:
    """The environment variable a setting is read from: the platform's own name, or SPEC_<NAME>."""
    if field.upper() in PLATFORM_VARIABLES:
        return field.upper()
    return f"SPEC_{field.upper()}"


def _one_line(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        if not item["loc"]:
            problems.append(message)
            continue
        field = str(item["loc"][0]).lower()
        problems.append(f"{env_name(field)} (-D {field}) {message}")
    return "invalid settings: " + "; ".join(problems)
