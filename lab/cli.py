"""The lab's stand-in `coder` executable, a few of the real CLI's commands:

`coder ssh --stdio [--ssh-host-prefix P] <host>` (on the suite's machine): like the real CLI (v2.24.2
cli/ssh.go) it resolves the host through the API with CODER_URL and CODER_SESSION_TOKEN, making the real
one's calls in its order: the version check (`GET /api/v2/buildinfo`), the workspace
(`GET /api/v2/users/{owner}/workspace/{name}?include_deleted=false`); for a stopped one, cli/start.go's
start (`GET /api/v2/workspacebuilds/{id}/parameters`, `GET /api/v2/templateversions/{id}` and its
`/rich-parameters`, `POST /api/v2/workspaces/{id}/builds`) and the workspace again; for an unfinished
build, cliui.WorkspaceBuild's wait (its log over `?follow`, `GET /api/v2/workspacebuilds/{id}` polled) and
the workspace again; then cliui.Agent's wait on `GET /api/v2/workspaceagents/{id}` until the agent is
connected. It then carries the raw SSH byte stream between stdin/stdout and the agent (here over the lab's
ssh websocket instead of tailnet: `/workspaceagents/{id}/connection`, `/tailnet` and DERP are not used).
Stdout carries only SSH bytes; every message goes to stderr. Like the real
CLI (cli/ssh.go getWorkspaceAndAgent) it starts a stopped workspace ("Workspace was stopped, starting
workspace to allow connecting to ...") unless `--disable-autostart` (env CODER_SSH_DISABLE_AUTOSTART)
says not to ("workspace must be started"), and of several agents it takes the one named in the host
or refuses ("multiple agents found, please specify the agent name, ..."). A transient answer of the API
(429, 502, 503, 504) is tried again, up to 4 attempts.

`coder external-auth access-token <provider> [--extra PATH]` (inside a workspace): asks coderd with the
agent's CODER_AGENT_URL and CODER_AGENT_TOKEN; prints the token without a newline (exit 0) or, when the
user has not linked the provider, the URL to link it at (exit 1).

`coder templates push` and `coder templates versions promote`: see lab/cli_templates.py.

Errors go to stderr and exit 1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
from typing import Any, NoReturn
from urllib.parse import urlencode, urlsplit

# Synchronous, on the standard library and websockets' sync client: the suite starts this once per SSH
# session and per git credential, and with aiohttp and asyncio a start cost twice the CPU (0.19 s, 0.10 now).
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

WAIT_SECONDS = 120.0
POLL_SECONDS = 0.2
# A transient answer (rate limit, an ingress without a ready coderd) is tried again, a few times.
TRANSIENT = frozenset({429, 502, 503, 504})
ATTEMPTS = 4


class CliError(Exception):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status  # coderd's answer, when the error is one


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"error: {message}\n")


def parse_host(host: str, prefix: str) -> tuple[str, str, str]:
    """(owner, workspace, agent) from `ws`, `ws.agent`, `owner/ws[.agent]`, `owner--ws[--agent]`."""
    if prefix and host.startswith(prefix):
        host = host[len(prefix) :]
    owner = "me"
    if "/" in host:
        owner, host = host.split("/", 1)
    elif "--" in host:
        owner, _, host = host.partition("--")
        host = host.replace("--", ".", 1)
    workspace, _, agent = host.partition(".")
    if not workspace:
        raise CliError(f"invalid workspace name {host!r}")
    return owner, workspace, agent


class Coderd:
    """coderd's API with a session token, over one kept-alive connection (as codersdk's client keeps one)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token
        parts = urlsplit(self.url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._connection = kind(parts.netloc, timeout=30)
        self._base = parts.path

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, JSON body or {} when it is not coderd's JSON, such as an ingress error page)."""
        headers = {"Coder-Session-Token": self.token, "Accept": "application/json"}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            self._connection.request(method, self._base + path, data, headers)
            response = self._connection.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self._connection.close()  # a kept-alive connection the server closed meanwhile: once more, anew
            self._connection.request(method, self._base + path, data, headers)
            response = self._connection.getresponse()
        raw = response.read()
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {}
        if response.status >= 400:
            answer = answer if isinstance(answer, dict) else {}
            detail = f": {answer['detail']}" if answer.get("detail") else ""
            raise CliError(f"{response.status} {answer.get('message', response.reason)}{detail}", response.status)
        return response.status, answer

    def get(self, path: str) -> Any:
        attempt = 1
        while True:
            try:
                return self.call("GET", path)[1]
            except CliError as error:
                if error.status not in TRANSIENT or attempt == ATTEMPTS:
                    raise
            time.sleep(POLL_SECONDS * attempt)
            attempt += 1

    def websocket(self, path: str) -> ClientConnection:
        scheme = "wss" if self.url.startswith("https") else "ws"
        target = f"{scheme}://{self.url.split('://', 1)[1]}{path}"
        # No permessage-deflate: SSH bytes are encrypted, so compressing them would cost CPU for nothing.
        headers = {"Coder-Session-Token": self.token}
        return connect(target, additional_headers=headers, max_size=None, compression=None)

    def close(self) -> None:
        self._connection.close()


def _workspace(coderd: Coderd, owner: str, name: str) -> Any:
    """codersdk WorkspaceByOwnerAndName, which always says `include_deleted` (false)."""
    try:
        return coderd.get(f"/api/v2/users/{owner}/workspace/{name}?include_deleted=false")
    except CliError as error:
        if error.status == 404:
            raise CliError(f'workspace "{owner}/{name}" not found') from error
        raise


def _autostart(coderd: Coderd, workspace: Any, allowed: bool) -> None:
    """cli/ssh.go: a stopped workspace is started, unless --disable-autostart, as cli/start.go startWorkspace
    starts it: the last build's parameter values, the version and its parameters (prepWorkspaceBuild), then
    the start build with those of the values the version still has."""
    build, name = workspace["latest_build"], workspace["name"]
    if not allowed:
        raise CliError("workspace must be started")
    if build["transition"] == "delete":
        raise CliError(f'workspace "{name}" is deleted')
    if build["job"]["status"] == "failed":
        raise CliError(f'workspace "{name}" is in failed state, unable to autostart the workspace')
    if build["status"] != "stopped":
        raise CliError(
            f'workspace must be started; was unable to autostart as the last build job is "{build["status"]}", '
            'expected "stopped"'
        )
    print(f'Workspace was stopped, starting workspace to allow connecting to "{name}"...', file=sys.stderr)
    version = build["template_version_id"]
    if workspace["automatic_updates"] == "always":
        version = workspace["template_active_version_id"]
    last = coderd.get(f"/api/v2/workspacebuilds/{build['id']}/parameters")
    coderd.get(f"/api/v2/templateversions/{version}")
    declared = {p["name"] for p in coderd.get(f"/api/v2/templateversions/{version}/rich-parameters")}
    body = {
        "template_version_id": version,
        "transition": "start",
        "rich_parameter_values": [value for value in last if value["name"] in declared],
    }
    try:
        coderd.call("POST", f"/api/v2/workspaces/{workspace['id']}/builds", body)
    except CliError as error:
        if error.status != 409:
            raise
        print(
            "Unable to start the workspace due to conflict, the workspace may be starting, "
            "retrying without autostart...",
            file=sys.stderr,
        )


def _follow_build_logs(coderd: Coderd, build_id: str) -> None:
    """The build's log over `?follow`, to stderr as cliui.WorkspaceBuild writes it, until coderd closes it."""
    try:
        with coderd.websocket(f"/api/v2/workspacebuilds/{build_id}/logs?follow&after=0") as socket:
            for message in socket:
                if not isinstance(message, str):
                    return
                line = json.loads(message)
                print(f"{line['stage']}: {line['output']}".rstrip(": "), file=sys.stderr)
    except (OSError, WebSocketException, ValueError):
        return  # the log is a courtesy: the build's own status decides


def _wait_for_build(coderd: Coderd, build: Any) -> None:
    """cliui.WorkspaceBuild: its log followed while `GET /api/v2/workspacebuilds/{id}` is polled to the end."""
    # The log's websocket is a connection of its own: the thread shares no HTTP connection with the polls.
    logs = threading.Thread(target=_follow_build_logs, args=(coderd, build["id"]), daemon=True)
    logs.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while build["job"].get("completed_at") is None:
        if time.monotonic() > deadline:
            raise CliError(f"timed out waiting for build {build['build_number']} (status {build['status']})")
        time.sleep(POLL_SECONDS)
        build = coderd.get(f"/api/v2/workspacebuilds/{build['id']}")
    logs.join(5)


def _pick_agent(agents: list[Any], agent_name: str) -> Any | None:
    """The named agent, or the only one; several unnamed agents are refused, as the CLI does."""
    names = [agent["name"] for agent in agents]
    if agent_name:
        found = next((agent for agent in agents if agent_name in (agent["name"], agent["id"])), None)
        if found is None and agents:
            raise CliError(f'agent not found by name "{agent_name}", available agents: [{" ".join(names)}]')
        return found
    if len(agents) > 1:
        raise CliError(f"multiple agents found, please specify the agent name, available agents: [{' '.join(names)}]")
    return agents[0] if agents else None


def _agent_id(coderd: Coderd, owner: str, name: str, agent_name: str, autostart: bool) -> str:
    """cli/ssh.go: the workspace (started if stopped), its build waited for, the agent picked, then
    cliui.Agent's wait for that agent to connect; the id of the connected agent."""
    coderd.get("/api/v2/buildinfo")  # root.go InitClient: the client's version check
    workspace = _workspace(coderd, owner, name)
    if workspace["latest_build"]["transition"] != "start":
        _autostart(coderd, workspace, autostart)
        workspace = _workspace(coderd, owner, name)
    if workspace["latest_build"]["job"].get("completed_at") is None:
        _wait_for_build(coderd, workspace["latest_build"])
        workspace = _workspace(coderd, owner, name)
    build = workspace["latest_build"]
    status = build["status"]
    if build["transition"] != "start" or status != "running":
        raise CliError(f'workspace "{name}" is not running (status {status}); start it first')
    agent = _pick_agent([a for r in build["resources"] for a in r.get("agents", [])], agent_name)
    if agent is None:
        raise CliError(f'workspace "{name}" has no agents')
    deadline = time.monotonic() + WAIT_SECONDS
    announced = False
    while agent["status"] != "connected":
        if time.monotonic() > deadline:
            raise CliError(f'timed out waiting for the agent of workspace "{name}" (status {agent["status"]})')
        if not announced:
            # cliui/agent.go: a lost agent is waited for; the wait says so on stderr.
            lost = agent["status"] == "disconnected"
            stage = "The workspace agent lost connection" if lost else "Waiting for the workspace agent to connect"
            print(f"==> {stage}...", file=sys.stderr)
            announced = True
        time.sleep(POLL_SECONDS)
        agent = coderd.get(f"/api/v2/workspaceagents/{agent['id']}")
    return str(agent["id"])


def _upstream(socket: ClientConnection) -> None:
    # A daemon thread: a blocked read must not keep the process alive once the session ends.
    try:
        while data := os.read(0, 65536):
            socket.send(data)
    except (OSError, WebSocketException):
        pass
    socket.close()  # stdin closed: the session is over, and the loop below ends with the socket


def _write_stdout(data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


def _bridge(socket: ClientConnection) -> None:
    threading.Thread(target=_upstream, args=(socket,), daemon=True).start()
    try:
        for message in socket:
            if not isinstance(message, bytes):
                break
            _write_stdout(message)
    finally:
        socket.close()


def external_auth_token(url: str, token: str, provider: str, extra: str) -> tuple[str, bool]:
    """(what to print, whether the user is linked) for the provider, from coderd's agent API."""
    coderd = Coderd(url, token)
    try:
        body = coderd.get(f"/api/v2/workspaceagents/me/external-auth?{urlencode({'id': provider, 'match': ''})}")
    finally:
        coderd.close()
    if body.get("url"):
        return str(body["url"]), False
    if not extra:
        return str(body.get("access_token", "")), True
    value: Any = body.get("token_extra") or {}
    for key in extra.split("."):  # a plain dotted path (the real CLI takes a gjson path)
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        raise CliError(f"no token extra {extra!r}")
    return value if isinstance(value, str) else json.dumps(value), True


def ssh_stdio(url: str, token: str, host: str, prefix: str, autostart: bool = True) -> None:
    owner, name, agent_name = parse_host(host, prefix)
    coderd = Coderd(url, token)
    try:
        agent_id = _agent_id(coderd, owner, name, agent_name, autostart)
        try:
            socket = coderd.websocket(f"/api/v2/workspaceagents/{agent_id}/lab/ssh")
        except InvalidStatus as error:
            # As the real CLI's websocket library words it (nhooyr.io/websocket).
            raise CliError(
                f"connect to the agent: failed to WebSocket dial: expected handshake response status code 101 "
                f"but got {error.response.status_code}"
            ) from error
    finally:
        coderd.close()
    _bridge(socket)


def _templates(args: argparse.Namespace) -> None:
    import aiohttp  # only the template commands use it: `coder ssh` starts without it

    from lab.cli_templates import TemplateCommandError, promote_command, push_command

    try:
        if args.template_command == "push":
            push_command(args.url, args.token, args)
        elif not args.template or not args.template_version:
            raise CliError("--template and --template-version are required")
        else:
            promote_command(args.url, args.token, args)
    except TemplateCommandError as error:
        raise CliError(str(error)) from None
    except aiohttp.ClientError as error:
        raise CliError(f"{type(error).__name__}: {error}") from None


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="coder", description="The lab's stand-in for the coder CLI.")
    parser.add_argument("--url", default=os.environ.get("CODER_URL", ""))
    parser.add_argument("--token", default=os.environ.get("CODER_SESSION_TOKEN", ""))
    parser.add_argument("--global-config", help="accepted for compatibility; unused")
    commands = parser.add_subparsers(dest="command", required=True)
    ssh = commands.add_parser("ssh", help="SSH into a workspace (only --stdio)")
    ssh.add_argument("--stdio", action="store_true", help="carry the SSH stream on stdin/stdout")
    ssh.add_argument("--ssh-host-prefix", default="")
    ssh.add_argument(
        "--disable-autostart",
        default=os.environ.get("CODER_SSH_DISABLE_AUTOSTART", "false"),
        help="do not start a stopped workspace (a bool flag: --disable-autostart or --disable-autostart=true)",
    )
    ssh.add_argument("host")
    external = commands.add_parser("external-auth", help="manage external auth (inside a workspace)")
    actions = external.add_subparsers(dest="action", required=True)
    access = actions.add_parser("access-token", help="print an external auth provider's access token")
    access.add_argument("provider")
    access.add_argument("--extra", default="", help="print this field of the token's extra data instead")
    access.add_argument("--agent-url", default=os.environ.get("CODER_AGENT_URL", ""))
    access.add_argument("--agent-token", default=os.environ.get("CODER_AGENT_TOKEN", ""))
    templates = commands.add_parser("templates", aliases=["template"], help="manage templates")
    template_commands = templates.add_subparsers(dest="template_command", required=True)
    push = template_commands.add_parser("push", help="push a directory as a new version of a template")
    push.add_argument("template", nargs="?", default="", help="the template (default: the directory's name)")
    push.add_argument("-d", "--directory", default=".")
    push.add_argument("--name", default="", help="the new version's name (default: a generated one)")
    push.add_argument("--activate", default="true", help="make the new version active (a bool flag)")
    push.add_argument("-m", "--message", default="Uploaded from the CLI")
    push.add_argument("-O", "--org", default=os.environ.get("CODER_ORGANIZATION", ""))
    push.add_argument("-y", "--yes", action="store_true", help="accepted: the lab never prompts")
    push.add_argument("--ignore-lockfile", action="store_true", help="accepted; unused")
    versions = template_commands.add_parser("versions", aliases=["version"], help="manage template versions")
    version_commands = versions.add_subparsers(dest="version_command", required=True)
    promote = version_commands.add_parser("promote", help="make a version the template's active one")
    promote.add_argument("-t", "--template", default=os.environ.get("CODER_TEMPLATE_NAME", ""))
    promote.add_argument("--template-version", default=os.environ.get("CODER_TEMPLATE_VERSION_NAME", ""))
    promote.add_argument("-O", "--org", default=os.environ.get("CODER_ORGANIZATION", ""))
    # A bare bool flag means true (pflag); argparse would take the next argument as its value.
    bare = {"--disable-autostart": "--disable-autostart=true", "--activate": "--activate=true"}
    argv = [bare.get(a, a) for a in (argv or sys.argv[1:])]
    args = parser.parse_args(argv)
    try:
        if args.command in ("templates", "template"):
            if not args.url or not args.token:
                raise CliError("CODER_URL and CODER_SESSION_TOKEN must be set (or --url and --token)")
            _templates(args)
            return 0
        if args.command == "external-auth":
            if not args.agent_url or not args.agent_token:
                raise CliError("CODER_AGENT_URL and CODER_AGENT_TOKEN must be set: run this inside a workspace")
            text, linked = external_auth_token(args.agent_url, args.agent_token, args.provider, args.extra)
            sys.stdout.write(text)  # no newline, so `$(coder external-auth access-token github)` is exact
            sys.stdout.flush()
            return 0 if linked else 1
        if not args.stdio:
            raise CliError("the lab's coder supports only `coder ssh --stdio <host>`")
        if not args.url or not args.token:
            raise CliError("CODER_URL and CODER_SESSION_TOKEN must be set (or --url and --token)")
        autostart = args.disable_autostart.lower() not in ("true", "1", "t", "yes")
        ssh_stdio(args.url, args.token, args.host, args.ssh_host_prefix, autostart)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError, http.client.HTTPException, WebSocketException) as error:
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
