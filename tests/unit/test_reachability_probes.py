"""What the preflight's reachability probe reports for each service the suite is configured to use."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from workspace_spec.reachability import Probe, services
from workspace_spec.secrets import MASK

GITHUB_TOKEN = "ghp_" + "a" * 36


@dataclass
class FakeSettings:
    coder_url: str | None = "https://coder.example.test"
    github_api_url: str = "https://api.github.example.test"
    e2e: str = ""  # what e2e_problem() says

    def e2e_problem(self) -> str:
        return self.e2e


@dataclass
class Calls:
    made: list[str] = field(default_factory=list)

    def answer(self, name: str) -> object:
        def check() -> object:
            self.made.append(name)
            return {"ok": True}

        return check

    def fail(self, name: str, error: Exception) -> object:
        def check() -> object:
            self.made.append(name)
            raise error

        return check


def world(settings: FakeSettings, calls: Calls, failing: dict[str, Exception] | None = None) -> SimpleNamespace:
    failing = failing or {}

    def check(name: str) -> object:
        return calls.fail(name, failing[name]) if name in failing else calls.answer(name)

    return SimpleNamespace(
        settings=settings,
        coder=SimpleNamespace(build_info=check("coder")),
        cluster=SimpleNamespace(server="https://k8s.example.test:6443", version=check("kube")),
        pull_requests=SimpleNamespace(bot_login=check("github")),
    )


def test_every_service_that_answers_is_named_with_its_address_and_no_problem() -> None:
    calls = Calls()
    probes = services(world(FakeSettings(), calls))  # type: ignore[arg-type]
    assert probes == [
        Probe("Coder", "https://coder.example.test", ""),
        Probe("Kubernetes API", "https://k8s.example.test:6443", ""),
        Probe("GitHub API", "https://api.github.example.test", ""),
    ]
    assert calls.made == ["coder", "kube", "github"]  # each service was really contacted
    assert [probe.describe() for probe in probes] == [
        "Coder at https://coder.example.test: answers",
        "Kubernetes API at https://k8s.example.test:6443: answers",
        "GitHub API at https://api.github.example.test: answers",
    ]


def test_github_is_not_probed_when_the_e2e_flow_cannot_run() -> None:
    calls = Calls()
    probes = services(world(FakeSettings(e2e="SPEC_E2E_REPO is not set"), calls))  # type: ignore[arg-type]
    assert [probe.service for probe in probes] == ["Coder", "Kubernetes API"]
    assert calls.made == ["coder", "kube"]


def test_an_unset_coder_url_is_an_empty_address_not_none() -> None:
    probes = services(world(FakeSettings(coder_url=None, e2e="off"), Calls()))  # type: ignore[arg-type]
    assert probes[0] == Probe("Coder", "", "")
    assert probes[0].describe() == "Coder at : answers"


def test_a_failing_service_says_how_it_failed_with_secrets_masked() -> None:
    failing = {
        "coder": ConnectionError(f"refused with token {GITHUB_TOKEN}"),
        "kube": TimeoutError("timed out"),
        "github": PermissionError("bad credentials"),
    }
    probes = services(world(FakeSettings(), Calls(), failing))  # type: ignore[arg-type]
    assert probes == [
        Probe("Coder", "https://coder.example.test", f"ConnectionError: refused with token {MASK}"),
        Probe("Kubernetes API", "https://k8s.example.test:6443", "TimeoutError: timed out"),
        Probe("GitHub API", "https://api.github.example.test", "PermissionError: bad credentials"),
    ]
    assert probes[1].describe() == "Kubernetes API at https://k8s.example.test:6443: TimeoutError: timed out"
