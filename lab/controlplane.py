"""coderd's own Deployment, `coder` in namespace `ameide-dev`, and its log.

The Helm chart runs coderd as Deployment `coder` (pods `coder-<hash>-<suffix>`, labelled
`app.kubernetes.io/name=coder`, `app.kubernetes.io/instance=coder`); its container log is what
`kubectl -n ameide-dev logs deploy/coder` shows. coderd writes it with cdr.dev/slog's human sink
(lines formatted by lab/slog.py):

    2026-11-26 21:00:00.000 [warn]  coderd: GET  host=... path=/... status_code=502 ...

Lines go in as the lab's coderd and provisioner act; no session token or other secret is ever a field.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from lab.kube.store import Cluster
from lab.model import VERSION
from lab.slog import Field, slog_line

NAMESPACE = "ameide-dev"
DEPLOYMENT = "coder"
CONTAINER = "coder"
SELECTOR = {"app.kubernetes.io/name": "coder", "app.kubernetes.io/instance": "coder"}
IMAGE = f"ghcr.io/coder/coder:{VERSION.removeprefix('v').split('+')[0]}"
# The characters Kubernetes uses for generated name suffixes (rand.SafeEncodeString).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _random(length: int) -> str:
    return "".join(secrets.choice(_NAME_ALPHABET) for _ in range(length))


class ControlPlane:
    """Namespace `ameide-dev` with Deployment `coder` and its one pod, whose log coderd writes."""

    def __init__(self, cluster: Cluster, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.cluster = cluster
        self.clock = clock
        template_hash = _random(10)
        self.pod = f"{DEPLOYMENT}-{template_hash}-{_random(5)}"
        chart = {
            "app.kubernetes.io/part-of": "coder",
            "app.kubernetes.io/version": IMAGE.rsplit(":", 1)[1],
            "app.kubernetes.io/managed-by": "Helm",
        }
        cluster.apply_namespace(NAMESPACE, {})
        cluster.apply_deployment(NAMESPACE, DEPLOYMENT, SELECTOR | chart, SELECTOR, CONTAINER, IMAGE)
        pod_labels = SELECTOR | chart | {"pod-template-hash": template_hash}
        cluster.apply_pod(NAMESPACE, self.pod, pod_labels, container=CONTAINER, image=IMAGE)

    def write(self, text: str) -> None:
        """Lines coderd prints without its logger (the CLI's banner)."""
        self.cluster.append_pod_log(NAMESPACE, self.pod, text)

    def log(self, level: str, logger: str, message: str, fields: Sequence[Field] = ()) -> None:
        self.write(slog_line(self.clock(), level, logger, message, fields))

    def started(self, access_url: str) -> None:
        self.write(f"Coder {VERSION} - Your Self-Hosted Remote Development Platform")
        self.write(f"Started HTTP listener at http://0.0.0.0:8080\n\nView the Web UI:\n{access_url}\n")
