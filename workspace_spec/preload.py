"""Libraries a run will use, imported in a thread while its target starts.

The Kubernetes client (its package 0.2 s, the preflight's generated APIs 0.2 s), fabric with paramiko
(0.15 s) and prometheus_client (0.1 s, for the metrics at the end) cost every run that much before its
first create when imported with the modules that use them. Those modules import them where they are used
instead, and the run loads them here meanwhile: the lab takes half a second to start, a live target's
preflight some round trips.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable

HTTP = ("httpcore",)  # httpx imports it with its first client: the run's first after the target is known
KUBERNETES = (
    "kubernetes.config",
    "kubernetes.client.api.authorization_v1_api",  # all the preflight asks
    "kubernetes.client.models.v1_self_subject_access_review",
    "kubernetes.client.api.version_api",
)
SSH = ("workspace_spec.ssh",)
METRICS = ("prometheus_client",)


def in_background(modules: Iterable[str]) -> threading.Thread:
    names = tuple(modules)

    def load() -> None:
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the module that uses it imports it again, and says what is wrong
                continue

    thread = threading.Thread(target=load, name="preload", daemon=True)
    thread.start()
    return thread
