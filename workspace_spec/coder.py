"""A small client for Coder's REST API v2 on httpx: its errors, its retries and its calls; the JSON it
answers is read into the types of coder_types.py."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import quote

import httpx
from httpx_sse import connect_sse
from tenacity import RetryCallState, retry, retry_if_exception, wait_exponential

from workspace_spec.coder_types import Template, Workspace
from workspace_spec.console import say
from workspace_spec.errors import PlatformFailure
from workspace_spec.loopback import LoopbackTransport
from workspace_spec.secrets import scrub

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")

BUILD_VERSION_HEADER = "X-Coder-Build-Version"
SESSION_HEADER = "Coder-Session-Token"
# Statuses a healthy deployment answers now and then (rate limit, a restarting coderd behind the ingress).
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
# Of those, the ones that say the request was not acted on: a write may be sent again after them.
NOT_ACTED_ON = frozenset({429, 503})
ATTEMPTS = 4  # of one request, retries included: a failure that persists past them fails the check

log = logging.getLogger(__name__)


class CoderError(PlatformFailure):
    """Coder answered with an error; carries its status, message, detail and validations. Where no caller
    expects it, it is the platform's failure: reported with its message, without a traceback."""

    def __init__(
        self,
        status: int,
        method: str,
        path: str,
        message: str,
        detail: str = "",
        validations: list[dict[str, Any]] | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.message = message
        self.detail = detail
        self.validations = validations or []
        self.retry_after: float | None = None
        text = f"Coder answered {status} to {method} {path}: {message}"
        if detail:
            text += f" ({detail})"
        for item in self.validations:
            text += f" [{item.get('field')}: {item.get('detail')}]"
        super().__init__(scrub(text))


class NotCoderError(Exception):
    """CODER_URL answered, but not as a Coder deployment does."""


class CoderUnreachable(PlatformFailure):
    """No answer from Coder: the connection failed, or the answer did not come in time."""

    def __init__(self, method: str, path: str, error: httpx.TransportError) -> None:
        self.error = error
        # Only a request that never got through may be sent again blindly.
        self.sent = not isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
        super().__init__(f"no answer from Coder to {method} {path}: {type(error).__name__}")


class BadAnswer(PlatformFailure):
    """Coder answered, but not what its API promises (not JSON, a field missing or of another type)."""


class UnreadableBody(BadAnswer):
    """A body that cannot be parsed at all (cut short, an HTML page): on a read, a glitch like a dropped
    connection, asked again; only one that persists fails a check."""


def excerpt(text: str, limit: int = 120) -> str:
    return repr(scrub(" ".join(text.split()))[:limit])


def parsed(method: str, path: str, data: Any, make: Callable[[Any], T]) -> T:
    """`make(data)`; an answer not shaped as the API promises is the platform's failure, named."""
    try:
        return make(data)
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        detail = f"missing {error}" if isinstance(error, KeyError) else f"{type(error).__name__}: {error}"
        raise BadAnswer(
            f"Coder's answer to {method} {path} is not what its API promises ({detail}): {excerpt(json.dumps(data))}"
        ) from None


def _is_transient(error: BaseException) -> bool:
    """What a read may simply be asked again after: a brief error status, a lost connection, a timeout."""
    if isinstance(error, CoderError):
        return error.status in TRANSIENT_STATUSES
    return isinstance(error, (CoderUnreachable, UnreadableBody))


def _was_not_acted_on(error: BaseException) -> bool:
    """What a write may be sent again after: Coder said it did not act, or the request never got there."""
    if isinstance(error, CoderError):
        return error.status in NOT_ACTED_ON
    return isinstance(error, CoderUnreachable) and not error.sent


_said: set[str] = set()


def _wait(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, CoderError) and error.retry_after is not None:
        # Coder's rate limiter says when to come back; the client (the call's self) says how long at most.
        client: CoderClient = state.args[0]
        pause = min(error.retry_after, client.rate_limit_wait)
        if "429" not in _said:
            _said.add("429")
            asked = "as it asks" if pause == error.retry_after else f"of the {error.retry_after:g} s it asks"
            say(f"Coder rate-limits the suite (429): waiting {pause:g} s {asked}")
        return pause
    return wait_exponential(multiplier=0.25, max=2)(state)


def _said_again(state: RetryCallState) -> None:
    """Each retry is said on the console, so a glitch ridden through is still on record (a 429 says its
    own wait). The message is a PlatformFailure's, scrubbed when it was made."""
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, CoderError) and error.retry_after is not None:
        return
    line = f"asking Coder again (attempt {state.attempt_number + 1} of {ATTEMPTS}): {error}"
    log.info(line)
    say(scrub(line))


