"""Steps about the workspace's Kubernetes objects: its namespace, volume claim and pods."""

from behave import then, when
from behave.runner import Context

from workspace_spec.kube import workspace_namespace


@then("its namespace and volume claim outlived the stop unchanged")
def then_namespace_and_claim_kept(context: Context) -> None:
    state = context.state
    name = workspace_namespace(state.require_workspace().id)
    before, during = state.before_stop, state.while_stopped
    assert before.namespace is not None, f"namespace {name} did not exist while the workspace ran"
    assert before.claims, f"namespace {name} held no volume claim while the workspace ran"
    assert during.namespace is not None, f"namespace {name} was removed when the workspace stopped"
    assert during.namespace.uid == before.namespace.uid, (
        f"namespace {name} was replaced during the stop (uid {before.namespace.uid} -> {during.namespace.uid})"
    )
    claims_before = {claim.name: claim.uid for claim in before.claims}
    claims_during = {claim.name: claim.uid for claim in during.claims}
    lost = sorted(set(claims_before) - set(claims_during))
    assert not lost, f"volume claim(s) {', '.join(lost)} in {name} were deleted when the workspace stopped"
    replaced = [claim for claim, uid in claims_before.items() if claims_during[claim] != uid]
    assert not replaced, f"volume claim(s) {', '.join(replaced)} in {name} were replaced during the stop (new uid)"


@then("no workspace pod ran while it was stopped")
def then_no_pod_while_stopped(context: Context) -> None:
    during = context.state.while_stopped
    running = [f"{pod.name} ({pod.phase})" for pod in during.pods]
    assert not running, f"pods still ran while the workspace was stopped: {', '.join(running)}"


@then("its namespace is removed")
def then_namespace_removed(context: Context) -> None:
    name = workspace_namespace(context.state.require_workspace().id)
    namespace = context.world.cluster.namespace(name)
    assert namespace is None or namespace.phase == "Terminating", (
        f"namespace {name} is still {namespace.phase} after the workspace was deleted"
    )


@when("the suite asks the cluster what its identity may do")
def when_ask_rights(context: Context) -> None:
    context.state.missing_rights = context.world.cluster.missing_rights()


@then("every right the checks need is granted")
def then_rights_granted(context: Context) -> None:
    missing = context.state.missing_rights
    assert not missing, "the Kubernetes identity lacks, in all namespaces: " + "; ".join(
        f"{right.describe()} (for {right.why})" for right in missing
    )
