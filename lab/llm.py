"""The lab's language model: the part of the OpenAI Responses API Codex uses (`POST /v1/responses`,
streamed as server-sent events), playing a deterministic model.

Asked to "Append the line '<X>' to README.md", it has Codex run that change with its shell tool
(`exec_command`), then, once the tool's output comes back, ends the turn with a message. Anything
else gets a plain message. Under the `codex-no-change` fault it never calls a tool.
Requests need `Authorization: Bearer <key>`; the key is never logged.
"""

from __future__ import annotations

import hmac
import itertools
import json
import logging
import re
import shlex
import time
from typing import Any

from aiohttp import web

from lab.faults import CODEX_NO_CHANGE, Faults

log = logging.getLogger(__name__)
Json = dict[str, Any]
MODEL = "lab-model"
APPEND = re.compile(r"Append the line '([^'\n]*)' to README\.md")
TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output")
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


def _message(item_id: str, text: str) -> Json:
    return {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _texts(item: Json) -> list[str]:
    content = item.get("content")
    if isinstance(content, str):
        return [content]
    return [part.get("text", "") for part in content or [] if isinstance(part, dict)]


def reply(request: Json, no_change: bool = False) -> list[Json]:
    """The model's output items for one request's `input` and `tools`."""
    items = [item for item in request.get("input") or [] if isinstance(item, dict)]
    users = [i for i, item in enumerate(items) if item.get("type") == "message" and item.get("role") == "user"]
    latest = items[users[-1] + 1 :] if users else items  # what came after the user's last word
    outputs = [item for item in latest if item.get("type") in TOOL_OUTPUTS]
    if outputs:
        output = str(outputs[-1].get("output", ""))
        text = "Appended the line to README.md." if "exited with code 0" in output else f"The command failed:\n{output}"
        return [_message("msg_lab_done", text)]
    prompt = next((m for i in reversed(users) for text in _texts(items[i]) if (m := APPEND.search(text))), None)
    if prompt is None:
        return [_message("msg_lab_other", "The lab model can only append a line to README.md.")]
    if no_change:
        return [_message("msg_lab_refuse", "I looked at README.md and decided to leave it as it is.")]
    tools = {tool.get("name") for tool in request.get("tools") or [] if isinstance(tool, dict)}
    if "exec_command" not in tools:
        return [_message("msg_lab_notool", "I have no shell tool to change README.md with.")]
    command = f"printf '%s\\n' {shlex.quote(prompt.group(1))} >> README.md"
    return [
        {
            "type": "function_call",
            "id": "fc_lab_1",
            "call_id": "call_lab_1",
            "name": "exec_command",
            "arguments": json.dumps({"cmd": command, "login": False}),
            "status": "completed",
        }
    ]


def _event(event: Json) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


class LanguageModel:
    """The model endpoint; `faults` is read at every request."""

    def __init__(self, key: str, faults: Faults) -> None:
        self._key = f"Bearer {key}".encode()
        self.faults = faults
        self._responses = itertools.count(1)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)  # Codex sends the whole conversation
        app.router.add_post("/v1/responses", self._responses_route)
        app.router.add_get("/v1/models", self._models)
        return app

    def _authorized(self, request: web.Request) -> bool:
        return hmac.compare_digest(request.headers.get("Authorization", "").encode(), self._key)

    async def _models(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response(UNKNOWN_KEY, status=401)
        model = {"id": MODEL, "object": "model", "created": 0, "owned_by": "ameide-lab"}
        return web.json_response({"object": "list", "data": [model]})

    async def _responses_route(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            log.warning("model request without the key: 401")
            return web.json_response(UNKNOWN_KEY, status=401)
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            error = {"message": "We could not parse the JSON body of your request.", "type": "invalid_request_error"}
            return web.json_response({"error": error | {"param": None, "code": None}}, status=400)
        items = reply(body, no_change=self.faults.on(CODEX_NO_CHANGE))
        response: Json = {
            "id": f"resp_lab_{next(self._responses)}",
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
