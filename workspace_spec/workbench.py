"""What a visit of VS Code in a browser recorded, and the verdict on it: the one `problem` a developer would
have, from recorded facts alone (workspace_spec/browser.py drives the browser that records them), so that
every verdict is tested without a browser. No URL here keeps its query: code-server's reconnection tokens
and Coder's one-time app keys live there.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from workspace_spec.secrets import scrub

NORMAL_FAILURES = ("/static/node_modules/vsda/rust/web/vsda_bg.wasm", "/static/node_modules/vsda/rust/web/vsda.js")
ABORTED = "net::ERR_ABORTED"  # the page cancelled the request itself (after a 404, or navigating on)
LISTED = 3  # failed requests named in a problem


# -- what a visit records -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Socket:
    """A WebSocket the page opened (to code-server: its management and extension-host connections)."""

    path: str  # without the query (reconnection token)
    opened_at: float  # seconds after navigation began
    connected_at: float | None = None  # its first frame from the server
    frames_received: int = 0
    frames_sent: int = 0
    closed_at: float | None = None
    error: str = ""  # the browser's socket error (a refused upgrade: "Unexpected response code: 502")

    @property
    def connected(self) -> bool:
        return self.frames_received > 0

    def lifetime(self) -> str:
        """How long it lived: from its first frame when it had one (the handshake's time is not the
        connection's), else from its opening."""
        if self.closed_at is None:
            return ""
        if self.connected_at is None:
            return f"{self.closed_at - self.opened_at:.1f} s after it opened"
        return f"{self.closed_at - self.connected_at:.1f} s after it connected"


@dataclass(frozen=True)
class Failure:
    """A request that failed: an answer of 400 or more, or none at all (`error`)."""

    url: str  # without the query
    status: int = 0
    error: str = ""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def describe(self) -> str:
        return f"{self.status or self.error} {self.path}"


@dataclass(frozen=True)
class Observation:
    """What the browser saw, in seconds after navigation began; every URL without its query."""

    app_url: str
    folder: str
    document_status: int = 0  # the app URL's final answer (after redirects); 0 when none came
    landed: str = ""  # where the page was at the end
    error: str = ""  # a browser error that cut the visit short
    vscode_page: bool = False  # the page carries code-server's workbench configuration
    workbench_at: float | None = None
    repository_at: float | None = None
    explorer: str = ""  # the explorer's heading (the open folder's name)
    files: int = 0  # entries the explorer lists
    title: str = ""
    sockets: tuple[Socket, ...] = ()
    failed: tuple[Failure, ...] = ()
    messages: tuple[str, ...] = ()  # VS Code's dialogs and notifications
    watched_until: float = 0.0  # when the visit stopped watching (the browser closes what is open after it)

    @property
    def workbench(self) -> bool:
        return self.workbench_at is not None

    @property
    def repository_open(self) -> bool:
        return self.repository_at is not None


@dataclass(frozen=True)
class WorkbenchVisit:
    seen: Observation
    problem: str  # '' when the developer has a working VS Code with the repository open
    seconds_to_interactive: float | None  # navigation to workbench + repository + a live server connection
    screenshot: bytes = field(default=b"", repr=False)  # PNG of the page at the end; b'' without a page

    def describe(self) -> str:
        """What the browser saw, a line each, for a report."""
        seen = self.seen
        lines = [
            f"app: {seen.app_url} -> {seen.landed or '(no page)'} (answer {seen.document_status or 'none'})",
            f"title: {seen.title!r}; workbench: {_at(seen.workbench_at)}; repository: {_at(seen.repository_at)}"
            f" (explorer {seen.explorer!r}, {seen.files} entries)",
            f"time to interactive: {_at(self.seconds_to_interactive)}",
        ]
        lines += [
            f"websocket {s.path}: opened {s.opened_at:.1f} s, {s.frames_received} frames in, {s.frames_sent} out"
            + (f", closed {s.lifetime()}" if s.closed_at is not None else ", open")
            + (f", error {s.error}" if s.error else "")
            for s in seen.sockets
        ]
        lines += [f"failed: {failure.describe()}" for failure in seen.failed]
        lines += [f"VS Code says: {message}" for message in seen.messages]
        lines += [f"browser error: {seen.error}"] if seen.error else []
        lines += [f"problem: {self.problem}" if self.problem else "no problem"]
        return "\n".join(clean(line) for line in lines)


def _at(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f} s"


# -- the verdict, from recorded facts -------------------------------------------------------------------


def judge(seen: Observation) -> str:
    """The one problem the developer would have, from the first broken part on: the page, the connection
    to code-server, the repository, then the page's other assets. '' when all is well."""
    if not seen.workbench:
        return clean(page_problem(seen))
    for problem in (connection_problem(seen), repository_problem(seen), asset_problem(seen)):
        if problem:
            return clean(problem)
    if seen.error:  # all was seen, yet the browser failed at the end
        return clean(f"the browser failed while watching VS Code: {seen.error}")
    return ""


def unexpected_failures(seen: Observation) -> list[Failure]:
    """Failed requests under the app (same origin, under its path), less the ones every healthy code-server
    has and the ones the page cancelled itself."""
    base = _app_base(seen.app_url)
    return [
        failure
        for failure in seen.failed
        if failure.url.startswith(base)
        and failure.error != ABORTED
        and not any(failure.path.endswith(normal) for normal in NORMAL_FAILURES)
    ]


def page_problem(seen: Observation) -> str:
    """Why there is no workbench: no answer, the login page, an error page, failed assets, another page."""
    title = f"title {seen.title!r}"
    if seen.document_status == 0:
        return f"the app URL {seen.app_url} did not answer in the browser: {seen.error or 'no page came'}"
    if urlsplit(seen.landed).path.endswith("/login"):
        return (
            f"the app proxy sent the signed-in developer to the login page ({seen.landed}): the session cookie"
            " was not accepted"
        )
    if seen.document_status >= 400:
        return (
            f"the app URL answered {seen.document_status} ({title}, at {seen.landed}): the developer sees an"
            " error page, not VS Code"
        )
    failures = unexpected_failures(seen)
    if failures:
        return (
            f"VS Code did not load: the page came, but {_listed(failures)} under the app path: the developer sees"
            " a blank page"
        )
    if not seen.vscode_page:
        return f"the app URL served a page that is not VS Code ({title}, at {seen.landed})"
    waited = f": {seen.error}" if seen.error else ""
    return f"VS Code did not load: its page came ({title}) but the workbench never appeared{waited}"


def connection_problem(seen: Observation) -> str:
    """Whether VS Code reached code-server over a WebSocket and kept it until the watch ended."""
    shown = _connection_messages(seen)
    if not seen.sockets:
        return "VS Code loaded, but never connected to its server: it opened no WebSocket" + _shows(shown)
    if not any(socket.connected for socket in seen.sockets):
        socket = seen.sockets[0]
        attempts = f", {len(seen.sockets)} attempts" if len(seen.sockets) > 1 else ""
        sees = repr(shown[0]) if shown else "'Reconnecting...' / 'Cannot reconnect'"
        return (
            f"VS Code loaded, but cannot connect to its server: the WebSocket to {socket.path} failed"
            f" ({_how_it_failed(socket)}{attempts}): the developer sees the workbench, then {sees}"
        )
    lost = [s for s in seen.sockets if s.connected and s.closed_at is not None and s.closed_at <= seen.watched_until]
    if lost:
        socket = lost[0]
        sees = repr(shown[0]) if shown else "'Reconnecting...'"
        return (
            f"VS Code connected, then lost its server: the WebSocket to {socket.path} closed"
            f" {socket.lifetime()}: the developer sees {sees}"
        )
    if shown:
        return f"VS Code is connected, but lost its server meanwhile{_shows(shown)}"
    return ""


def repository_problem(seen: Observation) -> str:
    if seen.repository_open:
        return ""
    name = folder_name(seen.folder)
    if seen.explorer.lower() == name.lower():
        shows = f"the explorer shows {seen.explorer!r} with no files"
    elif seen.explorer:
        shows = f"the explorer shows {seen.explorer!r}"
    else:
        shows = "no explorer"
    says = f"; VS Code says {seen.messages[0]!r}" if seen.messages else ""
    return f"VS Code loaded, but the repository {seen.folder} is not open ({shows}, title {seen.title!r}{says})"


def asset_problem(seen: Observation) -> str:
    failures = unexpected_failures(seen)
    if not failures:
        return ""
    return f"VS Code loaded, but {_listed(failures)} under the app path: parts of the workbench are missing"


def time_to_interactive(seen: Observation) -> float | None:
    """From navigation until the workbench, the repository and a WebSocket exchanging frames are all there."""
    connected = [socket.connected_at for socket in seen.sockets if socket.connected_at is not None]
    if seen.workbench_at is None or seen.repository_at is None or not connected:
        return None
    return max(seen.workbench_at, seen.repository_at, min(connected))


def _how_it_failed(socket: Socket) -> str:
    if socket.error:
        return socket.error
    if socket.closed_at is not None:
        return f"closed {socket.lifetime()}, before the server said anything"
    return "the server never answered on it"


def _connection_messages(seen: Observation) -> list[str]:
    """What VS Code said about its connection: 'Reconnecting...', 'Cannot reconnect', 'failed to connect'."""
    return [message for message in seen.messages if "connect" in message.lower()]


def _shows(messages: list[str]) -> str:
    return f": VS Code shows {messages[0]!r}" if messages else ""


def _listed(failures: list[Failure]) -> str:
    named = ", ".join(failure.describe() for failure in failures[:LISTED])
    more = ", ..." if len(failures) > LISTED else ""
    return f"{len(failures)} of its assets failed ({named}{more})"


def folder_name(folder: str) -> str:
    return os.path.basename(folder.rstrip("/")) or folder


def _app_base(app_url: str) -> str:
    """The app's origin and base path: `.../apps/code-server/` of `.../apps/code-server/?folder=...`."""
    parts = urlsplit(app_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rpartition("/")[0] + "/", "", ""))


def without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


_QUERY_IN_TEXT = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s?#'\"]*)[?#][^\s'\"]*", re.IGNORECASE)


def clean(text: str) -> str:
    """Secrets scrubbed, and every URL's query dropped (reconnection tokens, one-time app keys)."""
    return scrub(_QUERY_IN_TEXT.sub(r"\1", text))


def first_line(error: BaseException) -> str:
    """Playwright's message without its call log."""
    return clean(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
