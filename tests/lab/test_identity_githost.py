"""The lab's Keycloak realm (OIDC discovery, JWKS) and its git host, used with urllib and the real git."""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.serialization import load_der_public_key

from lab.github.githost import GitHost
from lab.github.smarthttp import git_app
from lab.identity import idp_app
from tests.helpers.git import git
from tests.helpers.serving import serving

TOKEN = "lab-git-token-0123456789"


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    """(status, headers, body as JSON when it is JSON else bytes)."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, head, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, head, body = error.code, error.headers, error.read()
    return status, head, json.loads(body) if "json" in head.get("Content-Type", "") else body


def b64url_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def test_discovery_names_the_issuer_it_was_fetched_from_and_an_rsa_key() -> None:
    with serving(idp_app("ameide")) as base:
        for origin in (base, base.replace("127.0.0.1", "localhost")):
            status, _, doc = fetch(f"{origin}/realms/ameide/.well-known/openid-configuration")
            assert status == 200 and doc["issuer"] == f"{origin}/realms/ameide"
            assert doc["jwks_uri"] == f"{origin}/realms/ameide/protocol/openid-connect/certs"
            assert doc["token_endpoint"].startswith(doc["issuer"] + "/protocol/openid-connect/")
            assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
            assert "code" in doc["response_types_supported"]

        status, _, jwks = fetch(doc["jwks_uri"])
        (key,) = jwks["keys"]
        assert status == 200 and (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig") and key["kid"]
        assert b64url_int(key["n"]).bit_length() == 2048 and b64url_int(key["e"]) == 65537

        status, _, realm = fetch(f"{base}/realms/ameide")
        assert (status, realm["realm"], realm["tokens-not-before"]) == (200, "ameide", 0)
        assert realm["token-service"] == f"{base}/realms/ameide/protocol/openid-connect"
        public = load_der_public_key(base64.b64decode(realm["public_key"]))
        assert public.public_numbers().n == b64url_int(key["n"])  # type: ignore[union-attr]

        assert fetch(f"{base}/realms/other/.well-known/openid-configuration")[::2] == (
            404,
            {"error": "Realm does not exist"},
        )
        with serving(idp_app("ameide")) as other:  # every app has its own key
            assert fetch(f"{other}/realms/ameide/protocol/openid-connect/certs")[2]["keys"][0]["kid"] != key["kid"]


@contextmanager
def git_host(tmp_path: Path, *middlewares: Callable[..., Awaitable[web.StreamResponse]]) -> Iterator[GitHost]:
    host = GitHost(tmp_path / "repos", [TOKEN])
    host.create_repo("ameideio", "ameide", {"README.md": "# Ameide\n", "scripts/setup.sh": "#!/bin/sh\necho hi\n"})
    app = git_app(host)
    app.middlewares.extend(middlewares)
    with serving(app) as base:
        host.base_url = base
        yield host


def test_clone_is_anonymous_and_gets_the_seeded_commit(tmp_path: Path) -> None:
    with git_host(tmp_path) as host:
        url = host.clone_url("ameideio", "ameide")
        cloned = git("clone", url, "ameide", cwd=tmp_path)
        assert cloned.returncode == 0, cloned.stderr
        work = tmp_path / "ameide"
        assert (work / "README.md").read_text() == "# Ameide\n"
        assert os.access(work / "scripts" / "setup.sh", os.X_OK) and not os.access(work / "README.md", os.X_OK)
        log = git("log", "--format=%an <%ae>|%s", cwd=work).stdout
        assert log == "Ameide Lab <lab@example.invalid>|Initial commit\n"
        assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=work).stdout == "main\n"
        assert git("ls-remote", url, cwd=tmp_path).returncode == 0
        assert fetch(host.clone_url("ameideio", "missing") + "/info/refs?service=git-upload-pack")[0] == 404
        with pytest.raises(FileExistsError):
            host.create_repo("ameideio", "ameide", {})


def test_push_needs_the_token(tmp_path: Path) -> None:
    with git_host(tmp_path) as host:
        url = host.clone_url("ameideio", "ameide")
        advert = f"{url}/info/refs?service=git-receive-pack"
        wrong = {"Authorization": "Basic " + base64.b64encode(b"lab:not-the-token").decode()}
        for status, headers, _ in (
            fetch(advert),
            fetch(advert, headers=wrong),
            fetch(f"{url}/git-receive-pack", method="POST"),
        ):
            assert (status, headers["WWW-Authenticate"]) == (401, 'Basic realm="lab"')

        assert git("clone", url, "work", cwd=tmp_path).returncode == 0
        work = tmp_path / "work"
        (work / "notes.txt").write_text("pushed from the test\n")
        git("add", "notes.txt", cwd=work)
        assert git("commit", "-m", "Add notes", cwd=work).returncode == 0

        anonymous = git("push", "origin", "main", cwd=work)
        assert anonymous.returncode != 0 and "terminal prompts disabled" in anonymous.stderr
        pushed = git("push", "origin", "main", cwd=work, token=TOKEN)
        assert pushed.returncode == 0, pushed.stderr
        assert TOKEN not in pushed.stderr + pushed.stdout + (work / ".git" / "config").read_text()

        assert git("clone", url, "again", cwd=tmp_path).returncode == 0
        assert (tmp_path / "again" / "notes.txt").read_text() == "pushed from the test\n"


def test_large_gzipped_requests_reach_the_backend(tmp_path: Path) -> None:
    encodings: list[str] = []

    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        encodings.append(request.headers.get("Content-Encoding", ""))
        return await handler(request)

    with git_host(tmp_path, record) as host:
        url = host.clone_url("ameideio", "ameide")
        assert git("clone", url, "work", cwd=tmp_path).returncode == 0
        work = tmp_path / "work"
        for i in range(40):  # 40 distinct branch tips: the next clone's want list exceeds git's gzip threshold
            git("commit", "--allow-empty", "-m", f"change {i}", cwd=work)
            git("branch", f"topic-{i}", cwd=work)
        assert git("push", "origin", "--all", cwd=work, token=TOKEN).returncode == 0
        cloned = git("clone", "--mirror", url, "mirror", cwd=tmp_path)
        assert cloned.returncode == 0, cloned.stderr
        assert "gzip" in encodings
        assert len(git("branch", "--list", "topic-*", cwd=tmp_path / "mirror").stdout.split()) == 40
