"""The capacity probe's own overhead per workspace, for bin/benchmark: a small probe run on the suite's embedded
lab at the benchmark's timings, and what its capacity.json says the probe spent beyond the platform's
timestamps (workspace_spec/capacity/trace.py, Trace.overhead)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from workspace_spec.capacity.figures import overhead_per_workspace

ROOT = Path(__file__).resolve().parent.parent
WORKSPACES = CONCURRENCY = 3  # as many as the lab's provisioners: no queueing, so nothing but the probe's own


def probe_overhead(env: dict[str, str]) -> float:
    """Seconds per workspace (the median) the probe adds; exits if the probe run failed."""
    with tempfile.TemporaryDirectory() as reports:
        sizes = ["--workspaces", str(WORKSPACES), "--concurrency", str(CONCURRENCY)]
        done = subprocess.run(
            [sys.executable, "-m", "workspace_spec.capacity", *sizes, "--yes", "--reports", reports],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        path = Path(reports) / "capacity.json"
        seconds = overhead_per_workspace(json.loads(path.read_text())) if path.exists() else None
    if done.returncode != 0 or seconds is None:
        sys.exit(f"bin/benchmark: the capacity probe failed (exit {done.returncode}); fix that first")
    return seconds


def line(env: dict[str, str]) -> str:
    seconds = probe_overhead(env)
    return f"capacity probe overhead per workspace: {seconds:.2f} s ({WORKSPACES} at once, median)"
