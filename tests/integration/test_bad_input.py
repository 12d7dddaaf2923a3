"""Bad input stops the run with one clear line before any workspace is created (how fast: bin/benchmark)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.lab import Lab
from tests.helpers.suite import behave_counts, cleanup_counts, run_suite, tail

WRONG_TOKEN = "AAAAAAAAAA-BBBBBBBBBBBBBBBBBBBBBB"


@pytest.fixture
def not_coder() -> Iterator[str]:
    """A web server that is not Coder: it answers every GET with a plain page."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>hello</html>")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _hook_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("HOOK-ERROR in before_all")]
    assert len(lines) == 1, tail(output, 2000)
    return lines[0]


def test_a_url_that_is_not_coder(not_coder: str, healthy_lab: Lab, tmp_path: Path) -> None:
    run = run_suite(tmp_path, healthy_lab.suite_env(CODER_URL=not_coder), "--tags=@smoke")
    assert run.returncode != 0
    assert f"CODER_URL {not_coder} is not a Coder deployment" in _hook_error(run.output)
    scenarios = behave_counts(run.output)
    assert (scenarios["passed"], scenarios["failed"]) == (0, 0), tail(run.output, 2000)


def test_an_unreachable_url(healthy_lab: Lab, tmp_path: Path) -> None:
    run = run_suite(tmp_path, healthy_lab.suite_env(CODER_URL="http://127.0.0.1:9"), "--tags=@smoke")
    assert run.returncode != 0
    assert "cannot reach CODER_URL http://127.0.0.1:9:" in _hook_error(run.output)  # port 9, not 90


def test_a_rejected_token_creates_nothing(healthy_lab: Lab, tmp_path: Path) -> None:
    run = run_suite(tmp_path, healthy_lab.suite_env(CODER_SESSION_TOKEN=WRONG_TOKEN), "--tags=@smoke")
    assert run.returncode != 0
    line = _hook_error(run.output)
    assert "CODER_SESSION_TOKEN was rejected" in line
    assert WRONG_TOKEN not in run.output and WRONG_TOKEN.split("-")[1] not in run.output
    assert healthy_lab.workspaces() == []


def test_an_unknown_template_creates_nothing(healthy_lab: Lab, tmp_path: Path) -> None:
    run = run_suite(tmp_path, healthy_lab.suite_env(SPEC_TEMPLATE="no-such-template"), "--tags=@smoke")
    assert run.returncode != 0
    assert "template 'no-such-template' not found in organization 'default'" in _hook_error(run.output)
    assert healthy_lab.workspaces() == []


def test_a_cluster_identity_without_a_right_it_needs_creates_nothing(lab: Lab, tmp_path: Path) -> None:
    """The kubeconfig's identity may not list volume claims: refused up front, naming the right."""
    with_fault = lab.suite_env()
    with lab.faults("kube-right-missing"):
        run = run_suite(tmp_path, with_fault, "--tags=@smoke")
    assert run.returncode != 0
    line = _hook_error(run.output)
    assert "lacks rights the checks need, in all namespaces: list persistentvolumeclaims" in line, line
    assert lab.workspaces() == []


