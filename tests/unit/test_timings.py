import json
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from reporting import diagnostics_dir, timings_path
from workspace_spec.timings import Timings


def marked() -> Timings:
    timings = Timings()
    for phase, seconds in (("build", 180.2), ("agent", 210.4), ("app", 214.0), ("usable", 214.0)):
        timings.mark("spec-r-1", "ameide-dev", phase, seconds)
    for phase, seconds in (("build", 100), ("agent", 120), ("app", 121), ("usable", 121), ("stop", 20), ("start", 90)):
        timings.mark("spec-r-2", "ameide-dev", phase, seconds)
    timings.mark("spec-r-3", "ameide-gitops", "build", 60)
    return timings


def test_summary_is_one_line_per_template_from_its_slowest_workspace():
    assert marked().summary_lines() == [
        "ameide-dev: usable in 214 s (build 180, agent 30, app 4) [slowest of 2 workspaces]",
        "ameide-gitops: never usable (build 60)",
    ]


def test_stop_start_and_delete_join_the_summary():
    timings = Timings()
    for phase, seconds in (("build", 8), ("agent", 12), ("app", 12.5), ("usable", 12.5), ("stop", 8), ("delete", 9)):
        timings.mark("spec-r-1", "ameide-dev", phase, seconds)
    assert timings.summary_lines() == ["ameide-dev: usable in 12 s (build 8, agent 4, app 0); stop 8 s, delete 9 s"]


def test_the_browsers_time_to_interactive_joins_the_summary():
    timings = Timings()
    for phase, seconds in [("build", 8), ("agent", 12), ("app", 12), ("usable", 12), ("browser", 3.42)]:
        timings.mark("spec-r-1", "ameide-dev", phase, seconds)
    assert timings.summary_lines() == [
        "ameide-dev: usable in 12 s (build 8, agent 4, app 0); VS Code interactive in the browser in 3.4 s"
    ]


def test_json_has_the_run_and_each_workspace_with_its_template_and_phases(tmp_path: Path):
    timings = marked()
    data = timings.to_json({"run_id": "r", "target": "lab"})
    assert data["run"] == {"run_id": "r", "target": "lab"}
    assert [w["workspace"] for w in data["workspaces"]] == ["spec-r-1", "spec-r-2", "spec-r-3"]
    assert data["workspaces"][1] == {
        "workspace": "spec-r-2",
        "template": "ameide-dev",
        "phases": {"build": 100, "agent": 120, "app": 121, "usable": 121, "stop": 20, "start": 90},
    }
    assert data["summary"] == timings.summary_lines()
    written = timings.write(tmp_path / "reports" / "timings.json", {"run_id": "r"})
    assert json.loads(written.read_text())["workspaces"] == data["workspaces"]


def test_a_phase_keeps_its_first_mark_and_unknown_phases_are_refused():
    timings = Timings()
    timings.mark("w", "t", "usable", 10)
    timings.mark("w", "t", "usable", 99)  # the shared workspace found usable again later
    assert timings.to_json()["workspaces"][0]["phases"] == {"usable": 10}
    with pytest.raises(ValueError, match="unknown phase 'ready'"):
        timings.mark("w", "t", "ready", 1)


def test_timed_marks_a_block_that_succeeds_only():
    timings = Timings()
    with timings.timed("w", "t", "stop"):
        pass
    with pytest.raises(RuntimeError), timings.timed("w", "t", "delete"):
        raise RuntimeError("delete build failed")
    assert list(timings.to_json()["workspaces"][0]["phases"]) == ["stop"]


def test_marks_from_many_threads_are_all_kept():
    timings = Timings()

    def mark(n: int) -> None:
        for phase in ("build", "agent", "app", "usable"):
            timings.mark(f"w{n}", "t", phase, n)

    threads = [threading.Thread(target=mark, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(timings.to_json()["workspaces"]) == 20
    assert all(len(w["phases"]) == 4 for w in timings.to_json()["workspaces"])


def test_allure_text_has_the_summary_and_every_workspace():
    text = marked().allure_text()
    assert text.startswith("ameide-dev: usable in 214 s")
    assert "spec-r-3 (ameide-gitops): build 60.0 s" in text.splitlines()
    assert Timings().allure_text().startswith("no workspace timings recorded")


def test_timings_json_lies_beside_the_other_reports():
    config = SimpleNamespace(
        format=["allure"], outputs=[SimpleNamespace(name="out/allure-results")], junit=False, junit_directory=""
    )
    assert timings_path(config) == Path("out/timings.json")
    assert diagnostics_dir(config, "F", "S") == Path("out/diagnostics/f--s")
    assert timings_path(SimpleNamespace(format=None, outputs=None, junit=False)) == Path("reports/timings.json")
