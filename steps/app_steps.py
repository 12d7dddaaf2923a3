"""Steps about workspace apps reached through Coder's app proxy."""

from behave import then, when
from behave.runner import Context

from steps.support import evidence
from workspace_spec import apps


def _open(context: Context, with_session: bool) -> None:
    world, settings = context.world, context.world.settings
    workspace = context.workspace.require()
    context.app_proxy.visit = visit = apps.visit(
        world.coder, workspace, settings.app_slug, settings.agent, with_session, settings.app_timeout
    )
    evidence.keep(f"{settings.app_slug}: {visit.location.describe()}", "app location")  # path or subdomain


@when("the developer opens the code-server app with their session")
def when_open_app_signed_in(context: Context) -> None:
    _open(context, with_session=True)


@when("someone opens the code-server app without a session")
def when_open_app_anonymously(context: Context) -> None:
    _open(context, with_session=False)


@then("the app proxy serves code-server")
def then_app_served(context: Context) -> None:
    answer, behind = context.app_proxy.visit.answer, context.app_proxy.visit.behind
    assert not answer.to_login, f"app proxy sent a signed-in request to the login page: {answer.describe()}"
    assert answer.served, f"app proxy did not serve the app: it answered {answer.describe()}"
    assert not behind.problem, f"the app proxy serves something, but not code-server: {behind.describe()}"


@then("they are redirected to the Coder login page")
def then_redirected_to_login(context: Context) -> None:
    answer = context.app_proxy.visit.answer
    assert answer.sent_to_login, (
        f"app proxy did not send an anonymous visitor to /login (expected 303): it answered {answer.describe()}"
    )


@when("the developer opens VS Code in a browser signed in to Coder")
def when_open_vscode_in_browser(context: Context) -> None:
    world = context.world
    visit = context.app_proxy.browser = apps.open_in_browser(
        world.coder, context.workspace.require(), world.settings, world.timings
    )
    if visit.workbench.screenshot:
        evidence.picture(visit.workbench.screenshot, "VS Code in the browser")
    evidence.keep(visit.describe(), "browser visit")


@then("VS Code shows the repository and stays connected to its server")
def then_vscode_works(context: Context) -> None:
    problem = context.app_proxy.browser.workbench.problem
    assert not problem, problem
