"""Assembles the lab (Kubernetes API, Keycloak realm, git host with its GitHub API, the model Codex
talks to, coderd), prints the handshake, and shuts everything down on SIGTERM, SIGINT or EOF on stdin."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import secrets
import shlex
import shutil
import signal
import ssl
import stat
import string
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from lab.agent import Agents
from lab.coderd import coderd_app
from lab.coderd.deployment import Deployment, GitHubLink
from lab.codersdk import Renderer
from lab.controlplane import ControlPlane
from lab.faults import REGISTRY, Faults, UnknownFault, validate
from lab.github import BOT, DEVELOPER, GitHub, install
from lab.github.githost import GitHost
from lab.github.smarthttp import git_app
from lab.ide import find_code_server
from lab.identity import idp_app
from lab.image import CodexSetup, Image
from lab.kube.api import kube_app
from lab.kube.kubeconfig import write_kubeconfig
from lab.kube.rbac import ADMIN, CI, CI_ACCOUNT
from lab.kube.store import Cluster
from lab.model import create_store, now
from lab.openai_api import openai_app
from lab.provisioner import Provisioner
from lab.template import AmeideTemplate
from lab.tls import LabCA

# Variables the platform's own tools read under these names (everything else is a suite setting).
PLATFORM_VARIABLES = frozenset(
    {"CODER_URL", "CODER_SESSION_TOKEN", "KUBECONFIG", "GITHUB_TOKEN", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"}
)

log = logging.getLogger("lab")
SEEDS = Path(__file__).resolve().parent / "seed"
REPO = ("ameideio", "ameide")
E2E_REPO = ("ameideio", "workspace-spec-sandbox")  # the bot-writable repository


@dataclass
class Options:
    faults: list[str] = field(default_factory=list)
    build_delay: float = 0.6
    agent_delay: float = 0.4
    handshake: bool = False
    state_dir: Path | None = None
    # Secrets the lab issues; random unless given (tests plant canaries to prove none leaks).
    github_token: str | None = field(default=None, repr=False)
    external_auth_token: str | None = field(default=None, repr=False)
    codex_key: str | None = field(default=None, repr=False)


class _AccessLogger(AbstractAccessLogger):
    """Method, path and status only: query strings may carry a session token."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.3fs", request.method, request.path, response.status, time)


def seed_files(name: str) -> dict[str, str]:
    seed = SEEDS / name
    return {str(path.relative_to(seed)): path.read_text() for path in sorted(seed.rglob("*")) if path.is_file()}


def github_style_token(prefix: str) -> str:
    """Like GitHub's tokens: a type prefix (ghp_ personal, gho_ OAuth) and 36 letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(36))


def write_cli(state_dir: Path) -> Path:
    """The stand-in `coder` executable: this interpreter running lab.cli, with `lab` importable."""
    path = state_dir / "bin" / "coder"
    path.parent.mkdir(parents=True, exist_ok=True)
    root = shlex.quote(str(Path(__file__).resolve().parent.parent))
    path.write_text(
        f"#!/bin/sh\nPYTHONPATH={root}${{PYTHONPATH:+:$PYTHONPATH}}\nexport PYTHONPATH\n"
        f'exec {shlex.quote(sys.executable)} -m lab.cli "$@"\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Stop when stdin (a pipe, socket or terminal: our parent) reaches EOF; ignore /dev/null and files."""
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(0)):
        return

    def read_until_eof() -> None:
        # A blocking read in a thread leaves the terminal's flags alone (no O_NONBLOCK on a shared tty).
        while os.read(0, 4096):
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=read_until_eof, name="stdin-eof", daemon=True).start()


