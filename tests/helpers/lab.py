"""A lab (`python -m lab --handshake`) as the tests meet it: over the wire, like any deployment.

The session has two shared labs (the root conftest's `lab` is one of them: its workspaces run the real
code-server, or the stand-in IDE for a test marked `STANDIN_IDE`); a module of tests/lab/ that needs a lab of its
own (fast builds, planted secrets, faults that would disturb others) has `own_lab` (tests/lab/conftest.py),
started by `module_lab`. Both are a `Lab`.
"""

from __future__ import annotations

import os
import signal
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from github import Auth, Github
from kubernetes import client as kube_client
from kubernetes import config as kube_config

from workspace_spec.settings import env_name, load_settings
from workspace_spec.target import LAB_STOP_TIMEOUT, LabProcess

# Builds and agents in a fraction of a second: the lab's behaviour, not its timing, is under test.
FAST = {"build_delay": 0.2, "agent_delay": 0.1}


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context for the tests' API clients: each new one loads the CA bundle again (20-40 ms)."""
    return httpx.create_ssl_context()


class Lab:
    """One running lab. A test sees only what its own suite runs created, by the workspace name prefix it
    gives them (`prefix`: the root conftest makes a new one for every test)."""

    def __init__(self, process: LabProcess, prefix: str = "spec") -> None:
        self.process = process
        self.prefix = prefix
        self._admin_kube: kube_client.CoreV1Api | None = None

    @classmethod
    def start(
        cls,
        *,
        faults: tuple[str, ...] = (),
        build_delay: float | None = None,
        agent_delay: float | None = None,
        secrets: dict[str, str] | None = None,
        code_server: bool = True,
    ) -> Lab:
        """Start a lab as the suite starts it; `secrets` are LAB_* variables it reads at start. Without
        `code_server` its workspaces run the stand-in IDE even where the real code-server is installed."""
        options: dict[str, Any] = {"coder_url": ""}  # no deployment: the lab
        if faults:
            options["lab_faults"] = list(faults)
        if build_delay is not None:
            options["lab_build_delay"] = build_delay
        if agent_delay is not None:
            options["lab_agent_delay"] = agent_delay
        settings = load_settings(options)
        variables = dict(secrets or {})
        if not code_server:
            variables["LAB_CODE_SERVER_PREFIX"] = "/nonexistent/code-server"  # lab/ide.py finds none there
        with _environment(variables):  # the lab inherits them
            return cls(LabProcess.start(settings))

    def stop(self, signum: int | None = None, timeout: float = LAB_STOP_TIMEOUT) -> int:
        """Stop the lab by closing its stdin (its cue to shut down), or with `signum`; its exit status.
        One that lingers past `timeout` is made to stop, and that is an error."""
        popen = self.process.process
        try:
            if signum is None:
                assert popen.stdin is not None
                popen.stdin.close()
            else:
                popen.send_signal(signum)
            return popen.wait(timeout)
        finally:
            self.process.stop()  # insists if it lingers; closes what the lab wrote to stderr

    # -- what the lab says about itself -----------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """The settings its handshake names (CODER_URL, KUBECONFIG, GITHUB_API_URL, ...)."""
        return self.process.env

    @property
    def url(self) -> str:
        return self.env["CODER_URL"]

    @property
    def token(self) -> str:
        return self.env["CODER_SESSION_TOKEN"]

    @property
    def state_dir(self) -> Path:
        return Path(self.env["KUBECONFIG"]).parent

    def log(self) -> str:
        return (self.state_dir / "lab.log").read_text()

    def log_since(self, offset: int, *expected: str, timeout: float = 5) -> str:
        """The log from `offset` (an earlier `len(lab.log())`) on, once each `expected` text is in it: a request's
        access line is written after its answer."""
        deadline = time.monotonic() + timeout
        while True:
            since = self.log()[offset:]
            if all(text in since for text in expected) or time.monotonic() > deadline:
                return since
            time.sleep(0.05)

    # -- clients -----------------------------------------------------------------------------------

    def api(self) -> httpx.Client:
        """coderd's API with the session token."""
        headers = {"Coder-Session-Token": self.token}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10, verify=_tls())

    def admin_kube(self) -> kube_client.CoreV1Api:
        """The Kubernetes API as the lab's admin: reading PVCs and listing namespaces is beyond the CI identity
        (whose kubeconfig is KUBECONFIG); the admin's lies beside it. One client per lab: each new one reads
        the kubeconfig and loads its CA again, and the tests poll with it."""
        if self._admin_kube is None:
            admin = Path(self.env["KUBECONFIG"]).with_name("kubeconfig-admin")
            self._admin_kube = kube_client.CoreV1Api(kube_config.new_client_from_config(config_file=str(admin)))
        return self._admin_kube

    def github(self) -> Github:
        return Github(
            base_url=self.env["GITHUB_API_URL"],
            auth=Auth.Token(self.env["GITHUB_TOKEN"]),
            verify=self.env["REQUESTS_CA_BUNDLE"],  # the lab CA
        )

    # -- faults --------------------------------------------------------------------------------------

    def set_faults(self, *faults: str) -> None:
        """Replace the active faults (none: a healthy platform)."""
        with self.api() as api:
            answer = api.put("/lab/faults", json={"faults": list(faults)}).raise_for_status().json()
        assert answer == {"faults": list(faults)}, answer

    @contextmanager
    def faults(self, *faults: str) -> Iterator[Lab]:
        """`with lab.faults("build-fails"):` the platform is broken so inside the block, and healthy again after
        it, however the block ends (the one place the faults are lifted)."""
        self.set_faults(*faults)
        try:
            yield self
        finally:
            self.set_faults()

    # -- what a suite run left -----------------------------------------------------------------------

    def suite_env(self, **extra: str) -> dict[str, str]:
        """The environment that points the suite at this lab as at any deployment."""
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SPEC_", "CODER_"))}
        env.update({env_name(key.lower()): value for key, value in self.env.items()})
        env["SPEC_NAME_PREFIX"] = self.prefix
        env.update(extra)
        return env

    def sandbox_leftovers(self) -> tuple[list[str], list[int]]:
        """Branches other than the default, and open pull requests, on the bot-writable repository."""
        with self.github() as github:
            repo = github.get_repo(self.env["E2E_REPO"])
            ours = f"{self.prefix}/"
            branches = [b.name for b in repo.get_branches() if b.name.startswith(ours)]
            return branches, [pull.number for pull in repo.get_pulls(state="open") if pull.head.ref.startswith(ours)]

    def workspaces(self) -> list[dict]:
        """This test's workspaces (named with its prefix)."""
        with self.api() as api:
            found = api.get("/api/v2/workspaces").raise_for_status().json()["workspaces"]
        return [workspace for workspace in found if workspace["name"].startswith(f"{self.prefix}-")]

    def workspace_namespaces(self) -> list[str]:
        return [
            ns.metadata.name
            for ns in self.admin_kube().list_namespace().items
            if ns.metadata.name.startswith("ameide-ws-")
            and (ns.metadata.labels or {}).get("com.coder.workspace.name", "").startswith(f"{self.prefix}-")
        ]

    def assert_clean(self, why: str = "") -> None:
        """Nothing this test's runs created is left: no workspace, no namespace (terminating ones given time)."""
        workspaces, namespaces = self.wait_until_clean()
        assert ([workspace["name"] for workspace in workspaces], namespaces) == ([], []), why

    def wait_until_clean(self, timeout: float = 10.0) -> tuple[list[dict], list[str]]:
        """Leftover workspaces and namespaces, once terminating namespaces had time to go."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.workspaces(), self.workspace_namespaces()
            if not any(left) or time.monotonic() > deadline:
                return left
            time.sleep(0.25)


@contextmanager
def module_lab(**options: Any) -> Iterator[Lab]:
    """A lab of a test module's own (options as `Lab.start`), stopped as a service manager stops it: on SIGTERM
    it exits 0, and leaves none of its files behind (not even a clone a build had under way)."""
    lab = Lab.start(**options)
    try:
        yield lab
    finally:
        status = lab.stop(signal.SIGTERM, timeout=10)
    assert status == 0
    assert not lab.state_dir.exists(), f"the lab left {lab.state_dir} behind"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)


STANDIN_IDE = pytest.mark.standin_ide
"""The mark of a test (or a module's `pytestmark`) whose `lab` runs the stand-in IDE (tests/conftest.py): what
it proves is not code-server, and each workspace start of the real one (about 1.4 CPU-seconds) would only add
up."""
