"""A git host: bare repositories served over git's smart HTTP protocol by `git http-backend` (CGI).

Clone and fetch are anonymous; push needs HTTP basic auth whose password is one of the tokens the
host accepts. Faults: `repo-missing` hides the bot-writable repositories, `push-rejected` refuses
every push the way GitHub's protected-branch hook does.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from aiohttp import web
from multidict import CIMultiDict

from lab.faults import PUSH_REJECTED, REPO_MISSING, Faults
from lab.gitrepo import BareRepo, git_env

log = logging.getLogger(__name__)
AUTHOR = "Ameide Lab <lab@example.invalid>"
CHUNK = 64 * 1024
NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"


def _initial_commit(branch: str, files: dict[str, str]) -> bytes:
    """A `git fast-import` stream for one commit holding `files`; scripts (`#!`) are executable."""
    ident = f"{AUTHOR} {int(time.time())} +0000"
    message = b"Initial commit\n"
    stream = [
        f"commit refs/heads/{branch}\nauthor {ident}\ncommitter {ident}\n".encode(),
        b"data %d\n" % len(message),
        message,
    ]
    for path, text in sorted(files.items()):
        data = text.encode()
        mode = "100755" if text.startswith("#!") else "100644"
        stream += [f"M {mode} inline {path}\n".encode(), b"data %d\n" % len(data), data, b"\n"]
    return b"".join(stream)


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


class GitHost:
    """Bare repositories under `root/<owner>/<name>.git`; set `base_url` once the server listens."""

    def __init__(self, root: Path, tokens: Iterable[str], faults: Faults | None = None) -> None:
        self.root = root
        self._tokens = tuple(token.encode() for token in tokens)
        self.faults = faults or Faults()
        self.base_url = ""
        self._bot_writable: set[tuple[str, str]] = set()

    def accepts(self, token: str) -> bool:
        """Whether `token` is one the host issued; compares with every token in constant time."""
        given = token.encode()
        matches = [hmac.compare_digest(given, known) for known in self._tokens]
        return bool(given) and any(matches)

    def create_repo(
        self, owner: str, name: str, files: dict[str, str], default_branch: str = "main", bot_writable: bool = False
    ) -> None:
        """A new bare repository whose `default_branch` has one commit holding `files` (path -> text).

        A bot-writable repository is the one the `repo-missing` fault takes away.
        """
        path = self.root / owner / f"{name}.git"
        if path.exists():
            raise FileExistsError(f"repository {owner}/{name} exists")
        if bot_writable:
            self._bot_writable.add((owner, name))
        env = git_env()
        subprocess.run(
            ["git", "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(path)], check=True, env=env
        )
        subprocess.run(["git", "--git-dir", str(path), "config", "http.receivepack", "true"], check=True, env=env)
        subprocess.run(
            ["git", "--git-dir", str(path), "fast-import", "--quiet"],
            input=_initial_commit(default_branch, files),
            check=True,
            env=env,
        )

    def repo(self, owner: str, name: str) -> BareRepo | None:
        """The repository as clients see it: None when there is none (or the fault hides it)."""
        path = self.root / owner / f"{name}.git"
        if not path.is_dir() or (self.faults.on(REPO_MISSING) and (owner, name) in self._bot_writable):
            return None
        return BareRepo(path)

    def clone_url(self, owner: str, name: str) -> str:
        if not self.base_url:
            raise RuntimeError("GitHost.base_url is not set: assign it once the server listens")
        return f"{self.base_url.rstrip('/')}/{owner}/{name}.git"

    def app(self) -> web.Application:
        app = web.Application()
        route = f"/{{owner:{NAME}}}/{{name:{NAME}}}.git/{{path:.*}}"
        app.router.add_get(route, self._serve)
        app.router.add_post(route, self._serve)
        return app

    def _user(self, request: web.Request) -> str | None:
        """The basic-auth user name when the password is a token the host accepts, else None."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user if self.accepts(password) else None

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        owner, name, path = (request.match_info[k] for k in ("owner", "name", "path"))
        if self.repo(owner, name) is None:  # as GitHub: git then says "repository '...' not found"
            return web.Response(status=404, text="Repository not found.\n")
        user = self._user(request)
        pushing = path == "git-receive-pack" or request.query.get("service") == "git-receive-pack"
        if pushing and user is None:
            return web.Response(
                status=401, text="Authentication required\n", headers={"WWW-Authenticate": 'Basic realm="lab"'}
            )
        if path == "git-receive-pack" and self.faults.on(PUSH_REJECTED):
            return await _reject_push(request)
        # No CONTENT_LENGTH or HTTP_CONTENT_ENCODING: aiohttp hands us the body already un-gzipped (git
        # gzips large requests), so its length differs and the backend reads stdin to EOF instead.
        env = git_env() | {
            "GIT_PROJECT_ROOT": str(self.root),
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
            return response
        finally:  # on a failure or a client that went away, stop the backend
            feeding.cancel()
            if process.returncode is None:
                process.kill()
                await process.wait()
            if message := (await errors).decode(errors="replace").strip():
                log.warning("git http-backend %s %s: %s", request.method, request.path, message)
