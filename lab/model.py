"""The state of the lab's Coder deployment: users, templates, workspaces, builds, jobs and agents.

Plain dataclasses owned by one event loop; `codersdk.py` turns them into Coder's JSON. Every change
that a `/watch` stream should report goes through `Workspace.changed()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lab.template_source import TemplateSource

VERSION = "v2.24.2+lab"
# What a development build of coderd reports (buildinfo.go: no tag, "v0.0.0-devel" and the commit).
DEVEL_VERSION = "v0.0.0-devel+1a2b3c4"
# WorkspaceStatus by build transition and job status (codersdk ConvertWorkspaceStatus); failed,
# canceling and canceled read the same for every transition.
STATUS_BY_JOB = {
    "start": {"pending": "pending", "running": "starting", "succeeded": "running"},
    "stop": {"pending": "pending", "running": "stopping", "succeeded": "stopped"},
    "delete": {"pending": "pending", "running": "deleting", "succeeded": "deleted"},
}
ACTIVE_JOB_STATUSES = ("pending", "running", "canceling")


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def new_token() -> tuple[str, str]:
    """A Coder API key: 10-char id and 22-char secret (`<id>-<secret>` on the wire)."""
    alphabet = string.ascii_letters + string.digits
    return ("".join(secrets.choice(alphabet) for _ in range(10)), "".join(secrets.choice(alphabet) for _ in range(22)))


class Signal:
    """A change counter whose waiters wake on the next change (or a timeout)."""

    def __init__(self) -> None:
        self.version = 0
        self._event = asyncio.Event()

    def fire(self) -> None:
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seen: int, timeout: float | None = None) -> int:
        """Return once `version` differs from `seen` or `timeout` passes; returns the version."""
        if self.version == seen:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout)
        return self.version


@dataclass
class User:
    id: str
    username: str
    name: str
    email: str
    created_at: datetime


@dataclass
class Organization:
    id: str
    name: str
    display_name: str
    created_at: datetime


@dataclass
class LogLine:
    id: int
    created_at: datetime
    source: str  # provisioner_daemon | provisioner
    level: str
    stage: str
    output: str


@dataclass
class Job:
    type: str
    input: dict[str, str]
    id: str = field(default_factory=new_id)
    file_id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    status: str = "pending"
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None
    worker_id: str | None = None
    canceled_at: datetime | None = None
    # No provisioner daemon accepts the job's tags: it stays pending until one does.
    unmatched: bool = False
    # The daemon that accepts its tags was last seen then, too long ago to count as available.
    stale_since: datetime | None = None
    logs: list[LogLine] = field(default_factory=list)
    log_signal: Signal = field(default_factory=Signal)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_JOB_STATUSES


@dataclass
class StoredFile:
    """An upload (`POST /api/v2/files`): coderd keeps one per content hash and creator."""

    id: str
    hash: str
    created_by: str
    mimetype: str
    data: bytes
    created_at: datetime = field(default_factory=now)


@dataclass
class TemplateVersion:
    id: str
    template_id: str
    name: str
    created_at: datetime
    job: Job
    message: str = ""
    # What was pushed; None for the seeded versions, which run the Ameide template as it is.
    source: TemplateSource | None = None
    # The resources its import planned (start and stop transitions), once the import succeeded.
    resources: list[Resource] = field(default_factory=list)

    @property
    def image(self) -> str | None:
        """The workspace pod's image the version names (None: the seeded templates' own)."""
        return self.source.image if self.source is not None else None


@dataclass
class Template:
    id: str
    name: str
    display_name: str
    description: str
    icon: str
    created_at: datetime
    active_version: TemplateVersion


@dataclass
class App:
    slug: str
    display_name: str
    url: str
    healthcheck_url: str
    id: str = field(default_factory=new_id)
    health: str = "initializing"
    subdomain: bool = False  # the template's coder_app `subdomain`: served on the wildcard access URL


@dataclass
class AgentLog:
    id: int
    created_at: datetime
    output: str
    level: str = "info"


@dataclass
class Agent:
    workspace_id: str
    resource_id: str
    home: str
    apps: list[App]
    name: str = "main"
    parent_id: str | None = None  # a devcontainer sub-agent names the agent that runs it
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    status: str = "connecting"
    lifecycle: str = "created"
    first_connected_at: datetime | None = None
    last_connected_at: datetime | None = None
    disconnected_at: datetime | None = None
    started_at: datetime | None = None
    ready_at: datetime | None = None
    logs: list[AgentLog] = field(default_factory=list)
    log_source_id: str = field(default_factory=new_id)
    ssh_port: int | None = None  # the lab's SSH server for this agent while it is connected
    auth_token: str = field(default_factory=new_id)  # CODER_AGENT_TOKEN: a UUID, as coderd issues

    def log(self, output: str, level: str = "info") -> None:
        self.logs.append(AgentLog(len(self.logs) + 1, now(), output, level))


@dataclass
class Resource:
    job_id: str
    transition: str
    type: str
    name: str
    agents: list[Agent] = field(default_factory=list)
    metadata: list[dict[str, object]] = field(default_factory=list)
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)


@dataclass
class Build:
    workspace_id: str
    number: int
    transition: str
    template_version: TemplateVersion
    initiator: User
    job: Job
    reason: str = "initiator"
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    resources: list[Resource] = field(default_factory=list)
    deadline: datetime | None = None
    # The build's parameter values, every parameter of its version (wsbuilder records them all).
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return STATUS_BY_JOB[self.transition].get(self.job.status, self.job.status)

    @property
    def agents(self) -> list[Agent]:
        return [agent for resource in self.resources for agent in resource.agents]


@dataclass
class Workspace:
    owner: User
    template: Template
    name: str
    ttl_ms: int | None
    autostart_schedule: str | None
    automatic_updates: str
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    last_used_at: datetime = field(default_factory=now)
    builds: list[Build] = field(default_factory=list)
    deleted: bool = False
    failed_deletes: int = 0
    served_after_delete: bool = False  # deleted-still-served-once has had its turn
    signal: Signal = field(default_factory=Signal)

    @property
    def latest_build(self) -> Build:
        return self.builds[-1]

    def changed(self) -> None:
        self.signal.fire()


@dataclass
class Store:
    """Everything coderd knows; one owner, one organization, fixed templates."""

    owner: User
    organization: Organization
    templates: list[Template]
    token_id: str
    token_secret: str
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    builds: dict[str, Build] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)
    versions: dict[str, TemplateVersion] = field(default_factory=dict)  # every template's, oldest first
    files: dict[str, StoredFile] = field(default_factory=dict)
    deployment_id: str = field(default_factory=new_id)
    _log_ids: int = 0

    def append_log(self, job: Job, stage: str, output: str, level: str = "info", source: str = "provisioner") -> None:
        """Add a build log line; log ids are global, as in coderd's database."""
        self._log_ids += 1
        job.logs.append(LogLine(self._log_ids, now(), source, level, stage, output))
        job.log_signal.fire()

    def template(self, template_id: str) -> Template | None:
        return next((t for t in self.templates if t.id == template_id), None)

    def template_version(self, version_id: str) -> TemplateVersion | None:
        return self.versions.get(version_id)

    def versions_of(self, template: Template) -> list[TemplateVersion]:
        return [version for version in self.versions.values() if version.template_id == template.id]

    def live_workspace(self, owner: User, name: str) -> Workspace | None:
        """The owner's non-deleted workspace of that name (names are unique per owner, ignoring case)."""
        return next(
            (
                w
                for w in self.workspaces.values()
                if w.owner is owner and not w.deleted and w.name.lower() == name.lower()
            ),
            None,
        )


def create_store() -> Store:
    """The deployment as bootstrap leaves it: first user (owner), default org, the Ameide templates."""
    created = now() - timedelta(days=30)
    owner = User(new_id(), "admin", "Lab Admin", "admin@ameide.lab", created)
    org = Organization(new_id(), "coder", "Coder", created)
    templates = []
    for name, display, description in (
        ("ameide-dev", "Ameide Dev", "Ameide developer workspace (smoke)"),
        ("ameide-gitops", "Ameide GitOps", "Ameide workspace with the full PR workflow"),
    ):
        template_id = new_id()
        job = Job(
            type="template_version_import",
            input={"template_version_id": ""},
            created_at=created,
            status="succeeded",
            started_at=created,
            completed_at=created,
            worker_id=new_id(),
        )
        version = TemplateVersion(new_id(), template_id, "v1", created, job)
        job.input["template_version_id"] = version.id
        templates.append(Template(template_id, name, display, description, "/icon/code.svg", created, version))
    token_id, token_secret = new_token()
    store = Store(owner, org, templates, token_id, token_secret)
    store.versions = {t.active_version.id: t.active_version for t in templates}
    return store
