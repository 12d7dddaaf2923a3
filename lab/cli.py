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
import asyncio
import contextlib
import json
import os
import sys
import threading
import time
from typing import Any, NoReturn
from urllib.parse import urlencode

import aiohttp

from lab.cli_templates import TemplateCommandError, promote_command, push_command

WAIT_SECONDS = 120.0
POLL_SECONDS = 0.2
# A transient answer (rate limit, an ingress without a ready coderd) is tried again, a few times.
TRANSIENT = frozenset({429, 502, 503, 504})
ATTEMPTS = 4


class CliError(Exception):
    pass


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


async def _body(response: aiohttp.ClientResponse) -> Any:
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = {}  # not coderd's JSON (an ingress error page)
    if response.status >= 400:
        detail = f": {body['detail']}" if body.get("detail") else ""
        raise CliError(f"{response.status} {body.get('message', response.reason)}{detail}")
    return body


async def _get(http: aiohttp.ClientSession, url: str) -> Any:
    attempt = 1
    while True:
        async with http.get(url) as response:
            if response.status not in TRANSIENT or attempt == ATTEMPTS:
                return await _body(response)
        await asyncio.sleep(POLL_SECONDS * attempt)
        attempt += 1


async def _workspace(http: aiohttp.ClientSession, url: str, owner: str, name: str) -> Any:
    """codersdk WorkspaceByOwnerAndName, which always says `include_deleted` (false)."""
    try:
        return await _get(http, f"{url}/api/v2/users/{owner}/workspace/{name}?include_deleted=false")
    except CliError as error:
        if str(error).startswith("404"):
            raise CliError(f'workspace "{owner}/{name}" not found') from error
        raise


async def _autostart(http: aiohttp.ClientSession, url: str, workspace: Any, allowed: bool) -> None:
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
    last = await _get(http, f"{url}/api/v2/workspacebuilds/{build['id']}/parameters")
    await _get(http, f"{url}/api/v2/templateversions/{version}")
    declared = {p["name"] for p in await _get(http, f"{url}/api/v2/templateversions/{version}/rich-parameters")}
    body = {
        "template_version_id": version,
        "transition": "start",
        "rich_parameter_values": [value for value in last if value["name"] in declared],
    }
    async with http.post(f"{url}/api/v2/workspaces/{workspace['id']}/builds", json=body) as response:
        if response.status == 409:
            print(
                "Unable to start the workspace due to conflict, the workspace may be starting, "
                "retrying without autostart...",
                file=sys.stderr,
            )
            return
        await _body(response)


async def _follow_build_logs(http: aiohttp.ClientSession, url: str, build_id: str) -> None:
    """The build's log over `?follow`, to stderr as cliui.WorkspaceBuild writes it, until coderd closes it."""
    ws_url = f"{url}/api/v2/workspacebuilds/{build_id}/logs?follow&after=0".replace("http", "ws", 1)
    async with http.ws_connect(ws_url) as socket:
        async for message in socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                return
            line = json.loads(message.data)
            print(f"{line['stage']}: {line['output']}".rstrip(": "), file=sys.stderr)


async def _wait_for_build(http: aiohttp.ClientSession, url: str, build: Any) -> None:
    """cliui.WorkspaceBuild: its log followed while `GET /api/v2/workspacebuilds/{id}` is polled to the end."""
    logs = asyncio.create_task(_follow_build_logs(http, url, build["id"]))
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while build["job"].get("completed_at") is None:
            if time.monotonic() > deadline:
                raise CliError(f"timed out waiting for build {build['build_number']} (status {build['status']})")
            await asyncio.sleep(POLL_SECONDS)
            build = await _get(http, f"{url}/api/v2/workspacebuilds/{build['id']}")
        with contextlib.suppress(TimeoutError, aiohttp.ClientError):
            await asyncio.wait_for(logs, 5)
    finally:
        logs.cancel()


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


