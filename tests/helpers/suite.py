"""Running the suite (behave on our features) against a lab, and reading what the run left: behave's JSON
results, its console lines, the Allure results; and whether any planted secret shows anywhere."""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from tests.helpers.lab import Lab

ROOT = Path(__file__).resolve().parents[2]
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
# Canaries planted as the session lab's credentials: no form of them may ever show in the suite's output.
CANARIES = {
    "LAB_GITHUB_TOKEN": "ghp_canaryBotToken" + "7" * 22,
    "LAB_EXTERNAL_AUTH_TOKEN": "gho_canaryLinkedToken" + "5" * 19,
    "LAB_CODEX_KEY": "sk-canaryCodexKey" + "3" * 24,
}


def tail(output: str, length: int = 3000) -> str:
    """The end of a run's console output: what an assertion's message shows of it."""
    return output[-length:]


@dataclass
class SuiteRun:
    returncode: int
    output: str
    results: list[dict]  # behave's JSON: features with their scenarios

    @property
    def tail(self) -> str:
        """The end of the run's output: what an assertion's message shows of it."""
        return tail(self.output)

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


def only(*scenarios: str) -> list[str]:
    """behave's arguments that select those scenarios by their whole names. A fault row runs the scenario that
    covers its fault alone: the plan then builds only the workspace it needs, a third of a full run's cost,
    and the healthy runs are the ones that hold all scenarios together."""
    return [argument for scenario in scenarios for argument in ("--name", f"^{re.escape(scenario)}$")]


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


# -- the console's summary lines, read as numbers: a substring such as "0 not removed" also matches "10 not removed"

CLEANUP_LINE = re.compile(
    r"^cleanup: (\d+) created, (\d+) removed, (\d+) not removed(?:, (\d+) KEPT for debugging .*)?$", re.MULTILINE
)


class Cleanup(NamedTuple):
    created: int
    removed: int
    not_removed: int
    kept: int = 0


def cleanup_counts(output: str) -> Cleanup:
    """The run's one `cleanup: 1 created, 1 removed, 0 not removed[, 1 KEPT ...]` line, as numbers."""
    lines = CLEANUP_LINE.findall(output)
    assert len(lines) == 1, f"{len(lines)} cleanup lines in:\n{tail(output)}"
    return Cleanup(*(int(count or 0) for count in lines[0]))


def behave_counts(output: str, kind: str = "scenario") -> dict[str, int]:
    """behave's summary line for `kind` (feature, scenario, step), such as `12 scenarios passed, 0 failed,
    0 skipped, 5 untested`, as numbers: {"passed": 12, "failed": 0, "skipped": 0, "untested": 5}."""
    lines = re.findall(rf"^(\d+) {kind}s? passed((?:, \d+ \w+)*)$", output, re.MULTILINE)
    assert len(lines) == 1, f"{len(lines)} summary lines of {kind}s in:\n{tail(output)}"
    passed, rest = lines[0]
    others = (part.split() for part in rest.removeprefix(", ").split(", ") if part)
    return {"passed": int(passed)} | {status: int(count) for count, status in others}


# -- what a run left: its ledger, and the command that removes exactly that ---------------------------


def sweep_ledger(lab: Lab, ledger: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workspace_spec.sweep", "--ledger", str(ledger)],
        cwd=ROOT,
        env=lab.suite_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def printed_ledger(output: str, tmp_path: Path) -> Path:
    """The ledger file of the command the run printed, which removes exactly what it left."""
    found = re.findall(r"^  python -m workspace_spec\.sweep --ledger (\S+)$", output, re.MULTILINE)
    assert len(found) == 1, tail(output)
    return tmp_path / found[0]


# -- the Allure results --------------------------------------------------------------------------------


def attachments(tmp_path: Path, scenario: str) -> set[str]:
    """Names of what the run attached to the scenario's Allure result."""
    return {
        attachment["name"]
        for path in (tmp_path / "reports" / "allure-results").glob("*-result.json")
        if (result := json.loads(path.read_text()))["name"] == scenario
        for attachment in result.get("attachments", [])
    }


def attachment_file(tmp_path: Path, scenario: str, name: str) -> Path | None:
    """The file of the scenario's Allure attachment of that name (on the scenario or one of its steps)."""
    results = tmp_path / "reports" / "allure-results"

    def found(node: dict) -> str:  # a step's attachments hang on the step
        for attachment in node.get("attachments", []):
            if attachment["name"] == name:
                return str(attachment["source"])
        return next((source for step in node.get("steps", []) if (source := found(step))), "")

    for path in results.glob("*-result.json"):
        result = json.loads(path.read_text())
        if result["name"] == scenario and (source := found(result)):
            return results / source
    return None


def attachment_text(tmp_path: Path, scenario: str, name: str) -> str:
    """The content of the scenario's Allure attachment of that name."""
    path = attachment_file(tmp_path, scenario, name)
    return path.read_text() if path else ""


# -- secrets -------------------------------------------------------------------------------------------------


def secret_forms(secret: str) -> list[str]:
    """A secret and what it looks like in headers, URLs and basic auth (and a Coder token's secret half)."""
    head, _, rest = secret.partition("-")
    half = [rest] if head and len(rest) >= 16 else []
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


def start_suite(env: dict[str, str], *args: str, cwd: Path) -> subprocess.Popen[str]:
    """behave on our features in the background, its output on one pipe, ready to be interrupted; a hang
    can be turned into every thread's stack (`finish`)."""
    return subprocess.Popen(
        [*BEHAVE, str(ROOT / "features"), "--no-capture", *args],
        cwd=cwd,
        env={**env, "PYTHONFAULTHANDLER": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def finish(suite: subprocess.Popen[str], timeout: float) -> str:
    """The run's output once it ends; one still running after `timeout` fails the test with the stack of
    each of its threads (SIGABRT makes Python's faulthandler print them), which names where it hangs."""
    try:
        return suite.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        suite.send_signal(signal.SIGABRT)
        output = suite.communicate(timeout=30)[0]
        raise AssertionError(
            f"the suite still ran {timeout:.0f} s later; its threads:\n{tail(output, 12000)}"
        ) from None


def behave_as_readme(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """behave as the README runs it: the project's configuration (pyproject.toml) in the working directory
    `project`; nothing puts the project on sys.path but behave itself."""
    return subprocess.run(
        [*BEHAVE, *args], cwd=project, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )
