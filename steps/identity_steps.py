"""Steps about sign-in (OIDC through Keycloak) and first-run setup."""

from urllib.parse import urlsplit

from behave import then, when
from behave.runner import Context

from workspace_spec import identity


@when("the deployment's sign-in configuration is read")
def when_read_sign_in(context: Context) -> None:
    context.state.sign_in = identity.sign_in(context.world.coder)


@then("sign-in with OIDC is enabled")
def then_oidc_enabled(context: Context) -> None:
    assert context.state.sign_in.oidc_enabled, (
        "Coder reports OIDC sign-in disabled (users/authmethods: oidc.enabled false)"
    )


@then("Coder names the expected Keycloak issuer")
def then_expected_issuer(context: Context) -> None:
    configured, expected = context.state.sign_in.issuer_url, context.world.settings.oidc_issuer
    assert configured, "Coder's deployment config names no OIDC issuer (config.oidc.issuer_url is empty)"
    if expected:
        assert identity.same_issuer(configured, expected), f"Coder's OIDC issuer is {configured}, expected {expected}"
    else:
        assert "/realms/" in urlsplit(configured).path, f"Coder's OIDC issuer {configured} is not a Keycloak realm URL"


@then("that issuer publishes a discovery document naming itself")
def then_discovery_matches(context: Context) -> None:
    issuer = context.state.sign_in.issuer_url
    document = identity.discovery(issuer, context.world.settings.request_timeout)
    assert identity.same_issuer(document.get("issuer", ""), issuer), (
        f"the discovery document of {issuer} names issuer {document.get('issuer')!r}"
    )


@when("the deployment is asked whether its first user exists")
def when_ask_first_user(context: Context) -> None:
    context.state.first_user = context.world.coder.first_user_created()


@then("it answers that the initial user has already been created")
def then_first_user_exists(context: Context) -> None:
    created, message = context.state.first_user
    assert created, f"first-run setup is not complete: GET /api/v2/users/first answered {message!r}"
