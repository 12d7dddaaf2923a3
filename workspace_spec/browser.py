"""VS Code (code-server) opened in a real browser, as a developer opens it through Coder's app proxy.

The browser is Debian's Chromium driven by Playwright for Python (`requirements-browser.txt`), both
optional: `browser_unavailable` says in one line what is missing, and Playwright is imported only when a
browser is actually opened, so the rest of the suite runs without it.

A visit records what the browser saw (the document, failed requests, the WebSockets to code-server, the
workbench, the explorer, VS Code's dialogs, a screenshot) in an `Observation`; `judge` (workspace_spec/
workbench.py) turns that into the one `problem` a developer would have.

Every Playwright call has a deadline (signals are deferred while a library runs, see interrupts.py); the
few without a timeout parameter (new_context, add_cookies, close) are bookkeeping in the local driver.
No URL that leaves this module carries its query: code-server's reconnection tokens and Coder's one-time
app keys live there. The session goes as a cookie, never in a URL.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from workspace_spec.secrets import REDACTOR
from workspace_spec.workbench import (
    Failure,
    Observation,
    Socket,
    WorkbenchVisit,
    clean,
    first_line,
    folder_name,
    judge,
    time_to_interactive,
    unexpected_failures,
    without_query,
)

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
WARMING_UP = 502  # Coder's "Application Unavailable" while the app starts: reloaded, as a developer would

POLL = 0.5  # seconds between looks at the page while waiting
# A page that is fully loaded yet not VS Code, or VS Code's page with failed assets, is given this long
# (a script redirect, a late workbench) before the wait ends; so is a WebSocket that failed during load.
GRACE = 2.0
LAUNCH_TIMEOUT = 30.0
SCREENSHOT_TIMEOUT = 10.0
LOOK_TIMEOUT = 5.0  # one look at the page's state

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
            live.error = live.error or clean(str(error))
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
            self.failed.append(Failure(without_query(request.url), error=clean(request.failure or "failed")))

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
            line = clean(" ".join(message.split()))
            if line not in self.messages:
                self.messages.append(line)
        self.note(
            vscode_page=state["vscode"], title=clean(state["title"]), explorer=clean(state["explorer"]),
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
                return WorkbenchVisit(recorder.observation(), f"the browser did not start: {first_line(failure)}", None)
            try:
                screenshot = _in_browser(
                    browser, recorder, _session_cookie(access_url, session_token), deadline, stay_connected
                )
            finally:
                browser.close()
    except Error as failure:  # the browser died under the visit
        recorder.note(error=recorder.seen.error or first_line(failure))
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
        recorder.note(error=first_line(failure))
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

    name = folder_name(recorder.seen.folder)
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