def test_tags_that_select_nothing_fail_the_run(healthy_lab: Lab, tmp_path: Path) -> None:
    run = run_suite(tmp_path, healthy_lab.suite_env(), "--tags=@smok")
    assert run.returncode != 0, "a run that checked nothing passed"
    assert "no scenario matched --tags=@smok: nothing was checked" in run.output


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CODER_URL": "coder.dev.ameide.io", "CODER_SESSION_TOKEN": WRONG_TOKEN}, "CODER_URL (-D coder_url) must be"),
        ({"SPEC_NAME_PREFIX": "Bad_Prefix"}, "SPEC_NAME_PREFIX (-D name_prefix) must be"),
    ],
)
def test_malformed_settings(env: dict[str, str], expected: str, healthy_lab: Lab, tmp_path: Path) -> None:
    run = run_suite(tmp_path, healthy_lab.suite_env(**env), "--tags=@smoke")
    assert run.returncode != 0
    assert expected in _hook_error(run.output)


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["-D", "tempalte=ameide-dev"], {}, "-D tempalte is no setting (did you mean -D template?)"),
        (["-D", "github_token="], {}, "GITHUB_TOKEN (-D github_token) is empty"),
        ([], {"KUBECONFIG": "/nonexistent/kubeconfig"}, "KUBECONFIG (-D kubeconfig) names no file: /nonexistent"),
        (
            [],
            {"SPEC_CODER_CLI": "no-such-coder-cli"},
            "the Coder CLI 'no-such-coder-cli' (SPEC_CODER_CLI) is not on PATH",
        ),
        (
            [],
            {"SPEC_PROMOTE_ON_PASS": "true"},
            "SPEC_PROMOTE_ON_PASS (-D promote_on_pass) promotes the pushed version the run checks, and none is set: "
            "set SPEC_TEMPLATE_VERSION for template 'ameide-dev'",
        ),
    ],
    ids=["unknown-name", "empty-secret", "missing-kubeconfig", "missing-coder-cli", "promote-without-version"],
)
def test_bad_input_is_refused_in_one_line_before_anything_is_created(
    args: list[str], env: dict[str, str], expected: str, healthy_lab: Lab, tmp_path: Path
) -> None:
    run = run_suite(tmp_path, healthy_lab.suite_env(**env), "--tags=@smoke", *args)
    assert run.returncode != 0
    assert expected in _hook_error(run.output)
    assert "nothing was checked" not in run.output  # no misleading follow-up
    assert healthy_lab.workspaces() == []


def test_a_run_whose_every_scenario_was_skipped_fails(healthy_lab: Lab, tmp_path: Path) -> None:
    run = run_suite(tmp_path, healthy_lab.suite_env(SPEC_VSCODE_EXTENSIONS=""), "--tags=@extension")
    assert run.returncode != 0, "a run that checked nothing passed"
    assert "nothing was checked: all 1 selected scenarios were skipped: no code-server extensions" in run.output


def test_a_template_version_is_checked_and_an_unknown_one_refused(healthy_lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "known").mkdir()
    (tmp_path / "unknown").mkdir()
    known = run_suite(tmp_path / "known", healthy_lab.suite_env(SPEC_TEMPLATE_VERSION="v1"), "--tags=@policy")
    assert known.returncode == 0, tail(known.output, 2000)
    unknown = run_suite(tmp_path / "unknown", healthy_lab.suite_env(SPEC_TEMPLATE_VERSION="v9"), "--tags=@policy")
    assert unknown.returncode != 0
    assert "version 'v9' of template 'ameide-dev' (SPEC_TEMPLATE_VERSION): No template version found by name" in (
        _hook_error(unknown.output)
    )
    assert healthy_lab.workspaces() == []


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SPEC_E2E_REPO": ""}, "SPEC_E2E_REPO (-D e2e_repo) is not set: name a bot-writable owner/repository"),
        ({"SPEC_E2E_REPO": "ameideio/ameide"}, "SPEC_E2E_REPO (-D e2e_repo) ameideio/ameide is the product repository"),
    ],
    ids=["no-e2e-repo", "product-repo"],
)
def test_e2e_scenarios_without_their_settings_are_refused_before_anything_is_created(
    env: dict[str, str], expected: str, healthy_lab: Lab, tmp_path: Path
) -> None:
    run = run_suite(tmp_path, healthy_lab.suite_env(**env), "--tags=@e2e")
    assert run.returncode != 0
    assert expected in _hook_error(run.output), run.tail
    assert cleanup_counts(run.output).created == 0, run.tail
    assert "ASSERT FAILED" not in run.output and "Traceback" not in run.output
    assert healthy_lab.workspaces() == []
