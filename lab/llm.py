"""The lab's language model: a deterministic player of the one task the suite gives Codex, answering a
Responses API request's `input` and `tools` with its output items (no HTTP here: openai_api.py serves it).

Asked to "Append the line '<X>' to README.md", it has Codex run that change with its shell tool
(`exec_command`), then, once the tool's output comes back, ends the turn with a message. Anything
else gets a plain message. Under the `codex-no-change` fault it never calls a tool.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

Json = dict[str, Any]
MODEL = "lab-model"
APPEND = re.compile(r"Append the line '([^'\n]*)' to README\.md")
TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output")


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
