"""Workspace apps reached from outside the workspace, through Coder's path-based app proxy."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from tenacity import RetryCallState, retry, retry_if_result, stop_after_delay, wait_fixed

from workspace_spec.coder import CoderClient, Workspace

# While the app warms up the proxy answers 502 "Application Unavailable"; nothing else is retried
# (Coder's own app-proxy tests do the same): any other answer is the verdict.
WARMING_UP = 502


@dataclass(frozen=True)
class AppAnswer:
    path: str
    status: int
    location: str
    content_type: str
    attempts: int

    def describe(self) -> str:
        text = f"{self.status} for {self.path}"
        if self.location:
            text += f" (Location: {self.location})"
        return text + f" after {self.attempts} attempt(s)"


def app_path(coder: CoderClient, workspace: Workspace, slug: str) -> str:
    agent = workspace.agent()
    if agent is None:
        raise LookupError(f"workspace {workspace.name} has no agent, so no app {slug!r}")
    return coder.app_path(workspace, agent, slug)


def open_app(coder: CoderClient, path: str, with_session: bool, timeout: float) -> AppAnswer:
    """Request the app once a second while it answers 502, until it answers otherwise or time is up."""
    attempts = 0

    def give_up(state: RetryCallState) -> httpx.Response:
        return state.outcome.result()  # the last 502 is the answer

    @retry(
        retry=retry_if_result(lambda response: response.status_code == WARMING_UP),
        stop=stop_after_delay(timeout),
        wait=wait_fixed(1.0),
        retry_error_callback=give_up,
    )
    def request() -> httpx.Response:
        nonlocal attempts
        attempts += 1
        return coder.open_app(path, with_session=with_session)

    response = request()
    return AppAnswer(
        path=path,
        status=response.status_code,
        location=_without_query_secrets(response.headers.get("location", "")),
        content_type=response.headers.get("content-type", ""),
        attempts=attempts,
    )


def _without_query_secrets(location: str) -> str:
    """Redirects may carry an app-connect key in their query; only the path matters to a reader."""
    return location.split("?")[0] if "coder_application_connect_api_key" in location else location
