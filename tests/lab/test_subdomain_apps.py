"""Subdomain apps (`app-on-subdomain`: code-server declared with `subdomain = true` on a deployment with a
wildcard access URL) over the wire: what coderd reports, the app host's sign-in round trip through
auth-redirect, and the smoke's app checks passing against it. App hosts are `*.apps.localhost`; the
tests reach them on coderd's loopback address with the app host as Host, as a browser does."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx

from tests.helpers.coderd import agents, create, ready, wait
from tests.helpers.ide import BROWSER_RUNS
from tests.helpers.lab import Lab
from tests.helpers.suite import FAST_TIMEOUTS, ROOT, attachment_text, run_suite

SIGNED_OUT = "You are signed out or your session has expired. Please sign in again to continue."
KEY = "coder_application_connect_api_key_35e783"


def on_app_host(lab: Lab, host: str, path: str = "/", **kwargs: object) -> httpx.Response:
    return httpx.get(f"{lab.url}{path}", headers={"Host": host, **kwargs.pop("headers", {})}, **kwargs)


def test_without_a_wildcard_coderd_has_no_app_host(own_lab: Lab, api: httpx.Client) -> None:
    assert api.get("/api/v2/applications/host").json() == {"host": ""}
    assert httpx.get(f"{own_lab.url}/api/v2/applications/host").status_code == 401
    refused = api.get("/api/v2/applications/auth-redirect", params={"redirect_uri": "http://x.apps.localhost/"})
    assert refused.status_code == 400 and refused.json()["message"] == "Invalid redirect_uri."
    workspace = wait(api, create(api, "pathapp")["id"], ready)
    app = agents(workspace)[0]["apps"][0]
    assert app["subdomain"] is False and "subdomain_name" not in app


def test_a_subdomain_app_signs_a_browser_in_through_auth_redirect(own_lab: Lab, api: httpx.Client) -> None:
    port = own_lab.url.rsplit(":", 1)[1]
    with own_lab.faults("app-on-subdomain"):
        workspace = wait(api, create(api, "subapp")["id"], ready)
        app = agents(workspace)[0]["apps"][0]
        assert (app["subdomain"], app["subdomain_name"]) == (True, "code-server--main--subapp--admin")
        assert api.get("/api/v2/applications/host").json() == {"host": f"*.apps.localhost:{port}"}
        host = f"code-server--main--subapp--admin.apps.localhost:{port}"

        # Anonymous: to auth-redirect on the access URL, which sends a visitor without a session to sign in.
        anonymous = on_app_host(own_lab, host, "/healthz")
        assert anonymous.status_code == 303
        redirect = anonymous.headers["Location"]
        app_url = quote_plus(f"http://{host}/healthz")
        assert redirect == f"{own_lab.url}/api/v2/applications/auth-redirect?redirect_uri={app_url}"
        to_login = httpx.get(redirect)
        assert to_login.status_code == 303
        login = urlsplit(to_login.headers["Location"])
        assert login.path == "/login" and not login.netloc  # relative, as RedirectToLogin without a dashboard URL
        assert parse_qs(login.query) == {"message": [SIGNED_OUT], "redirect": [redirect.removeprefix(own_lab.url)]}

        # Signed in on the access URL: back to the app with the key, which the app host trades for its cookie.
        back = httpx.get(redirect, cookies={"coder_session_token": own_lab.token})
        assert back.status_code == 303
        returned = urlsplit(back.headers["Location"])
        assert (returned.netloc, returned.path) == (host, "/healthz") and KEY in parse_qs(returned.query)
        traded = on_app_host(own_lab, host, f"/healthz?{returned.query}")
        assert (traded.status_code, traded.headers["Location"]) == (303, "/healthz")
        cookie = traded.cookies["coder_subdomain_app_session_token"]
        assert cookie and cookie != own_lab.token  # an application_connect key of its own
        health = on_app_host(own_lab, host, "/healthz", cookies={"coder_subdomain_app_session_token": cookie})
        assert health.status_code == 200 and health.json()["status"] in ("alive", "expired")
        assert on_app_host(own_lab, host, f"/?{KEY}=forged").status_code == 400

        # The session header works on the app host directly, as the suite sends it.
        signed_in = {"Coder-Session-Token": own_lab.token}
        first = on_app_host(own_lab, host, headers=signed_in)
        assert first.status_code == 307 and first.headers["Location"].startswith("/?folder=")
        page = on_app_host(own_lab, host, first.headers["Location"], headers=signed_in)
        assert page.status_code == 200 and "workbench" in page.text  # the real one's workbench, or the stand-in's
        bad = on_app_host(own_lab, f"not-an-app.apps.localhost:{port}")
        assert bad.status_code == 400 and "Invalid Application URL" in bad.text


def test_the_smokes_app_checks_pass_on_a_subdomain_app(own_lab: Lab, tmp_path: Path) -> None:
    with own_lab.faults("app-on-subdomain"):
        feature = str(ROOT / "features" / "app_proxy.feature")
        run = run_suite(tmp_path, own_lab.suite_env(**FAST_TIMEOUTS), feature, features=False)
    assert run.returncode == 0, run.tail
    assert set(run.statuses().values()) == {"passed"} and len(run.statuses()) == (3 if BROWSER_RUNS else 2)
    for scenario in run.statuses():
        if "in the browser" in scenario:  # the browser signed in through auth-redirect, as a developer's does
            where = attachment_text(tmp_path, scenario, "browser visit")
            assert where.startswith("subdomain app at http://code-server--main--"), where
        else:
            where = attachment_text(tmp_path, scenario, "app location")
            assert where.startswith("code-server: subdomain app at http://code-server--main--"), where
    own_lab.assert_clean()
