"""The edges of how the suite reaches a workspace app: the URL it builds from the access URL and the slug, which
redirects it follows inside the app (and with which session), how it counts attempts while the app warms up,
and what an answer tells its reader (Location without secrets, the login page or not)."""

from __future__ import annotations

import httpx
import pytest

from workspace_spec.apps import PATH, SUBDOMAIN, AppAnswer, AppLocation, app_location, open_app
from workspace_spec.coder_types import Workspace

CODER = "http://127.0.0.1:3000"
APP_HOST = "code-server--main--ws--admin.apps.localhost:3000"
SUBDOMAIN_AT = AppLocation(f"http://{APP_HOST}/", SUBDOMAIN)
PATH_AT = AppLocation(f"{CODER}/@admin/ws.main/apps/code-server/", PATH)
AUTH = f"{CODER}/api/v2/applications/auth-redirect?redirect_uri=http%3A%2F%2F{APP_HOST}%2F"


def located(access_url: str, slug: str = "code-server") -> AppLocation:
    app = {"slug": slug, "subdomain": False, "health": "healthy", "healthcheck": {"url": "x"}}
    agent = {"id": "a", "name": "main", "status": "connected", "lifecycle_state": "ready", "apps": [app]}
    build = {"id": "b", "transition": "start", "status": "running", "resources": [{"agents": [agent]}]}
    found = Workspace.from_json({"id": "w", "name": "ws", "owner_name": "admin", "latest_build": build})
    return app_location(access_url, found, found.agents[0], found.agents[0].apps[0], "")


@pytest.mark.parametrize("access_url", ["https://coder.example.com/", "https://coder.example.com//"])
def test_an_access_url_with_a_trailing_slash_gives_no_double_slash(access_url: str) -> None:
    assert located(access_url).url == "https://coder.example.com/@admin/ws.main/apps/code-server/"


def test_the_access_url_is_kept_as_given_up_to_its_trailing_slashes() -> None:
    assert located("http://DEVBOX/").url == "http://DEVBOX/@admin/ws.main/apps/code-server/"
    assert located("http://devbox ").url.startswith("http://devbox /@admin/")  # only slashes are dropped


def test_a_slug_is_one_path_segment_even_with_a_slash_in_it() -> None:
    assert located(CODER, "a/b").url == f"{CODER}/@admin/ws.main/apps/a%2Fb/"


Answers = dict[str, tuple[int, str | None]]  # URL -> (status, Location; None: no Location header)


class RecordingCoder:
    """Answers app requests from a table, and records each request with whether it carried the session."""

    url = CODER

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.asked: list[tuple[str, bool]] = []

    def open_app(self, url: str, with_session: bool) -> httpx.Response:
        self.asked.append((url, with_session))
        status, location = self.answers[url]
        headers = {} if location is None else {"Location": location}
        return httpx.Response(status, headers=headers, request=httpx.Request("GET", url))


def visit(location: AppLocation, answers: Answers, with_session: bool = False) -> tuple[AppAnswer, RecordingCoder]:
    coder = RecordingCoder(answers)
    answer = open_app(coder, location, with_session=with_session, timeout=0)  # type: ignore[arg-type]
    return answer, coder


def test_a_direct_answer_is_asked_once_and_reported_as_it_came() -> None:
    answer, coder = visit(PATH_AT, {PATH_AT.url: (200, None)})
    assert coder.asked == [(PATH_AT.url, False)]
    assert (answer.url, answer.status, answer.location, answer.attempts, answer.via) == (PATH_AT.url, 200, "", 1, "")
    assert answer.describe() == f"200 for {PATH_AT.url} after 1 attempt(s)"


def test_an_app_still_warming_up_when_time_is_up_answers_its_last_502() -> None:
    answer, coder = visit(PATH_AT, {PATH_AT.url: (502, None)})
    assert (answer.status, answer.attempts, answer.to_login) == (502, 1, False)
    assert len(coder.asked) == 1


@pytest.mark.parametrize("with_session", [True, False])
def test_a_redirect_inside_the_app_is_followed_relative_to_where_it_came_from(with_session: bool) -> None:
    folder = f"{PATH_AT.url}?folder=/home/coder/repo"
    answers: Answers = {PATH_AT.url: (302, "./?folder=/home/coder/repo"), folder: (200, None)}
    answer, coder = visit(PATH_AT, answers, with_session)
    assert coder.asked == [(PATH_AT.url, with_session), (folder, with_session)]
    assert (answer.url, answer.status, answer.attempts) == (folder, 200, 1)


@pytest.mark.parametrize("status", [302, 304])
def test_a_3xx_without_a_location_is_the_answer_not_a_redirect_to_itself(status: int) -> None:
    answer, coder = visit(PATH_AT, {PATH_AT.url: (status, None)})
    assert coder.asked == [(PATH_AT.url, False)]
    assert (answer.status, answer.location, answer.to_login) == (status, "", False)


def test_a_redirect_out_of_the_app_is_not_followed() -> None:
    answer, coder = visit(PATH_AT, {PATH_AT.url: (302, f"{CODER}/elsewhere/")})
    assert coder.asked == [(PATH_AT.url, False)]
    assert (answer.status, answer.location) == (302, f"{CODER}/elsewhere/")


def test_auth_redirect_is_followed_without_the_session_and_its_app_key_is_kept_out_of_the_answer() -> None:
    keyed = f"http://{APP_HOST}/?coder_application_connect_api_key=s3cr3t-k3y"
    answer, coder = visit(SUBDOMAIN_AT, {SUBDOMAIN_AT.url: (303, AUTH), AUTH: (307, keyed)})
    assert coder.asked == [(SUBDOMAIN_AT.url, False), (AUTH, False)]
    assert (answer.location, answer.via) == (f"http://{APP_HOST}/", SUBDOMAIN_AT.url)
    assert "s3cr3t" not in answer.describe()


def test_a_location_without_an_app_key_keeps_its_query() -> None:
    login = f"{CODER}/login?redirect=%2F%40admin%2Fws.main%2Fapps%2Fcode-server%2F"
    answer, _ = visit(PATH_AT, {PATH_AT.url: (303, login)})
    assert answer.location == login and answer.sent_to_login


def test_a_subdomain_apps_own_relative_login_redirect_is_not_coders_login() -> None:
    own_login = f"http://{APP_HOST}/login"
    answer, coder = visit(SUBDOMAIN_AT, {SUBDOMAIN_AT.url: (303, "/login"), own_login: (303, "/login")})
    assert len(coder.asked) == 4  # in-app redirects are followed three times at most
    assert (answer.status, answer.to_login, answer.sent_to_login) == (303, False, False)


def test_a_path_apps_relative_redirect_to_the_root_login_is_coders_login() -> None:
    answer, _ = visit(PATH_AT, {PATH_AT.url: (303, "/login?redirect=%2F")})
    assert answer.to_login and answer.sent_to_login


def test_an_answer_that_is_no_redirect_is_not_the_login_page_whatever_its_headers() -> None:
    answer, _ = visit(PATH_AT, {PATH_AT.url: (200, f"{CODER}/login")})
    assert (answer.status, answer.to_login) == (200, False)


def test_a_signed_in_visitor_is_not_sent_to_auth_redirect() -> None:
    answer, coder = visit(SUBDOMAIN_AT, {SUBDOMAIN_AT.url: (303, AUTH)}, with_session=True)
    assert coder.asked == [(SUBDOMAIN_AT.url, True)]
    assert (answer.status, answer.via) == (303, "")
