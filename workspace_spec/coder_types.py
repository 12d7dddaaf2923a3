"""The parts of Coder's JSON the suite reasons about, as codersdk types them (codersdk/workspaceapps.go,
workspaceagents.go, provisionerdaemons.go, workspaces.go, templates.go); each keeps what it was read from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class App:
    slug: str
    health: str
    healthcheck_url: str | None
    subdomain: bool = False  # served on the deployment's wildcard host, not under the access URL's path
    subdomain_name: str = ""  # its host's first label, `{slug}--{agent}--{workspace}--{owner}`

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> App:
        return cls(
            slug=data["slug"],
            health=data.get("health", ""),
            healthcheck_url=(data.get("healthcheck") or {}).get("url") or None,
            subdomain=bool(data.get("subdomain")),
            subdomain_name=str(data.get("subdomain_name") or ""),
        )


@dataclass(frozen=True)
class Script:
    """One of an agent's scripts; newer Coder reports how its last run ended (db2sdk.WorkspaceAgentScript:
    `status` ok | exit_failure | timed_out | pipes_left_open, `exit_code`), older Coder neither."""

    name: str
    status: str
    exit_code: int | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Script:
        code = data.get("exit_code")
        return cls(
            str(data.get("display_name") or ""), str(data.get("status") or ""), code if isinstance(code, int) else None
        )

    @property
    def failed(self) -> bool:
        return self.status not in ("", "ok") or bool(self.exit_code)

    def describe(self) -> str:
        code = f", exit code {self.exit_code}" if self.exit_code is not None else ""
        return f"script {self.name!r} {self.status or 'ended'}{code}"


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    status: str  # connecting | connected | disconnected | timeout
    lifecycle_state: str
    apps: tuple[App, ...]
    parent_id: str | None = None  # set on a devcontainer sub-agent: the agent that runs it
    health_reason: str = ""  # Coder's `health.reason` when it deems the agent unhealthy
    scripts: tuple[Script, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Agent:
        health = data.get("health") or {}
        return cls(
            id=data["id"],
            name=data["name"],
            status=data.get("status", ""),
            lifecycle_state=data.get("lifecycle_state", ""),
            apps=tuple(App.from_json(app) for app in data.get("apps") or []),
            parent_id=data.get("parent_id") or None,
            health_reason="" if health.get("healthy", True) else str(health.get("reason") or "unhealthy"),
            scripts=tuple(Script.from_json(script) for script in data.get("scripts") or []),
        )

    @property
    def usable(self) -> bool:
        """Ready and reachable: a ready lifecycle says nothing once the agent has lost its connection."""
        return self.status == "connected" and self.lifecycle_state == "ready"

    def app(self, slug: str) -> App | None:
        return next((app for app in self.apps if app.slug == slug), None)

    def failed_scripts(self) -> str:
        """The scripts whose last run failed, as Coder reports them ('' when it reports none)."""
        return "; ".join(script.describe() for script in self.scripts if script.failed)


@dataclass(frozen=True)
class Provisioners:
    """A pending job's `matched_provisioners` (db2sdk.MatchedProvisioners, Coder 2.18+): `count` daemons accept
    its tags, and of those `available` were seen within the stale interval; `most_recently_seen` is the last
    time any of them was."""

    count: int
    available: int
    most_recently_seen: str | None

    @classmethod
    def from_json(cls, data: Any) -> Provisioners | None:
        if not isinstance(data, dict) or "count" not in data:
            return None
        available = data.get("available")
        # Without `available` (never so in 2.18+), no staleness can be told: count them all as available.
        return cls(
            int(data["count"]),
            int(data["count"] if available is None else available),
            data.get("most_recently_seen") or None,
        )


@dataclass(frozen=True)
class Workspace:
    """The parts of Coder's Workspace JSON the suite reasons about; `raw` keeps the rest."""

    id: str
    name: str
    owner_name: str
    template_name: str
    ttl_ms: int | None
    build_id: str
    build_number: int
    transition: str
    status: str
    job_status: str
    job_error: str
    deadline: str | None
    # The daemons that could take the latest build's job, while it is pending (None otherwise or unreported).
    provisioners: Provisioners | None
    agents: tuple[Agent, ...]
    raw: dict[str, Any]
    initiator_name: str = ""  # who started the latest build (the owner for autostart and autostop)
    reason: str = ""  # why: initiator | autostart | autostop | dormancy ...
    job_error_code: str = ""  # e.g. REQUIRED_TEMPLATE_VARIABLES
    job_tags: tuple[tuple[str, str], ...] = ()  # the tags a provisioner must accept to take the job
    queue_position: int = 0
    queue_size: int = 0
    template_version_id: str = ""  # the version the latest build runs
    dormant_at: str | None = None
    deleting_at: str | None = None
    failing_agents: tuple[str, ...] = ()  # ids of the agents Coder counts against the workspace's health

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Workspace:
        build = data["latest_build"]
        job = build.get("job") or {}
        agents = [agent for resource in build.get("resources") or [] for agent in resource.get("agents") or []]
        pending = job.get("status") == "pending"
        return cls(
            id=data["id"],
            name=data["name"],
            owner_name=data["owner_name"],
            template_name=data.get("template_name", ""),
            ttl_ms=data.get("ttl_ms"),
            build_id=build["id"],
            build_number=build.get("build_number", 0),
            transition=build["transition"],
            status=build["status"],
            job_status=job.get("status", ""),
            job_error=job.get("error", ""),
            deadline=build.get("deadline"),
            # Coder counts matching daemons for pending jobs only; other jobs read zero.
            provisioners=Provisioners.from_json(build.get("matched_provisioners")) if pending else None,
            agents=tuple(Agent.from_json(agent) for agent in agents),
            raw=data,
            initiator_name=str(build.get("initiator_name") or ""),
            reason=str(build.get("reason") or ""),
            job_error_code=str(job.get("error_code") or ""),
            job_tags=tuple(sorted((str(k), str(v)) for k, v in (job.get("tags") or {}).items())),
            queue_position=int(job.get("queue_position") or 0),
            queue_size=int(job.get("queue_size") or 0),
            template_version_id=str(build.get("template_version_id") or ""),
            dormant_at=data.get("dormant_at") or None,
            deleting_at=data.get("deleting_at") or None,
            failing_agents=tuple((data.get("health") or {}).get("failing_agents") or ()),
        )

    def never_picked_up(self) -> bool:
        """The latest build is pending and no daemon will take it: none accepts its tags, or none of those
        that do has been seen lately. Coder lets anyone cancel such a job."""
        found = self.provisioners
        return found is not None and (found.count == 0 or found.available == 0)

    def ide_agent(self, slug: str, name: str = "") -> Agent | None:
        """The agent the developer works in: the one named, else the root agent (no `parent_id`) that serves
        the app `slug`, as Coder's own default is the first root agent (site/src/utils/workspace.tsx
        getFirstRootAgent). List order is no contract, so it never decides: a devcontainer sub-agent that
        also serves the app is chosen only when no root agent does, and among several the first by name."""
        if name:
            return next((agent for agent in self.agents if agent.name == name), None)
        serving = sorted((agent for agent in self.agents if agent.app(slug)), key=lambda agent: agent.name)
        return next((agent for agent in serving if agent.parent_id is None), serving[0] if serving else None)

    def app(self, slug: str, agent_name: str = "") -> App | None:
        agent = self.ide_agent(slug, agent_name)
        return agent.app(slug) if agent else None

    def deadline_passed(self) -> bool:
        """Whether the running build's stop deadline lies in the past (False when it has none)."""
        if not self.deadline:
            return False
        return datetime.fromisoformat(self.deadline) <= datetime.now(UTC)


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    organization_id: str
    active_version_id: str
    default_ttl_ms: int
    require_active_version: bool = False  # workspaces build its active version only (template admins exempt)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Template:
        return cls(
            id=data["id"],
            name=data["name"],
            organization_id=data["organization_id"],
            active_version_id=data["active_version_id"],
            default_ttl_ms=int(data.get("default_ttl_ms") or 0),
            require_active_version=bool(data.get("require_active_version")),
        )
