"""How the driver judges real Coder states, each from the JSON shape of Coder's own frontend fixtures
(coder/coder site/src/testHelpers/entities.ts, named at each dict), on both sides of every judgement."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from workspace_spec import inside
from workspace_spec.cleanup import Ledger
from workspace_spec.coder_types import Template, Workspace
from workspace_spec.errors import PlatformFailure, TemplateChoice
from workspace_spec.naming import Namer
from workspace_spec.progress import Progress
from workspace_spec.settings import load_settings
from workspace_spec.waiting import WaitFailed, WaitTimedOut, wait_for_app_healthy, wait_for_build
from workspace_spec.workspace_states import agent_problem, build_failure, describe, state, undeclared_health
from workspace_spec.workspaces import VersionNotBuilt, VersionRefused, Workspaces

QUIET = Progress(interval=0)

# MockProvisionerJob: a succeeded job with the tags its provisioner must accept.
JOB: dict[str, Any] = {
    "created_at": "",
    "id": "test-provisioner-job",
    "status": "succeeded",
    "file_id": "my-organization-id",
    "completed_at": "2022-05-17T17:39:01.382927298Z",
    "tags": {"scope": "organization", "owner": "", "department": "engineering"},
    "queue_position": 0,
    "queue_size": 0,
    "organization_id": "my-organization-id",
    "type": "template_version_dry_run",
}
# MockPendingProvisionerJob.
PENDING_JOB = JOB | {"status": "pending", "queue_position": 2, "queue_size": 4}
# MockWorkspaceApp: the template declares no health check, so Coder reports `disabled`.
APP: dict[str, Any] = {
    "id": "test-app",
    "slug": "code-server",
    "display_name": "Test App",
    "icon": "",
    "subdomain": False,
    "health": "disabled",
    "external": False,
    "url": "",
    "sharing_level": "owner",
    "healthcheck": {"url": "", "interval": 0, "threshold": 0},
    "hidden": False,
    "open_in": "slim-window",
}
HEALTHY_APP = APP | {"health": "healthy", "healthcheck": {"url": "http://localhost:13337/healthz", "interval": 5}}
# MockWorkspaceAgentScript.
SCRIPT: dict[str, Any] = {
    "id": "08eaca83-1221-4fad-b882-d1136981f54d",
    "log_source_id": "dc790496-eaec-4f88-a53f-8ce1f61a1fff",
    "cron": "",
    "log_path": "",
    "run_on_start": True,
    "run_on_stop": False,
    "script": "echo 'hello world'",
    "start_blocks_login": False,
    "timeout": 0,
    "display_name": "Say Hello",
}
# MockWorkspaceAgent (parent_id as codersdk.WorkspaceAgent marshals a root agent's: null).
AGENT: dict[str, Any] = {
    "apps": [HEALTHY_APP],
    "architecture": "amd64",
    "created_at": "",
    "environment_variables": {},
    "id": "test-workspace-agent",
    "parent_id": None,
    "name": "a-workspace-agent",
    "operating_system": "linux",
    "resource_id": "",
    "status": "connected",
    "updated_at": "",
    "version": "v2.99.99",
    "connection_timeout_seconds": 120,
    "troubleshooting_url": "https://coder.com/troubleshoot",
    "lifecycle_state": "ready",
    "logs_length": 0,
    "logs_overflowed": False,
    "scripts": [SCRIPT],
    "startup_script_behavior": "non-blocking",
    "subsystems": ["envbox", "exectrace"],
    "health": {"healthy": True},
}
# MockWorkspaceBuild.
BUILD: dict[str, Any] = {
    "build_number": 1,
    "created_at": "2022-05-17T17:39:01.382927298Z",
    "id": "1",
    "initiator_id": "test-user",
    "initiator_name": "TestUser",
    "job": JOB,
    "template_version_id": "test-template-version",
    "template_version_name": "test-version",
    "transition": "start",
    "updated_at": "2022-05-17T17:39:01.382927298Z",
    "workspace_name": "test-workspace",
    "workspace_owner_id": "test-user",
    "workspace_owner_name": "TestUser",
    "workspace_id": "759f1d46-3174-453d-aa60-980a9c1442f3",
    "deadline": "2022-05-17T23:39:00.00Z",
    "reason": "initiator",
    "resources": [{"id": "test-workspace-resource", "name": "a-workspace-resource", "agents": [AGENT]}],
    "status": "running",
    "daily_cost": 20,
    "matched_provisioners": {"count": 1, "available": 1},
}
# MockWorkspace.
WORKSPACE: dict[str, Any] = {
    "id": "test-workspace",
    "name": "Test-Workspace",
    "template_id": "test-template",
    "template_name": "test-template",
    "template_active_version_id": "test-template-version",
    "template_require_active_version": False,
    "owner_id": "test-user",
    "owner_name": "TestUser",
    "ttl_ms": 2 * 60 * 60 * 1000,
    "latest_build": BUILD,
    "health": {"healthy": True, "failing_agents": []},
    "automatic_updates": "never",
    "deleting_at": None,
    "dormant_at": None,
    "next_start_at": None,
}


def workspace(build: dict[str, Any] | None = None, **fields: Any) -> Workspace:
    return Workspace.from_json(copy.deepcopy(WORKSPACE | {"latest_build": build or BUILD} | fields))


def pending(matched: dict[str, Any]) -> Workspace:
    """MockPendingWorkspace, with the provisioners Coder matched to its job."""
    return workspace(BUILD | {"job": PENDING_JOB, "status": "pending", "matched_provisioners": matched})


def agent(fixture: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return copy.deepcopy(fixture | fields)


def with_agents(*agents: dict[str, Any], job: dict[str, Any] = JOB) -> Workspace:
    """workspace.test.ts buildWorkspace: MockWorkspace with these agents, one resource each."""
    resources = [{"id": f"resource-{n}", "name": "main", "agents": [each]} for n, each in enumerate(agents)]
    return workspace(BUILD | {"resources": resources, "job": job})


class FakeCoder:
    """Coder as the waits see it: every read answers `read()`; the /watch stream is silent, so they poll."""

    stream_buffered: bool | None = None  # as CoderClient: the waits judge the stream on their first look

    def __init__(self, read: Callable[[], Workspace], builds: list[dict[str, Any]] | None = None) -> None:
        self.read = read
        self._builds = builds or []
        self.reads = 0

    def workspace(self, workspace_id: str) -> Workspace:
        self.reads += 1
        return self.read()

    def builds(self, workspace_id: str) -> list[dict[str, Any]]:
        return self._builds

    def build_logs(self, build_id: str) -> list[dict[str, Any]]:
        return [{"stage": "Planning infrastructure", "output": "Error: missing variable"}]

    @contextmanager
    def watch(self, workspace_id: str, read_timeout: float) -> Iterator[Iterator[Workspace]]:
        raise httpx.ReadTimeout("stream silent")
        yield iter(())


def fails_at_once(coder: FakeCoder, build_id: str) -> str:
    started = time.monotonic()
    with pytest.raises(WaitFailed) as caught:
        wait_for_build(coder, "test-workspace", build_id, timeout=3, progress=QUIET)  # type: ignore[arg-type]
    assert time.monotonic() - started < 1, "the wait did not end at once"
    assert coder.reads == 1
    return str(caught.value)


def keeps_waiting(coder: FakeCoder, build_id: str) -> str:
    with pytest.raises(WaitTimedOut) as caught:
        wait_for_build(coder, "test-workspace", build_id, timeout=0.3, progress=QUIET)  # type: ignore[arg-type]
    return str(caught.value)


# -- 1. matched_provisioners: count and available, judged apart -------------------------------------


def test_a_pending_build_whose_matching_provisioners_are_stale_fails_at_once_naming_them() -> None:
    seen = "2024-11-02T10:01:02Z"
    coder = FakeCoder(lambda: pending({"count": 1, "available": 0, "most_recently_seen": seen}))
    message = fails_at_once(coder, "1")
    assert "the start build #1 is pending: the 1 provisioner(s) that accept its tags" in message
    assert "[department=engineering, owner=, scope=organization]" in message
    assert f"have not been seen lately (matched_provisioners.available 0, last seen {seen}" in message


def test_a_pending_build_with_a_provisioner_available_is_waited_for() -> None:
    coder = FakeCoder(lambda: pending({"count": 1, "available": 1, "most_recently_seen": "2024-11-02T10:01:02Z"}))
    message = keeps_waiting(coder, "1")
    assert "job pending (queue position 2 of 4)" in message  # queue_position explains the wait


def test_a_pending_build_no_provisioner_accepts_fails_at_once_as_before() -> None:
    message = fails_at_once(FakeCoder(lambda: pending({"count": 0, "available": 0})), "1")
    assert "no provisioner accepts its tags [department=engineering, owner=, scope=organization]" in message
    assert "matched_provisioners.count 0" in message and "seen lately" not in message


def test_count_and_available_are_read_each_from_its_own_field() -> None:
    """The lab reports them equal; Coder does not when some daemons went stale."""
    found = pending({"count": 3, "available": 1, "most_recently_seen": "2024-11-02T10:01:02Z"}).provisioners
    assert found is not None and (found.count, found.available) == (3, 1)
    assert "the 2 provisioner(s) that accept its tags" in fails_at_once(
        FakeCoder(lambda: pending({"count": 2, "available": 0})), "1"
    )
    assert "job pending" in keeps_waiting(FakeCoder(lambda: pending({"count": 2, "available": 1})), "1")


@pytest.mark.parametrize(
    ("matched", "stuck"),
    [
        ({"count": 1, "available": 0}, True),
        ({"count": 1, "available": 1}, False),
        ({"count": 0, "available": 0}, True),
        ({"count": 3, "available": 1}, False),  # some daemons stale, one still takes the job
        ({"count": 2, "available": 0}, True),
    ],
)
def test_cleanup_cancels_what_no_provisioner_will_take(matched: dict[str, int], stuck: bool) -> None:
    assert pending(matched).never_picked_up() is stuck
    assert workspace().never_picked_up() is False  # a job that is not pending reads no provisioners


# -- 2. a newer build replaces the awaited one ------------------------------------------------------


def test_a_start_build_replaced_by_an_autostop_fails_naming_the_replacement() -> None:
    # MockWorkspaceBuildAutostop's reason on MockStoppingWorkspace's running stop build #2.
    stop = BUILD | {"id": "2", "build_number": 2, "transition": "stop", "reason": "autostop", "status": "stopping"}
    builds = [stop, BUILD]  # Coder lists the newest first
    message = fails_at_once(FakeCoder(lambda: workspace(stop | {"job": JOB | {"status": "running"}}), builds), "1")
    assert message.endswith(
        "the start build #1 (succeeded) was replaced by the stop build #2, started by TestUser (reason autostop): "
        "Coder runs one build at a time, and the workspace follows the newer one"
    )


def test_the_awaited_build_still_running_is_waited_for() -> None:
    running = BUILD | {"job": JOB | {"status": "running"}, "status": "starting"}
    assert "build #1 start, job running" in keeps_waiting(FakeCoder(lambda: workspace(running)), "1")


def test_a_read_older_than_the_awaited_build_is_no_replacement() -> None:
    """The build #2 just asked for, and a read that still shows #1: the wait goes on."""
    ours = BUILD | {"id": "2", "build_number": 2, "transition": "stop"}
    assert keeps_waiting(FakeCoder(lambda: workspace(), [ours, BUILD]), "2")


