"""Workspace agents: connect, run the startup script (code-server) and report ready, check app health.

An agent's processes are its SSH server and its IDE server (lab/ide.py: the real code-server, or the
stand-in). The IDE starts with the pod, before the agent connects: the app's URL names its port, which the
real code-server picks itself (Coder's template fixes 13337; here many workspaces share one host).
Lifecycle, as Coder reports it: status connecting -> connected, lifecycle created -> starting -> ready;
on stop shutting_down -> off and disconnected. A startup script that times out leaves the lifecycle at
start_timeout for good (agent/agent.go: nothing sets ready after agentscripts.ErrTimeout). A devcontainer
sub-agent (faults sub-agent-first, sub-agent-fails) has `parent_id` set and no apps; its parent starts it.
Under app-on-subdomain the template declares code-server with `subdomain = true`; under no-healthcheck
without a healthcheck, so Coder reports its health `disabled` and checks nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import TYPE_CHECKING

import aiohttp

from lab.codersdk import HEALTHCHECK
from lab.envbuilder import REPO_DIR
from lab.faults import (
    AGENT_DISCONNECTED,
    AGENT_NEVER_READY,
    AGENT_START_TIMEOUT,
    APP_ON_SUBDOMAIN,
    IDE_PORT_REFUSED,
    IDE_WEDGED,
    NO_HEALTHCHECK,
    SUB_AGENT_FAILS,
    SUB_AGENT_FIRST,
    Faults,
)
from lab.ide import CodeServerInstall, IDEServer, RealCodeServer, StandInCodeServer
from lab.image import Image
from lab.model import Agent, App, Workspace, now
from lab.template import Placement

if TYPE_CHECKING:
    from lab.sshd import SSHD

log = logging.getLogger(__name__)
FIRST_CHECK_INTERVAL = 0.2  # seconds between checks until the app first answers


def _free_port() -> int:
    """A loopback port nothing listens on (bound and released at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Running:
    """One agent's processes and the tasks that drive it."""

    def __init__(self, sshd: SSHD, ide: IDEServer) -> None:
        self.sshd = sshd
        self.ide = ide
        self.tasks: list[asyncio.Task[None]] = []
        self.sub_agents: list[Agent] = []


class Agents:
    def __init__(
        self,
        faults: Faults,
        agent_delay: float,
        image: Image,
        code_server: CodeServerInstall | None = None,
    ) -> None:
        self.faults = faults
        self.image = image
        self.code_server = code_server  # None: the stand-in
        self.agent_delay = agent_delay
        self._running: dict[str, _Running] = {}
        self._http: aiohttp.ClientSession | None = None
        self.coder_url = ""  # coderd's access URL, set once it listens: the agent's CODER_AGENT_URL

    async def create(self, workspace: Workspace, placement: Placement, env: dict[str, str], resource_id: str) -> Agent:
        """Start the pod's processes (IDE server first: the app URL names its port); not yet connected."""
        folder = str(placement.volume / REPO_DIR)
        ide = await self._start_ide(folder, env)
        port = ide.port
        undeclared = self.faults.on(NO_HEALTHCHECK)  # the template's coder_app has no healthcheck block
        app = App(
            slug="code-server",
            display_name="code-server",
            url=f"http://localhost:{port}/?folder={folder}",
            healthcheck_url="" if undeclared else f"http://localhost:{port}/healthz",
            health="disabled" if undeclared else "initializing",
            subdomain=self.faults.on(APP_ON_SUBDOMAIN),  # the template's `subdomain = true`
        )
        agent = Agent(workspace_id=workspace.id, resource_id=resource_id, home=str(placement.home), apps=[app])
        # As the agent's process has them: `coder external-auth ...` in a session talks to coderd with these.
        env = env | {"CODER_AGENT_URL": self.coder_url, "CODER_AGENT_TOKEN": agent.auth_token}
        from lab.sshd import SSHD, host_key  # asyncssh: loaded after the lab's handshake (server.run)

        self._running[agent.id] = _Running(SSHD(host_key(), env, placement.home), ide)
        return agent

    async def _start_ide(self, folder: str, env: dict[str, str]) -> IDEServer:
        if self.code_server is None:
            return await StandInCodeServer.start(folder, self.faults)
        extensions = self.image.extensions()
        return await RealCodeServer.start(self.code_server, folder, env, extensions, wedged=self.faults.on(IDE_WEDGED))

    def sub_agent(self, workspace: Workspace, parent: Agent) -> Agent | None:
        """The devcontainer sub-agent the parent will start, when a fault asks for one."""
        if not (self.faults.on(SUB_AGENT_FIRST) or self.faults.on(SUB_AGENT_FAILS)):
            return None
        # Its devcontainer declares a code-server app of its own, which never comes up here (the lab runs
        # no IDE for it): a suite that picks the sub-agent by list order waits for it in vain.
        port = _free_port()
        app = App(
            slug="code-server",
            display_name="code-server",
            url=f"http://localhost:{port}/",
            healthcheck_url=f"http://localhost:{port}/healthz",
        )
        sub = Agent(
            workspace_id=workspace.id, resource_id=parent.resource_id, home=parent.home, apps=[app], name="devcontainer"
        )
        sub.parent_id = parent.id
        self._running[parent.id].sub_agents.append(sub)
        return sub

    def launch(self, workspace: Workspace, agent: Agent) -> None:
        running = self._running[agent.id]
        running.tasks.append(asyncio.create_task(self._lifecycle(workspace, agent, running)))

    async def _lifecycle(self, workspace: Workspace, agent: Agent, running: _Running) -> None:
        await asyncio.sleep(self.agent_delay * 0.25)
        agent.ssh_port = await running.sshd.start()
        agent.status, agent.lifecycle = "connected", "starting"
        agent.first_connected_at = agent.last_connected_at = agent.started_at = now()
        agent.log("Started the startup script: code-server --auth none")
        workspace.changed()
        running.tasks.append(asyncio.create_task(self._check_health(workspace, agent)))
        await asyncio.sleep(self.agent_delay * 0.75)
        if self.faults.on(AGENT_NEVER_READY):
            log.info("agent %s stays starting (agent-never-ready)", agent.id)
            return
        if self.faults.on(AGENT_START_TIMEOUT):
            agent.lifecycle = "start_timeout"
            agent.log("script timed out: Startup Script (timeout 300s)", level="error")
            workspace.changed()
            return
        agent.lifecycle, agent.ready_at = "ready", now()
        agent.log("code-server listening; startup script finished")
        for sub in running.sub_agents:
            sub.status, sub.first_connected_at, sub.last_connected_at = "connected", now(), now()
            sub.started_at = now()
            sub.lifecycle = "start_error" if self.faults.on(SUB_AGENT_FAILS) else "ready"
            sub.ready_at = now()
        if self.faults.on(AGENT_DISCONNECTED):
            await running.sshd.stop()  # its connection to coderd is gone: no SSH reaches it
            agent.status, agent.disconnected_at, agent.ssh_port = "disconnected", now(), None
        workspace.changed()

    async def _check_health(self, workspace: Workspace, agent: Agent) -> None:
        """Coder's app health check: 2xx/3xx is a pass; `threshold` failures in a row is unhealthy."""
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2))
        checked = [app for app in agent.apps if app.healthcheck_url]  # the agent checks only what declares one
        failures = {app.id: 0 for app in checked}
        while True:
            for app in checked:
                url = app.healthcheck_url.replace("//localhost:", "//127.0.0.1:", 1)
                try:
                    async with self._http.get(url) as response:
                        passed = response.status < 500  # the agent: "a non-5XX status code"
                except (aiohttp.ClientError, TimeoutError):
                    passed = False
                failures[app.id] = 0 if passed else failures[app.id] + 1
                health = (
                    "healthy"
                    if passed
                    else ("unhealthy" if failures[app.id] >= HEALTHCHECK["threshold"] else app.health)
                )
                if health != app.health:
                    app.health = health
                    workspace.changed()
                if passed and self.faults.on(IDE_PORT_REFUSED):
                    await self._crash_ide(agent)  # reported healthy once: now it goes away
            initializing = any(app.health == "initializing" for app in checked)
            await asyncio.sleep(FIRST_CHECK_INTERVAL if initializing else HEALTHCHECK["interval"])

    async def _crash_ide(self, agent: Agent) -> None:
        running = self._running.get(agent.id)
        if running is not None:
            log.info("code-server of agent %s stops listening (ide-port-refused)", agent.id)
            await running.ide.crash()

    async def stop(self, workspace: Workspace, agent: Agent) -> None:
        """Shut the agent down (its pod is going away)."""
        running = self._running.pop(agent.id, None)
        if running is None:
            return
        for sub in running.sub_agents:
            sub.lifecycle, sub.status, sub.disconnected_at = "off", "disconnected", now()
        agent.lifecycle = "shutting_down"
        workspace.changed()
        await self._halt(running)
        agent.lifecycle, agent.status = "off", "disconnected"
        agent.disconnected_at, agent.ssh_port = now(), None
        workspace.changed()

    @staticmethod
    async def _halt(running: _Running) -> None:
        for task in running.tasks:
            task.cancel()
        for task in running.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await running.sshd.stop()
        await running.ide.stop()

    async def close(self) -> None:
        for running in list(self._running.values()):
            await self._halt(running)
        self._running.clear()
        if self._http is not None:
            await self._http.close()