async def _agent_id(
    http: aiohttp.ClientSession, url: str, owner: str, name: str, agent_name: str, autostart: bool
) -> str:
    """cli/ssh.go: the workspace (started if stopped), its build waited for, the agent picked, then
    cliui.Agent's wait for that agent to connect; the id of the connected agent."""
    await _get(http, f"{url}/api/v2/buildinfo")  # root.go InitClient: the client's version check
    workspace = await _workspace(http, url, owner, name)
    if workspace["latest_build"]["transition"] != "start":
        await _autostart(http, url, workspace, autostart)
        workspace = await _workspace(http, url, owner, name)
    if workspace["latest_build"]["job"].get("completed_at") is None:
        await _wait_for_build(http, url, workspace["latest_build"])
        workspace = await _workspace(http, url, owner, name)
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
        await asyncio.sleep(POLL_SECONDS)
        agent = await _get(http, f"{url}/api/v2/workspaceagents/{agent['id']}")
    return str(agent["id"])


def _read_stdin(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes]) -> None:
    # A daemon thread: a blocked read must not keep the process alive once the session ends.
    while True:
        data = os.read(0, 65536)
        loop.call_soon_threadsafe(queue.put_nowait, data)
        if not data:
            return


def _write_stdout(data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


async def _bridge(socket: aiohttp.ClientWebSocketResponse) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    threading.Thread(target=_read_stdin, args=(loop, queue), daemon=True).start()

    async def upstream() -> None:
        while data := await queue.get():
            await socket.send_bytes(data)

    async def downstream() -> None:
        async for message in socket:
            if message.type != aiohttp.WSMsgType.BINARY:
                break
            _write_stdout(message.data)

    tasks = {asyncio.create_task(upstream()), asyncio.create_task(downstream())}
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await socket.close()
    for task in done:
        task.result()


async def external_auth_token(url: str, token: str, provider: str, extra: str) -> tuple[str, bool]:
    """(what to print, whether the user is linked) for the provider, from coderd's agent API."""
    async with aiohttp.ClientSession(headers={"Coder-Session-Token": token}) as http:
        query = urlencode({"id": provider, "match": ""})
        body = await _get(http, f"{url.rstrip('/')}/api/v2/workspaceagents/me/external-auth?{query}")
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


async def ssh_stdio(url: str, token: str, host: str, prefix: str, autostart: bool = True) -> None:
    owner, name, agent_name = parse_host(host, prefix)
    url = url.rstrip("/")
    async with aiohttp.ClientSession(headers={"Coder-Session-Token": token}) as http:
        agent_id = await _agent_id(http, url, owner, name, agent_name, autostart)
        try:
            socket = await http.ws_connect(f"{url}/api/v2/workspaceagents/{agent_id}/lab/ssh", max_msg_size=0)
        except aiohttp.WSServerHandshakeError as error:
            # As the real CLI's websocket library words it (nhooyr.io/websocket).
            raise CliError(
                f"connect to the agent: failed to WebSocket dial: expected handshake response status code 101 "
                f"but got {error.status}"
            ) from error
        await _bridge(socket)


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
            if args.template_command == "push":
                push_command(args.url, args.token, args)
            elif not args.template or not args.template_version:
                raise CliError("--template and --template-version are required")
            else:
                promote_command(args.url, args.token, args)
            return 0
        if args.command == "external-auth":
            if not args.agent_url or not args.agent_token:
                raise CliError("CODER_AGENT_URL and CODER_AGENT_TOKEN must be set: run this inside a workspace")
            text, linked = asyncio.run(external_auth_token(args.agent_url, args.agent_token, args.provider, args.extra))
            sys.stdout.write(text)  # no newline, so `$(coder external-auth access-token github)` is exact
            sys.stdout.flush()
            return 0 if linked else 1
        if not args.stdio:
            raise CliError("the lab's coder supports only `coder ssh --stdio <host>`")
        if not args.url or not args.token:
            raise CliError("CODER_URL and CODER_SESSION_TOKEN must be set (or --url and --token)")
        autostart = args.disable_autostart.lower() not in ("true", "1", "t", "yes")
        asyncio.run(ssh_stdio(args.url, args.token, args.host, args.ssh_host_prefix, autostart))
    except (CliError, TemplateCommandError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (aiohttp.ClientError, OSError, ValueError) as error:
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