def test_an_agent_wait_names_the_build_that_stopped_the_workspace() -> None:
    stop = BUILD | {"id": "2", "build_number": 2, "transition": "stop", "reason": "autostop", "status": "stopping"}
    problem = agent_problem(workspace(stop), "code-server")
    assert (
        problem
        == "the workspace is stopping: the stop build #2, started by TestUser (reason autostop) replaced its start"
    )


# -- 3. the IDE's agent: a root agent, whatever the list order --------------------------------------


def test_a_root_agent_serving_the_app_is_chosen_over_a_sub_agent_listed_first() -> None:
    root = agent(AGENT, id="root-agent", name="root-agent")
    sub = agent(AGENT, id="sub-agent", name="sub-agent", parent_id="root-agent")  # also serves code-server
    for agents in ((sub, root), (root, sub)):
        chosen = with_agents(*agents).ide_agent("code-server")
        assert chosen is not None and chosen.name == "root-agent"


def test_the_named_agent_wins_and_a_sub_agent_serves_when_no_root_agent_does() -> None:
    root = agent(AGENT, id="root-agent", name="root-agent", apps=[])
    sub = agent(AGENT, id="sub-agent", name="sub-agent", parent_id="root-agent")
    assert with_agents(root, sub).ide_agent("code-server", name="root-agent").name == "root-agent"
    assert with_agents(root, sub).ide_agent("code-server").name == "sub-agent"
    assert with_agents(root).ide_agent("code-server") is None


