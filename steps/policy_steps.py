"""Steps about workspace policies: auto-stop."""

from behave import given, then, when
from behave.runner import Context

from workspace_spec.plan import Need


@given("the template stops workspaces after a default time")
def given_template_autostop(context: Context) -> None:
    template = context.autostop.template = context.world.workspaces.template()
    assert template.default_ttl_ms > 0, (
        f"template {template.name} has no default auto-stop (default_ttl_ms is 0): idle workspaces run until stopped"
    )


@when("a workspace is created without an auto-stop time of its own")
def when_created_without_ttl(context: Context) -> None:
    """The run's shared workspace is created with no auto-stop time of its own: its running build tells."""
    context.workspace.current = context.world.plan.built(Need(context.world.settings.template))


@then("the workspace carries the template's auto-stop time")
def then_inherits_ttl(context: Context) -> None:
    workspace, template = context.workspace.require(), context.autostop.template
    assert workspace.ttl_ms == template.default_ttl_ms, (
        f"workspace {workspace.name} has ttl_ms {workspace.ttl_ms}, "
        f"template {template.name} sets {template.default_ttl_ms}"
    )


@then("its running build has a stop deadline")
def then_build_has_deadline(context: Context) -> None:
    workspace = context.workspace.require()
    assert workspace.deadline, f"the running build of {workspace.name} has no deadline: it will never stop by itself"
    assert not workspace.deadline_passed(), (
        f"the running build of {workspace.name} has a deadline in the past: {workspace.deadline}"
    )
