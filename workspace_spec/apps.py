"""Workspace apps reached from outside the workspace, through Coder's path-based app proxy."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from tenacity import RetryCallState, retry, retry_if_result, stop_after_delay, wait_fixed

from workspace_spec import browser, codeserver
from workspace_spec.coder import CoderClient, Workspace
from workspace_spec.settings import Settings
from workspace_spec.timings import Timings

# While the app warms up the proxy answers 502 "Application Unavailable"; nothing else is retried
# (Coder's own app-proxy tests do the same): any other answer is the verdict.
WARMING_UP = 502
# coderd redirects within the app (a missing slash; code-server's ?folder= query) before proxying.
MAX_IN_APP_REDIRECTS = 3


@dataclass(frozen=True)
class AppAnswer:
    path: str
    status: int
    location: str
    attempts: int

    @property
    def served(self) -> bool:
        return 200 <= self.status < 300

    @property
    def to_login(self) -> bool:
        """Whether the answer sends the visitor to Coder's login page."""
        return urlsplit(self.location).path.endswith("/login")

    def describe(self) -> str:
        text = f"{self.status} for {self.path}"
        if self.location:
            text += f" (Location: {self.location})"
        return text + f" after {self.attempts} attempt(s)"


@dataclass(frozen=True)
class AppVisit:
    answer: AppAnswer
    behind: codeserver.Health | None  # what serves the app, when a signed-in visitor was let in


def visit(
    coder: CoderClient, workspace: Workspace, slug: str, agent_name: str, with_session: bool, timeout: float
) -> AppVisit:
    """Open the workspace's app through the proxy, signed in or not; once a signed-in visitor is let in,
    ask through the proxy whether code-server itself is what answers."""
    path = app_path(coder, workspace, slug, agent_name)
    answer = open_app(coder, path, with_session=with_session, timeout=timeout)
    behind = codeserver.through_app_proxy(coder, path) if with_session and answer.status < 300 else None
    return AppVisit(answer, behind)


def app_path(coder: CoderClient, workspace: Workspace, slug: str, agent_name: str = "") -> str:
    agent = workspace.ide_agent(slug, agent_name)
    if agent is None:
        raise LookupError(f"no agent of workspace {workspace.name} serves app {slug!r}")
    return coder.app_path(workspace, agent, slug)


def open_app(coder: CoderClient, path: str, with_session: bool, timeout: float) -> AppAnswer:
    """Request the app once a second while it answers 502, until it answers otherwise or time is up."""
    attempts = 0

    def give_up(state: RetryCallState) -> httpx.Response:
        return state.outcome.result()  # the last 502 is the answer

    def follow_in_app(response: httpx.Response) -> httpx.Response:
        """Follow redirects that stay inside the app (never one to the login page), as a browser would,
        signed in or not: an anonymous visitor the proxy lets in ends up on the app's page."""
        for _ in range(MAX_IN_APP_REDIRECTS):
            target = _in_app_target(coder.url, path, response)
            if target is None:
                break
            response = coder.open_app(target, with_session=with_session)
        return response

    @retry(
        retry=retry_if_result(lambda response: response.status_code == WARMING_UP),
        stop=stop_after_delay(timeout),
        wait=wait_fixed(1.0),
        retry_error_callback=give_up,
    )
    def request() -> httpx.Response:
        nonlocal attempts
        attempts += 1
        return follow_in_app(coder.open_app(path, with_session=with_session))

    response = request()
    return AppAnswer(
        path=response.url.raw_path.decode(),
        status=response.status_code,
        location=_without_query_secrets(response.headers.get("location", "")),
        attempts=attempts,
    )


def _in_app_target(base_url: str, app_base: str, response: httpx.Response) -> str | None:
    """The path+query a redirect points to, when it stays under the app's base path on the same host."""
    if not response.is_redirect:
        return None
    target = urlsplit(urljoin(str(response.url), response.headers.get("location", "")))
    if target.netloc != urlsplit(base_url).netloc or not target.path.startswith(app_base):
        return None
    return target.path + (f"?{target.query}" if target.query else "")


def _without_query_secrets(location: str) -> str:
    """Redirects may carry an app-connect key in their query; only the path matters to a reader."""
    return location.split("?")[0] if "coder_application_connect_api_key" in location else location


def open_in_browser(
    coder: CoderClient, workspace: Workspace, settings: Settings, timings: Timings
) -> browser.WorkbenchVisit:
    """VS Code opened at the app's URL in a real browser signed in to Coder (spec 629 §0); its time to
    interactive is the run's `browser` phase."""
    executable = browser.browser_executable(settings.browser)
    if executable is None:  # the scenario is skipped before this: the browser went away meanwhile
        raise RuntimeError(browser.browser_unavailable(settings.browser))
    url = coder.url + app_path(coder, workspace, settings.app_slug, settings.agent)
    visit = browser.open_workbench(
        url, coder.url, settings.token, settings.repo_dir, settings.browser_timeout, executable=executable
    )
    if visit.seconds_to_interactive is not None:
        timings.mark(workspace.name, workspace.template_name, "browser", visit.seconds_to_interactive)
    return visit
