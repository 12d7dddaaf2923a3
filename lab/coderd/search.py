"""The `q` search syntax of coderd's list endpoints (coderd/searchquery)."""

from __future__ import annotations

import re

from lab.coderd.http import ApiError

_ELEMENT = re.compile(r'(?:[^\s"]|"[^"]*")+')


def parse_query(q: str, what: str, keys: set[str], lowercase: bool) -> list[tuple[str, str]]:
    """`key:value` pairs (bare terms as ("", term)); 400 names the first bad element."""

    def invalid(detail: str) -> ApiError:
        return ApiError(400, f"Invalid {what} search query.", validations=[{"field": "q", "detail": detail}])

    pairs = []
    for element in _ELEMENT.findall(q.lower() if lowercase else q):
        if element.startswith(":") or element.endswith(":"):
            raise invalid(f"Query element \"{element}\" cannot start or end with ':'")
        parts = [part.replace('"', "") for part in element.split(":")]
        if len(parts) > 2:
            raise invalid(f"Query element \"{element}\" can only contain 1 ':'")
        if len(parts) == 1:
            pairs.append(("", parts[0]))
            continue
        if parts[0] not in keys:
            raise invalid(f'Query param "{parts[0]}" is not a valid query param')
        pairs.append((parts[0], parts[1]))
    return pairs
