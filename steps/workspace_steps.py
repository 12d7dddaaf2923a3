"""Steps about a workspace's life: creation, readiness, stop and start, deletion."""

from behave import given, then, when
from behave.runner import Context

from workspace_spec import journeys, persistence
from workspace_spec.plan import Need, awaited


def shared(context: Context, template: str | None = None) -> Need:
    """The template's workspace that every reading scenario shares (the run's plan builds it)."""
    return Need(template or context.world.settings.template)


def own(context: Context) -> Need:
    """A workspace of this scenario's own: it stops, starts or deletes it."""
    return Need(context.world.settings.template, context.scenario_key)


@given("a ready workspace")
def given_ready_workspace(context: Context) -> None:
    context.workspace.current = context.world.plan.usable(shared(context))


@given("a ready workspace of its own")
def given_own_workspace(context: Context) -> None:
    context.workspace.current = context.world.plan.usable(own(context))


@when("a developer creates a workspace from the template")
def when_workspace_created(context: Context) -> None:
    context.workspace.current = context.world.plan.created(shared(context))


@then("the workspace build succeeds")
def then_build_succeeds(context: Context) -> None:
    context.workspace.current = context.world.plan.built(shared(context))


@then("the workspace agent becomes ready")
def then_agent_ready(context: Context) -> None:
    context.workspace.current = context.world.plan.ready(shared(context))


@then("the code-server app becomes healthy")
def then_app_healthy(context: Context) -> None:
    context.workspace.current = context.world.plan.usable(shared(context))
    context.world.workspaces.require_app_health(context.workspace.current)


# The plan stops, starts and deletes a scenario's own workspace as soon as it is usable (a journey,
# workspace_spec/journeys.py); these steps wait for what it recorded and judge it.
@given("a ready workspace of its own with a marker file in its volume")
def given_workspace_with_marker(context: Context) -> None:
    workspace = context.workspace.current = context.world.plan.usable(own(context))
    marked = awaited(journeys.planned_stop_and_start(context.world, own(context)).marked)
    marker, written = marked.marker, marked.written
    assert written.ok, (
        f"could not write marker {marker.name} under {marker.directory} in {workspace.name}: {written.summary()}"
    )
    context.across_stop.marker, context.across_stop.before = marker, marked.before


@when("the workspace is stopped and started again")
def when_stopped_and_started(context: Context) -> None:
    restarted = awaited(journeys.planned_stop_and_start(context.world, own(context)).restarted)
    context.workspace.current, context.across_stop.during = restarted.workspace, restarted.during


@then("the marker file still holds its content")
def then_marker_kept(context: Context) -> None:
    workspace, marker = context.workspace.require(), context.across_stop.marker
    read = awaited(journeys.planned_stop_and_start(context.world, own(context)).reread)
    assert not (changes := persistence.marker_changes(marker, read, workspace.name)), changes


@when("the workspace is deleted")
def when_deleted(context: Context) -> None:
    context.workspace.current = awaited(journeys.planned_deletion(context.world, own(context)).deleted)


@then("Coder no longer serves the workspace")
def then_coder_forgot_it(context: Context) -> None:
    workspace = context.workspace.require()
    gone, answer = context.world.workspaces.is_gone(workspace.id)
    assert gone, (
        f"Coder still serves deleted workspace {workspace.name}: "
        f"GET /api/v2/workspaces/{workspace.id} answered {answer}"
    )
