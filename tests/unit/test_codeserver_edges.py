"""The edges of code-server's health as the suite reports it: where it was asked, the state it said, the
excerpt of a wrong answer, and the IDE's port when the health check URL names none."""

from __future__ import annotations

import pytest

from workspace_spec.codeserver import EXCERPT, health_port, judge


@pytest.mark.parametrize("state", ["alive", "expired"])
def test_an_up_answer_says_where_it_was_asked_and_the_state_code_server_said(state: str) -> None:
    health = judge(
        "http://127.0.0.1:13337/healthz", 200, "application/json", f'{{"status":"{state}","lastHeartbeat":0}}'
    )
    assert (health.where, health.problem, health.status) == ("http://127.0.0.1:13337/healthz", "", state)
    assert health.describe() == f"http://127.0.0.1:13337/healthz: code-server answered, status {state}"


def test_a_wrong_answer_quotes_its_body_on_one_line() -> None:
    health = judge("here", 503, "text/plain", "  Service\n\tUnavailable  \n")
    assert health.problem == "answered 503 text/plain: 'Service Unavailable'"
    assert health.describe() == "here: answered 503 text/plain: 'Service Unavailable'"


def test_the_excerpt_of_a_long_body_is_cut() -> None:
    body = "<html>" + "x" * 500
    health = judge("here", 200, "text/html", body)
    assert health.problem == f"answered 200 text/html, not code-server's health JSON: {body[:EXCERPT]!r}"


def test_the_excerpt_of_an_empty_body_is_empty() -> None:
    assert judge("here", 200, "text/html", "").problem == "answered 200 text/html, not code-server's health JSON: ''"


def test_a_secret_in_a_wrong_answer_is_not_repeated() -> None:
    token = "ghp_" + "A1b2C3d4" * 5
    health = judge("here", 401, "text/plain", f"bad token {token}")
    assert token not in health.problem and health.problem.startswith("answered 401 text/plain: 'bad token ")


@pytest.mark.parametrize(
    ("url", "port"),
    [("http://localhost/healthz", 80), ("https://localhost/healthz", 443), ("http://localhost:8080/healthz", 8080)],
)
def test_the_port_of_a_health_check_url_without_one_is_its_schemes(url: str, port: int) -> None:
    assert health_port(url) == port