# -- 4. app health `disabled`: the template's choice ------------------------------------------------


def test_an_app_without_a_health_check_is_the_templates_choice_not_a_platform_failure() -> None:
    undeclared = with_agents(agent(AGENT, apps=[APP]))
    coder = FakeCoder(lambda: undeclared)
    done = wait_for_app_healthy(coder, "test-workspace", "code-server", timeout=5, progress=QUIET)  # type: ignore[arg-type]
    problem = undeclared_health(done, "code-server")
    assert problem is not None and "that is the template's choice" in problem
    assert "healthcheck (url http://localhost:<port>/healthz)" in problem and "SPEC_CODE_SERVER_PORT" in problem
    assert not issubclass(TemplateChoice, PlatformFailure) and issubclass(TemplateChoice, AssertionError)


def test_an_app_coder_judged_healthy_needs_no_word() -> None:
    assert undeclared_health(with_agents(agent(AGENT)), "code-server") is None


def test_the_in_workspace_check_names_what_it_needs_without_a_health_check_url() -> None:
    world: Any = SimpleNamespace(settings=load_settings({"coder_url": ""}))
    with pytest.raises(TemplateChoice, match="give the template's coder_app a healthcheck url, or set SPEC_CODE"):
        inside.code_server_health(world, with_agents(agent(AGENT, apps=[APP])))


