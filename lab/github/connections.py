"""GitHub's GraphQL connections (its pagination): opaque cursors, `first`/`after` and `last`/`before`, at
most 100 a page, one of `first` or `last` required to select `nodes` or `edges`, and GitHub's own error
types when a page is asked for wrongly (INVALID_PAGINATION, EXCESSIVE_PAGINATION,
MISSING_PAGINATION_BOUNDARIES)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import FieldNode, FragmentSpreadNode, GraphQLError, GraphQLResolveInfo, InlineFragmentNode

from lab.github.state import Json

MAX_PAGE = 100
Lazy = Callable[..., Awaitable[Any]]


def graphql_error(message: str, kind: str) -> GraphQLError:
    """A failure as GitHub reports it: `type` beside `message` (moved there in `_format`)."""
    return GraphQLError(message, extensions={"type": kind})


def _cursor(position: int) -> str:
    return base64.b64encode(f"cursor:v2:{position}".encode()).decode()


def _position(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        return int(text.removeprefix("cursor:v2:")) if text.startswith("cursor:v2:") else None
    except (ValueError, UnicodeDecodeError):
        return None


def _selects_items(info: GraphQLResolveInfo) -> bool:
    """Whether the connection's selection asks for `nodes` or `edges` (inline fragments followed)."""

    def walk(selections: Any) -> bool:
        for selection in selections or ():
            if isinstance(selection, FieldNode):
                found = selection.name.value in ("nodes", "edges")
            elif isinstance(selection, InlineFragmentNode):
                found = walk(selection.selection_set.selections)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in info.fragments:
                found = walk(info.fragments[selection.name.value].selection_set.selections)
            else:
                found = False
            if found:
                return True
        return False

    return any(walk(node.selection_set.selections if node.selection_set else ()) for node in info.field_nodes)


def connection(info: GraphQLResolveInfo, items: list[Any], args: Json, extra: Json | None = None) -> Json:
    """One page of `items` (already objects of the connection's node type) as GitHub's connections give it."""
    field = info.field_name
    first, last = args.get("first"), args.get("last")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise graphql_error(f"`{name}` on the `{field}` connection cannot be less than zero.", "INVALID_PAGINATION")
        if value is not None and value > MAX_PAGE:
            message = (
                f"Requesting {value} records on the `{field}` connection exceeds the `{name}` limit of 100 records."
            )
            raise graphql_error(message, "EXCESSIVE_PAGINATION")
    if first is None and last is None and _selects_items(info):
        message = f"You must provide a `first` or `last` value to properly paginate the `{field}` connection."
        raise graphql_error(message, "MISSING_PAGINATION_BOUNDARIES")
    start, end = 0, len(items)
    if (after := _position(args.get("after"))) is not None:
        start = max(start, min(after, end))
    if (before := _position(args.get("before"))) is not None:
        end = min(end, max(before - 1, start))
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    page = items[start:end]
    edges = [{"cursor": _cursor(start + i + 1), "node": node} for i, node in enumerate(page)]
    return {
        "edges": edges,
        "nodes": page,
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    } | (extra or {})


def paged(items: Callable[[], Awaitable[list[Any]]] | list[Any]) -> Lazy:
    """A connection field: resolved with its arguments when selected."""

    async def resolve(info: GraphQLResolveInfo, **args: Any) -> Json:
        found = items if isinstance(items, list) else await items()
        return connection(info, found, args)

    return resolve
