"""code-server's health as the suite judges it: its own JSON, alive or expired, is up; anything else is down."""

from __future__ import annotations

import pytest

from workspace_spec.codeserver import health_port, judge


@pytest.mark.parametrize(
    "body",
    ['{"lastHeartbeat":0,"status":"expired"}', '{"lastHeartbeat":1764470000000,"status":"alive"}'],
)
def test_code_servers_own_answer_is_up_whether_alive_or_expired(body: str) -> None:
    assert judge("here", 200, "application/json", body).problem == ""


@pytest.mark.parametrize(
    ("status", "content_type", "body", "says"),
    [
        (200, "text/html", "<!DOCTYPE html><div id=root></div>", "not code-server's health JSON"),
        (200, "application/json", '{"status":"ok"}', "not code-server's health JSON"),
        # Another server's JSON that happens to say `status`: without code-server's lastHeartbeat it is not it.
        (200, "application/json", '{"status":"alive"}', "not code-server's health JSON"),
        (200, "application/json", '{"status":"expired","lastHeartbeat":"0"}', "not code-server's health JSON"),
        (200, "application/json", '{"status":"up","lastHeartbeat":0}', "not code-server's health JSON"),
        (200, "application/json", '{"lastHeartbeat":0}', "not code-server's health JSON"),
        (200, "application/json", '["alive", 0]', "not code-server's health JSON"),
        (502, "text/html", "<h1>Application Unavailable</h1>", "answered 502"),
        (500, "text/plain", "", "answered 500"),
    ],
)
def test_anything_else_is_down_and_says_what_answered(status: int, content_type: str, body: str, says: str) -> None:
    health = judge("here", status, content_type, body)
    assert says in health.problem and health.describe().startswith("here: ")


def test_the_port_comes_from_the_apps_health_check() -> None:
    assert health_port("http://localhost:13337/healthz") == 13337
    assert health_port("https://localhost/healthz") == 443
    assert health_port(None) is None
