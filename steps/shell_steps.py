"""Steps about what a developer finds inside the workspace."""

from behave import then, when
from behave.runner import Context

from steps.support import evidence
from workspace_spec import inside


@when("the developer looks at the repository checkout")
def when_look_at_checkout(context: Context) -> None:
    context.terminal.checkout = inside.checkout(context.world, context.workspace.require())


@then("it is a git work tree whose origin is the expected repository")
def then_checkout_is_expected(context: Context) -> None:
    checkout, settings = context.terminal.checkout, context.world.settings
    assert checkout.is_work_tree, f"{settings.repo_dir} is not a git work tree in the workspace: {checkout.problem}"
    assert inside.same_repository(checkout.origin, settings.repo_url), (
        f"{settings.repo_dir} has origin {checkout.origin}, expected {settings.repo_url}"
    )


@when("the developer asks each required tool for its version")
def when_ask_tools(context: Context) -> None:
    assert context.table is not None, "the step lists the tools in a table"
    tools = [row["tool"] for row in context.table]
    context.terminal.tools = inside.tool_versions(context.world, context.workspace.require(), tools)
    evidence.keep(inside.describe_versions(context.terminal.tools), "toolchain versions")


@then("every required tool answers with its version")
def then_tools_answer(context: Context) -> None:
    broken = inside.broken_tools(context.terminal.tools)
    assert not broken, f"toolchain incomplete in workspace {context.workspace.require().name}: {'; '.join(broken)}"


@when("the developer asks code-server for its health from inside the workspace")
def when_ask_ide_health(context: Context) -> None:
    context.terminal.ide_health = inside.code_server_health(context.world, context.workspace.require())
    evidence.keep(context.terminal.ide_health.describe(), "code-server health")


@then("code-server answers that it is up")
def then_ide_up(context: Context) -> None:
    health = context.terminal.ide_health
    assert not health.problem, f"code-server is down: {health.describe()}"


@when("the developer lists code-server's extensions")
def when_list_extensions(context: Context) -> None:
    context.terminal.extensions = inside.installed_extensions(context.world, context.workspace.require())


@then("every expected extension is installed")
def then_extensions_installed(context: Context) -> None:
    installed = context.terminal.extensions
    missing = inside.missing_extensions(installed, context.world.settings.vscode_extensions)
    assert not missing, (
        f"code-server lacks extension(s) {', '.join(missing)}; installed: {', '.join(installed) or 'none'}"
    )
