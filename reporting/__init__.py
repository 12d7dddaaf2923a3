"""Where the run's reports go, and the run facts (which target, which deployment, which run) they carry.

The writers are in the modules beside this one: `allure_files` (the Allure results directory besides
allure-behave's results), `formatter` (the suite's Allure formatter), `junit` (behave's JUnit files,
completed), `summary` (reports/summary.json) and `metrics` (reports/metrics.prom, a Pushgateway)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workspace_spec.world import World


def run_properties(world: World) -> dict[str, str]:
    settings = world.settings
    return {
        "target": world.target.name,
        "coder_url": settings.coder_url or "",
        "template": settings.template,
        "run_id": world.namer.run_id,
        "lab_faults": ",".join(world.target.lab.faults) if world.target.lab else "",
    }


def allure_results_dir(config: Any) -> Path | None:
    """Where this run's Allure formatter writes (behave pairs formats and outputs by position)."""
    for name, output in zip(config.format or [], config.outputs or [], strict=False):
        if "allure" in name.lower() and output is not None and output.name:
            return Path(output.name)
    return None


def reports_dir(config: Any) -> Path:
    """reports/: where the Allure results and JUnit files go (the parent of the first configured)."""
    anchor = allure_results_dir(config) or junit_dir(config) or Path("reports/junit")
    return anchor.parent


def diagnostics_root(config: Any) -> Path:
    """reports/diagnostics/, beside the other reports."""
    return reports_dir(config) / "diagnostics"


def diagnostics_dir(config: Any, feature: str, scenario: str) -> Path:
    """reports/diagnostics/<feature>--<scenario>/."""

    def slug(text: str) -> str:
        return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]

    return diagnostics_root(config) / f"{slug(feature)}--{slug(scenario)}"


def timings_path(config: Any) -> Path:
    """reports/timings.json, beside the other reports: how long each workspace's phases took."""
    return reports_dir(config) / "timings.json"


def summary_path(config: Any) -> Path:
    """reports/summary.json, beside the other reports: the run's verdict for machines."""
    return reports_dir(config) / "summary.json"


def metrics_path(config: Any) -> Path:
    """reports/metrics.prom, beside the other reports: the run's results in Prometheus' text format."""
    return reports_dir(config) / "metrics.prom"


def junit_dir(config: Any) -> Path | None:
    return Path(config.junit_directory) if config.junit else None


def start_fresh(directory: Path) -> None:
    """Empty a results directory: allure-behave, behave's JUnit and the diagnostics only ever add files, so
    without this a report would mix this run with every earlier one. Runs before any result is written."""
    if directory.is_dir():
        for path in directory.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
