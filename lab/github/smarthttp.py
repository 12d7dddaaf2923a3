"""git's smart HTTP protocol on the git host: every path under a repository,
`/{owner}/{name}.git/{path}` (`GET .../info/refs?service=git-upload-pack|git-receive-pack`,
`POST .../git-upload-pack`, `POST .../git-receive-pack`), handed to `git http-backend` as CGI (git's
http-backend.c; the protocol: Documentation/gitprotocol-http.adoc).

Clone and fetch are anonymous; push needs HTTP basic auth whose password is one of the tokens the
host accepts (else 401 with a Basic challenge). An unknown repository answers 404 "Repository not
found." as GitHub does. Fault: `push-rejected` refuses every push the way GitHub's protected-branch
hook does (GH006), in receive-pack's report-status (Documentation/gitprotocol-pack.adoc).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging

from aiohttp import web
from multidict import CIMultiDict

from lab.faults import PUSH_REJECTED
from lab.github.githost import NAME, GitHost
from lab.github.gitrepo import git_env

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
CHUNK = 64 * 1024
ROUTE = f"/{{owner:{NAME}}}/{{name:{NAME}}}.git/{{path:.*}}"
GIT_HOST = web.AppKey("git-host", GitHost)


def git_host(request: web.Request) -> GitHost:
    return request.app[GIT_HOST]


def git_app(host: GitHost) -> web.Application:
    """The git host's application, serving `host`'s repositories."""
    app = web.Application()
    app[GIT_HOST] = host
    app.router.add_routes(routes)
    return app


async def _cgi_head(stdout: asyncio.StreamReader) -> tuple[int, CIMultiDict[str]]:
    """Read the CGI header block: `Status: 404 Not Found` gives the status, the rest are headers."""
    status, headers = 200, CIMultiDict[str]()
    while line := (await stdout.readline()).rstrip(b"\r\n"):
        key, _, value = line.decode("latin-1").partition(":")
        if key.lower() == "status":
            status = int(value.split()[0])
        else:
            headers.add(key.strip(), value.strip())
    return status, headers


async def _feed(request: web.Request, stdin: asyncio.StreamWriter) -> None:
    try:
        async for chunk in request.content.iter_chunked(CHUNK):
            stdin.write(chunk)
            await stdin.drain()
    except ConnectionError:  # the backend stopped reading: it has already answered
        pass
    finally:
        stdin.close()


def _pkt_line(data: bytes) -> bytes:
    return b"%04x" % (len(data) + 4) + data


def _push_commands(body: bytes) -> tuple[list[str], set[str]]:
    """The refs a receive-pack request updates, and the client's capabilities (from the first command)."""
    refs: list[str] = []
    capabilities: set[str] = set()
    at = 0
    while at + 4 <= len(body):
        length = int(body[at : at + 4], 16)
        if length == 0:  # flush: the pack follows
            break
        line = body[at + 4 : at + length].rstrip(b"\n")
        at += length
        command, _, caps = line.partition(b"\0")
        if caps:
            capabilities = set(caps.decode(errors="replace").split())
        parts = command.decode(errors="replace").split(" ")
        if len(parts) == 3 and parts[2].startswith("refs/"):  # old new ref (not shallow/push-cert lines)
            refs.append(parts[2])
    return refs, capabilities


async def _reject_push(request: web.Request) -> web.Response:
    """A receive-pack answer that refuses every ref as GitHub's protected-branch hook does: the
    messages on side band 2 (git prints them as `remote: ...`), each ref `ng` in the report."""
    refs, capabilities = _push_commands(await request.read())
    report = _pkt_line(b"unpack ok\n")
    messages = b""
    for ref in refs:
        report += _pkt_line(f"ng {ref} protected branch hook declined\n".encode())
        messages += f"error: GH006: Protected branch update failed for {ref}.\n".encode()
    messages += b"error: Changes must be made through a pull request.\n"
    report += b"0000"
    if capabilities & {"side-band-64k", "side-band"}:
        body = _pkt_line(b"\2" + messages) + _pkt_line(b"\1" + report) + b"0000"
    else:
        body = report
    log.info("push to %s rejected (push-rejected)", request.path)
    return web.Response(
        body=body, content_type="application/x-git-receive-pack-result", headers={"Cache-Control": "no-cache"}
    )


def _user(request: web.Request, host: GitHost) -> str | None:
    """The basic-auth user name when the password is a token the host accepts, else None."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user if host.accepts(password) else None


@routes.get(ROUTE)
@routes.post(ROUTE)
async def serve(request: web.Request) -> web.StreamResponse:
    host = git_host(request)
    owner, name, path = (request.match_info[k] for k in ("owner", "name", "path"))
    if host.repo(owner, name) is None:  # as GitHub: git then says "repository '...' not found"
        return web.Response(status=404, text="Repository not found.\n")
    user = _user(request, host)
    pushing = path == "git-receive-pack" or request.query.get("service") == "git-receive-pack"
    if pushing and user is None:
        return web.Response(
            status=401, text="Authentication required\n", headers={"WWW-Authenticate": 'Basic realm="lab"'}
        )
    if path == "git-receive-pack" and host.faults.on(PUSH_REJECTED):
        return await _reject_push(request)
    # No CONTENT_LENGTH or HTTP_CONTENT_ENCODING: aiohttp hands us the body already un-gzipped (git
    # gzips large requests), so its length differs and the backend reads stdin to EOF instead.
    env = git_env() | {
        "GIT_PROJECT_ROOT": str(host.root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{owner}/{name}.git/{path}",
        "QUERY_STRING": request.query_string,
        "REQUEST_METHOD": request.method,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "REMOTE_ADDR": request.remote or "127.0.0.1",
    }
    if user is not None:
        env["REMOTE_USER"] = user
    if "Git-Protocol" in request.headers:  # protocol v2 negotiation
        env["HTTP_GIT_PROTOCOL"] = request.headers["Git-Protocol"]
    process = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin and process.stdout and process.stderr
    feeding = asyncio.create_task(_feed(request, process.stdin))
    errors = asyncio.create_task(process.stderr.read())
    try:
        status, headers = await _cgi_head(process.stdout)
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        while chunk := await process.stdout.read(CHUNK):
            await response.write(chunk)
        await response.write_eof()
        await feeding
        await process.wait()
        if path == "git-receive-pack" and status == 200:
            host.pushed(owner, name)
        return response
    finally:  # on a failure or a client that went away, stop the backend
        feeding.cancel()
        if process.returncode is None:
            process.kill()
            await process.wait()
        if message := (await errors).decode(errors="replace").strip():
            log.warning("git http-backend %s %s: %s", request.method, request.path, message)
