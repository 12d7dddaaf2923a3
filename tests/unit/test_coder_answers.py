"""Coder's answers as the suite reads them where a field is missing, of another type or on a boundary: script
results, matched provisioners, the agent by name, the stop deadline, and which failed writes may be sent again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from workspace_spec import coder, coder_types
from workspace_spec.coder import CoderError, CoderUnreachable
from workspace_spec.coder_types import Agent, Provisioners, Script, Workspace


def test_a_script_without_a_name_or_status_reads_as_empty() -> None:
    script = Script.from_json({})
    assert script == Script("", "", None)
    assert script.describe() == "script '' ended"


@pytest.mark.parametrize("code", ["1", 1.0, None, [1]])
def test_an_exit_code_that_is_not_an_integer_is_no_exit_code(code: object) -> None:
    script = Script.from_json({"display_name": "Clone", "status": "ok", "exit_code": code})
    assert script.exit_code is None
    assert script.describe() == "script 'Clone' ok"


def test_an_integer_exit_code_is_kept() -> None:
    assert Script.from_json({"display_name": "Clone", "status": "exit_failure", "exit_code": 2}).exit_code == 2


def test_every_failed_script_is_named_in_one_line_and_the_ok_ones_are_not() -> None:
    agent = Agent(
        "id",
        "main",
        "connected",
        "start_error",
        (),
        scripts=(
            Script("Clone", "exit_failure", 128),
            Script("Say Hello", "ok", 0),
            Script("Dotfiles", "timed_out", None),
        ),
    )
    assert agent.failed_scripts() == "script 'Clone' exit_failure, exit code 128; script 'Dotfiles' timed_out"
    assert Agent("id", "main", "connected", "ready", (), scripts=(Script("Say Hello", "ok", 0),)).failed_scripts() == ""


@pytest.mark.parametrize("data", [None, [], "3", {"available": 1}, {}])
def test_matched_provisioners_without_a_count_are_unreported(data: Any) -> None:
    assert Provisioners.from_json(data) is None


def test_matched_provisioners_without_available_count_all_as_available() -> None:
    assert Provisioners.from_json({"count": 2}) == Provisioners(2, 2, None)


def test_matched_provisioners_read_count_and_available_each_from_its_field() -> None:
    found = Provisioners.from_json({"count": 3, "available": 0, "most_recently_seen": "2026-01-01T00:00:00Z"})
    assert found == Provisioners(3, 0, "2026-01-01T00:00:00Z")


def _workspace(deadline: str | None = None, agents: list[dict[str, Any]] | None = None) -> Workspace:
    build = {"id": "b1", "transition": "start", "status": "running", "deadline": deadline}
    build["resources"] = [{"agents": agents or []}]
    return Workspace.from_json({"id": "w1", "name": "dev", "owner_name": "alice", "latest_build": build})


def _agent(name: str) -> dict[str, Any]:
    return {"id": f"id-{name}", "name": name, "apps": [{"slug": "code-server"}]}


def test_an_agent_asked_for_by_a_name_no_agent_has_is_none() -> None:
    found = _workspace(agents=[_agent("main")])
    assert found.ide_agent("code-server", "other") is None
    assert found.app("code-server", "other") is None
    assert found.ide_agent("code-server", "main") == found.agents[0]


@pytest.mark.parametrize("deadline", [None, ""])
def test_a_build_without_a_deadline_has_not_passed_it(deadline: str | None) -> None:
    assert _workspace(deadline).deadline_passed() is False


def _rfc3339(moment: datetime) -> str:
    """As Coder writes timestamps (Go's RFC 3339 with nanoseconds, in UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def test_a_deadline_in_the_past_has_passed_and_one_ahead_has_not() -> None:
    now = datetime.now(UTC)
    assert _workspace(_rfc3339(now - timedelta(minutes=1))).deadline_passed() is True
    assert _workspace(_rfc3339(now + timedelta(hours=1))).deadline_passed() is False
    assert _workspace((now - timedelta(minutes=1)).isoformat()).deadline_passed() is True


def test_a_deadline_that_is_now_has_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    moment = datetime(2026, 5, 17, 23, 39, tzinfo=UTC)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Frozen:  # type: ignore[override]
            frozen = cls.fromtimestamp(moment.timestamp(), UTC)
            return frozen if tz else frozen.replace(tzinfo=None)

    monkeypatch.setattr(coder_types, "datetime", Frozen)
    assert _workspace("2026-05-17T23:39:00Z").deadline_passed() is True
    assert _workspace("2026-05-17T23:39:01Z").deadline_passed() is False


@pytest.mark.parametrize(("status", "again"), [(429, True), (503, True), (502, False), (504, False), (500, False)])
def test_a_write_is_sent_again_only_after_a_status_that_says_coder_did_not_act(status: int, again: bool) -> None:
    error = CoderError(status, "POST", "/api/v2/users/me/workspaces", "busy")
    assert coder._was_not_acted_on(error) is again


def test_a_write_is_sent_again_only_when_it_never_reached_coder() -> None:
    request = httpx.Request("POST", "https://coder.example.test/api/v2/users/me/workspaces")
    never_sent = CoderUnreachable("POST", "/x", httpx.ConnectError("refused", request=request))
    sent = CoderUnreachable("POST", "/x", httpx.ReadTimeout("no answer", request=request))
    assert coder._was_not_acted_on(never_sent) is True
    assert coder._was_not_acted_on(sent) is False
    assert coder._was_not_acted_on(ValueError("not Coder's")) is False
