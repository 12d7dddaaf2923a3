"""Steps about the developer workflow on a repository: check out, change, push, pull request."""

from behave import given, then, when
from behave.runner import Context

from workspace_spec import e2e
from workspace_spec.plan import Need


@given("a ready workspace from the E2E template")
def given_e2e_workspace(context: Context) -> None:
    context.workspace.current = context.world.plan.usable(Need(context.world.settings.e2e_template))


@given("git in the workspace can authenticate to GitHub")
def given_git_authenticates(context: Context) -> None:
    problem = e2e.link_problem(context.world, context.workspace.require())
    assert not problem, problem


@given("the bot-writable repository is checked out in the workspace")
def given_checkout(context: Context) -> None:
    context.workflow.checkout_dir = e2e.check_out(context.world, context.workspace.require())


def _propose(context: Context, by_codex: bool) -> None:
    workspace, directory = context.workspace.require(), context.workflow.checkout_dir
    context.workflow.proposal = e2e.propose(context.world, workspace, directory, by_codex=by_codex)


@when("a one-line README change made in the shell is proposed as a pull request")
def when_shell_change_proposed(context: Context) -> None:
    _propose(context, by_codex=False)


@when("Codex makes a one-line README change that is proposed as a pull request")
def when_codex_change_proposed(context: Context) -> None:
    _propose(context, by_codex=True)


@then("the pull request's head is the pushed commit")
def then_head_is_pushed_commit(context: Context) -> None:
    proposal = context.workflow.proposal
    pull = context.workflow.pull = context.world.pull_requests.facts(proposal.pull_number)
    assert (pull.head_ref, pull.head_sha) == (proposal.branch, proposal.commit), (
        f"pull request #{pull.number} has head {pull.head_ref}@{pull.head_sha}, "
        f"but {proposal.branch}@{proposal.commit} was pushed"
    )


@then("the pull request changes exactly that line")
def then_diff_is_the_line(context: Context) -> None:
    pull, proposal = context.workflow.pull, context.workflow.proposal
    changes = pull.changes()
    assert changes == proposal.changes, (
        f"pull request #{pull.number} should add exactly {proposal.line!r} to {e2e.CHANGED_FILE}; it changes {changes}"
    )


@then("the checkout keeps no GitHub credential")
def then_no_stored_credential(context: Context) -> None:
    found = e2e.stored_credentials(context.world, context.workspace.require(), context.workflow.checkout_dir)
    assert not found, f"the checkout keeps GitHub credentials in: {', '.join(found)}"
