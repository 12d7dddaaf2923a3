"""The suite's speed against the lab, as ratios to the honest floor: what the platform itself needs.

The lab runs with realistic proportions (a build 8 s, the agent ready 4 s after it: `--build-delay 8
--agent-delay 4`), so the suite's own overhead is not hidden by a platform that answers at once.

- floor: the spec's one-workspace sequence (629 §1.1) driven directly over the lab's API with tight
  polling, no suite code involved: create until usable (start build succeeded, every agent connected and
  ready, every app healthy), stop, start until usable, delete until Coder answers 410. Measured for the
  smoke template (`ameide-dev`) and the E2E template (`ameide-gitops`), on a standalone lab started with
  the same delays.
- smoke / floor: `behave --tags=@smoke` over the `ameide-dev` floor (target <= 1.05), at 8/4 and again
  with the lab at build 30 s / agent 10 s over the floor at those timings (target <= 1.05).
- red verdict / red floor: `behave --tags=@smoke` with the lab fault `build-fails`, wall time until the
  run ends (failure reported, everything cleaned up), over the platform's own time for it: create until
  the build failed, delete until 410 (target <= 1.15); also in builds (8 s each).
- smoke+e2e / floor: `behave --tags="@smoke or @e2e"` over the longer of the two floors (target <= 1.1).
- default-timings smoke: `behave --tags=@smoke` against the lab's default (fast) timings, in seconds
  (target: no slower than about 12 s).
- rejection / budget: how fast bad input (a URL that is not Coder, a rejected token) stops the run,
  over its 5 s budget.

Nothing here passes or fails: it prints ratios and the raw seconds, medians over the runs.
"""

from __future__ import annotations

import argparse
import http.server
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench import capacity
from workspace_spec.settings import env_name, load_settings
from workspace_spec.target import LabProcess

ROOT = Path(__file__).resolve().parent.parent
BUILD_DELAY = 8.0
AGENT_DELAY = 4.0
REJECTION_BUDGET = 5.0
SLOW_BUILD_DELAY, SLOW_AGENT_DELAY = 30.0, 10.0
DEFAULT_SMOKE_TARGET = 12.0
SMOKE_TARGET, RED_TARGET, ALL_TARGET = 1.05, 1.15, 1.1
POLL_SECONDS = 0.05
FLOOR_TIMEOUT = 600.0


def clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SPEC_", "CODER_"))}
    env.update(extra)
    return env


def realistic_env(build: float = BUILD_DELAY, agent: float = AGENT_DELAY, **extra: str) -> dict[str, str]:
    """The suite starts its embedded lab with the realistic delays."""
    return clean_env(SPEC_LAB_BUILD_DELAY=str(build), SPEC_LAB_AGENT_DELAY=str(agent), **extra)


def timed_behave(env: dict[str, str], *args: str) -> tuple[float, int]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "behave", str(ROOT / "features"), "-f", "null", "--no-junit", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    return time.monotonic() - started, done.returncode


