"""How the suite judges VS Code in a browser, from recorded facts: each verdict on both of its sides, without
a browser (tests/lab/test_browser_real.py drives a real one)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from workspace_spec import browser
from workspace_spec.browser import NO_CHROMIUM, NO_PLAYWRIGHT, browser_executable, browser_unavailable, open_workbench
from workspace_spec.secrets import REDACTOR
from workspace_spec.workbench import Failure, Observation, Socket, judge, time_to_interactive

CODER = "https://coder.example.com"
APP = f"{CODER}/@u/ws.main/apps/code-server/"
STABLE = "/@u/ws.main/apps/code-server/stable-53c2f3253bcf32886706fc023e794bbeb253c90f"
STATIC = f"{CODER}{STABLE}/static"
VSDA = (
    Failure(f"{STATIC}/node_modules/vsda/rust/web/vsda_bg.wasm", status=404),
    Failure(f"{STATIC}/node_modules/vsda/rust/web/vsda.js", status=404),
    Failure(f"{STATIC}/node_modules/vsda/rust/web/vsda.js", error="net::ERR_ABORTED"),
)
LIVE = Socket(STABLE, opened_at=2.0, connected_at=2.1, frames_received=20, frames_sent=30)
HEALTHY = Observation(
    app_url=APP,
    folder="/home/coder/repo",
    document_status=200,
    landed=APP,
    vscode_page=True,
    workbench_at=3.0,
    repository_at=4.5,
    explorer="repo",
    files=5,
    title="Welcome - repo - code-server",
    sockets=(LIVE, replace(LIVE, opened_at=2.7, connected_at=2.8)),
    failed=VSDA,
    watched_until=7.5,
)


def test_a_healthy_visit_has_no_problem_even_with_the_two_404s_every_code_server_has():
    assert judge(HEALTHY) == ""
    assert time_to_interactive(HEALTHY) == 4.5


def test_time_to_interactive_waits_for_all_three_and_is_none_without_one():
    late_socket = replace(HEALTHY, sockets=(replace(LIVE, connected_at=5.2),))
    assert time_to_interactive(late_socket) == 5.2
    assert time_to_interactive(replace(HEALTHY, repository_at=None)) is None
    assert time_to_interactive(replace(HEALTHY, sockets=(replace(LIVE, connected_at=None, frames_received=0),))) is None


# -- the page ---------------------------------------------------------------------------------------------

NO_WORKBENCH = replace(HEALTHY, workbench_at=None, repository_at=None, explorer="", files=0, sockets=())


def test_a_page_that_is_not_vs_code_is_named_by_its_title():
    nginx = replace(NO_WORKBENCH, vscode_page=False, title="Welcome to nginx!", failed=())
    assert judge(nginx) == f"the app URL served a page that is not VS Code (title 'Welcome to nginx!', at {APP})"


def test_failed_assets_under_the_app_path_mean_a_blank_page():
    failed = (Failure(f"{STATIC}/out/vs/code/browser/workbench/workbench.js", status=404), *VSDA)
    problem = judge(replace(NO_WORKBENCH, failed=failed, title=""))
    assert problem == (
        f"VS Code did not load: the page came, but 1 of its assets failed (404 {STABLE}/static/out/vs/code/browser"
        "/workbench/workbench.js) under the app path: the developer sees a blank page"
    )


def test_only_failures_under_the_app_count_and_no_more_than_three_are_named():
    elsewhere = (
        Failure("https://open-vsx.org/vscode/gallery/extensionquery", error="net::ERR_NAME_NOT_RESOLVED"),
        Failure(f"{CODER}/api/v2/buildinfo", status=500),  # Coder's, not the app's
    )
    assets = tuple(Failure(f"{STATIC}/out/{name}.js", status=404) for name in "abcd")
    assert "not VS Code" in judge(replace(NO_WORKBENCH, vscode_page=False, failed=elsewhere))
    problem = judge(replace(NO_WORKBENCH, failed=elsewhere + assets))
    assert "4 of its assets failed" in problem and "/out/c.js, ...)" in problem and "/out/d.js" not in problem


def test_vs_codes_page_without_its_workbench_and_nothing_failed_says_so():
    problem = judge(replace(NO_WORKBENCH, error="Page.wait_for_selector: Timeout 500ms exceeded."))
    assert problem.startswith("VS Code did not load: its page came (title 'Welcome - repo - code-server')")
    assert problem.endswith("but the workbench never appeared: Page.wait_for_selector: Timeout 500ms exceeded.")


def test_the_login_page_an_error_page_and_no_answer_are_told_apart():
    login = replace(NO_WORKBENCH, landed=f"{CODER}/login", vscode_page=False, title="Coder")
    assert judge(login) == (
        f"the app proxy sent the signed-in developer to the login page ({CODER}/login): the session cookie was not"
        " accepted"
    )
    unavailable = replace(NO_WORKBENCH, document_status=502, vscode_page=False, title="Application Unavailable")
    assert judge(unavailable).startswith("the app URL answered 502 (title 'Application Unavailable'")
    refused = replace(
        NO_WORKBENCH, document_status=0, landed="", error=f"Page.goto: net::ERR_CONNECTION_REFUSED at {APP}"
    )
    assert (
        judge(refused)
        == f"the app URL {APP} did not answer in the browser: Page.goto: net::ERR_CONNECTION_REFUSED at {APP}"
    )


# -- the connection to code-server -------------------------------------------------------------------------

REFUSED = Socket(
    STABLE, opened_at=2.2, closed_at=2.2, error="Error during WebSocket handshake: Unexpected response code: 502"
)


def test_a_websocket_that_never_opened_is_named_with_the_browsers_error():
    seen = replace(HEALTHY, repository_at=None, sockets=(REFUSED, replace(REFUSED, opened_at=2.9, closed_at=3.0)))
    assert judge(seen) == (
        f"VS Code loaded, but cannot connect to its server: the WebSocket to {STABLE} failed (Error during WebSocket"
        " handshake: Unexpected response code: 502, 2 attempts): the developer sees the workbench, then"
        " 'Reconnecting...' / 'Cannot reconnect'"
    )


def test_what_vs_code_says_about_the_connection_is_what_the_developer_sees():
    says = "An unexpected error occurred that requires a reload of this page. The workbench failed to connect"
    seen = replace(HEALTHY, repository_at=None, sockets=(REFUSED,), messages=(says,))
    assert judge(seen).endswith(f"the developer sees the workbench, then {says!r}")


@pytest.mark.parametrize(
    ("socket", "how"),
    [
        (Socket(STABLE, opened_at=2.0), "the server never answered on it"),
        (Socket(STABLE, opened_at=2.0, closed_at=2.5), "closed 0.5 s after it opened, before the server said anything"),
    ],
)
def test_a_websocket_without_a_frame_from_the_server_has_not_connected(socket: Socket, how: str):
    assert f"failed ({how})" in judge(replace(HEALTHY, repository_at=None, sockets=(socket,)))


def test_no_websocket_at_all_is_named():
    assert (
        judge(replace(HEALTHY, sockets=()))
        == "VS Code loaded, but never connected to its server: it opened no WebSocket"
    )


def test_a_connection_cut_after_a_second_is_lost_but_one_the_browser_closed_at_the_end_is_not():
    cut = replace(LIVE, closed_at=3.1)
    assert judge(replace(HEALTHY, sockets=(LIVE, cut))) == (
        f"VS Code connected, then lost its server: the WebSocket to {STABLE} closed 1.0 s after it connected: the"
        " developer sees 'Reconnecting...'"
    )
    closed_by_us = replace(LIVE, closed_at=HEALTHY.watched_until + 0.1)
    assert judge(replace(HEALTHY, sockets=(LIVE, closed_by_us))) == ""


def test_a_reconnect_notice_is_a_problem_but_other_dialogs_are_not():
    reconnecting = replace(HEALTHY, messages=("Attempting to reconnect in 5 seconds...",))
    assert judge(reconnecting) == (
        "VS Code is connected, but lost its server meanwhile: VS Code shows 'Attempting to reconnect in 5 seconds...'"
    )
    trust = replace(HEALTHY, messages=("Do you trust the authors of the files in this folder?",))
    assert judge(trust) == ""


def test_the_connection_comes_before_the_repository():
    """Without its server VS Code cannot list the repository: the cause is named, not the consequence."""
    assert judge(replace(HEALTHY, repository_at=None, sockets=(REFUSED,))).startswith(
        "VS Code loaded, but cannot connect"
    )


# -- the repository and the rest ----------------------------------------------------------------------------


def test_a_repository_that_is_not_open_says_what_the_explorer_and_vs_code_show():
    gone = replace(HEALTHY, repository_at=None, files=0, messages=("Workspace does not exist Please select another",))
    assert judge(gone) == (
        "VS Code loaded, but the repository /home/coder/repo is not open (the explorer shows 'repo' with no files,"
        " title 'Welcome - repo - code-server'; VS Code says 'Workspace does not exist Please select another')"
    )
    other = replace(HEALTHY, repository_at=None, explorer="home", title="Welcome - home - code-server")
    assert "(the explorer shows 'home', title" in judge(other)
    assert "(no explorer, title" in judge(replace(HEALTHY, repository_at=None, explorer=""))


def test_failed_assets_in_a_working_workbench_are_still_a_problem():
    icon = Failure(f"{STATIC}/extensions/git/media/icon.png", status=404)
    assert judge(replace(HEALTHY, failed=(*VSDA, icon))) == (
        f"VS Code loaded, but 1 of its assets failed (404 {STABLE}/static/extensions/git/media/icon.png) under the"
        " app path: parts of the workbench are missing"
    )


def test_an_error_after_all_was_seen_is_a_problem():
    assert judge(replace(HEALTHY, error="Target page, context or browser has been closed")) == (
        "the browser failed while watching VS Code: Target page, context or browser has been closed"
    )


# -- what the texts never carry -----------------------------------------------------------------------------


def test_problems_carry_neither_secrets_nor_queries():
    token = "Qw3rTy8uIo-Zx1cV2bN3mA4sD5fG6hJ7"
    REDACTOR.add(token)
    error = f"Page.goto: net::ERR_FAILED at {APP}?folder=/home/coder/repo&coder_application_connect_api_key={token}"
    problem = judge(replace(NO_WORKBENCH, document_status=0, error=error))
    assert problem == f"the app URL {APP} did not answer in the browser: Page.goto: net::ERR_FAILED at {APP}"
    socket = replace(REFUSED, error=f"Error in connection establishment: wss://x/stable-1?reconnectionToken={token}")
    problem = judge(replace(HEALTHY, sockets=(socket,)))
    assert token not in problem and "?" not in problem and "reconnectionToken" not in problem
    assert token not in judge(replace(HEALTHY, repository_at=None, title=f"token {token}"))


# -- whether there is a browser -----------------------------------------------------------------------------


def test_a_missing_browser_or_playwright_is_one_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(browser, "_playwright_importable", lambda: True)
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    assert browser_unavailable() == NO_CHROMIUM and browser_executable() is None
    assert browser_unavailable("/nonexistent/chromium") == "no browser: /nonexistent/chromium is not an executable file"
    monkeypatch.setattr(browser.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert browser_unavailable() == "" and browser_executable() == "/usr/bin/chromium"
    monkeypatch.setattr(browser, "_playwright_importable", lambda: False)
    assert browser_unavailable() == NO_PLAYWRIGHT and browser_executable() is None


def test_without_playwright_a_visit_is_that_problem_not_an_import_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(browser, "_playwright_importable", lambda: False)
    visit = open_workbench(APP, CODER, "Qw3rTy8uIo-Zx1cV2bN3mA4sD5fG6hJ7", "/home/coder/repo", 5, executable="chromium")
    assert visit.problem == NO_PLAYWRIGHT and visit.screenshot == b"" and visit.seconds_to_interactive is None
