"""coderd's file routes (coderd/files.go): the archives `coder templates push` uploads for a new version."""

from __future__ import annotations

import hashlib
import uuid

from aiohttp import web

from lab.coderd.deployment import USER, deployment
from lab.coderd.http import NOT_FOUND, ApiError, respond
from lab.model import StoredFile, new_id
from lab.template_source import ArchiveError, tar_from_zip

routes = web.RouteTableDef()
TAR, ZIP = "application/x-tar", "application/zip"
# coderd reads at most 10 * (10 << 20) bytes of an upload (http.MaxBytesReader).
MAX_UPLOAD = 10 * (10 << 20)


async def _body(request: web.Request) -> bytes:
    """The request body up to coderd's limit (aiohttp's own limit is far lower than an archive may be)."""
    data = bytearray()
    while chunk := await request.content.read(1 << 16):
        data += chunk
        if len(data) > MAX_UPLOAD:
            raise ApiError(400, "Failed to read file from request.", "http: request body too large")
    return bytes(data)


@routes.post("/api/v2/files")
async def upload(request: web.Request) -> web.Response:
    """201 with the new file's id under `hash` (codersdk.UploadResponse), or 200 with the id of the file
    the same user already uploaded with this content (GetFileByHashAndCreator)."""
    store, user = deployment(request).store, request[USER]
    # coderd compares the whole header: a parameter after the type is another type.
    content_type = request.headers.get("Content-Type", "")
    if content_type not in (TAR, ZIP):
        raise ApiError(400, f'Unsupported content type header "{content_type}".')
    data = await _body(request)
    if content_type == ZIP:  # newer coderd stores a zip upload as the tar it converts it to
        try:
            data = tar_from_zip(data)
        except ArchiveError as error:
            raise ApiError(400, "Incomplete .zip archive file.", str(error)) from error
    digest = hashlib.sha256(data).hexdigest()
    for stored in store.files.values():
        if stored.hash == digest and stored.created_by == user.id:
            return respond({"hash": stored.id})
    stored = StoredFile(new_id(), digest, user.id, TAR, data)
    store.files[stored.id] = stored
    return respond({"hash": stored.id}, 201)


@routes.get("/api/v2/files/{file}")
async def download(request: web.Request) -> web.Response:
    raw = request.match_info["file"]
    try:
        file_id = str(uuid.UUID(raw))
    except ValueError as error:
        raise ApiError(400, "File id must be a valid UUID.") from error
    stored = deployment(request).store.files.get(file_id)
    if stored is None:
        raise ApiError(404, NOT_FOUND)
    return web.Response(body=stored.data, content_type=stored.mimetype)
