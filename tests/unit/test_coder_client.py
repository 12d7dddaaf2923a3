"""The Coder client and the waits, against the lab over the wire."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from lab.cli_templates import push_version  # the lab's `coder templates push --activate=false`
from tests.helpers.lab import Lab
from workspace_spec import coder as coder_module
from workspace_spec.cleanup import Ledger
from workspace_spec.coder import CoderClient, CoderError, NotCoderError
from workspace_spec.naming import Namer
from workspace_spec.settings import load_settings
from workspace_spec.waiting import WaitFailed, observe, wait_for_agent_ready, wait_for_build
from workspace_spec.workspaces import Workspaces


@pytest.fixture
def coder(healthy_lab: Lab) -> Iterator[CoderClient]:
    client = CoderClient(healthy_lab.url, healthy_lab.token)
    yield client
    client.close()


@pytest.fixture
def workspaces(coder: CoderClient, healthy_lab: Lab) -> Iterator[Workspaces]:
    settings = load_settings({"coder_url": "", "build_timeout": 20, "agent_timeout": 10, "cleanup_timeout": 20})
    manager = Workspaces(coder, settings, Ledger(), Namer(healthy_lab.prefix))
    yield manager
    manager.ledger.release()
    healthy_lab.assert_clean()


def test_build_info_recognises_coder(coder: CoderClient) -> None:
    assert coder.build_info()["version"]


def test_an_unreachable_url_is_named(healthy_lab: Lab) -> None:
    with pytest.raises(NotCoderError, match=r"cannot reach CODER_URL http://127\.0\.0\.1:9"):
        CoderClient("http://127.0.0.1:9", healthy_lab.token, timeout=2).build_info()


def test_a_server_that_is_not_coder_is_named(healthy_lab: Lab) -> None:
    keycloak = urlsplit(healthy_lab.env["OIDC_ISSUER"])  # a real web server, but not Coder
    with pytest.raises(NotCoderError, match="is not a Coder deployment"):
        CoderClient(f"{keycloak.scheme}://{keycloak.netloc}", healthy_lab.token, timeout=2).build_info()


def test_errors_carry_status_message_and_detail(healthy_lab: Lab) -> None:
    client = CoderClient(healthy_lab.url, "AAAAAAAAAA-BBBBBBBBBBBBBBBBBBBBBB")
    with pytest.raises(CoderError) as caught:
        client.me()
    assert caught.value.status == 401
    assert caught.value.message.startswith("You are signed out")
    assert caught.value.detail == "API key is invalid."


def test_invalid_and_duplicate_names_are_refused(coder: CoderClient, workspaces: Workspaces) -> None:
    template = workspaces.template()
    with pytest.raises(CoderError) as invalid:
        coder.create_workspace(template.id, "bad_name")
    assert invalid.value.status == 400 and invalid.value.validations[0]["field"] == "name"
    created = workspaces.create(scope="run")
    with pytest.raises(CoderError) as duplicate:
        coder.create_workspace(template.id, created.name)
    assert duplicate.value.status == 409


def test_create_is_in_the_ledger_at_once_and_becomes_usable(workspaces: Workspaces) -> None:
    created = workspaces.create(scope="run")
    assert [entry.name for entry in workspaces.ledger.pending()] == [created.name]
    usable = workspaces.usable(created)
    assert usable.ide_agent("code-server").lifecycle_state == "ready"
    assert usable.app("code-server").health == "healthy"


def test_a_failed_build_ends_the_wait_at_once_with_its_error_and_logs(healthy_lab: Lab, workspaces: Workspaces) -> None:
    with healthy_lab.faults("build-fails"):
        created = workspaces.create(scope="run")
        started = time.monotonic()
        with pytest.raises(WaitFailed) as caught:
            wait_for_build(workspaces.coder, created.id, created.build_id, timeout=60)
        waited = time.monotonic() - started
    assert waited < 10, "the wait did not end on the failed build"
    assert "the start build #1 failed" in str(caught.value)
    assert "last build log lines" in str(caught.value)


def test_waits_fall_back_to_polling_when_the_stream_breaks(
    workspaces: Workspaces, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = workspaces.create(scope="run")

    def broken_watch(*args: object, **kwargs: object) -> None:
        raise httpx.ReadTimeout("stream silent")

    monkeypatch.setattr(workspaces.coder, "watch", broken_watch)
    ready = wait_for_agent_ready(workspaces.coder, created.id, "code-server", timeout=15)
    assert ready.ide_agent("code-server").lifecycle_state == "ready"


def test_the_stream_delivers_changes(workspaces: Workspaces) -> None:
    created = workspaces.create(scope="run")
    statuses = []
    for workspace in observe(workspaces.coder, created.id, time.monotonic() + 15):
        statuses.append(workspace.status)
        if workspace.status == "running":
            break
    assert statuses[-1] == "running" and len(statuses) > 1


def test_removal_is_idempotent_and_rides_through_a_failed_delete(healthy_lab: Lab, workspaces: Workspaces) -> None:
    created = workspaces.usable(workspaces.create(scope="run"))
    with healthy_lab.faults("delete-fails-once"):
        workspaces.remove(created.id)
        assert workspaces.is_gone(created.id)[0]
        workspaces.remove(created.id)  # already gone: nothing to do, no error


def test_promote_version_makes_a_pushed_version_active_and_names_coders_refusal(
    coder: CoderClient, healthy_lab: Lab
) -> None:
    good = {"main.tf": 'resource "kubernetes_pod" "main" {\n  image = "ghcr.io/coder/envbuilder:1.1.0"\n}\n'}
    template = coder.template("default", "ameide-dev")
    pushed = push_version(healthy_lab.env, "ameide-dev", good, f"{healthy_lab.prefix}-good")
    assert coder.template_version_id(template.id, f"{healthy_lab.prefix}-good") == pushed["id"]
    try:
        assert coder.promote_version(template.id, pushed["id"]) == "Updated the active template version!"
        assert coder.template("default", "ameide-dev").active_version_id == pushed["id"]
    finally:
        coder.promote_version(template.id, template.active_version_id)
    gitops = coder.template("default", "ameide-gitops")
    with pytest.raises(CoderError) as caught:
        coder.promote_version(template.id, gitops.active_version_id)
    assert caught.value.status == 400
    assert caught.value.message == "The provided template version doesn't belong to the specified template."


def test_a_rate_limit_is_waited_out_up_to_the_setting(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Coder asks for a minute; the suite waits no longer than SPEC_RATE_LIMIT_WAIT, and says so."""
    monkeypatch.setattr(coder_module, "_said", set())  # the line is said once per run (process)
    answers = iter([httpx.Response(429, headers={"Retry-After": "60"}, json={"message": "Rate limit exceeded"})])

    def coderd(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json={"ok": True}))

    client = CoderClient("http://coder.invalid", "AAAAAAAAAA-BBBBBBBBBBBBBBBBBBBBBB", rate_limit_wait=0.5)
    client._http = httpx.Client(base_url=client.url, transport=httpx.MockTransport(coderd))
    started = time.monotonic()
    assert client._get("/api/v2/anything") == {"ok": True}
    assert 0.5 <= time.monotonic() - started < 5
    assert "waiting 0.5 s of the 60 s it asks" in capfd.readouterr().err  # the process's own stderr


