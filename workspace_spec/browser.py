"""VS Code (code-server) opened in a real browser, as a developer opens it through Coder's app proxy.

The browser is Debian's Chromium driven by Playwright for Python (`requirements-browser.txt`), both
optional: `browser_unavailable` says in one line what is missing, and Playwright is imported only when a
browser is actually opened, so the rest of the suite runs without it.

A visit records what the browser saw (the document, failed requests, the WebSockets to code-server, the
workbench, the explorer, VS Code's dialogs, a screenshot) in an `Observation`; `judge` and the small
functions it calls turn that into the one `problem` a developer would have, so they are tested on recorded
facts without a browser.

Every Playwright call has a deadline (signals are deferred while a library runs, see interrupts.py); the
few without a timeout parameter (new_context, add_cookies, close) are bookkeeping in the local driver.
No URL that leaves this module carries its query: code-server's reconnection tokens and Coder's one-time
app keys live there. The session goes as a cookie, never in a URL.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from workspace_spec.secrets import REDACTOR, scrub

if TYPE_CHECKING:
    from playwright._impl._api_structures import SetCookieParam  # what add_cookies takes; not re-exported
    from playwright.sync_api import Browser, Page, Request, Response, WebSocket

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")  # Debian's, Ubuntu's, a CI runner's
# No GPU, no sandbox (containers, root), no QUIC, and nothing the browser would fetch for itself.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # a container's /dev/shm is small: shared memory goes to /tmp
)
NO_CHROMIUM = "no browser: Debian's chromium is not installed (bin/setup --browser installs it)"
NO_PLAYWRIGHT = "Playwright for Python is not installed (bin/setup --browser installs requirements-browser.txt)"
SESSION_COOKIE = "coder_session_token"  # what coderd reads from a browser (codersdk.SessionTokenCookie)

WORKBENCH = ".monaco-workbench"
# code-server's page carries its workbench configuration; another server's page does not.
VSCODE_PAGE = "vscode-workbench-web-configuration"
DIALOG = ".monaco-dialog-box"
TOAST = ".notifications-toasts .notification-list-item-message"
# The explorer's entries under the open folder. A folder VS Code cannot read is listed as a lone root row
# (level 0): that is not an open repository.
ENTRIES = '.monaco-list-row:not([aria-level="0"])'
# code-server asks for VS Code's signing module, which only Microsoft's builds ship: every healthy
# code-server answers these two with 404.
NORMAL_FAILURES = ("/static/node_modules/vsda/rust/web/vsda_bg.wasm", "/static/node_modules/vsda/rust/web/vsda.js")
ABORTED = "net::ERR_ABORTED"  # the page cancelled the request itself (after a 404, or navigating on)
WARMING_UP = 502  # Coder's "Application Unavailable" while the app starts: reloaded, as a developer would

POLL = 0.5  # seconds between looks at the page while waiting
# A page that is fully loaded yet not VS Code, or VS Code's page with failed assets, is given this long
# (a script redirect, a late workbench) before the wait ends; so is a WebSocket that failed during load.
GRACE = 2.0
LAUNCH_TIMEOUT = 30.0
SCREENSHOT_TIMEOUT = 10.0
LOOK_TIMEOUT = 5.0  # one look at the page's state
LISTED = 3  # failed requests named in a problem

# What the page shows, in one look: whether it is VS Code's, the workbench, the explorer, and what VS Code
# says in its dialogs (their message and detail, without the buttons) and notifications.
STATE_JS = """(_html, [workbench, vscodePage, dialog, toast, entries]) => {
  const view = document.querySelector('.explorer-folders-view');
  const pane = view && view.closest('.pane');
  const header = pane && pane.querySelector('.pane-header .title');
  const text = (e) => e.innerText.trim();
  const dialogs = Array.from(document.querySelectorAll(dialog)).map(box => {
    const parts = Array.from(box.querySelectorAll('.dialog-message-text, .dialog-message-detail')).map(text);
    return parts.filter(t => t).join(' ') || text(box);
  });
  return {
    ready: document.readyState === 'complete',
    vscode: document.getElementById(vscodePage) !== null,
    workbench: document.querySelector(workbench) !== null,
    title: document.title,
    explorer: header ? header.textContent.trim() : '',
    files: view ? view.querySelectorAll(entries).length : 0,
    dialog: dialogs.length > 0,
    messages: dialogs.concat(Array.from(document.querySelectorAll(toast)).map(text)).filter(t => t),
  };
}"""
# The repository is open when the explorer is headed by its folder's name and lists its entries. (The window
# title is not enough: VS Code names a folder that does not exist there too.)
REPO_OPEN_JS = """([name, entries]) => {
  const view = document.querySelector('.explorer-folders-view');
  const pane = view && view.closest('.pane');
  const header = pane && pane.querySelector('.pane-header .title');
  return !!header && header.textContent.trim().toLowerCase() === name.toLowerCase()
    && view.querySelector(entries) !== null;
}"""


# -- what is there to drive ---------------------------------------------------------------------------


@functools.cache
def _playwright_importable() -> bool:
    """Found, not imported: a run that never opens the browser does not pay for loading Playwright."""
    return found("playwright.sync_api")


def found(module: str) -> bool:
    """Whether `module` can be imported; a dotted name's parents are imported to tell, but nothing more."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is not installed (no Playwright at all)
        return False


