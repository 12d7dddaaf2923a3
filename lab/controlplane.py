"""coderd's own Deployment, `coder` in namespace `ameide-dev`, and its log.

The Helm chart runs coderd as Deployment `coder` (pods `coder-<hash>-<suffix>`, labelled
`app.kubernetes.io/name=coder`, `app.kubernetes.io/instance=coder`); its container log is what
`kubectl -n ameide-dev logs deploy/coder` shows. coderd writes it with cdr.dev/slog's human sink:

    2026-11-26 21:00:00.000 [warn]  coderd: GET  host=... path=/... status_code=502 ...

Lines go in as the lab's coderd and provisioner act; no session token or other secret is ever a field.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from lab.kube.store import Cluster
from lab.model import VERSION

NAMESPACE = "ameide-dev"
DEPLOYMENT = "coder"
CONTAINER = "coder"
SELECTOR = {"app.kubernetes.io/name": "coder", "app.kubernetes.io/instance": "coder"}
IMAGE = f"ghcr.io/coder/coder:{VERSION.removeprefix('v').split('+')[0]}"
LEVELS = ("debu", "info", "warn", "erro", "crit", "fata")  # slog's bracketed level names
# The characters Kubernetes uses for generated name suffixes (rand.SafeEncodeString).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

Field = tuple[str, object]


def _random(length: int) -> str:
    return "".join(secrets.choice(_NAME_ALPHABET) for _ in range(length))


def _quote(text: str) -> str:
    """slog's quote: bare unless the text is empty, has whitespace or needs escaping (Go's strconv.Quote)."""
    quoted = json.dumps(text, ensure_ascii=False)
    if text and not any(c.isspace() for c in text) and quoted[1:-1] == text:
        return text
    return quoted


def go_value(value: object) -> str:
    """A field value as Go's %+v prints it, for the types the lab logs."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC")
    if isinstance(value, timedelta):
        return go_duration(value)
    return str(value)


def go_duration(value: timedelta) -> str:
    """time.Duration's String for sub-minute durations: 850µs, 12.5ms, 1.2s."""
    seconds = value.total_seconds()
    if seconds >= 1:
        return f"{seconds:g}s"
    if seconds >= 0.001:
        return f"{seconds * 1000:g}ms"
    return f"{seconds * 1_000_000:g}µs"


def slog_line(when: datetime, level: str, logger: str, message: str, fields: Sequence[Field] = ()) -> str:
    """One entry as sloghuman writes it (entryhuman.Fmt, no colour): a multi-line string field is
    written last as `key= ...` on its own lines, and every line after the first is indented 4 spaces."""
    assert level in LEVELS, level
    line = f"{when.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]} [{level}]  "
    line += f"{logger}: " if logger else ""
    line += message.strip()
    multiline: Field | None = None
    for name, value in fields:
        if multiline is None and isinstance(value, str) and "\n" in value.strip():
            multiline = (name, value.strip())
            continue
        line += f"  {_quote(name.replace(' ', '_'))}={_quote(go_value(value))}"
    if multiline is not None:
        name, text = multiline
        first, *rest = text.split("\n")
        indent = " " * (len(name) + 2)
        line += f" ...\n{name}= {first}" + "".join(f"\n{indent}{r}" if r else "\n" for r in rest)
    head, *tail = line.split("\n")
    return "\n".join([head, *(f"    {t}" if t else t for t in tail)])


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
