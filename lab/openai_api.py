"""The part of OpenAI's API that Codex uses, served for the lab's model (llm.py): `POST /v1/responses`
(the Responses API, streamed as server-sent events when asked) and `GET /v1/models`.

Shapes as OpenAI's API reference gives them (platform.openai.com/docs/api-reference/responses) and as
Codex reads the stream (github.com/openai/codex, codex-rs/codex-api/src/sse/responses.rs):
`response.created`, `response.output_item.added`, `response.output_text.delta`,
`response.output_item.done`, `response.completed`. Requests need `Authorization: Bearer <key>`, else
401 `invalid_api_key`; the key is never logged. Fault: `codex-no-change` (read at every request).
"""

from __future__ import annotations

import hmac
import itertools
import json
import logging
import time

from aiohttp import web

from lab.faults import CODEX_NO_CHANGE, Faults
from lab.llm import MODEL, Json, reply

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
USAGE = {
    "input_tokens": 10,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 5,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 15,
}
UNKNOWN_KEY = {
    "error": {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}
KEY = web.AppKey("key", bytes)  # the whole Authorization header the endpoint accepts
FAULTS = web.AppKey("faults", Faults)
RESPONSE_IDS = web.AppKey("response-ids", itertools.count)


def openai_app(key: str, faults: Faults) -> web.Application:
    """The model's endpoint, accepting `key`."""
    app = web.Application(client_max_size=64 * 1024 * 1024)  # Codex sends the whole conversation
    app[KEY] = f"Bearer {key}".encode()
    app[FAULTS] = faults
    app[RESPONSE_IDS] = itertools.count(1)
    app.router.add_routes(routes)
    return app


def _authorized(request: web.Request) -> bool:
    return hmac.compare_digest(request.headers.get("Authorization", "").encode(), request.app[KEY])


def _event(event: Json) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


@routes.get("/v1/models")
async def models(request: web.Request) -> web.Response:
    if not _authorized(request):
        return web.json_response(UNKNOWN_KEY, status=401)
    model = {"id": MODEL, "object": "model", "created": 0, "owned_by": "ameide-lab"}
    return web.json_response({"object": "list", "data": [model]})


@routes.post("/v1/responses")
async def responses(request: web.Request) -> web.StreamResponse:
    if not _authorized(request):
        log.warning("model request without the key: 401")
        return web.json_response(UNKNOWN_KEY, status=401)
    try:
        body = json.loads(await request.read())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        error = {"message": "We could not parse the JSON body of your request.", "type": "invalid_request_error"}
        return web.json_response({"error": error | {"param": None, "code": None}}, status=400)
    items = reply(body, no_change=request.app[FAULTS].on(CODEX_NO_CHANGE))
    response: Json = {
        "id": f"resp_lab_{next(request.app[RESPONSE_IDS])}",
        "object": "response",
        "created_at": int(time.time()),
        "model": body.get("model", MODEL),
        "status": "completed",
        "output": items,
        "usage": USAGE,
    }
    log.info("model %s: %s", response["id"], ", ".join(i.get("name", i["type"]) for i in items))
    if not body.get("stream"):
        return web.json_response(response)
    stream = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await stream.prepare(request)
    started = response | {"status": "in_progress", "output": [], "usage": None}
    await stream.write(_event({"type": "response.created", "response": started}))
    for index, item in enumerate(items):
        await stream.write(_event({"type": "response.output_item.added", "output_index": index, "item": item}))
        if item["type"] == "message":
            delta = {"item_id": item["id"], "output_index": index, "content_index": 0}
            text = item["content"][0]["text"]
            await stream.write(_event({"type": "response.output_text.delta", **delta, "delta": text}))
        await stream.write(_event({"type": "response.output_item.done", "output_index": index, "item": item}))
    await stream.write(_event({"type": "response.completed", "response": response}))
    await stream.write_eof()
    return stream