def _chromium(setting: str) -> str | None:
    if setting:
        return setting if os.path.isfile(setting) and os.access(setting, os.X_OK) else None
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def browser_unavailable(setting: str = "") -> str:
    """Why no browser can be opened, in one line; '' when Chromium and Playwright are both there."""
    if not _playwright_importable():
        return NO_PLAYWRIGHT
    if _chromium(setting) is None:
        return f"no browser: {setting} is not an executable file" if setting else NO_CHROMIUM
    return ""


def browser_executable(setting: str = "") -> str | None:
    """The Chromium to drive (the explicit path `setting`, else chromium on PATH), when Playwright is
    there to drive it; None otherwise (`browser_unavailable` says why)."""
    return None if browser_unavailable(setting) else _chromium(setting)


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
        return "\n".join(_clean(line) for line in lines)


def _at(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f} s"


# -- the verdict, from recorded facts -------------------------------------------------------------------


def judge(seen: Observation) -> str:
    """The one problem the developer would have, from the first broken part on: the page, the connection
    to code-server, the repository, then the page's other assets. '' when all is well."""
    if not seen.workbench:
        return _clean(page_problem(seen))
    for problem in (connection_problem(seen), repository_problem(seen), asset_problem(seen)):
        if problem:
            return _clean(problem)
    if seen.error:  # all was seen, yet the browser failed at the end
        return _clean(f"the browser failed while watching VS Code: {seen.error}")
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
    name = _folder_name(seen.folder)
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


def _folder_name(folder: str) -> str:
    return os.path.basename(folder.rstrip("/")) or folder


def _app_base(app_url: str) -> str:
    """The app's origin and base path: `.../apps/code-server/` of `.../apps/code-server/?folder=...`."""
    parts = urlsplit(app_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rpartition("/")[0] + "/", "", ""))


def without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


_QUERY_IN_TEXT = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s?#'\"]*)[?#][^\s'\"]*", re.IGNORECASE)


def _clean(text: str) -> str:
    """Secrets scrubbed, and every URL's query dropped (reconnection tokens, one-time app keys)."""
    return scrub(_QUERY_IN_TEXT.sub(r"\1", text))


def _first_line(error: BaseException) -> str:
    """Playwright's message without its call log."""
    return _clean(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)


# -- the visit ------------------------------------------------------------------------------------------


class _LiveSocket:
    """A WebSocket as it goes; frozen into a `Socket` at the end."""

    def __init__(self, path: str, opened_at: float) -> None:
        self.path, self.opened_at = path, opened_at
        self.connected_at: float | None = None
        self.frames_received = self.frames_sent = 0
        self.closed_at: float | None = None
        self.error = ""
        self.ended_at: float | None = None  # closed or failed, whichever came first

    def freeze(self) -> Socket:
        return Socket(
            path=self.path,
            opened_at=self.opened_at,
            connected_at=self.connected_at,
            frames_received=self.frames_received,
            frames_sent=self.frames_sent,
            closed_at=self.closed_at,
            error=self.error,
        )