def _stop(state: RetryCallState) -> bool:
    """ATTEMPTS tries of a request; one, once Coder has stopped answering altogether, so that a platform
    that hangs costs each later request one timeout, not ATTEMPTS of them (the run's end stays bounded)."""
    client: CoderClient = state.args[0]
    return state.attempt_number >= (1 if client.stopped_answering else ATTEMPTS)


def _bounded(condition: Callable[[BaseException], bool]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    return retry(
        retry=retry_if_exception(condition),
        stop=_stop,
        wait=_wait,
        before_sleep=_said_again,
        reraise=True,
    )


# Reads are repeated on any transient answer; writes only when Coder said it did not act on them.
_retry_reads = _bounded(_is_transient)
_retry_writes = _bounded(_was_not_acted_on)


class CoderClient:
    """Coder API v2 as one user (the session token's owner) sees it."""

    def __init__(self, url: str, token: str, timeout: float = 10.0, rate_limit_wait: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.rate_limit_wait = rate_limit_wait  # the longest Retry-After this client waits out
        # Whether a proxy buffers the /watch event stream: None until a wait's first connection tells.
        self.stream_buffered: bool | None = None
        self._unanswered = 0  # requests in a row that got no answer at all; any answer resets it
        tls = httpx.create_ssl_context()  # one for both clients: loading the CA bundle takes 20-40 ms
        self._http = httpx.Client(
            base_url=self.url,
            headers={SESSION_HEADER: token, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            follow_redirects=False,
            transport=LoopbackTransport(httpx.HTTPTransport(verify=tls)),  # subdomain apps may be *.localhost
        )
        # App requests without a session must not carry the token, not even by accident.
        self._anonymous = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            transport=LoopbackTransport(httpx.HTTPTransport(verify=tls)),
        )

    def close(self) -> None:
        self._http.close()
        self._anonymous.close()

    @property
    def stopped_answering(self) -> bool:
        """Whether the last ATTEMPTS requests in a row got no answer: Coder, or the way to it, is down."""
        return self._unanswered >= ATTEMPTS

    # -- plumbing -------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            self._unanswered += 1
            if self._unanswered == ATTEMPTS and "silent" not in _said:  # once a run, whichever client met it
                _said.add("silent")
                line = f"Coder stopped answering ({ATTEMPTS} requests in a row got no answer): one try per request"
                log.info(line)
                say(line)
            raise CoderUnreachable(method, path.split("?")[0], error) from None
        if self._unanswered >= ATTEMPTS:
            _said.discard("silent")
            say("Coder answers again: requests are asked again as before")
        self._unanswered = 0
        if response.status_code >= 400:
            raise self._error(method, path, response)
        if response.is_redirect:  # the API never redirects: something in front of it (a sign-in page) does
            where = response.headers.get("location", "").split("?")[0] or "nowhere"
            message = f"a redirect to {where}, as a sign-in proxy in front of Coder's API answers"
            raise CoderError(response.status_code, method, path.split("?")[0], message)
        return response

    @staticmethod
    def _json(method: str, path: str, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type")
            raise UnreadableBody(
                f"Coder answered {response.status_code} to {method} {path.split('?')[0]} with a body that is not "
                f"JSON ({kind}): {excerpt(response.text)}"
            ) from None

    @staticmethod
    def _error(method: str, path: str, response: httpx.Response) -> CoderError:
        try:
            body = response.json()
        except ValueError:
            body = {"message": " ".join(response.text.split())[:200] or response.reason_phrase}  # one line
        if not isinstance(body, dict):
            body = {"message": str(body)[:200]}
        validations = body.get("validations")
        error = CoderError(
            response.status_code,
            method,
            path.split("?")[0],
            str(body.get("message", "")),
            str(body.get("detail", "") or ""),
            [item for item in validations if isinstance(item, dict)] if isinstance(validations, list) else None,
        )
        retry_after = response.headers.get("retry-after", "")
        error.retry_after = float(retry_after) if retry_after.isdigit() else None
        return error

    @_retry_reads
    def _get(self, path: str, **kwargs: Any) -> Any:
        return self._json("GET", path, self._request("GET", path, **kwargs))

    @_retry_reads
    def _get_anonymously(self, path: str) -> httpx.Response:
        """An unauthenticated GET (endpoints Coder serves without a session), riding through transient answers."""
        response = self._anonymous.get(f"{self.url}{path}")
        if response.status_code in TRANSIENT_STATUSES:
            raise self._error("GET", path, response)
        return response

    @_retry_writes
    def _post(self, path: str, body: dict[str, Any]) -> Any:
        return self._json("POST", path, self._request("POST", path, json=body))

    @_retry_reads  # setting a value is idempotent: sent again after any transient answer, like a read
    def _patch(self, path: str, body: dict[str, Any]) -> Any:
        return self._json("PATCH", path, self._request("PATCH", path, json=body))

    # -- deployment -----------------------------------------------------------------------------
    def build_info(self) -> dict[str, Any]:
        """Buildinfo, after making sure the URL is a Coder deployment at all."""
        try:
            response = self._get_anonymously("/api/v2/buildinfo")
        except httpx.HTTPError as error:
            raise NotCoderError(f"cannot reach CODER_URL {self.url}: {type(error).__name__}: {error}") from None
        except CoderError as error:
            raise NotCoderError(f"CODER_URL {self.url} keeps answering {error.status}: {error.message}") from None
        if BUILD_VERSION_HEADER not in response.headers or response.status_code != 200:
            raise NotCoderError(
                f"CODER_URL {self.url} is not a Coder deployment: GET /api/v2/buildinfo answered "
                f"{response.status_code} without Coder's {BUILD_VERSION_HEADER} header"
            )
        return cast(dict[str, Any], response.json())

    def me(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._get("/api/v2/users/me"))

    def first_user_created(self) -> tuple[bool, str]:
        """Whether setup is complete, with Coder's own message (200: created, 404: not yet)."""
        response = self._get_anonymously("/api/v2/users/first")
        if response.status_code not in (200, 404):
            raise self._error("GET", "/api/v2/users/first", response)
        path = "/api/v2/users/first"
        data = self._json("GET", path, response)  # an SSO page in front of the route is named, not a traceback
        return response.status_code == 200, parsed("GET", path, data, lambda d: str(d.get("message", "")))

    def auth_methods(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._get("/api/v2/users/authmethods"))

    def deployment_config(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._get("/api/v2/deployment/config"))

    # -- templates and workspaces ---------------------------------------------------------------
    def template(self, organization: str, name: str) -> Template:
        path = f"/api/v2/organizations/{quote(organization, safe='')}/templates/{quote(name, safe='')}"
        return parsed("GET", path, self._get(path), Template.from_json)

    def template_version_id(self, template_id: str, name: str) -> str:
        """The id of the template's version of that name (a pushed candidate need not be active)."""
        path = f"/api/v2/templates/{template_id}/versions/{quote(name, safe='')}"
        return parsed("GET", path, self._get(path), lambda data: str(data["id"]))

    def promote_version(self, template_id: str, version_id: str) -> str:
        """Make the version the template's active one (what `coder templates versions promote` asks);
        Coder's own words back. Coder refuses a version whose import did not succeed (403)."""
        path = f"/api/v2/templates/{template_id}/versions"
        return parsed("PATCH", path, self._patch(path, {"id": version_id}), lambda data: str(data["message"]))

    def create_workspace(
        self, template_id: str, name: str, ttl_ms: int | None = None, version_id: str = ""
    ) -> Workspace:
        # Exactly one of template_id (its active version) and template_version_id (CreateWorkspaceRequest).
        body: dict[str, Any] = {"template_version_id": version_id} if version_id else {"template_id": template_id}
        body["name"] = name
        if ttl_ms is not None:
            body["ttl_ms"] = ttl_ms
        path = "/api/v2/users/me/workspaces"
        return parsed("POST", path, self._post(path, body), Workspace.from_json)

    def workspace(self, workspace_id: str) -> Workspace:
        path = f"/api/v2/workspaces/{workspace_id}"
        return parsed("GET", path, self._get(path), Workspace.from_json)

    def workspace_named(self, name: str) -> Workspace | None:
        """The token owner's live workspace of exactly that name, or None."""
        try:
            path = f"/api/v2/users/me/workspace/{quote(name, safe='')}"
            return parsed("GET", path, self._get(path), Workspace.from_json)
        except CoderError as error:
            if error.status == 404:
                return None
            raise

    def workspaces(self, query: str) -> list[Workspace]:
        data = self._get("/api/v2/workspaces", params={"q": query})
        return parsed(
            "GET", "/api/v2/workspaces", data, lambda d: [Workspace.from_json(item) for item in d["workspaces"]]
        )

    def start_build(self, workspace_id: str, transition: str, orphan: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"transition": transition} | ({"orphan": True} if orphan else {})
        return cast(dict[str, Any], self._post(f"/api/v2/workspaces/{workspace_id}/builds", body))

    def builds(self, workspace_id: str) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get(f"/api/v2/workspaces/{workspace_id}/builds"))

    def cancel_build(self, build_id: str, expect_status: str = "") -> None:
        """Cancel a build's job; with expect_status=pending any user may (coderd patchCancelWorkspaceBuild)."""
        query = f"?expect_status={expect_status}" if expect_status else ""
        self._request("PATCH", f"/api/v2/workspacebuilds/{build_id}/cancel{query}")

    def timings(self, workspace_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._get(f"/api/v2/workspaces/{workspace_id}/timings"))

    def build_logs(self, build_id: str) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get(f"/api/v2/workspacebuilds/{build_id}/logs"))

    @contextmanager
    def watch(self, workspace_id: str, read_timeout: float) -> Iterator[Iterator[Workspace]]:
        """The workspace's /watch Server-Sent Events: every `data` event as a Workspace."""
        timeout = httpx.Timeout(read_timeout, connect=3.0)
        with connect_sse(self._http, "GET", f"/api/v2/workspaces/{workspace_id}/watch", timeout=timeout) as source:
            if source.response.status_code != 200:
                source.response.read()
                raise self._error("GET", f"/api/v2/workspaces/{workspace_id}/watch", source.response)
            yield self._workspace_events(source.iter_sse())

    @staticmethod
    def _workspace_events(events: Iterator[Any]) -> Iterator[Workspace]:
        path = "GET /api/v2/workspaces/{id}/watch"
        for event in events:
            try:
                data = json.loads(event.data or "{}") if event.event in ("data", "error") else None
            except ValueError:
                raise BadAnswer(f"the {event.event} event of {path} is not JSON: {excerpt(event.data)}") from None
            if event.event == "data":
                yield parsed("GET", "/api/v2/workspaces/{id}/watch", data, Workspace.from_json)
            elif event.event == "error":
                body = data if isinstance(data, dict) else {}
                message, detail = str(body.get("message", "watch error")), str(body.get("detail", ""))
                raise CoderError(500, "GET", "/api/v2/workspaces/{id}/watch", message, detail)

    # -- apps -----------------------------------------------------------------------------------
    def app_host(self) -> str:
        """The wildcard host of subdomain apps (`*.apps.example.com`, with a port if the access URL has
        one), or '' where the deployment has none (coderd/workspaceapps.go `appHost`)."""
        path = "/api/v2/applications/host"
        return parsed("GET", path, self._get(path), lambda data: str(data["host"]))

    def open_app(self, url: str, with_session: bool) -> httpx.Response:
        """One request to an app URL, following no redirects, with or without the session (as the
        Coder-Session-Token header, which Coder's app proxy takes on any app host)."""
        client = self._http if with_session else self._anonymous
        return client.get(url, headers={"Accept": "text/html"})