class Lab:
    def __init__(self, options: Options, state_dir: Path) -> None:
        self.options = options
        self.state_dir = state_dir
        self._runners: list[web.AppRunner] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self.env: dict[str, str] = {}
        self.codex_cli = False  # the workspaces have the real Codex CLI
        self.ide = ""  # the real IDE the workspaces run ("code-server 4.139.1"); '' for the stand-in
        self.faults = Faults(options.faults)
        self.ca = LabCA()  # every HTTPS server of the lab presents a certificate it signed
        self.admin_kubeconfig = state_dir / "kubeconfig-admin"

    async def _serve(self, app: web.Application, ssl_context: ssl.SSLContext | None = None) -> int:
        # Cancelling a handler whose client went away ends /watch streams and bridges promptly.
        runner = web.AppRunner(
            app, handle_signals=False, shutdown_timeout=1.0, handler_cancellation=True, access_log_class=_AccessLogger
        )
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
        return int(runner.addresses[0][1])

    async def start(self) -> None:
        cluster = Cluster()
        control_plane = ControlPlane(cluster)  # coderd's own pod in ameide-dev, for its log
        # The suite's kubeconfig is the least-privilege CI service account; the admin one is for people.
        ci_token, admin_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        kube_tls = self.ca.server_context("lab-kube-apiserver")
        kube = kube_app(cluster, {ci_token: CI, admin_token: ADMIN}, self.faults)
        kube_url = f"https://127.0.0.1:{await self._serve(kube, ssl_context=kube_tls)}"
        kubeconfig = self.state_dir / "kubeconfig"
        write_kubeconfig(kubeconfig, kube_url, ci_token, ca_pem=self.ca.pem, user=CI_ACCOUNT)
        write_kubeconfig(self.admin_kubeconfig, kube_url, admin_token, ca_pem=self.ca.pem, user=ADMIN.name)

        issuer = f"http://127.0.0.1:{await self._serve(idp_app('ameide', self.faults))}/realms/ameide"

        options = self.options
        github_token = options.github_token or github_style_token("ghp_")
        external_auth_token = options.external_auth_token or github_style_token("gho_")
        githost = GitHost(self.state_dir / "git", [github_token, external_auth_token], self.faults)
        github_app = git_app(githost)  # git's smart HTTP, then GitHub's APIs beside it
        install(github_app, GitHub(githost, self.faults, {github_token: BOT, external_auth_token: DEVELOPER}))
        git_port = await self._serve(github_app, ssl_context=self.ca.server_context("lab-github"))
        githost.base_url = f"https://127.0.0.1:{git_port}"
        bundle = self.ca.write_bundle(self.state_dir / "ca-bundle.pem")
        lab_ca = self.state_dir / "lab-ca.pem"
        lab_ca.write_text(self.ca.pem)
        githost.create_repo(*REPO, seed_files("ameide"))
        githost.create_repo(*E2E_REPO, seed_files("workspace-spec-sandbox"), bot_writable=True)
        repo_url = githost.clone_url(*REPO)

        codex_key = options.codex_key or f"sk-lab-{secrets.token_urlsafe(32)}"
        model_url = f"http://127.0.0.1:{await self._serve(openai_app(codex_key, self.faults))}/v1"
        cli = write_cli(self.state_dir)
        code_server = find_code_server()
        vsix = Image.pack_extension(self.state_dir / "image") if code_server else None
        image = Image(self.faults, coder_cli=cli, codex=CodexSetup(model_url, codex_key), extension_vsix=vsix)
        self.codex_cli = image.codex_cli
        self.ide = code_server.describe() if code_server else ""
        if code_server is None:
            log.warning("no code-server (bin/setup --ide installs it): lab workspaces get a stand-in IDE")

        store = create_store()
        trust = {"SSL_CERT_FILE": str(bundle), "GIT_SSL_CAINFO": str(bundle), "NODE_EXTRA_CA_CERTS": str(lab_ca)}
        template = AmeideTemplate(cluster, self.state_dir, image, self.faults, repo_url, trust)
        template.session_token = f"{store.token_id}-{store.token_secret}"
        template.github_token = external_auth_token
        agents = Agents(self.faults, self.options.agent_delay, image, code_server)
        provisioner = Provisioner(store, self.faults, template, agents, self.options.build_delay, control_plane)
        self._closers += [agents.close, provisioner.close]  # run in reverse: builds first
        deployment = Deployment(
            store,
            self.faults,
            Renderer(store, self.faults),
            provisioner,
            oidc_issuer=issuer,
            control_plane=control_plane,
        )
        deployment.github = GitHubLink(
            external_auth_token, DEVELOPER.login, DEVELOPER.name, DEVELOPER.id, githost.base_url, now()
        )
        deployment.access_url = f"http://127.0.0.1:{await self._serve(coderd_app(deployment))}"
        agents.coder_url = deployment.access_url
        control_plane.started(deployment.access_url)

        self.env = {
            "CODER_URL": deployment.access_url,
            "CODER_SESSION_TOKEN": f"{store.token_id}-{store.token_secret}",
            "CODER_CLI": str(cli),
            "KUBECONFIG": str(kubeconfig),
            "WORKSPACE_DIR": "$WORKSPACE_VOLUME",
            "REPO_DIR": "$WORKSPACE_VOLUME/ameide",
            "REPO_URL": repo_url,
            "OIDC_ISSUER": issuer,
            "GITHUB_TOKEN": github_token,
            "GITHUB_API_URL": f"{githost.base_url}/api/v3",
            "E2E_REPO": "/".join(E2E_REPO),
            "E2E_REPO_URL": githost.clone_url(*E2E_REPO),
            # The @codex scenario runs by default only where the workspaces have the real Codex CLI.
            **({"CODEX": "auth-json"} if image.codex_cli else {}),
            "SSL_CERT_FILE": str(bundle),
            "REQUESTS_CA_BUNDLE": str(bundle),
        }
        log.info(
            "lab ready: coderd %s, kubernetes %s, faults %s",
            deployment.access_url,
            kube_url,
            self.faults.active or "none",
        )

    async def close(self) -> None:
        for closer in reversed(self._closers):
            await closer()
        for runner in reversed(self._runners):
            await runner.cleanup()