# -- 5. what Coder says, in the failure -------------------------------------------------------------


def test_a_failed_startup_names_coders_reason_and_the_failed_script() -> None:
    # MockWorkspaceAgentStartError, with the script status and exit code newer Coder reports.
    failed = agent(
        AGENT,
        lifecycle_state="start_error",
        health={"healthy": False, "reason": "agent startup script failed"},
        scripts=[SCRIPT | {"status": "exit_failure", "exit_code": 1}],
    )
    assert agent_problem(with_agents(failed), "code-server") == (
        "agent 'a-workspace-agent' is start_error: a startup script exited with an error "
        "(Coder: agent startup script failed; script 'Say Hello' exit_failure, exit code 1)"
    )
    assert (
        agent_problem(with_agents(agent(AGENT, scripts=[SCRIPT | {"status": "ok", "exit_code": 0}])), "code-server")
        is None
    )


@pytest.mark.parametrize("lifecycle", ["shutting_down", "off"])
def test_a_root_agent_shut_down_during_a_start_build_fails(lifecycle: str) -> None:
    # MockWorkspaceAgentShuttingDown / MockWorkspaceAgentOff.
    down = agent(AGENT, lifecycle_state=lifecycle, health={"healthy": False, "reason": "agent is shutting down"})
    assert agent_problem(with_agents(down), "code-server") == (
        f"agent 'a-workspace-agent' is {lifecycle} although the start build #1 succeeded: something shut it "
        "down (Coder: agent is shutting down)"
    )


def test_a_devcontainer_sub_agent_shut_down_is_no_verdict() -> None:
    root = agent(AGENT, id="root-agent", name="root-agent")
    sub = agent(AGENT, id="sub-agent", name="sub-agent", parent_id="root-agent", apps=[], lifecycle_state="off")
    assert agent_problem(with_agents(sub, root), "code-server") is None


