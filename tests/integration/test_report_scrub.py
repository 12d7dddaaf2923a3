"""The last line of defence: whatever reaches the report files unscrubbed (a step of the future that
forgets to scrub, a library that prints) is scrubbed from JUnit and Allure at the end of the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.lab import Lab
from tests.helpers.suite import ROOT, secret_forms

LEAKY_FEATURE = """@smoke
Feature: A check that forgets to scrub
  Scenario: The session token is printed and raised verbatim
    Then the session token is shown as it is
"""
LEAKY_STEPS = """import os

from behave import then


@then("the session token is shown as it is")
def step(context):
    token = os.environ["CODER_SESSION_TOKEN"]
    print(f"token {token}")
    raise AssertionError(f"raw token {token}")
"""


def test_report_files_are_scrubbed_at_the_end(healthy_lab: Lab, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "features").mkdir(parents=True)
    (project / "features" / "leak.feature").write_text(LEAKY_FEATURE)
    (project / "steps").mkdir()
    (project / "steps" / "leaky_steps.py").write_text(LEAKY_STEPS)
    # The project's own hooks, unchanged: they make the reports and scrub them.
    (project / "environment.py").write_text((ROOT / "environment.py").read_text())
    reports = tmp_path / "reports"
    command = [sys.executable, "-m", "behave", "features", "-f", "plain", "-o", "-", "--no-capture"]
    command += ["-f", "allure_behave.formatter:AllureFormatter", "-o", str(reports / "allure-results")]
    command += ["--junit", "--junit-directory", str(reports / "junit")]
    env = healthy_lab.suite_env(PYTHONPATH=str(ROOT))
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "raw token" in done.stdout + done.stderr
    files = [path for path in reports.rglob("*") if path.is_file()]
    junit = [path for path in files if path.name.startswith("TESTS-")]
    assert junit and "raw token [REDACTED]" in junit[0].read_text()
    for path in files:
        text = path.read_text(errors="replace")
        assert not any(form in text for form in secret_forms(healthy_lab.token)), path
