"""Shared fixtures: one standalone lab for the session, met over the wire like any deployment."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from github import Auth, Github

from workspace_spec.settings import env_name, load_settings
from workspace_spec.target import LabProcess

ROOT = Path(__file__).resolve().parent.parent
BEHAVE = [sys.executable, "-m", "behave"]
# The suite's own Allure formatter, which pyproject.toml's `allure` format stands for.
ALLURE_FORMATTER = "reporting.formatter:AllureFormatter"
# Short deadlines so a fault that makes the suite wait shows up in seconds, not minutes.
FAST_TIMEOUTS = {
    "SPEC_BUILD_TIMEOUT": "20",
    "SPEC_AGENT_TIMEOUT": "6",
    "SPEC_APP_TIMEOUT": "6",
    "SPEC_CLEANUP_TIMEOUT": "30",
    "SPEC_POD_TERMINATION_TIMEOUT": "3",
}


@dataclass
class Lab:
    """One lab shared by the tests of a session; each test sees only what its own runs created, by the
    workspace name prefix it gives them (`prefix`, new for every test)."""

    process: LabProcess
    prefix: str = "spec"

    @property
    def env(self) -> dict[str, str]:
        return self.process.env

    @property
    def url(self) -> str:
        return self.env["CODER_URL"]

    @property
    def token(self) -> str:
        return self.env["CODER_SESSION_TOKEN"]

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Coder-Session-Token": self.token}, timeout=10)

    def set_faults(self, *faults: str) -> None:
        with self.api() as api:
            api.put("/lab/faults", json={"faults": list(faults)}).raise_for_status()

    def suite_env(self, **extra: str) -> dict[str, str]:
        """The environment that points the suite at this lab as at any deployment."""
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SPEC_", "CODER_"))}
        env.update({env_name(key.lower()): value for key, value in self.env.items()})
        env["SPEC_NAME_PREFIX"] = self.prefix
        env.update(extra)
        return env

    def github(self) -> Github:
        return Github(
            base_url=self.env["GITHUB_API_URL"],
            auth=Auth.Token(self.env["GITHUB_TOKEN"]),
            verify=self.env["REQUESTS_CA_BUNDLE"],  # the lab CA
        )

    def sandbox_leftovers(self) -> tuple[list[str], list[int]]:
        """Branches other than the default, and open pull requests, on the bot-writable repository."""
        with self.github() as github:
            repo = github.get_repo(self.env["E2E_REPO"])
            ours = f"{self.prefix}/"
            branches = [b.name for b in repo.get_branches() if b.name.startswith(ours)]
            return branches, [pull.number for pull in repo.get_pulls(state="open") if pull.head.ref.startswith(ours)]

    def workspaces(self) -> list[dict]:
        """This test's workspaces (named with its prefix)."""
        with self.api() as api:
            found = api.get("/api/v2/workspaces").raise_for_status().json()["workspaces"]
        return [workspace for workspace in found if workspace["name"].startswith(f"{self.prefix}-")]

    def workspace_namespaces(self) -> list[str]:
        from kubernetes import client, config

        # Listing namespaces is beyond the CI identity's rights: the lab's admin kubeconfig lies beside it.
        admin = Path(self.env["KUBECONFIG"]).with_name("kubeconfig-admin")
        api = client.CoreV1Api(config.new_client_from_config(config_file=str(admin)))
        return [
            ns.metadata.name
            for ns in api.list_namespace().items
            if ns.metadata.name.startswith("ameide-ws-")
            and (ns.metadata.labels or {}).get("com.coder.workspace.name", "").startswith(f"{self.prefix}-")
        ]

    def wait_until_clean(self, timeout: float = 10.0) -> tuple[list[dict], list[str]]:
        """Leftover workspaces and namespaces, once terminating namespaces had time to go."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.workspaces(), self.workspace_namespaces()
            if not any(left) or time.monotonic() > deadline:
                return left
            time.sleep(0.25)


# Canaries planted as the lab's credentials: no form of them may ever show in the suite's output.
CANARIES = {
    "LAB_GITHUB_TOKEN": "ghp_canaryBotToken" + "7" * 22,
    "LAB_EXTERNAL_AUTH_TOKEN": "gho_canaryLinkedToken" + "5" * 19,
    "LAB_CODEX_KEY": "sk-canaryCodexKey" + "3" * 24,
}


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    saved = {name: os.environ.get(name) for name in CANARIES}
    os.environ.update(CANARIES)  # the lab reads them at start (inherited environment)
    try:
        process = LabProcess.start(load_settings({"coder_url": ""}))
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
    try:
        yield Lab(process)
    finally:
        process.stop()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--reverse", action="store_true", help="run the tests in reverse order (they must not care)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--reverse"):
        items.reverse()


@pytest.fixture(autouse=True)
def _own_prefix(request: pytest.FixtureRequest) -> None:
    """Every test names what its runs create with a prefix of its own (when it uses the shared lab)."""
    if "lab" in request.fixturenames and isinstance(lab := request.getfixturevalue("lab"), Lab):
        lab.prefix = "t" + secrets.token_hex(4)


@pytest.fixture
def healthy_lab(lab: Lab) -> Iterator[Lab]:
    lab.set_faults()
    yield lab
    lab.set_faults()


@dataclass
class SuiteRun:
    returncode: int
    output: str
    results: list[dict]  # behave's JSON: features with their scenarios

    def scenarios(self) -> dict[str, dict]:
        return {
            element["name"]: element
            for feature in self.results
            for element in feature.get("elements", [])
            if element.get("type") == "scenario"  # backgrounds are listed too, without a status
        }

    def statuses(self) -> dict[str, str]:
        """The scenarios the tags selected (those skipped by the tag expression are left out)."""
        return {
            name: scenario["status"] for name, scenario in self.scenarios().items() if scenario["status"] != "skipped"
        }

    def failed_step(self, scenario: str) -> str:
        """`Keyword name` of the scenario's failing step (background steps included)."""
        for step in self.scenarios()[scenario]["steps"]:
            if step.get("result", {}).get("status") in ("failed", "error"):
                return f"{step['keyword']} {step['name']}"
        return ""

    def failed_step_name(self, scenario: str) -> str:
        """The name (without its keyword) of the scenario's failing step."""
        return self.failed_step(scenario).partition(" ")[2]

    def failure(self, scenario: str) -> str:
        """The error message of the scenario's failing step."""
        for step in self.scenarios()[scenario]["steps"]:
            result = step.get("result", {})
            if result.get("status") in ("failed", "error"):
                message = result.get("error_message", "")
                return "\n".join(message) if isinstance(message, list) else message
        return ""


def attachments(tmp_path: Path, scenario: str) -> set[str]:
    """Names of what the run attached to the scenario's Allure result."""
    return {
        attachment["name"]
        for path in (tmp_path / "reports" / "allure-results").glob("*-result.json")
        if (result := json.loads(path.read_text()))["name"] == scenario
        for attachment in result.get("attachments", [])
    }


def attachment_text(tmp_path: Path, scenario: str, name: str) -> str:
    """The content of the scenario's Allure attachment of that name."""
    results = tmp_path / "reports" / "allure-results"

    def found(node: dict) -> str:  # a step's attachments hang on the step
        for attachment in node.get("attachments", []):
            if attachment["name"] == name:
                return (results / attachment["source"]).read_text()
        return next((text for step in node.get("steps", []) if (text := found(step))), "")

    for path in results.glob("*-result.json"):
        result = json.loads(path.read_text())
        if result["name"] == scenario and (text := found(result)):
            return text
    return ""


def secret_forms(secret: str) -> list[str]:
    """A secret and what it looks like in headers, URLs and basic auth (and a Coder token's secret half)."""
    head, _, tail = secret.partition("-")
    half = [tail] if head and len(tail) >= 16 else []
    return [
        *half,
        secret,
        urllib.parse.quote(secret, safe=""),
        base64.b64encode(f"x-access-token:{secret}".encode()).decode(),
        base64.b64encode(secret.encode()).decode(),
    ]


def leaks(lab: Lab, run: SuiteRun, tmp_path: Path) -> list[str]:
    """Where any form of any planted secret shows: the console, or any file the run wrote."""
    texts = {"console": run.output}
    texts.update({str(p): p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()})
    found = []
    for name, secret in {**CANARIES, "CODER_SESSION_TOKEN": lab.token}.items():
        for form in secret_forms(secret):
            found += [f"{name} in {where}" for where, text in texts.items() if form in text]
    return found


def run_suite(
    tmp_path: Path,
    env: dict[str, str],
    *args: str,
    cwd: Path | None = None,
    timeout: float = 300,
    features: bool = True,
) -> SuiteRun:
    """Run behave on our features (or on the paths in `args`, without `features`), with its JSON results
    and its Allure and JUnit reports in tmp_path."""
    results, reports = tmp_path / "results.json", tmp_path / "reports"
    # behave pairs -f and -o by position: every formatter gets its own output, or later ones shift.
    paths = [str(ROOT / "features")] if features else []
    command = [*BEHAVE, *paths, "--no-capture", "-f", "json", "-o", str(results)]
    command += ["-f", "plain", "-o", "-"]
    command += ["-f", ALLURE_FORMATTER, "-o", str(reports / "allure-results")]
    command += ["--junit", "--junit-directory", str(reports / "junit"), *args]
    env = {**env, "PYTHONPATH": str(ROOT)}  # behave imports the formatter before it knows the project
    done = subprocess.run(
        command, cwd=cwd or tmp_path, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    data = json.loads(results.read_text()) if results.exists() and results.stat().st_size else []
    return SuiteRun(done.returncode, done.stdout + done.stderr, data)
