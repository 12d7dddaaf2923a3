"""Where the suite looks for a workspace app (path or subdomain, from the JSON coderd sends), how it reaches
`*.localhost` app hosts, and how strictly it reads an anonymous visitor's redirect to Coder's login page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from workspace_spec.apps import PATH, SUBDOMAIN, AppLocation, app_location, open_app
from workspace_spec.coder_types import Workspace
from workspace_spec.loopback import LoopbackTransport

CODER = "http://127.0.0.1:3000"
APP_HOST = "code-server--main--ws--admin.apps.localhost:3000"
# WorkspaceApp as coderd renders it (codersdk/workspaceapps.go): subdomain_name only for subdomain apps.
PATH_APP = {"slug": "code-server", "subdomain": False, "health": "healthy", "healthcheck": {"url": "x"}}
SUBDOMAIN_APP = PATH_APP | {"subdomain": True, "subdomain_name": "code-server--main--ws--admin"}


def workspace(app: dict[str, Any]) -> Workspace:
    agent = {"id": "a", "name": "main", "status": "connected", "lifecycle_state": "ready", "apps": [app]}
    build = {"id": "b", "transition": "start", "status": "running", "resources": [{"agents": [agent]}]}
    return Workspace.from_json({"id": "w", "name": "ws", "owner_name": "admin", "latest_build": build})


def located(app: dict[str, Any], app_host: str, access_url: str = CODER) -> AppLocation:
    found = workspace(app)
    agent = found.agents[0]
    return app_location(access_url, found, agent, agent.apps[0], app_host)


def test_a_path_app_is_under_the_access_url_with_its_trailing_slash() -> None:
    assert located(PATH_APP, "") == AppLocation(f"{CODER}/@admin/ws.main/apps/code-server/", PATH)
    assert located(PATH_APP, "*.apps.localhost:3000").kind == PATH  # a wildcard alone makes no subdomain app
    assert located(PATH_APP | {"slug": "a b"}, "").url.endswith("/apps/a%20b/")


@pytest.mark.parametrize(
    ("app_host", "access_url", "url"),
    [
        ("*.apps.localhost:3000", CODER, f"http://{APP_HOST}/"),
        ("*.apps.example.com", "https://coder.example.com", "https://code-server--main--ws--admin.apps.example.com/"),
        ("*--apps.example.com", "https://coder.example.com", "https://code-server--main--ws--admin--apps.example.com/"),
    ],
)
def test_a_subdomain_app_is_on_its_own_host_under_the_wildcard(app_host: str, access_url: str, url: str) -> None:
    assert located(SUBDOMAIN_APP, app_host, access_url) == AppLocation(url, SUBDOMAIN)


def test_a_subdomain_app_without_a_wildcard_falls_back_to_its_path_as_the_dashboard_does() -> None:
    assert located(SUBDOMAIN_APP, "").kind == PATH
    assert located(SUBDOMAIN_APP | {"subdomain_name": ""}, "*.apps.localhost:3000").kind == PATH


def test_a_location_contains_only_its_own_urls() -> None:
    subdomain, path = AppLocation(f"http://{APP_HOST}/", SUBDOMAIN), located(PATH_APP, "")
    assert subdomain.contains(f"http://{APP_HOST}/?folder=/x") and not subdomain.contains(f"{CODER}/")
    assert path.contains(f"{CODER}/@admin/ws.main/apps/code-server/healthz")
    assert not path.contains(f"{CODER}/@admin/other.main/apps/code-server/")
    assert subdomain.describe() == f"subdomain app at http://{APP_HOST}/"


def test_names_under_localhost_connect_to_loopback_with_their_host_kept() -> None:
    seen: list[httpx.Request] = []

    def inner(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with httpx.Client(transport=LoopbackTransport(httpx.MockTransport(inner))) as client:
        response = client.get(f"http://{APP_HOST}/x?y=1")
        client.get("https://app.apps.localhost/")
        client.get("http://example.com/")
    assert str(seen[0].url) == "http://127.0.0.1:3000/x?y=1" and seen[0].headers["Host"] == APP_HOST
    assert str(response.url) == f"http://{APP_HOST}/x?y=1"  # the response is the request's, by its name
    assert seen[1].extensions["sni_hostname"] == "app.apps.localhost"
    assert seen[2].url.host == "example.com"


class FakeCoder:
    """Answers app requests from a table of URL -> (status, Location)."""

    url = CODER

    def __init__(self, answers: dict[str, tuple[int, str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def open_app(self, url: str, with_session: bool) -> httpx.Response:
        self.asked.append(url)
        status, location = self.answers[url]
        return httpx.Response(status, headers={"Location": location}, request=httpx.Request("GET", url))


SUBDOMAIN_AT = AppLocation(f"http://{APP_HOST}/", SUBDOMAIN)
AUTH = f"{CODER}/api/v2/applications/auth-redirect?redirect_uri=http%3A%2F%2F{APP_HOST}%2F"
LOGIN = "/login?message=You+are+signed+out&redirect=%2Fapi%2Fv2%2Fapplications%2Fauth-redirect"


def visit(location: AppLocation, answers: dict[str, tuple[int, str]]) -> Any:
    return open_app(FakeCoder(answers), location, with_session=False, timeout=0)  # type: ignore[arg-type]


def test_an_anonymous_subdomain_visitor_is_followed_through_auth_redirect_to_login() -> None:
    answer = visit(SUBDOMAIN_AT, {SUBDOMAIN_AT.url: (303, AUTH), AUTH: (303, LOGIN)})
    assert (answer.status, answer.to_login, answer.via) == (303, True, SUBDOMAIN_AT.url)
    assert answer.sent_to_login
    assert answer.describe().startswith(f"303 for {AUTH} (Location: {LOGIN}), where a 303 from {SUBDOMAIN_AT.url}")


@pytest.mark.parametrize(
    "answers",
    [
        {SUBDOMAIN_AT.url: (302, AUTH)},  # not coderd's 303: not followed, and no login
        {SUBDOMAIN_AT.url: (303, AUTH), AUTH: (302, LOGIN)},  # auth-redirect must 303 too
        {SUBDOMAIN_AT.url: (303, f"http://{APP_HOST}/login"), f"http://{APP_HOST}/login": (200, "")},  # the app's
        {SUBDOMAIN_AT.url: (303, f"{CODER}/somewhere")},  # a 303, but elsewhere
        {SUBDOMAIN_AT.url: (302, f"{CODER}/login?redirect=%2F")},  # to login, but a 302
    ],
)
def test_anything_but_coders_303s_to_login_is_not_the_login_redirect(answers: dict[str, tuple[int, str]]) -> None:
    answer = visit(SUBDOMAIN_AT, answers)
    assert not answer.sent_to_login, answer.describe()


def test_a_path_app_redirects_to_the_login_page_at_the_root_only() -> None:
    path = located(PATH_APP, "")
    assert visit(path, {path.url: (303, f"{CODER}/login?message=x&redirect=%2F")}).sent_to_login
    own_login = {path.url: (303, f"{path.url}login"), f"{path.url}login": (303, f"{path.url}login")}
    answer = visit(path, own_login)  # in-app redirects are followed, three at most
    assert answer.status == 303 and not answer.to_login  # code-server's own /login is no Coder login
