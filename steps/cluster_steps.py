"""Steps about the workspace's Kubernetes objects: its namespace, volume claim and pods."""

from behave import then, when
from behave.runner import Context

from workspace_spec import persistence
from workspace_spec.kube import workspace_namespace


@then("its namespace and volume claim outlived the stop unchanged")
def then_namespace_and_claim_kept(context: Context) -> None:
    across = context.across_stop
    problem = persistence.stop_changes(context.workspace.require(), across.before, across.during)
    assert not problem, problem


@then("no workspace pod ran while it was stopped")
def then_no_pod_while_stopped(context: Context) -> None:
    running = [f"{pod.name} ({pod.phase})" for pod in context.across_stop.during.pods]
    assert not running, f"pods still ran while the workspace was stopped: {', '.join(running)}"


@then("its namespace is removed")
def then_namespace_removed(context: Context) -> None:
    name = workspace_namespace(context.workspace.require().id)
    phase = context.world.cluster.lingering(name)
    assert phase is None, f"namespace {name} is still {phase} after the workspace was deleted"


@when("the suite asks the cluster what its identity may do")
def when_ask_rights(context: Context) -> None:
    context.cluster_access.missing_rights = context.world.cluster.missing_rights()


@then("every right the checks need is granted")
def then_rights_granted(context: Context) -> None:
    missing = context.cluster_access.missing_rights
    assert not missing, "the Kubernetes identity lacks, in all namespaces: " + "; ".join(
        right.explain() for right in missing
    )