class _Recorder:
    """Collects what the page does, from Playwright's events (dispatched while a Playwright call waits).
    The callbacks only note facts: they run inside Playwright's dispatch."""

    def __init__(self, app_url: str, access_url: str, folder: str) -> None:
        self.target = app_url
        self.seen = Observation(app_url=without_query(app_url), folder=folder)
        self.origins = {_origin(app_url), _origin(access_url)}
        self.started = time.monotonic()
        self.sockets: list[_LiveSocket] = []
        self.failed: list[Failure] = []
        self.messages: list[str] = []

    def now(self) -> float:
        return time.monotonic() - self.started

    def listen(self, page: Page) -> None:
        page.on("websocket", self._socket)
        page.on("response", self._response)
        page.on("requestfailed", self._request_failed)

    def _socket(self, websocket: WebSocket) -> None:
        live = _LiveSocket(urlsplit(websocket.url).path, self.now())
        self.sockets.append(live)

        def received(_payload: str | bytes) -> None:
            live.frames_received += 1
            live.connected_at = live.connected_at or self.now()

        def sent(_payload: str | bytes) -> None:
            live.frames_sent += 1

        def failed(error: str) -> None:
            live.error = live.error or _clean(str(error))
            live.ended_at = live.ended_at or self.now()

        def closed(_websocket: WebSocket) -> None:
            live.closed_at = self.now()
            live.ended_at = live.ended_at or live.closed_at

        websocket.on("framereceived", received)
        websocket.on("framesent", sent)
        websocket.on("socketerror", failed)
        websocket.on("close", closed)

    def _response(self, response: Response) -> None:
        if response.status >= 400 and _origin(response.url) in self.origins:
            self.failed.append(Failure(without_query(response.url), status=response.status))

    def _request_failed(self, request: Request) -> None:
        if _origin(request.url) in self.origins:
            self.failed.append(Failure(without_query(request.url), error=_clean(request.failure or "failed")))

    def note(self, **facts: Any) -> None:
        self.seen = replace(self.seen, **facts)

    def first_end(self) -> float | None:
        """When the first WebSocket closed or failed, if one did."""
        return min((live.ended_at for live in self.sockets if live.ended_at is not None), default=None)

    def look(self, page: Page) -> dict[str, Any] | None:
        """One look at the page's state; None while it navigates (no document to look at)."""
        from playwright.sync_api import Error

        try:
            state: dict[str, Any] = page.locator("html").evaluate(
                STATE_JS, [WORKBENCH, VSCODE_PAGE, DIALOG, TOAST, ENTRIES], timeout=LOOK_TIMEOUT * 1000
            )
        except Error:
            return None
        for message in state["messages"]:
            line = _clean(" ".join(message.split()))
            if line not in self.messages:
                self.messages.append(line)
        self.note(
            vscode_page=state["vscode"], title=_clean(state["title"]), explorer=_clean(state["explorer"]),
            files=state["files"], landed=without_query(page.url),
        )  # fmt: skip
        return state

    def observation(self) -> Observation:
        sockets = tuple(live.freeze() for live in self.sockets)
        return replace(self.seen, sockets=sockets, failed=tuple(self.failed), messages=tuple(self.messages))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def open_workbench(
    app_url: str,
    access_url: str,
    session_token: str,
    folder: str,
    timeout: float,
    *,
    executable: str,
    stay_connected: float = 3.0,
) -> WorkbenchVisit:
    """Open VS Code at `app_url` in Chromium, signed in to Coder at `access_url` with the session cookie,
    as a developer does; wait up to `timeout` seconds for the workbench with `folder` open and a live
    connection to code-server, then watch that connection for `stay_connected` seconds."""
    REDACTOR.add(session_token)  # whatever the browser reports is scrubbed of it, even if no one else said so
    recorder = _Recorder(app_url, access_url, folder)
    if not _playwright_importable():
        return WorkbenchVisit(recorder.observation(), NO_PLAYWRIGHT, None)
    from playwright.sync_api import Error, sync_playwright

    deadline = time.monotonic() + timeout
    screenshot = b""
    try:
        with sync_playwright() as playwright:
            try:
                browser = playwright.chromium.launch(
                    executable_path=executable,
                    args=list(CHROMIUM_ARGS),
                    headless=True,
                    timeout=min(timeout, LAUNCH_TIMEOUT) * 1000,
                )
            except Error as failure:
                return WorkbenchVisit(
                    recorder.observation(), f"the browser did not start: {_first_line(failure)}", None
                )
            try:
                screenshot = _in_browser(
                    browser, recorder, _session_cookie(access_url, session_token), deadline, stay_connected
                )
            finally:
                browser.close()
    except Error as failure:  # the browser died under the visit
        recorder.note(error=recorder.seen.error or _first_line(failure))
    seen = recorder.observation()
    return WorkbenchVisit(seen, judge(seen), time_to_interactive(seen), screenshot)


