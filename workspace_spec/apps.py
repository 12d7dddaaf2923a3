"""Workspace apps reached from outside the workspace, through Coder's app proxy: at a path under the access
URL, or on a host of their own under the deployment's wildcard (subdomain apps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast
from urllib.parse import quote, urljoin, urlsplit

import httpx
from tenacity import RetryCallState, retry, retry_if_result, stop_after_delay, wait_fixed

from workspace_spec import browser, codeserver
from workspace_spec.coder import CoderClient
from workspace_spec.coder_types import Agent, App, Workspace
from workspace_spec.settings import Settings
from workspace_spec.timings import Timings
from workspace_spec.workbench import WorkbenchVisit

PATH, SUBDOMAIN = "path", "subdomain"
# While the app warms up the proxy answers 502 "Application Unavailable"; nothing else is retried
# (Coder's own app-proxy tests do the same): any other answer is the verdict.
WARMING_UP = 502
# coderd redirects within the app (a missing slash; code-server's ?folder= query) before proxying.
MAX_IN_APP_REDIRECTS = 3
# Where Coder sends a visitor of a subdomain app without a session, to sign in on the access URL.
AUTH_REDIRECT = "/api/v2/applications/auth-redirect"


@dataclass(frozen=True)
class AppLocation:
    """Where Coder serves an app, as its dashboard links it."""

    url: str  # absolute, ending in `/`
    kind: str  # PATH | SUBDOMAIN

    @property
    def base_path(self) -> str:
        return urlsplit(self.url).path

    def contains(self, url: str) -> bool:
        """Whether `url` is this app's: same scheme and host, under its base path."""
        mine, other = urlsplit(self.url), urlsplit(url)
        return (other.scheme, other.netloc) == (mine.scheme, mine.netloc) and other.path.startswith(mine.path)

    def describe(self) -> str:
        return f"{self.kind} app at {self.url}"


def app_location(access_url: str, workspace: Workspace, agent: Agent, app: App, app_host: str) -> AppLocation:
    """The app's URL as Coder's dashboard builds it (site/src/modules/apps/apps.ts `getAppHref`): on its
    own host when it is a subdomain app and the deployment has a wildcard host (`applications/host`),
    with the access URL's scheme; else at its path on the access URL, with the trailing slash."""
    if app.subdomain and app.subdomain_name and app_host:
        scheme = urlsplit(access_url).scheme
        return AppLocation(f"{scheme}://{app_host.replace('*', app.subdomain_name)}/", SUBDOMAIN)
    path = f"/@{workspace.owner_name}/{workspace.name}.{agent.name}/apps/{quote(app.slug, safe='')}/"
    return AppLocation(access_url.rstrip("/") + path, PATH)


def locate(coder: CoderClient, workspace: Workspace, slug: str, agent_name: str = "") -> AppLocation:
    """Where the workspace's app is served; the wildcard host is asked for only for a subdomain app."""
    agent = workspace.ide_agent(slug, agent_name)
    app = agent.app(slug) if agent is not None else None
    if agent is None or app is None:
        raise LookupError(f"no agent of workspace {workspace.name} serves app {slug!r}")
    return app_location(coder.url, workspace, agent, app, coder.app_host() if app.subdomain else "")


@dataclass(frozen=True)
class AppAnswer:
    url: str  # what answered last
    status: int
    location: str
    attempts: int
    to_login: bool  # whether the answer sends the visitor to Coder's own login page
    via: str = ""  # the app URL whose 303 to Coder's auth-redirect was followed to get here

    @property
    def served(self) -> bool:
        return 200 <= self.status < 300

    @property
    def sent_to_login(self) -> bool:
        """Coder's answer to a visitor without a session: a 303 to its login page, nothing else (not a 302,
        not a 303 elsewhere)."""
        return self.status == 303 and self.to_login

    def describe(self) -> str:
        text = f"{self.status} for {self.url}"
        if self.location:
            text += f" (Location: {self.location})"
        if self.via:
            text += f", where a 303 from {self.via} led"
        return text + f" after {self.attempts} attempt(s)"


@dataclass(frozen=True)
class AppVisit:
    location: AppLocation
    answer: AppAnswer
    behind: codeserver.Health | None  # what serves the app, when a signed-in visitor was let in


