"""The provisioner: runs template version imports and workspace builds, pending -> running -> succeeded | failed.

A job waits in the queue for ~10% of the build delay, then runs the template's start, stop or
destroy (logging like terraform), or an import's plan, and completes when the build delay is over.
Under `no-provisioner` no daemon accepts new jobs: they stay pending (matched count 0) until the fault is lifted, can be
canceled (coderd: a pending job goes straight to canceled), and an orphan delete of such a workspace
is completed by coderd itself (wsbuilder, "no eligible provisioners"). Under `provisioner-stale` the same,
but the daemon that matches was last seen long ago (matched count 1, available 0). Under `build-replaced` a
start build that succeeds is followed at once by a stop, as coderd's autobuild queues one (reason autostop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from lab.agent import Agents
from lab.codersdk import PARAMETERS
from lab.controlplane import ControlPlane
from lab.faults import (
    BUILD_REPLACED,
    DELETE_FAILS,
    DELETE_FAILS_ONCE,
    DELETED_STILL_SERVED_ONCE,
    NO_DEADLINE,
    NO_PROVISIONER,
    PROVISIONER_STALE,
    Faults,
)
from lab.model import (
    Agent,
    Build,
    Job,
    Resource,
    Store,
    TemplateVersion,
    User,
    Workspace,
    new_id,
    now,
)
from lab.template import PVC, AmeideTemplate, BuildFailed

log = logging.getLogger(__name__)
BUILT_IN_DAEMONS = 3
# Under provisioner-stale, how long ago the one matching daemon was last seen (coderd's stale interval is 90 s).
STALE_FOR = timedelta(minutes=10)
STAGE = {"start": "Starting workspace", "stop": "Stopping workspace", "delete": "Destroying workspace"}
# provisionerd/runner.go: how an import whose plan for the start transition fails ends.
PARAMETER_DEFAULTS = {str(p["name"]): str(p["default_value"]) for p in PARAMETERS}
IMPORT_FAILED = "template import provision for start: terraform plan: exit status 1"


class Provisioner:
    def __init__(
        self,
        store: Store,
        faults: Faults,
        template: AmeideTemplate,
        agents: Agents,
        build_delay: float,
        control_plane: ControlPlane | None = None,
    ) -> None:
        self.control_plane = control_plane  # coderd's pod: its built-in provisioner logs there
        self.store = store
        self.faults = faults
        self.template = template
        self.agents = agents
        self.build_delay = build_delay
        self.worker_id = new_id()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._running: dict[str, asyncio.Task[None]] = {}  # job id -> its task
        # coderd's built-in provisioner daemons (CODER_PROVISIONER_DAEMONS, default 3): one job each.
        self._daemons = asyncio.Semaphore(BUILT_IN_DAEMONS)
        self._unmatched: list[tuple[Workspace, Build]] = []  # waiting for a daemon that accepts them
        self._unmatched_imports: list[TemplateVersion] = []
        faults.subscribe(self._pick_up_unmatched)

    def build(
        self,
        workspace: Workspace,
        transition: str,
        initiator: User,
        version: TemplateVersion | None = None,
        orphan: bool = False,
        reason: str = "initiator",
        parameters: dict[str, str] | None = None,
    ) -> Build:
        """Queue a build; the caller has checked that no build of the workspace is active.

        Without a version the build reuses the previous build's (the active one for the first). Its
        parameter values are the previous build's (the defaults for the first) with `parameters` over them.
        """
        if version is None:
            version = workspace.latest_build.template_version if workspace.builds else workspace.template.active_version
        job = Job(type="workspace_build", input={})
        build = Build(workspace.id, len(workspace.builds) + 1, transition, version, initiator, job, reason)
        previous = workspace.latest_build.parameters if workspace.builds else PARAMETER_DEFAULTS
        build.parameters = dict(previous) | (parameters or {})
        job.input["workspace_build_id"] = build.id
        workspace.builds.append(build)
        self.store.builds[build.id] = build
        if self._no_daemon_for(job):
            if orphan:  # wsbuilder completes an orphan delete that no recently seen daemon could take
                job.status, job.started_at, job.completed_at = "succeeded", now(), now()
                job.unmatched, job.stale_since = False, None
                workspace.deleted = True
            else:
                self._unmatched.append((workspace, build))
                log.info("build %s of %s: no provisioner takes it", build.number, workspace.name)
        else:
            self._start(workspace, build, orphan)
        workspace.changed()
        return build

    def import_version(self, version: TemplateVersion) -> None:
        """Queue a pushed version's import job: coderd's plan of its start and stop transitions."""
        if self._no_daemon_for(version.job):
            self._unmatched_imports.append(version)
        else:
            self._spawn(version.job.id, self._run_import(version))

    def _start(self, workspace: Workspace, build: Build, orphan: bool = False) -> None:
        self._spawn(build.job.id, self._run(workspace, build, orphan))

    def _spawn(self, job_id: str, work: Coroutine[Any, Any, None]) -> None:
        if self._closed:  # a request that arrives while the lab stops starts no job: its files would outlive it
            work.close()
            return
        task = asyncio.create_task(work)
        self._tasks.add(task)
        self._running[job_id] = task
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._running.pop(job_id, None))

    def _no_daemon_for(self, job: Job) -> bool:
        """Whether no daemon will take the job now: none matches its tags (no-provisioner), or the one that does
        was last seen too long ago (provisioner-stale). It is marked so, and waits pending."""
        job.unmatched = self.faults.on(NO_PROVISIONER)
        job.stale_since = now() - STALE_FOR if self.faults.on(PROVISIONER_STALE) and not job.unmatched else None
        return job.unmatched or job.stale_since is not None

    def _pick_up_unmatched(self) -> None:
        """A daemon that accepts the jobs came online (the fault was lifted): the pending ones start."""
        if self.faults.on(NO_PROVISIONER) or self.faults.on(PROVISIONER_STALE):
            return
        waiting, self._unmatched = self._unmatched, []
        for workspace, build in waiting:
            if build.job.status == "pending":
                build.job.unmatched, build.job.stale_since = False, None
                self._start(workspace, build)
                workspace.changed()
        imports, self._unmatched_imports = self._unmatched_imports, []
        for version in imports:
            version.job.unmatched, version.job.stale_since = False, None
            self._spawn(version.job.id, self._run_import(version))

    async def _run_import(self, version: TemplateVersion) -> None:
        """Parse, plan start and stop, record; a module terraform cannot plan fails the import (its logs say
        why), and such a version can neither build workspaces nor be promoted."""
        job, loop = version.job, asyncio.get_running_loop()
        async with self._daemons:
            await asyncio.sleep(self.build_delay * 0.1)
            job.status, job.started_at, job.worker_id = "running", now(), self.worker_id
            ends = loop.time() + self.build_delay * 0.9
            source = version.source
            self._log(job, "Setting up", "")
            self._log(job, "Parsing template parameters", "")
            self._log(job, "Detecting persistent resources", "Terraform 1.9.8")
            problem = source.plan_problem() if source is not None else []
            for line in problem:
                self._log(job, "Detecting persistent resources", line, "error")
            if not problem:
                self._log(job, "Detecting persistent resources", "Plan: 3 to add, 0 to change, 0 to destroy.")
                self._log(job, "Detecting ephemeral resources", "Terraform 1.9.8")
                self._log(job, "Detecting ephemeral resources", "Plan: 2 to add, 0 to change, 0 to destroy.")
            await asyncio.sleep(max(0.0, ends - loop.time()))
            self._log(job, "Cleaning Up", "")
            job.status, job.completed_at = ("failed" if problem else "succeeded"), now()
            job.error = IMPORT_FAILED if problem else None
            if problem and self.control_plane is not None:
                self.control_plane.log("info", "provisionerd.runner", "sent FailedJob", [("job_id", job.id)])
            job.log_signal.fire()

    def cancel(self, workspace: Workspace, build: Build) -> None:
        """coderd's cancel: a job no daemon took is canceled at once; a running one is canceling until
        its daemon stops it."""
        job, moment = build.job, now()
        job.canceled_at = moment
        self._unmatched = [(w, b) for w, b in self._unmatched if b is not build]
        task = self._running.get(job.id)
        if job.worker_id is None:
            job.status, job.completed_at = "canceled", moment
            if task is not None:
                task.cancel()
        else:
            job.status = "canceling"
            if task is not None:
                task.cancel()
                task.add_done_callback(lambda _: self._canceled(workspace, build))
        build.updated_at = moment
        workspace.changed()

    def _canceled(self, workspace: Workspace, build: Build) -> None:
        job = build.job
        self._log(job, "Cleaning Up", "job canceled")
        job.status, job.completed_at = "canceled", now()
        job.log_signal.fire()
        workspace.changed()

    def _log(self, job: Job, stage: str, output: str, level: str = "info") -> None:
        source = "provisioner_daemon" if stage in ("Setting up", "Cleaning Up") else "provisioner"
        self.store.append_log(job, stage, output, level, source)

    async def _run(self, workspace: Workspace, build: Build, orphan: bool = False) -> None:
        async with self._daemons:  # a job waits (pending) for a free daemon, as with coderd's built-in ones
            await self._run_job(workspace, build, orphan)

    async def _run_job(self, workspace: Workspace, build: Build, orphan: bool) -> None:
        job, loop = build.job, asyncio.get_running_loop()
        await asyncio.sleep(self.build_delay * 0.1)
        job.status, job.started_at, job.worker_id = "running", now(), self.worker_id
        build.updated_at = job.started_at
        workspace.changed()
        ends = loop.time() + self.build_delay * 0.9
        self._log(job, "Setting up", "")
        self._log(job, "Planning infrastructure", "Terraform 1.9.8")
        stage = STAGE[build.transition]

        def terraform(level: str, line: str) -> None:
            self._log(job, stage, line, level)

        try:
            resources, agent = await self._apply(workspace, build, terraform, orphan)
        except BuildFailed as error:
            log.info("build %s of %s failed: %s", build.number, workspace.name, error)
            self._finish(workspace, build, "failed", str(error))
            return
        except Exception as error:  # a lab bug must still end the job, as provisionerd does
            log.exception("build %s of %s crashed", build.number, workspace.name)
            self._finish(workspace, build, "failed", f"internal error: {error}")
            return
        self._log(job, stage, "Apply complete!")
        await asyncio.sleep(max(0.0, ends - loop.time()))
        build.resources = resources
        if build.transition == "delete":
            # deleted-still-served-once: coderd fails to mark the first deleted workspace as deleted.
            kept = self.faults.on(DELETED_STILL_SERVED_ONCE) and not workspace.served_after_delete
            workspace.served_after_delete = workspace.served_after_delete or kept
            workspace.deleted = not kept
        self._finish(workspace, build, "succeeded")
        if build.transition == "start" and self.faults.on(BUILD_REPLACED):
            # Queued in the same step as the success (no await between): no reader sees the start as latest.
            self.build(workspace, "stop", workspace.owner, reason="autostop")
        if agent is not None:
            self.agents.launch(workspace, agent)

    def _finish(self, workspace: Workspace, build: Build, status: str, error: str | None = None) -> None:
        job = build.job
        if error is not None:
            self._log(job, STAGE[build.transition], error, "error")
        self._log(job, "Cleaning Up", "")
        job.status, job.error, job.completed_at = status, error, now()
        if status == "failed" and self.control_plane is not None:
            self._log_failure(workspace, build)
        schedules = not self.faults.on(NO_DEADLINE)  # no-deadline: the autostop schedule is never set
        if status == "succeeded" and build.transition == "start" and workspace.ttl_ms and schedules:
            build.deadline = job.completed_at + timedelta(milliseconds=workspace.ttl_ms)
        build.updated_at = job.completed_at
        job.log_signal.fire()
        workspace.changed()

    def _log_failure(self, workspace: Workspace, build: Build) -> None:
        """What coderd's built-in provisioner daemon logs for a failed job (provisionerd/runner)."""
        assert self.control_plane is not None
        job = build.job
        self.control_plane.log(
            "erro",
            "provisionerd.runner",
            "workspace build job failed",
            [
                ("job_id", job.id),
                ("workspace_id", workspace.id),
                ("workspace_name", workspace.name),
                ("build_number", build.number),
                ("transition", build.transition),
                ("error", job.error or ""),
            ],
        )
        self.control_plane.log(
            "info", "provisionerd.runner", "sent FailedJob", [("job_id", job.id), ("error", job.error or "")]
        )

    async def _stop_agents(self, workspace: Workspace) -> None:
        for earlier in workspace.builds[:-1]:
            for agent in earlier.agents:
                await self.agents.stop(workspace, agent)

    async def _apply(
        self, workspace: Workspace, build: Build, terraform: Callable[[str, str], None], orphan: bool = False
    ) -> tuple[list[Resource], Agent | None]:
        job_id, transition = build.job.id, build.transition
        namespace = Resource(job_id, transition, "kubernetes_namespace", "workspace")
        claim = Resource(
            job_id,
            transition,
            "kubernetes_persistent_volume_claim",
            PVC,
            metadata=[{"key": "size", "value": "10Gi", "sensitive": False}],
        )
        if transition == "start":
            previous = workspace.builds[-2] if len(workspace.builds) > 1 else None
            # A new build gives the agent a new token, so its pod (and agent) is replaced.
            await self._stop_agents(workspace)
            placement = await self.template.start(
                workspace,
                previous is not None and previous.transition == "stop",
                terraform,
                build.template_version.image,
            )
            pod = Resource(job_id, transition, "kubernetes_pod", "main")
            env = self.template.env(workspace, placement.volume)
            agent = await self.agents.create(workspace, placement, env, pod.id)
            pod.agents.append(agent)
            self.store.agents[agent.id] = agent
            if sub := self.agents.sub_agent(workspace, agent):
                pod.agents.insert(0, sub)  # list order is no contract: it comes first here
                self.store.agents[sub.id] = sub
            return [namespace, claim, pod], agent
        if transition == "stop":
            await self._stop_agents(workspace)
            kept = self.template.stop(workspace, terraform)
            return ([namespace, claim] if kept else [namespace]), None
        fails = self.faults.on(DELETE_FAILS) or (self.faults.on(DELETE_FAILS_ONCE) and workspace.failed_deletes == 0)
        if fails and not orphan:
            workspace.failed_deletes += 1
            terraform(
                "error",
                f"Error: deleting kubernetes_namespace.workspace "
                f"({self.template.namespace(workspace)}): context deadline exceeded",
            )
            raise BuildFailed("terraform destroy: exit status 1")
        await self._stop_agents(workspace)
        if orphan:
            terraform("warn", "orphan delete: the workspace's resources are left in place")
        else:
            self.template.destroy(workspace, terraform)
        return [], None

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
