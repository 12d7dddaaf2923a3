"""Steps about the workspace's Kubernetes objects: its namespace, volume claim and pods."""

from behave import then, when
from behave.runner import Context

from workspace_spec import persistence
from workspace_spec.kube import workspace_namespace


@then("its namespace and volume claim outlived the stop unchanged")
def then_namespace_and_claim_kept(context: Context) -> None:
    state = context.state
    problem = persistence.stop_changes(state.require_workspace(), state.before_stop, state.while_stopped)
    assert not problem, problem


@then("no workspace pod ran while it was stopped")
def then_no_pod_while_stopped(context: Context) -> None:
    running = [f"{pod.name} ({pod.phase})" for pod in context.state.while_stopped.pods]
    assert not running, f"pods still ran while the workspace was stopped: {', '.join(running)}"


@then("its namespace is removed")
def then_namespace_removed(context: Context) -> None:
    name = workspace_namespace(context.state.require_workspace().id)
    phase = context.world.cluster.lingering(name)
    assert phase is None, f"namespace {name} is still {phase} after the workspace was deleted"


@when("the suite asks the cluster what its identity may do")
def when_ask_rights(context: Context) -> None:
    context.state.missing_rights = context.world.cluster.missing_rights()


@then("every right the checks need is granted")
def then_rights_granted(context: Context) -> None:
    missing = context.state.missing_rights
    assert not missing, "the Kubernetes identity lacks, in all namespaces: " + "; ".join(
        right.explain() for right in missing
    )
