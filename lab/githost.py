"""A git host: bare repositories served over git's smart HTTP protocol by `git http-backend` (CGI).

Clone and fetch are anonymous; push needs HTTP basic auth whose password is the host's token.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import os
import subprocess
import time
from pathlib import Path

from aiohttp import web
from multidict import CIMultiDict

log = logging.getLogger(__name__)
AUTHOR = "Ameide Lab <lab@example.invalid>"
CHUNK = 64 * 1024
NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"


def _git_env() -> dict[str, str]:
    # Keep the machine's and the user's git configuration out of the host's repositories.
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }


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


class GitHost:
    """Bare repositories under `root/<owner>/<name>.git`; set `base_url` once the server listens."""

    def __init__(self, root: Path, token: str) -> None:
        self.root = root
        self._token = token
        self.base_url = ""

    def create_repo(self, owner: str, name: str, files: dict[str, str], default_branch: str = "main") -> None:
        """A new bare repository whose `default_branch` has one commit holding `files` (path -> text)."""
        path = self.root / owner / f"{name}.git"
        if path.exists():
            raise FileExistsError(f"repository {owner}/{name} exists")
        env = _git_env()
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
        """The basic-auth user name when the password is the token, else None."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user if hmac.compare_digest(password.encode(), self._token.encode()) else None

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        owner, name, path = (request.match_info[k] for k in ("owner", "name", "path"))
        user = self._user(request)
        pushing = path == "git-receive-pack" or request.query.get("service") == "git-receive-pack"
        if pushing and user is None:
            return web.Response(
                status=401, text="Authentication required\n", headers={"WWW-Authenticate": 'Basic realm="lab"'}
            )
        # No CONTENT_LENGTH or HTTP_CONTENT_ENCODING: aiohttp hands us the body already un-gzipped (git
        # gzips large requests), so its length differs and the backend reads stdin to EOF instead.
        env = _git_env() | {
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
