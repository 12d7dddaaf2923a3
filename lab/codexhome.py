"""What the workspace image lays in `CODEX_HOME` (`$HOME/.codex`) for the real Codex CLI: a config
that points its model provider at the lab's model and keeps it off the network otherwise, and the
file-based credentials (`auth.json`) that hold the model's key (spec §2.2, `CODEX=auth-json`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lab.llm import MODEL

# Every switch that would make Codex reach out beyond the lab's model is off (each names the host
# it would call): updates, analytics (ab.chatgpt.com), feedback, plugin and app sync (github.com,
# chatgpt.com), web search, tool suggestions, sub-agents.
CONFIG = """\
# Laid by the Ameide lab's workspace image: Codex talks to the lab's model only.
model_provider = "lab"
model = {model}
model_catalog_json = {catalog}
cli_auth_credentials_store = "file"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false
web_search = "disabled"

[analytics]
enabled = false

[feedback]
enabled = false

[features]
plugins = false
apps = false
remote_plugin = false
tool_suggest = false
skill_mcp_dependency_install = false
goals = false

[agents]
enabled = false

[shell_environment_policy]
inherit = "core"

[model_providers.lab]
name = "Ameide lab"
base_url = {base_url}
wire_api = "responses"
requires_openai_auth = true
request_max_retries = 0
stream_max_retries = 0
"""

# The model's metadata, so Codex knows it without asking a model catalog online.
CATALOG = {
    "models": [
        {
            "slug": MODEL,
            "display_name": MODEL,
            "description": "The Ameide lab's deterministic model",
            "default_reasoning_level": "low",
            "supported_reasoning_levels": [{"effort": "low", "description": "Low"}],
            "shell_type": "shell_command",
            "visibility": "list",
            "supported_in_api": True,
            "priority": 1,
            "base_instructions": "You are the Ameide lab's deterministic model.",
            "supports_reasoning_summaries": False,
            "default_reasoning_summary": "none",
            "support_verbosity": False,
            "default_verbosity": None,
            "apply_patch_tool_type": "freeform",
            "truncation_policy": {"mode": "tokens", "limit": 10000},
            "supports_parallel_tool_calls": False,
            "context_window": 128000,
            "effective_context_window_percent": 95,
            "experimental_supported_tools": [],
            "input_modalities": ["text"],
            "supports_search_tool": False,
        }
    ]
}


def lay_codex_home(codex_home: Path, model_url: str, key: str) -> None:
    """Write config.toml, the model catalog and auth.json (owner-only) under `codex_home`.

    `model_url` is the model endpoint's base (`http://host:port/v1`; Codex posts to `/responses`).
    """
    codex_home.mkdir(parents=True, exist_ok=True)
    catalog = codex_home / "lab-models.json"
    catalog.write_text(json.dumps(CATALOG, indent=2))
    # JSON strings are valid TOML basic strings for these values (paths and URLs).
    config = CONFIG.format(model=json.dumps(MODEL), catalog=json.dumps(str(catalog)), base_url=json.dumps(model_url))
    (codex_home / "config.toml").write_text(config)
    auth = codex_home / "auth.json"
    descriptor = os.open(auth, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"OPENAI_API_KEY": key}, file)
    auth.chmod(0o600)  # also when it existed with wider permissions
