"""The suite's speed and footprint against the lab, as ratios.

- smoke / budget: the whole `@smoke` run against the embedded lab (default timings) over its 60 s budget;
  e2e / budget: the whole `@e2e` run (pull request by the shell and by the real Codex CLI) over its 90 s.
- smoke / platform floor: the same run over the time the platform itself needs for the same work,
  measured here by driving the lab's API directly with tight polling (no suite code involved). The
  difference is what the suite adds: SSH sessions, Kubernetes probes, its own waits and cleanup.
- rejection / budget: how fast bad input (a URL that is not Coder, a rejected token) stops the run,
  over its 5 s budget.
"""

from __future__ import annotations

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

import httpx

from workspace_spec.settings import env_name, load_settings
from workspace_spec.target import LabProcess

ROOT = Path(__file__).resolve().parent.parent
SMOKE_BUDGET = 60.0
E2E_BUDGET = 90.0
REJECTION_BUDGET = 5.0
# What the smoke run asks of the platform: 4 workspaces created until usable and deleted, one stop+start.
SMOKE_WORKSPACES = 4
SMOKE_RESTARTS = 1


def clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SPEC_", "CODER_"))}
    env.update(extra)
    return env


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

    def _until(self, workspace_id: str, done: Callable[[dict], bool]) -> None:
        while not done(self.api.get(f"/api/v2/workspaces/{workspace_id}").json()):
            time.sleep(0.05)

    def _usable(self, workspace: dict) -> bool:
        agents = [a for r in workspace["latest_build"]["resources"] for a in r.get("agents", [])]
        return bool(agents) and all(
            a["lifecycle_state"] == "ready" and all(app["health"] == "healthy" for app in a["apps"]) for a in agents
        )

    def _build(self, workspace_id: str, transition: str) -> None:
        build = self.api.post(f"/api/v2/workspaces/{workspace_id}/builds", json={"transition": transition}).json()
        while True:
            response = self.api.get(f"/api/v2/workspaces/{workspace_id}")
            if response.status_code == 410:
                return
            latest = response.json()["latest_build"]
            if latest["id"] == build["id"] and latest["job"]["status"] == "succeeded":
                return
            time.sleep(0.05)

    def lifecycle(self, name: str) -> tuple[float, float]:
        """Seconds for create -> usable -> delete, and for stop -> start -> usable."""
        template = self.api.get("/api/v2/organizations/default/templates/ameide-dev").json()
        started = time.monotonic()
        workspace = self.api.post("/api/v2/users/me/workspaces", json={"template_id": template["id"], "name": name})
        workspace_id = workspace.json()["id"]
        self._until(workspace_id, self._usable)
        created = time.monotonic() - started
        started = time.monotonic()
        self._build(workspace_id, "stop")
        self._build(workspace_id, "start")
        self._until(workspace_id, self._usable)
        restarted = time.monotonic() - started
        started = time.monotonic()
        self._build(workspace_id, "delete")
        return created + time.monotonic() - started, restarted


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


def suite_seconds(tag: str, runs: int) -> list[float]:
    """Wall time of whole runs of the suite against the embedded lab, as a user starts them."""
    times = []
    for _ in range(runs):
        seconds, returncode = timed_behave(clean_env(), f"--tags={tag}")
        if returncode != 0:
            sys.exit(f"bin/benchmark: the {tag} run failed; fix that first")
        times.append(seconds)
    return times


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    smoke, e2e = suite_seconds("@smoke", runs), suite_seconds("@e2e", runs)
    lab = LabProcess.start(load_settings({"coder_url": ""}))
    try:
        platform = Platform(lab.env["CODER_URL"], lab.env["CODER_SESSION_TOKEN"])
        cycles = [platform.lifecycle(f"bench-{i}") for i in range(runs)]
        not_coder, rejected = rejection_seconds(lab)
    finally:
        lab.stop()
    cycle = statistics.median(c for c, _ in cycles)
    restart = statistics.median(r for _, r in cycles)
    floor = SMOKE_WORKSPACES * cycle + SMOKE_RESTARTS * restart
    wall = statistics.median(smoke)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    cores = os.cpu_count()
    print(f"machine: {cores} cores; {runs} run(s) each; medians")
    print(
        f"smoke against the lab:        {wall:6.1f} s  "
        f"ratio to the {SMOKE_BUDGET:.0f} s budget: {wall / SMOKE_BUDGET:.2f}"
    )
    print(
        f"platform floor for that work: {floor:6.1f} s  (create..delete {cycle:.2f} s x{SMOKE_WORKSPACES}, "
        f"stop+start {restart:.2f} s)"
    )
    print(f"suite time / platform floor:  {wall / floor:6.2f}")
    e2e_wall = statistics.median(e2e)
    print(
        f"e2e against the lab:          {e2e_wall:6.1f} s  "
        f"ratio to the {E2E_BUDGET:.0f} s budget: {e2e_wall / E2E_BUDGET:.2f}"
    )
    print(
        f"not-Coder URL rejected in:    {not_coder:6.2f} s  ratio to the {REJECTION_BUDGET:.0f} s budget: "
        f"{not_coder / REJECTION_BUDGET:.2f}"
    )
    print(
        f"rejected token stopped in:    {rejected:6.2f} s  ratio to the {REJECTION_BUDGET:.0f} s budget: "
        f"{rejected / REJECTION_BUDGET:.2f}"
    )
    print(f"peak memory of one child:     {peak_mb:6.0f} MB (behave or the lab)")


if __name__ == "__main__":
    main()
