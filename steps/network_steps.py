"""Steps about reaching the platform over the network."""

from behave import then, when
from behave.runner import Context

from steps.support import evidence
from workspace_spec import reachability


@when("the suite contacts each service it is configured to use")
def when_contact_services(context: Context) -> None:
    context.network.probes = reachability.services(context.world)
    evidence.keep("\n".join(probe.describe() for probe in context.network.probes), "services contacted")


@then("every one of them answers")
def then_services_answer(context: Context) -> None:
    failing = [probe.describe() for probe in context.network.probes if probe.problem]
    assert not failing, "unreachable: " + "; ".join(failing)


@when("a WebSocket connection to Coder is opened")
def when_open_websocket(context: Context) -> None:
    settings = context.world.settings
    problem = reachability.websocket_problem(settings.coder_url or "", settings.request_timeout)
    context.network.websocket_problem = problem


@then("Coder accepts the upgrade")
def then_websocket_accepted(context: Context) -> None:
    problem = context.network.websocket_problem
    assert not problem, f"Coder's ingress does not pass WebSocket upgrades (coder ssh needs them): {problem}"
