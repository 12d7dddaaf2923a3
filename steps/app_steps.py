"""Steps about workspace apps reached through Coder's app proxy."""

from urllib.parse import urlsplit

from behave import then, when
from behave.runner import Context

from workspace_spec import codeserver
from workspace_spec.apps import app_path, open_app


def _open(context: Context, with_session: bool) -> None:
    world, state = context.world, context.state
    settings = world.settings
    path = app_path(world.coder, state.require_workspace(), settings.app_slug, settings.agent)
    state.app_answer = open_app(world.coder, path, with_session=with_session, timeout=settings.app_timeout)
    if with_session and state.app_answer.status < 300:
        state.app_behind = codeserver.through_app_proxy(world.coder, path)


@when("the developer opens the code-server app with their session")
def when_open_app_signed_in(context: Context) -> None:
    _open(context, with_session=True)


@when("someone opens the code-server app without a session")
def when_open_app_anonymously(context: Context) -> None:
    _open(context, with_session=False)


@then("the app proxy serves code-server")
def then_app_served(context: Context) -> None:
    answer = context.state.app_answer
    assert not urlsplit(answer.location).path.endswith("/login"), (
        f"app proxy sent a signed-in request to the login page: {answer.describe()}"
    )
    assert 200 <= answer.status < 300, f"app proxy did not serve the app: it answered {answer.describe()}"
    behind = context.state.app_behind
    assert not behind.problem, f"the app proxy serves something, but not code-server: {behind.describe()}"


@then("they are redirected to the Coder login page")
def then_redirected_to_login(context: Context) -> None:
    answer = context.state.app_answer
    assert answer.status == 303 and urlsplit(answer.location).path.endswith("/login"), (
        f"app proxy did not send an anonymous visitor to /login (expected 303): it answered {answer.describe()}"
    )