def test_a_failed_build_names_its_error_code() -> None:
    # MockFailedProvisionerJob, as coderd answers a build whose template variables have no value.
    failed = JOB | {"status": "failed", "error": "missing variable", "error_code": "REQUIRED_TEMPLATE_VARIABLES"}
    text = build_failure(FakeCoder(workspace), workspace(BUILD | {"job": failed, "status": "failed"}))  # type: ignore[arg-type]
    assert text.startswith(
        "the start build #1 failed: missing variable "
        "[REQUIRED_TEMPLATE_VARIABLES: the template version needs values for its required variables]\n"
    )
    plain = build_failure(FakeCoder(workspace), workspace(BUILD | {"job": JOB | {"status": "failed"}}))  # type: ignore[arg-type]
    assert plain.splitlines()[0] == "the start build #1 failed"


def test_dormancy_and_failing_agents_explain_a_timeout() -> None:
    # MockDormantWorkspace and MockWorkspaceWithDeletion on MockStoppedWorkspace's build, and an unhealthy agent.
    stopped = BUILD | {"id": "2", "transition": "stop", "status": "stopped"}
    dormant = workspace(stopped, dormant_at="2024-11-01T00:00:00Z", deleting_at="2024-12-01T00:00:00Z")
    assert describe(dormant).endswith("; dormant since 2024-11-01T00:00:00Z; to be deleted at 2024-12-01T00:00:00Z")
    assert "dormant" not in describe(workspace())
    # MockWorkspaceAgentDisconnected, counted against the workspace's health.
    lost = agent(AGENT, status="disconnected", health={"healthy": False, "reason": "agent is not connected"})
    unhealthy = workspace(
        BUILD | {"resources": [{"agents": [lost]}]},
        health={"healthy": False, "failing_agents": ["test-workspace-agent"]},
    )
    text = describe(unhealthy)
    assert "agent a-workspace-agent disconnected/ready (Coder: agent is not connected)" in text
    assert "Coder counts agent(s) a-workspace-agent against the workspace's health" in text
    assert "queue position" not in state(workspace())  # shown for pending jobs only


# -- 6. a candidate version on a template that requires its active version --------------------------


class FakeTemplates:
    """Coder for Workspaces.create: its template, its versions, and the workspace it creates."""

    def __init__(self, require_active: bool, builds_version: str = "candidate-id") -> None:
        self.require_active = require_active
        self.builds_version = builds_version
        self.created: list[str] = []

    def template(self, organization: str, name: str) -> Template:
        return Template("test-template", name, "my-organization-id", "active-id", 0, self.require_active)

    def template_version_id(self, template_id: str, name: str) -> str:
        return "candidate-id"

    def create_workspace(
        self, template_id: str, name: str, ttl_ms: int | None = None, version_id: str = ""
    ) -> Workspace:
        self.created.append(version_id)
        return workspace(BUILD | {"template_version_id": self.builds_version, "template_version_name": "v2"}, name=name)


def manager(coder: FakeTemplates) -> Workspaces:
    settings = load_settings({"coder_url": "", "template": "test-template", "template_version": "v2"})
    return Workspaces(coder, settings, Ledger(), Namer("spec"))  # type: ignore[arg-type]


def test_a_candidate_version_of_a_template_requiring_its_active_version_is_refused_before_any_create() -> None:
    coder = FakeTemplates(require_active=True)
    with pytest.raises(VersionRefused) as refused:
        manager(coder).create(scope="run")
    assert str(refused.value) == (
        "template 'test-template' requires its active version (require_active_version), so version 'v2' "
        "(SPEC_TEMPLATE_VERSION) cannot be what its workspaces run: unset SPEC_TEMPLATE_VERSION, or lift the "
        "requirement"
    )
    assert coder.created == []


def test_a_candidate_version_is_built_and_credited() -> None:
    workspaces = manager(FakeTemplates(require_active=False))
    workspaces.create(scope="run")
    assert workspaces.built_from == {("test-template", "v2", "candidate-id")}


def test_a_workspace_built_from_another_version_is_not_credited_and_is_removed() -> None:
    workspaces = manager(FakeTemplates(require_active=False, builds_version="active-id"))
    with pytest.raises(VersionNotBuilt, match=r"asked to build version 'v2' .* but Coder builds active-id"):
        workspaces.create(scope="run")
    assert workspaces.built_from == set()
    assert len(workspaces.ledger.pending()) == 1  # cleanup removes it