def _in_browser(
    browser: Browser, recorder: _Recorder, cookie: SetCookieParam, deadline: float, stay_connected: float
) -> bytes:
    """The visit in a fresh context (its own temporary profile, with only the Coder session in it); a
    Playwright error ends the visit and is noted. The screenshot of the page at the end."""
    from playwright.sync_api import Error

    context = browser.new_context()
    context.set_default_timeout(max(deadline - time.monotonic(), 1.0) * 1000)
    context.add_cookies([cookie])
    page = context.new_page()
    recorder.listen(page)
    try:
        _visit(page, recorder, deadline, stay_connected)
    except Error as failure:
        recorder.note(error=_first_line(failure))
    recorder.note(watched_until=recorder.now())  # what closes from here on, the browser closes
    recorder.look(page)
    return _screenshot(page)


def _session_cookie(access_url: str, token: str) -> SetCookieParam:
    """The session as coderd's login leaves it in a browser: an httpOnly cookie on the access URL's host.
    Subdomain apps get their own from there (coderd's auth-redirect), as a browser follows the redirects."""
    return {
        "name": SESSION_COOKIE,
        "value": token,
        "url": _origin(access_url),
        "httpOnly": True,
        "secure": urlsplit(access_url).scheme == "https",
        "sameSite": "Lax",
    }


def _visit(page: Page, recorder: _Recorder, deadline: float, stay_connected: float) -> None:
    recorder.started = time.monotonic()
    _navigate(page, recorder, deadline)
    if not _wait_for_workbench(page, recorder, deadline):
        return
    _wait_for_repository(page, recorder, deadline)
    _watch(page, recorder, stay_connected)


def _navigate(page: Page, recorder: _Recorder, deadline: float) -> None:
    """Go to the app URL, reloading while Coder says the app is still starting (502)."""
    while True:
        response = page.goto(recorder.target, wait_until="commit", timeout=_left(deadline))
        status = response.status if response else 0
        recorder.note(document_status=status, landed=without_query(page.url))
        if status != WARMING_UP or time.monotonic() + 1.0 >= deadline:
            return
        page.wait_for_timeout(1000)


def _wait_for_workbench(page: Page, recorder: _Recorder, deadline: float) -> bool:
    """Wait for VS Code's workbench; give up early on a loaded page that cannot become one (not VS Code's,
    or VS Code's with failed assets), once it has stayed so for GRACE seconds."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    hopeless_since: float | None = None
    while time.monotonic() < deadline:
        try:
            page.wait_for_selector(WORKBENCH, state="attached", timeout=min(POLL * 1000, _left(deadline)))
            recorder.note(workbench_at=recorder.now())
            return True
        except PlaywrightTimeout:
            pass
        state = recorder.look(page)
        loaded = bool(state and state["ready"])
        hopeless = loaded and (not recorder.seen.vscode_page or bool(unexpected_failures(recorder.observation())))
        hopeless_since = (hopeless_since or time.monotonic()) if hopeless else None
        if hopeless_since and time.monotonic() - hopeless_since >= GRACE:
            return False
    return False


def _wait_for_repository(page: Page, recorder: _Recorder, deadline: float) -> None:
    """Wait for the explorer to show the folder; give up early, GRACE seconds on, once a WebSocket to the
    server ended (a healthy VS Code keeps both of its connections) or VS Code holds up a dialog ('Workspace
    does not exist', 'failed to connect')."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    name = _folder_name(recorder.seen.folder)
    stuck_since: float | None = None
    while time.monotonic() < deadline:
        try:
            page.wait_for_function(REPO_OPEN_JS, arg=[name, ENTRIES], timeout=min(POLL * 1000, _left(deadline)))
            recorder.note(repository_at=recorder.now())
            return
        except PlaywrightTimeout:
            pass
        state = recorder.look(page)
        if state and state["dialog"]:
            stuck_since = stuck_since or recorder.now()
        stuck = [at for at in (recorder.first_end(), stuck_since) if at is not None]
        if stuck and recorder.now() - min(stuck) >= GRACE:
            return


def _watch(page: Page, recorder: _Recorder, seconds: float) -> None:
    """Keep the page for `seconds`, looking at VS Code's messages in between; Playwright dispatches the
    WebSockets' events meanwhile."""
    until = time.monotonic() + seconds
    while (left := until - time.monotonic()) > 0:
        page.wait_for_timeout(min(POLL, left) * 1000)
        recorder.look(page)


def _screenshot(page: Page) -> bytes:
    from playwright.sync_api import Error

    try:
        return page.screenshot(type="png", timeout=SCREENSHOT_TIMEOUT * 1000)
    except Error:
        return b""


def _left(deadline: float) -> float:
    """Milliseconds to the deadline, for Playwright (0 would mean no timeout at all)."""
    return max(deadline - time.monotonic(), 0.05) * 1000
