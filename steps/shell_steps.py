"""Steps about what a developer finds inside the workspace."""

import allure
from behave import then, when
from behave.runner import Context

from workspace_spec import codeserver, inside


@when("the developer looks at the repository checkout")
def when_look_at_checkout(context: Context) -> None:
    with context.world.shell(context.state.require_workspace()) as shell:
        context.state.checkout = inside.checkout(shell, context.world.settings.repo_dir)


@then("it is a git work tree whose origin is the expected repository")
def then_checkout_is_expected(context: Context) -> None:
    checkout, settings = context.state.checkout, context.world.settings
    assert checkout.is_work_tree, f"{settings.repo_dir} is not a git work tree in the workspace: {checkout.problem}"
    assert inside.same_repository(checkout.origin, settings.repo_url), (
        f"{settings.repo_dir} has origin {checkout.origin}, expected {settings.repo_url}"
    )


@when("the developer asks each required tool for its version")
def when_ask_tools(context: Context) -> None:
    tools = [row["tool"] for row in context.table] + context.world.settings.tools
    with context.world.shell(context.state.require_workspace()) as shell:
        context.state.tool_results = inside.tool_versions(shell, list(dict.fromkeys(tools)))
    versions = inside.describe_versions(context.state.tool_results)
    print(versions)
    allure.attach(versions, name="toolchain versions", attachment_type=allure.attachment_type.TEXT)


@then("every required tool answers with its version")
def then_tools_answer(context: Context) -> None:
    results = context.state.tool_results
    broken = [f"{tool} ({result.summary()})" for tool, result in results.items() if not result.ok]
    assert not broken, (
        f"toolchain incomplete in workspace {context.state.require_workspace().name}: {'; '.join(broken)}"
    )


@when("the developer asks code-server for its health from inside the workspace")
def when_ask_ide_health(context: Context) -> None:
    world, workspace = context.world, context.state.require_workspace()
    slug = world.settings.app_slug
    app = workspace.app(slug, world.settings.agent)
    port = codeserver.health_port(app.healthcheck_url if app else None)
    assert port, f"app {slug} declares no health check URL, so its port inside the workspace is unknown"
    with world.shell(workspace) as shell:
        context.state.ide_health = codeserver.inside(shell, port)
    health = context.state.ide_health.describe()
    allure.attach(health, name="code-server health", attachment_type=allure.attachment_type.TEXT)


@then("code-server answers that it is up")
def then_ide_up(context: Context) -> None:
    health = context.state.ide_health
    assert not health.problem, f"code-server is down: {health.describe()}"


@when("the developer lists code-server's extensions")
def when_list_extensions(context: Context) -> None:
    with context.world.shell(context.state.require_workspace()) as shell:
        context.state.extensions = inside.installed_extensions(shell, context.world.settings.extensions_dir)


@then("every expected extension is installed")
def then_extensions_installed(context: Context) -> None:
    installed = context.state.extensions
    missing = [ext for ext in context.world.settings.vscode_extensions if ext.lower() not in installed]
    assert not missing, (
        f"code-server lacks extension(s) {', '.join(missing)}; installed: {', '.join(installed) or 'none'}"
    )
