"""Debian's Prometheus tools, as the metrics tests use them: a real Pushgateway started on a free loopback
port, and promtool. bin/setup --metrics (and --dev) installs both."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

PUSHGATEWAY = shutil.which("prometheus-pushgateway")
PROMTOOL = shutil.which("promtool")
INSTALL = "bin/setup --metrics installs it (Debian's prometheus-pushgateway and prometheus packages)"
needs_pushgateway = pytest.mark.skipif(PUSHGATEWAY is None, reason=f"no prometheus-pushgateway: {INSTALL}")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason=f"no promtool: {INSTALL}")


@contextmanager
def pushgateway(timeout: float = 15) -> Iterator[str]:
    """A Pushgateway of its own, keeping nothing on disk; yields its URL, stopped however the block ends."""
    assert PUSHGATEWAY is not None
    with socket.socket() as probe:  # a free port, once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while not _ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"the Pushgateway did not start on {url}: {process.communicate()[1][-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def samples(url: str, prefix: str = "workspace_spec_") -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of every series the gateway serves whose name starts with `prefix`."""
    response = httpx.get(f"{url}/metrics", timeout=5)
    response.raise_for_status()
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name.startswith(prefix)
    ]
