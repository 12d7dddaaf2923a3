"""code-server's extensions, read from its own record (extensions.json) as the real one writes it."""

from __future__ import annotations

import json

from workspace_spec.inside import missing_extensions, parse_extensions

FOLDER = "openai.chatgpt-0.4.46"
# What code-server 4.139.1 wrote for `--install-extension openai.chatgpt-0.4.46.vsix`.
RECORD = json.dumps(
    [
        {
            "identifier": {"id": "openai.chatgpt"},
            "version": "0.4.46",
            "location": {"$mid": 1, "path": f"/home/coder/.local/share/code-server/extensions/{FOLDER}"},
            "relativeLocation": FOLDER,
            "metadata": {"installedTimestamp": 1796222142283, "pinned": True, "source": "vsix"},
        }
    ]
)


def test_an_extension_in_the_record_with_its_folder_is_installed() -> None:
    assert parse_extensions(["extensions.json", FOLDER], RECORD) == ["openai.chatgpt"]


def test_an_entry_whose_folder_is_gone_is_not_installed() -> None:
    assert parse_extensions(["extensions.json"], RECORD) == []


def test_a_folder_the_record_does_not_list_is_not_installed() -> None:
    """code-server ignores (and later removes) folders its record lacks: a left-over copy is no install."""
    assert parse_extensions(["extensions.json", FOLDER, "ms-python.python-2024.1.0"], RECORD) == ["openai.chatgpt"]


def test_an_older_record_without_relative_location_names_the_folder_in_its_path() -> None:
    entries = json.loads(RECORD)
    del entries[0]["relativeLocation"]
    assert parse_extensions([FOLDER], json.dumps(entries)) == ["openai.chatgpt"]


def test_without_a_record_the_folders_say_what_is_installed() -> None:
    assert parse_extensions([f"{FOLDER}-linux-x64", "notes"], "") == ["openai.chatgpt"]
    assert parse_extensions([], "cat: extensions.json: No such file or directory") == []


def test_ids_compare_without_regard_to_case() -> None:
    assert missing_extensions(["openai.chatgpt"], ["OpenAI.ChatGPT", "ms-python.python"]) == ["ms-python.python"]
