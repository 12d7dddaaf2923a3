"""Steps about sign-in (OIDC through Keycloak) and first-run setup."""

from behave import then, when
from behave.runner import Context

from workspace_spec import identity


@when("the deployment's sign-in configuration is read")
def when_read_sign_in(context: Context) -> None:
    context.auth.sign_in = identity.sign_in(context.world.coder)


@then("sign-in with OIDC is enabled")
def then_oidc_enabled(context: Context) -> None:
    assert context.auth.sign_in.oidc_enabled, (
        "Coder reports OIDC sign-in disabled (users/authmethods: oidc.enabled false)"
    )


@then("Coder names the expected Keycloak issuer")
def then_expected_issuer(context: Context) -> None:
    problem = identity.issuer_problem(context.auth.sign_in.issuer_url, context.world.settings.oidc_issuer)
    assert not problem, problem


@then("that issuer publishes a discovery document naming itself")
def then_discovery_matches(context: Context) -> None:
    problem = identity.discovery_problem(context.auth.sign_in.issuer_url, context.world.settings.request_timeout)
    assert not problem, problem


@when("the deployment is asked whether its first user exists")
def when_ask_first_user(context: Context) -> None:
    context.auth.first_user = context.world.coder.first_user_created()


@then("it answers that the initial user has already been created")
def then_first_user_exists(context: Context) -> None:
    created, message = context.auth.first_user
    assert created, f"first-run setup is not complete: GET /api/v2/users/first answered {message!r}"
