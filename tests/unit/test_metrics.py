"""reporting/metrics.py: the series a run exports say how each scenario and the run ended, carry no secret,
and a push that fails is one line that changes nothing else."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from reporting import metrics
from reporting import summary as report_summary
from tests.helpers.serving import serving
from workspace_spec import secrets
from workspace_spec.cleanup import CleanupReport
from workspace_spec.settings import SettingsError, load_settings
from workspace_spec.timings import Timings

TOKEN = "abcdefghij-" + "k" * 22
PASSWORD = "hunter2-not-for-labels"
GITHUB = "ghp_" + "x" * 36


def run_summary(failed: bool) -> dict:
    secrets.REDACTOR.add(TOKEN)
    outcomes = [
        report_summary.Outcome("Lifecycle", "A workspace becomes usable", "passed", "passed", 12.5),
        report_summary.Outcome(
            "Proxy", f"The proxy answers {TOKEN} {GITHUB}", "failed" if failed else "passed", "", 3.0
        ),
    ]
    facts = report_summary.RunFacts(
        started_at=1_700_000_000.0,
        selected=2,
        outcomes=outcomes,
        target="live",
        coder_url=f"https://admin:{PASSWORD}@coder.example.com",
        templates=[report_summary.TemplateVersion("ameide-dev", f"v7-{GITHUB}", "id")],
        cleanup=CleanupReport(created=["a", "b"], removed=["a"], failed=["workspace b"])
        if failed
        else CleanupReport(created=["a"], removed=["a"]),
    )
    return report_summary.build(facts, finished_at=1_700_000_100.0)


def timings() -> dict:
    recorder = Timings()
    recorder.mark("w1", "ameide-dev", "usable", 40)
    recorder.mark("w2", "ameide-dev", "usable", 90)
    recorder.mark("w2", "ameide-dev", "build", 70)
    return recorder.to_json()


def series(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    matches = [v for (n, have), v in found.items() if n == f"workspace_spec_{name}" and set(labels.items()) <= have]
    assert len(matches) == 1, f"{len(matches)} series {name}{labels}"
    return matches[0]


def test_the_exported_text_carries_no_secret() -> None:
    text = generate_latest(metrics.build(run_summary(failed=True), timings(), "@smoke")).decode()
    _, _, tail = TOKEN.partition("-")
    for secret in (TOKEN, tail, PASSWORD, GITHUB, "admin:"):
        assert secret not in text
    assert 'deployment="coder.example.com"' in text  # the host, never the URL
    assert secrets.MASK in text  # the scenario name and the version kept their words, less the secrets


def test_a_failed_scenario_shows_verdict_0_and_failed_and_the_run_failed() -> None:
    found = series(generate_latest(metrics.build(run_summary(failed=True), timings(), "@smoke")).decode())
    run = {"target": "live", "deployment": "coder.example.com", "tags": "@smoke"}
    assert value(found, "scenario_verdict", scenario="A workspace becomes usable", status="passed") == 1
    failed = [
        v for (n, labels), v in found.items() if n.endswith("scenario_verdict") and ("status", "failed") in labels
    ]
    assert failed == [0]
    assert value(found, "run_passed", **run) == 0
    assert value(found, "run_verdict", verdict="failed") == 1
    assert not [name for name, _ in found if name.endswith("last_success_timestamp_seconds")]
    assert value(found, "run_timestamp_seconds") == 1_700_000_100
    assert value(found, "left_behind") == 1
    assert value(found, "cleanup_items", outcome="created") == 2
    # the template's slowest workspace, with the version it was built from
    assert value(found, "phase_duration_seconds", template="ameide-dev", phase="usable") == 90
    assert value(found, "template_workspaces", template="ameide-dev") == 2


def test_a_passed_run_says_when_it_last_succeeded() -> None:
    found = series(generate_latest(metrics.build(run_summary(failed=False), {}, "all")).decode())
    assert value(found, "run_passed") == 1
    assert value(found, "last_success_timestamp_seconds", tags="all") == 1_700_000_100


def answering(status: int, body: str, content_type: str) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", handle)
    return app


@pytest.mark.parametrize(
    ("status", "body", "content_type", "said"),
    [
        (503, "down", "text/plain", "HTTP 503"),
        (200, "<html><form>sign in</form></html>", "text/html", "text/html body"),
    ],
    ids=["5xx", "html"],
)
def test_a_push_refused_is_one_line_and_the_file_is_still_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], status: int, body: str, content_type: str, said: str
) -> None:
    with serving(answering(status, body, content_type)) as url:
        export(tmp_path, url.replace("http://", f"http://bot:{PASSWORD}@"))
    check_one_line(tmp_path, capsys, said)


def test_a_gateway_that_is_down_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export(tmp_path, f"http://bot:{PASSWORD}@127.0.0.1:9")  # the discard port: nothing listens
    check_one_line(tmp_path, capsys, "not pushed")


def export(tmp_path: Path, url: str) -> None:
    settings = load_settings({"pushgateway_url": url, "request_timeout": 2})
    for secret in settings.secrets():
        secrets.REDACTOR.add(secret)
    world = types.SimpleNamespace(timings=Timings(), settings=settings)
    metrics.export(tmp_path / "metrics.prom", run_summary(failed=True), world, "@smoke")  # type: ignore[arg-type]


def check_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], said: str) -> None:
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("metrics: not pushed to http://"), err
    assert said in lines[0] and PASSWORD not in err + out and "Traceback" not in err
    assert "workspace_spec_run_passed" in (tmp_path / "metrics.prom").read_text()


def test_a_pushgateway_url_that_is_no_url_is_one_line_without_it() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"pushgateway_url": f"ftp://bot:{PASSWORD}@gateway"})
    assert "SPEC_PUSHGATEWAY_URL" in str(refused.value) and PASSWORD not in str(refused.value)
    assert load_settings({"pushgateway_url": "http://gw:9091/"}).pushgateway_url == "http://gw:9091"