class _SilentServer:
    """Accepts connections and never answers (a Coder that hangs), until told to answer like Coder."""

    def __init__(self) -> None:
        self.connections = 0
        self.answering = False
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            connection, _ = self._socket.accept()
            self.connections += 1
            if not self.answering:
                self._held.append(connection)
                continue
            connection.recv(65536)
            body = b'{"username":"developer"}'
            head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
            connection.sendall(head + b"content-length: %d\r\n\r\n%s" % (len(body), body))
            connection.close()

    def accepted(self, expected: int) -> int:
        """The connections accepted once `expected` were, or after a second: a client's connect returns
        before this server's thread has accepted it."""
        deadline = time.monotonic() + 1.0
        while self.connections < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.connections


def test_once_coder_stops_answering_each_request_tries_once(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coder_module, "_said", set())
    server = _SilentServer()
    client = CoderClient(server.url, "not-a-secret", timeout=0.2)
    with pytest.raises(coder_module.CoderUnreachable):
        client.me()
    assert server.accepted(coder_module.ATTEMPTS) == coder_module.ATTEMPTS, "a lone failure is asked again"
    assert "Coder stopped answering" in capfd.readouterr().err
    started = time.monotonic()
    with pytest.raises(coder_module.CoderUnreachable):
        client.me()
    assert time.monotonic() - started < 1
    tried = server.accepted(coder_module.ATTEMPTS + 1)
    assert tried == coder_module.ATTEMPTS + 1, "a request to a silent Coder was tried again"
    server.answering = True
    assert client.me()["username"] == "developer"
    assert not client.stopped_answering, "an answer does not restore the retries"
    server.answering = False
    with pytest.raises(coder_module.CoderUnreachable):
        client.me()
    assert server.accepted(2 * coder_module.ATTEMPTS + 2) == 2 * coder_module.ATTEMPTS + 2