class Platform:
    """The lab driven directly over its API, polling every 50 ms: the platform's own pace."""

    def __init__(self, url: str, token: str) -> None:
        self.api = httpx.Client(base_url=url, headers={"Coder-Session-Token": token}, timeout=10)

    def close(self) -> None:
        self.api.close()

    def _until(self, workspace_id: str, done: Callable[[httpx.Response], bool], what: str) -> None:
        deadline = time.monotonic() + FLOOR_TIMEOUT
        while not done(self.api.get(f"/api/v2/workspaces/{workspace_id}")):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the floor's workspace never reached: {what}")
            time.sleep(POLL_SECONDS)

    @staticmethod
    def _usable(response: httpx.Response) -> bool:
        if response.status_code != 200:
            return False
        build = response.json()["latest_build"]
        if build["transition"] != "start" or build["job"]["status"] != "succeeded":
            return False
        agents = [agent for resource in build["resources"] for agent in resource.get("agents") or []]
        return bool(agents) and all(
            agent["status"] == "connected"
            and agent["lifecycle_state"] == "ready"
            and all(app.get("health") == "healthy" for app in agent.get("apps") or [])
            for agent in agents
        )

    def _transition(self, workspace_id: str, transition: str, done: Callable[[httpx.Response], bool]) -> None:
        response = self.api.post(f"/api/v2/workspaces/{workspace_id}/builds", json={"transition": transition})
        response.raise_for_status()
        build_id = response.json()["id"]

        def finished(answer: httpx.Response) -> bool:
            if answer.status_code == 200:
                latest = answer.json()["latest_build"]
                if latest["id"] == build_id and latest["job"]["status"] in ("failed", "canceled"):
                    raise RuntimeError(f"the floor's {transition} build {latest['job']['status']}")
            return done(answer)

        self._until(workspace_id, finished, transition)

    def _create(self, template_name: str, name: str) -> str:
        template = self.api.get(f"/api/v2/organizations/default/templates/{template_name}").raise_for_status().json()
        created = self.api.post("/api/v2/users/me/workspaces", json={"template_id": template["id"], "name": name})
        return str(created.raise_for_status().json()["id"])

    def red_sequence(self, template_name: str, name: str) -> float:
        """A build that fails, then its removal: create until the start build failed, delete until 410."""
        started = time.monotonic()
        workspace_id = self._create(template_name, name)

        def failed(answer: httpx.Response) -> bool:
            return bool(answer.json()["latest_build"]["job"]["status"] == "failed")

        self._until(workspace_id, failed, "a failed build")
        self._transition(workspace_id, "delete", lambda answer: answer.status_code == 410)
        return time.monotonic() - started

    def sequence(self, template_name: str, name: str) -> dict[str, float]:
        """The one-workspace sequence (629 §1.1), in seconds per step and in total."""
        times: dict[str, float] = {}
        started = time.monotonic()
        workspace_id = self._create(template_name, name)
        self._until(workspace_id, self._usable, "usable")
        times["create"] = time.monotonic() - started

        def stopped(answer: httpx.Response) -> bool:
            latest = answer.json()["latest_build"]
            return latest["transition"] == "stop" and latest["job"]["status"] == "succeeded"

        step = time.monotonic()
        self._transition(workspace_id, "stop", stopped)
        times["stop"] = time.monotonic() - step
        step = time.monotonic()
        self._transition(workspace_id, "start", self._usable)
        times["start"] = time.monotonic() - step
        step = time.monotonic()
        self._transition(workspace_id, "delete", lambda answer: answer.status_code == 410)
        times["delete"] = time.monotonic() - step
        times["total"] = time.monotonic() - started
        return times


def start_lab(build_delay: float | None, agent_delay: float | None, *faults: str) -> LabProcess:
    """A standalone lab, started as the suite starts its embedded one."""
    return LabProcess.start(
        load_settings(
            {"coder_url": "", "lab_build_delay": build_delay, "lab_agent_delay": agent_delay, "lab_faults": faults}
        )
    )


def platform_on(lab: LabProcess) -> Platform:
    return Platform(lab.env["CODER_URL"], lab.env["CODER_SESSION_TOKEN"])


def floors(
    lab: LabProcess, label: str, templates: tuple[str, ...] = ("ameide-dev", "ameide-gitops")
) -> dict[str, dict[str, float]]:
    """The one-workspace sequence for the smoke and the E2E template."""
    platform = platform_on(lab)
    try:
        return {template: platform.sequence(template, f"bench-{label}-{n}") for n, template in enumerate(templates)}
    finally:
        platform.close()


def red_floor(runs: int) -> float:
    """The platform's own time for the red verdict: a failing build and its removal (median)."""
    lab = start_lab(BUILD_DELAY, AGENT_DELAY, "build-fails")
    platform = platform_on(lab)
    try:
        return statistics.median(platform.red_sequence("ameide-dev", f"bench-red-{n}") for n in range(runs))
    finally:
        platform.close()
        lab.stop()


def slow_floor(runs: int) -> float:
    """The ameide-dev floor with the lab at build 30 s / agent 10 s (median)."""
    lab = start_lab(SLOW_BUILD_DELAY, SLOW_AGENT_DELAY)
    try:
        return median([floors(lab, f"slow-{n}", ("ameide-dev",))["ameide-dev"] for n in range(runs)], "total")
    finally:
        lab.stop()


def rejection_seconds(lab: LabProcess) -> tuple[float, float]:
    class NotCoder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>not coder</html>")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotCoder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pointed = {env_name(key.lower()): value for key, value in lab.env.items()}
    not_coder_url = f"http://127.0.0.1:{server.server_address[1]}"
    not_coder, _ = timed_behave(clean_env(**{**pointed, "CODER_URL": not_coder_url}), "--tags=@smoke")
    wrong_token = "AAAAAAAAAA-BBBBBBBBBBBBBBBBBBBBBB"
    rejected, _ = timed_behave(clean_env(**{**pointed, "CODER_SESSION_TOKEN": wrong_token}), "--tags=@smoke")
    server.shutdown()
    return not_coder, rejected


