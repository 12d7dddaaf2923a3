"""What the Allure results directory holds beside allure-behave's results: the run's environment, the
failure categories, the CI build that ran it, and a result for the run itself when it went wrong as a
whole (refused, checked nothing, left something behind), so the report says why."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reporting import sections

# One definition for both readers: the results directory (Allure 2, Allure 3's classic and allure2
# plugins) and allurerc.mjs (Allure 3's awesome report, which reads categories only from its config).
CATEGORIES = Path(__file__).with_name("categories.json")


def write_environment(results_dir: Path, properties: Mapping[str, str]) -> None:
    """Allure shows environment.properties on the report's overview; allure-behave writes none itself."""
    results_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"{key}={value}" for key, value in properties.items() if value]
    (results_dir / "environment.properties").write_text("\n".join(lines) + "\n")


def write_categories(results_dir: Path) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CATEGORIES, results_dir / "categories.json")


def executor(env: Mapping[str, str]) -> dict[str, Any] | None:
    """The CI build that ran the suite, from GitHub Actions' default variables; None outside CI."""
    server, repository, run_id = (
        env.get(name, "") for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if not (server and repository and run_id):
        return None
    build_url = f"{server}/{repository}/actions/runs/{run_id}"
    if (attempt := env.get("GITHUB_RUN_ATTEMPT", "1")) not in ("", "1"):
        build_url += f"/attempts/{attempt}"
    number = env.get("GITHUB_RUN_NUMBER", "")
    workflow = env.get("GITHUB_WORKFLOW", "") or repository
    facts: dict[str, Any] = {
        "name": "GitHub Actions",
        "type": "github",
        "url": f"{server}/{repository}/actions",
        "buildName": f"{workflow} #{number}" if number else workflow,
        "buildUrl": build_url,
    }
    if number.isdigit():
        facts["buildOrder"] = int(number)  # Allure orders history by it
    return facts


def write_executor(results_dir: Path, env: Mapping[str, str]) -> None:
    if (facts := executor(env)) is not None:
        results_dir.mkdir(parents=True, exist_ok=True)
        (results_dir / "executor.json").write_text(json.dumps(facts, indent=2) + "\n")


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes
    type: str  # its MIME type: text/plain, image/svg+xml, application/json
    extension: str  # of the file it is written to: txt, svg, json


def write_run_result(
    results_dir: Path,
    name: str,
    message: str,
    started: float,
    section: str = "5",
    attachment: Path | None = None,
) -> None:
    """A broken result for the run as a whole: a refused run has no scenario to carry its reason, and a
    removal that failed at the run's end belongs to no scenario. Its message names the exception, which the
    categories match. `attachment`: a file shown with it (the ledger of what the run left)."""
    attachments = []
    if attachment is not None and attachment.is_file():
        attachments.append(Attachment(attachment.name, attachment.read_bytes(), "text/plain", "txt"))
    write_result(
        results_dir,
        name,
        "broken",
        message,
        started,
        feature="The run",
        description="The run as a whole, not one of its scenarios.",
        section=section,
        attachments=attachments,
    )


def write_result(
    results_dir: Path,
    name: str,
    status: str,
    message: str,
    started: float,
    *,
    feature: str,
    description: str,
    section: str = "5",
    attachments: Sequence[Attachment] = (),
    stem: str = "",
) -> Path:
    """One Allure result of the suite's own (not a scenario's): `status` passed, failed or broken, with its
    attachments beside it. `stem` names the file, so that the next such result replaces it (else a new one)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stem = stem or str(uuid.uuid4())
    listed = []
    for n, item in enumerate(attachments):
        source = f"{stem}-{n}-attachment.{item.extension}"
        (results_dir / source).write_bytes(item.content)
        listed.append({"name": item.name, "source": source, "type": item.type})
    ref = sections.Section(section, "")
    key = hashlib.md5(f"workspace-spec run: {name}".encode(), usedforsecurity=False).hexdigest()
    result = {
        "uuid": str(uuid.uuid4()),
        "historyId": key,
        "testCaseId": key,
        "name": name,
        "fullName": f"{feature}: {name}",
        "status": status,
        "statusDetails": {"message": message},
        "stage": "finished",
        "start": int(started * 1000),
        "stop": int(time.time() * 1000),
        "description": description,
        "labels": [
            {"name": "epic", "value": sections.EPIC},
            {"name": "feature", "value": feature},
            {"name": "story", "value": ref.story},
            {"name": "severity", "value": "blocker"},
            {"name": "framework", "value": "behave"},
        ],
        "links": [{"type": "link", "url": ref.url, "name": ref.link_name}],
        "attachments": listed,
    }
    path = results_dir / f"{stem}-result.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