def visit(
    coder: CoderClient, workspace: Workspace, slug: str, agent_name: str, with_session: bool, timeout: float
) -> AppVisit:
    """Open the workspace's app where Coder serves it, signed in or not; once a signed-in visitor is let
    in, ask through the proxy whether code-server itself is what answers."""
    location = locate(coder, workspace, slug, agent_name)
    answer = open_app(coder, location, with_session=with_session, timeout=timeout)
    behind = codeserver.through_app_proxy(coder, location.url) if with_session and answer.status < 300 else None
    return AppVisit(location, answer, behind)


def open_app(coder: CoderClient, location: AppLocation, with_session: bool, timeout: float) -> AppAnswer:
    """Request the app once a second while it answers 502, until it answers otherwise or time is up. A
    visitor without a session whom a subdomain app sends (303) to Coder's auth-redirect is followed there
    once: Coder's answer to that is the verdict."""
    attempts = 0

    def give_up(state: RetryCallState) -> httpx.Response:
        assert state.outcome is not None  # tenacity gives up after an attempt, with its outcome
        return cast(httpx.Response, state.outcome.result())  # the last 502 is the answer

    def follow_in_app(response: httpx.Response) -> httpx.Response:
        """Follow redirects that stay inside the app (never one to sign in), as a browser would, signed in
        or not: an anonymous visitor the proxy lets in ends up on the app's page."""
        for _ in range(MAX_IN_APP_REDIRECTS):
            target = _target(response)
            if not location.contains(target):
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
        return follow_in_app(coder.open_app(location.url, with_session=with_session))

    response, via = request(), ""
    auth_redirect = _auth_redirect(response)
    if auth_redirect and not with_session:
        via, response = str(response.url), coder.open_app(auth_redirect, with_session=False)
    return AppAnswer(
        url=str(response.url),
        status=response.status_code,
        location=_without_query_secrets(response.headers.get("location", "")),
        attempts=attempts,
        to_login=_is_login(location, response),
        via=via,
    )


def _target(response: httpx.Response) -> str:
    """Where a redirect points, absolute; '' for an answer that is none (a 3xx without a Location too)."""
    return urljoin(str(response.url), response.headers["location"]) if response.has_redirect_location else ""


def _auth_redirect(response: httpx.Response) -> str:
    """The URL of Coder's auth-redirect that a 303 points to, else ''. The access URL's host may differ
    from the one the suite was given (an ingress name), so only the path says it is Coder's."""
    target = _target(response)
    return target if response.status_code == 303 and urlsplit(target).path == AUTH_REDIRECT else ""


def _is_login(location: AppLocation, response: httpx.Response) -> bool:
    """Whether the answer redirects to Coder's login page, `/login` at the root of the access URL; a
    subdomain app's own `/login` is not it."""
    target = urlsplit(_target(response))
    on_app_host = location.kind == SUBDOMAIN and target.netloc == urlsplit(location.url).netloc
    return target.path == "/login" and not on_app_host


def _without_query_secrets(location: str) -> str:
    """Redirects may carry an app-connect key in their query; only the path matters to a reader."""
    return location.split("?")[0] if "coder_application_connect_api_key" in location else location


@dataclass(frozen=True)
class BrowserVisit:
    location: AppLocation  # the app URL the browser opened, as Coder reports it
    workbench: WorkbenchVisit

    def describe(self) -> str:
        return f"{self.location.describe()}\n{self.workbench.describe()}"


def open_in_browser(coder: CoderClient, workspace: Workspace, settings: Settings, timings: Timings) -> BrowserVisit:
    """VS Code opened at the app's URL in a real browser signed in to Coder (spec 629 §0); its time to
    interactive is the run's `browser` phase."""
    executable = browser.browser_executable(settings.browser)
    if executable is None:  # the scenario is skipped before this: the browser went away meanwhile
        raise RuntimeError(browser.browser_unavailable(settings.browser))
    location = locate(coder, workspace, settings.app_slug, settings.agent)
    visit = browser.open_workbench(
        location.url, coder.url, settings.token, settings.repo_dir, settings.browser_timeout, executable=executable
    )
    if visit.seconds_to_interactive is not None:
        timings.mark(workspace.name, workspace.template_name, "browser", visit.seconds_to_interactive)
    return BrowserVisit(location, visit)
