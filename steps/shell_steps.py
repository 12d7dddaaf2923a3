"""Steps about what a developer finds inside the workspace, over SSH."""

import json

import allure
from behave import then, when
from behave.runner import Context

from workspace_spec import inside


@when("the developer looks at the repository checkout over SSH")
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


@when("the developer asks each required tool for its version over SSH")
def when_ask_tools(context: Context) -> None:
    with context.world.shell(context.state.require_workspace()) as shell:
        context.state.tool_results = inside.tool_versions(shell, context.world.settings.tools)
    versions = "\n".join(
        f"{tool}: {result.stdout.strip().splitlines()[0] if result.ok and result.stdout.strip() else result.summary()}"
        for tool, result in context.state.tool_results.items()
    )
    print(versions)
    allure.attach(versions, name="toolchain versions", attachment_type=allure.attachment_type.TEXT)


@then("every required tool answers with its version")
def then_tools_answer(context: Context) -> None:
    results = context.state.tool_results
    assert results, "no tools are configured (SPEC_TOOLS is empty)"
    broken = [f"{tool} ({result.summary()})" for tool, result in results.items() if not result.ok]
    assert not broken, (
        f"toolchain incomplete in workspace {context.state.require_workspace().name}: {'; '.join(broken)}"
    )


@when("the developer asks code-server for its health on localhost")
def when_ask_ide_health(context: Context) -> None:
    workspace, slug = context.state.require_workspace(), context.world.settings.app_slug
    app = workspace.app(slug)
    port = inside.health_port(app.healthcheck_url if app else None)
    assert port, f"app {slug} declares no health check URL, so its port inside the workspace is unknown"
    with context.world.shell(workspace) as shell:
        context.state.ide_health = inside.ide_health(shell, port)


@then("code-server reports that it is alive")
def then_ide_alive(context: Context) -> None:
    answer = context.state.ide_health
    assert answer.ok, f"code-server health on localhost did not answer: {answer.summary()}"
    try:
        status = json.loads(answer.stdout).get("status")
    except (ValueError, AttributeError):
        status = None
    assert status == "alive", f"code-server health on localhost reports {answer.stdout.strip()[:200]!r}, not alive"


@when("the developer lists code-server's extensions over SSH")
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
