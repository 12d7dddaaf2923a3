"""A planned workspace's failure is raised afresh, whole, for every scenario that waits for it."""

from __future__ import annotations

from concurrent.futures import Future

import httpx
import pytest

from workspace_spec.coder import CoderError, CoderUnreachable
from workspace_spec.plan import awaited
from workspace_spec.waiting import WaitFailed


@pytest.mark.parametrize(
    "failure",
    [
        CoderError(502, "POST", "/api/v2/users/me/workspaces", "Bad Gateway"),
        CoderUnreachable("POST", "/api/v2/users/me/workspaces", httpx.ReadTimeout("timed out")),
        WaitFailed("the start build failed"),
    ],
    ids=type,
)
def test_a_stage_failure_is_raised_afresh_with_its_message_and_fields(failure: Exception) -> None:
    stage: Future = Future()
    stage.set_exception(failure)
    for _ in range(2):  # once for each scenario that waits
        with pytest.raises(type(failure)) as raised:
            awaited(stage)
        assert raised.value is not failure
        assert str(raised.value) == str(failure)
        assert raised.value.__dict__ == failure.__dict__
