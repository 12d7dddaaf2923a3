"""The edges of the browser verdicts: the status where an answer becomes an error page, a socket closed just
as the watch ended, what VS Code shows the developer, and the words of each verdict when there is nothing
more to say."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.test_browser_judge import APP, LIVE, STABLE
from tests.unit.test_browser_judge import HEALTHY as JUDGED
from workspace_spec.workbench import (
    connection_problem,
    judge,
    page_problem,
    repository_problem,
    time_to_interactive,
    without_query,
)

# test_browser_judge.py's healthy visit, with one socket, no failed asset and no editor tab in the title.
HEALTHY = replace(JUDGED, title="repo - code-server", sockets=(LIVE,), failed=())
SOCKET = STABLE
NO_WORKBENCH = replace(HEALTHY, workbench_at=None, repository_at=None, sockets=())


@pytest.mark.parametrize("status", [400, 401])
def test_an_answer_of_400_or_more_is_an_error_page(status: int) -> None:
    problem = page_problem(replace(NO_WORKBENCH, document_status=status, vscode_page=False, title="Bad"))
    assert problem == (
        f"the app URL answered {status} (title 'Bad', at {APP}): the developer sees an error page, not VS Code"
    )


def test_an_answer_just_under_400_is_not_an_error_page() -> None:
    problem = page_problem(replace(NO_WORKBENCH, document_status=399, vscode_page=False, title="Moved"))
    assert problem == f"the app URL served a page that is not VS Code (title 'Moved', at {APP})"


def test_no_answer_without_a_browser_error_says_no_page_came() -> None:
    assert page_problem(replace(NO_WORKBENCH, document_status=0)) == (
        f"the app URL {APP} did not answer in the browser: no page came"
    )


def test_a_workbench_that_never_appeared_without_a_browser_error_ends_there() -> None:
    assert page_problem(NO_WORKBENCH) == (
        "VS Code did not load: its page came (title 'repo - code-server') but the workbench never appeared"
    )
    with_error = page_problem(replace(NO_WORKBENCH, error="Timeout 30000ms exceeded"))
    assert with_error.endswith("the workbench never appeared: Timeout 30000ms exceeded")


def test_no_websocket_says_what_vs_code_shows_about_its_connection() -> None:
    seen = replace(HEALTHY, sockets=(), messages=("Saved", "Failed to connect to the remote extension host"))
    assert connection_problem(seen) == (
        "VS Code loaded, but never connected to its server: it opened no WebSocket: VS Code shows"
        " 'Failed to connect to the remote extension host'"
    )


def test_a_socket_closed_just_as_the_watch_ended_was_lost() -> None:
    seen = replace(HEALTHY, sockets=(replace(LIVE, closed_at=7.5),))
    assert connection_problem(seen) == (
        f"VS Code connected, then lost its server: the WebSocket to {SOCKET} closed 5.4 s after it connected:"
        " the developer sees 'Reconnecting...'"
    )
    assert connection_problem(replace(seen, watched_until=7.6)).startswith("VS Code connected, then lost its server")
    assert connection_problem(replace(seen, watched_until=7.4)) == ""  # closed by the browser after the watch


def test_a_lost_socket_says_the_first_thing_vs_code_shows_about_its_connection() -> None:
    seen = replace(HEALTHY, sockets=(replace(LIVE, closed_at=5.0),), messages=("Cannot reconnect. Please reload.",))
    assert connection_problem(seen).endswith("the developer sees 'Cannot reconnect. Please reload.'")
    both = replace(seen, messages=("Reconnecting... (1 of 5)", "Cannot reconnect. Please reload."))
    assert connection_problem(both).endswith("the developer sees 'Reconnecting... (1 of 5)'")


def test_a_repository_that_is_not_open_without_a_message_ends_with_the_title() -> None:
    seen = replace(HEALTHY, repository_at=None, explorer="")
    assert repository_problem(seen) == (
        "VS Code loaded, but the repository /home/coder/repo is not open (no explorer, title 'repo - code-server')"
    )
    assert judge(seen) == repository_problem(seen)


def test_time_to_interactive_is_the_workbench_when_it_came_last() -> None:
    assert time_to_interactive(replace(HEALTHY, workbench_at=6.0, repository_at=5.0)) == 6.0


def test_without_query_keeps_scheme_host_and_path() -> None:
    assert without_query(f"{APP}?folder=/home/coder/repo#top") == APP
    assert without_query("wss://h:8443/s?reconnectionToken=t&skipWebSocketFrames=false") == "wss://h:8443/s"


def test_an_open_socket_has_no_lifetime_and_a_closed_one_counts_from_its_first_frame() -> None:
    assert LIVE.lifetime() == ""
    assert replace(LIVE, closed_at=3.1).lifetime() == "1.0 s after it connected"
    assert replace(LIVE, connected_at=None, closed_at=3.0).lifetime() == "1.0 s after it opened"


def test_a_browser_library_that_is_not_installed_is_not_found() -> None:
    """Without Playwright at all (plain bin/setup), the check for it says so instead of raising."""
    from workspace_spec.browser import found

    assert not found("no_such_package_here.sync_api")
    assert not found("no_such_package_here")
    assert found("json.decoder")
