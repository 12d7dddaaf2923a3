"""Log lines in cdr.dev/slog's human format, as coderd writes them (github.com/coder/slog,
internal/entryhuman/entry.go `Fmt`, no colour):

    <YYYY-MM-DD HH:MM:SS.mmm> [<level>]  <logger>: <message>  key=value  key="value with spaces"

Values print as Go's %+v does; a multi-line string field comes last, as `key= ` and its lines, indented.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

LEVELS = ("debu", "info", "warn", "erro", "crit", "fata")  # slog's bracketed level names

Field = tuple[str, object]


def _quote(text: str) -> str:
    """slog's quote: bare unless the text is empty, has whitespace or needs escaping (Go's strconv.Quote)."""
    quoted = json.dumps(text, ensure_ascii=False)
    if text and not any(c.isspace() for c in text) and quoted[1:-1] == text:
        return text
    return quoted


def go_value(value: object) -> str:
    """A field value as Go's %+v prints it, for the types the lab logs."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC")
    if isinstance(value, timedelta):
        return go_duration(value)
    return str(value)


def go_duration(value: timedelta) -> str:
    """time.Duration's String for sub-minute durations: 850µs, 12.5ms, 1.2s."""
    seconds = value.total_seconds()
    if seconds >= 1:
        return f"{seconds:g}s"
    if seconds >= 0.001:
        return f"{seconds * 1000:g}ms"
    return f"{seconds * 1_000_000:g}µs"


def slog_line(when: datetime, level: str, logger: str, message: str, fields: Sequence[Field] = ()) -> str:
    """One entry as sloghuman writes it (entryhuman.Fmt, no colour): a multi-line string field is
    written last as `key= ...` on its own lines, and every line after the first is indented 4 spaces."""
    assert level in LEVELS, level
    line = f"{when.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]} [{level}]  "
    line += f"{logger}: " if logger else ""
    line += message.strip()
    multiline: Field | None = None
    for name, value in fields:
        if multiline is None and isinstance(value, str) and "\n" in value.strip():
            multiline = (name, value.strip())
            continue
        line += f"  {_quote(name.replace(' ', '_'))}={_quote(go_value(value))}"
    if multiline is not None:
        name, text = multiline
        first, *rest = text.split("\n")
        indent = " " * (len(name) + 2)
        line += f" ...\n{name}= {first}" + "".join(f"\n{indent}{r}" if r else "\n" for r in rest)
    head, *tail = line.split("\n")
    return "\n".join([head, *(f"    {t}" if t else t for t in tail)])