def _variable(key: str) -> str:
    """The environment variable a shell user sets for a handshake key: the platform's own names stay,
    the suite reads its other settings as SPEC_<NAME>."""
    return key if key in PLATFORM_VARIABLES else f"SPEC_{key}"


def _announce(lab: Lab, options: Options) -> None:
    if options.handshake:
        handshake = {
            "ready": True,
            "env": lab.env,
            "faults": lab.faults.active,
            "codex_cli": lab.codex_cli,
            "ide": lab.ide,
        }
        print(json.dumps(handshake), flush=True)
        sys.stdout = sys.stderr  # nothing else may reach the parent's pipe
        return
    print("# The lab is running. Point the suite and kubectl at it with:")
    for key, value in lab.env.items():
        # WORKSPACE_DIR and REPO_DIR name a variable of the workspace: keep it unexpanded.
        quoted = f"'{value}'" if value.startswith("$") else shlex.quote(value)
        print(f"export {_variable(key)}={quoted}")
    print(
        f"# KUBECONFIG is the CI service account (least privilege); for all rights:\n"
        f"#   kubectl --kubeconfig {shlex.quote(str(lab.admin_kubeconfig))} get namespaces\n"
        f"# (log: {lab.state_dir / 'lab.log'}; faults: {', '.join(lab.faults.active) or 'none'}; Ctrl-C stops)",
        flush=True,
    )
    if not lab.codex_cli:
        print("# Workspaces have a stand-in codex (no @codex scenario): bin/setup --codex installs the real CLI")
    print(f"# Workspaces run {lab.ide}" if lab.ide else "# Workspaces run a stand-in code-server: bin/setup --ide")


async def run(options: Options) -> int:
    owned = options.state_dir is None
    state_dir = Path(tempfile.mkdtemp(prefix="ameide-lab-")) if owned else options.state_dir
    assert state_dir is not None
    state_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(state_dir / "lab.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    loop, stop = asyncio.get_running_loop(), asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    lab = Lab(options, state_dir)
    try:
        await lab.start()
        _announce(lab, options)
        # asyncssh (the agents' SSH servers) loads once the suite has its handshake: the first agent comes
        # after a build, and a run whose builds fail needs none.
        threading.Thread(target=importlib.import_module, args=("lab.sshd",), name="preload", daemon=True).start()
        _watch_stdin(loop, stop)
        await stop.wait()
        log.info("stopping")
    finally:
        await lab.close()
        handler.close()
        if owned:
            shutil.rmtree(state_dir, ignore_errors=True)
    return 0


# (flag, environment variable, what it is) of the secrets a caller may choose.
SECRETS = (
    ("--github-token", "LAB_GITHUB_TOKEN", "the bot's GITHUB_TOKEN for the lab's GitHub API and git push"),
    ("--external-auth-token", "LAB_EXTERNAL_AUTH_TOKEN", "the GitHub token of the owner's Coder external auth"),
    ("--codex-key", "LAB_CODEX_KEY", "the key of the lab's model, in the workspaces' Codex auth.json"),
)


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m lab", description="The Ameide workspace platform on loopback.")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help=f"break one part of the platform (repeatable): {', '.join(REGISTRY)}",
    )
    parser.add_argument(
        "--build-delay",
        type=float,
        default=Options.build_delay,
        metavar="SECONDS",
        help="how long a provisioner job runs (pending ~10%%, then running)",
    )
    parser.add_argument(
        "--agent-delay",
        type=float,
        default=Options.agent_delay,
        metavar="SECONDS",
        help="from a succeeded start build to agent lifecycle ready",
    )
    parser.add_argument("--handshake", action="store_true", help="print one JSON line when ready")
    parser.add_argument("--state-dir", type=Path, help="keep state here (not removed on exit)")
    for flag, variable, what in SECRETS:
        parser.add_argument(flag, metavar="VALUE", help=f"{what} (default: random; also env {variable})")
    args = parser.parse_args(argv)
    from_env = [name for name in os.environ.get("LAB_FAULTS", "").split(",") if name.strip()]
    try:
        faults = validate([name.strip() for name in from_env] + args.fault)
    except UnknownFault as error:
        parser.error(str(error))
    secrets_given: dict[str, str | None] = {}
    for flag, variable, _ in SECRETS:
        dest = flag.removeprefix("--").replace("-", "_")
        value = getattr(args, dest) or os.environ.get(variable) or None
        if value is not None and (not value.isprintable() or any(c.isspace() for c in value)):
            parser.error(f"{flag} (or {variable}) must be printable and without spaces")  # never echo it
        secrets_given[dest] = value
    return Options(faults, args.build_delay, args.agent_delay, args.handshake, args.state_dir, **secrets_given)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse(argv)))