def suite_seconds(env: dict[str, str], tags: str, expect_pass: bool = True) -> float:
    """Wall time of one whole run of the suite against its embedded lab, as a user starts it."""
    seconds, returncode = timed_behave(env, f"--tags={tags}")
    if (returncode == 0) != expect_pass:
        outcome = "failed" if expect_pass else "passed although the lab breaks every build"
        sys.exit(f"bin/benchmark: the {tags} run {outcome}; fix that first")
    return seconds


def median(samples: list[Any], key: str | None = None) -> float:
    return statistics.median(sample[key] if key else sample for sample in samples)


def print_floor(name: str, samples: list[dict[str, float]]) -> None:
    steps = ", ".join(f"{step} {median(samples, step):.1f}" for step in ("create", "stop", "start", "delete"))
    print(f"floor {name + ':':15} {median(samples, 'total'):6.1f} s  ({steps})")


def main() -> None:
    parser = argparse.ArgumentParser(prog="bin/benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="?", type=int, default=1, help="runs of each measurement (medians; default 1)")
    parser.add_argument("--floor-only", action="store_true", help="measure only the platform floor")
    args = parser.parse_args()
    runs = args.runs

    samples: dict[str, list[dict[str, float]]] = {"ameide-dev": [], "ameide-gitops": []}
    lab = start_lab(BUILD_DELAY, AGENT_DELAY)
    try:
        for run in range(runs):
            for template, times in floors(lab, str(run)).items():
                samples[template].append(times)
    finally:
        lab.stop()
    floor_dev, floor_gitops = median(samples["ameide-dev"], "total"), median(samples["ameide-gitops"], "total")
    print(
        f"machine: {os.cpu_count()} cores; {runs} run(s) each; medians; lab build {BUILD_DELAY:.0f} s, "
        f"agent {AGENT_DELAY:.0f} s"
    )
    print_floor("ameide-dev", samples["ameide-dev"])
    print_floor("ameide-gitops", samples["ameide-gitops"])
    if args.floor_only:
        return

    smoke = statistics.median(suite_seconds(realistic_env(), "@smoke") for _ in range(runs))
    floor_red = red_floor(runs)
    red = statistics.median(
        suite_seconds(realistic_env(SPEC_LAB_FAULTS="build-fails"), "@smoke", expect_pass=False) for _ in range(runs)
    )
    both = statistics.median(suite_seconds(realistic_env(), "@smoke or @e2e") for _ in range(runs))
    fast = statistics.median(suite_seconds(clean_env(), "@smoke") for _ in range(runs))
    floor_slow = slow_floor(runs)
    slow_env = realistic_env(SLOW_BUILD_DELAY, SLOW_AGENT_DELAY)
    slow = statistics.median(suite_seconds(slow_env, "@smoke") for _ in range(runs))
    lab = start_lab(None, None)
    try:
        not_coder, rejected = rejection_seconds(lab)
    finally:
        lab.stop()
    longer = max(floor_dev, floor_gitops)
    print(
        f"smoke:                {smoke:6.1f} s  smoke / one-workspace floor: {smoke / floor_dev:.2f} "
        f"(target <= {SMOKE_TARGET})"
    )
    print(
        f"smoke at {SLOW_BUILD_DELAY:.0f}/{SLOW_AGENT_DELAY:.0f}:       {slow:6.1f} s  "
        f"/ its floor ({floor_slow:.1f} s): {slow / floor_slow:.2f} (target <= {SMOKE_TARGET})"
    )
    print(
        f"red verdict:          {red:6.1f} s  (build-fails) / the red floor ({floor_red:.1f} s: fail, delete): "
        f"{red / floor_red:.2f} (target <= {RED_TARGET}); {red / BUILD_DELAY:.2f} builds"
    )
    print(f"smoke or e2e:         {both:6.1f} s  / the longer floor: {both / longer:.2f} (target <= {ALL_TARGET})")
    print(f"smoke, lab defaults:  {fast:6.1f} s  (target: about {DEFAULT_SMOKE_TARGET:.0f} s or less)")
    print(
        f"not-Coder URL:        {not_coder:6.2f} s  rejected; / the {REJECTION_BUDGET:.0f} s budget: "
        f"{not_coder / REJECTION_BUDGET:.2f}"
    )
    print(
        f"rejected token:       {rejected:6.2f} s  stopped; / the {REJECTION_BUDGET:.0f} s budget: "
        f"{rejected / REJECTION_BUDGET:.2f}"
    )
    print(capacity.line(realistic_env()))
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of one child: {peak_mb:.0f} MB (behave or the lab)")


if __name__ == "__main__":
    main()
