"""GitHub's GraphQL API at /api/graphql: the cut of GitHub's public schema in schema.graphql (made by
schema.py from npm `@octokit/graphql-schema`; what the GitHub CLI selects for `gh auth status`,
`gh pr create`, `gh pr view` and `gh pr close`), validated and executed by graphql-core.

A query naming a field the cut lacks gets GitHub's `undefinedField` error, as an unknown field would on
GitHub. Objects are the REST API's own (same numbers, same node ids). Connections page as GitHub's do
(connections.py).
Fault: `graphql-fails` (the endpoint answers 502 as GitHub's front end does; REST still works).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from inspect import isawaitable
from typing import Any

from aiohttp import web
from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    execute,
    parse,
    validate,
)

from lab.faults import GRAPHQL_FAILS, PR_FORBIDDEN
from lab.github.connections import connection, graphql_error, paged
from lab.github.gitrepo import BareRepo
from lab.github.render import GRAPHQL_DOCS, Urls, pull_counts, request_id, respond, viewer
from lab.github.schema import RULES, SUBSET
from lab.github.state import (
    ACCOUNTS,
    Account,
    GitHub,
    GitHubError,
    Json,
    Pull,
    commit_node_id,
    github,
    node_id,
    now,
    owner_account,
    parse_node_id,
    ref_node_id,
    ref_of_node,
    stamp,
)

# GitHub lists a subject's reaction groups in this order, each one even when nobody reacted so.
REACTIONS = ("THUMBS_UP", "THUMBS_DOWN", "LAUGH", "HOORAY", "CONFUSED", "HEART", "ROCKET", "EYES")
MERGEABLE = {None: "UNKNOWN", True: "MERGEABLE", False: "CONFLICTING"}
MERGE_STATE = {None: "UNKNOWN", True: "CLEAN", False: "DIRTY"}
PATCH_STATUS = {"added": "ADDED", "removed": "DELETED", "modified": "MODIFIED", "changed": "CHANGED"}


class Context:
    """What resolvers see: the shared state, the request's URLs and its viewer."""

    def __init__(self, request: web.Request) -> None:
        self.state = github(request)
        self.urls = Urls(request)
        self.viewer = viewer(request)


def _actor(ctx: Context, account: Account) -> Json:
    """A User, Organization or Bot (Actor, RepositoryOwner, Node)."""
    body: Json = {
        "__typename": account.type,
        "id": account.node_id,
        "databaseId": account.id,
        "login": account.login,
        "name": account.name,
        "email": "",  # no public email
        "url": f"{ctx.urls.web}/{account.login}",
        "resourcePath": f"/{account.login}",
        "avatarUrl": f"{ctx.urls.web}/avatars/{account.login}",
    }
    return body


def _reaction_groups() -> list[Json]:
    return [
        {"content": content, "createdAt": None, "viewerHasReacted": False, "users": paged([])} for content in REACTIONS
    ]


def _repository(ctx: Context, owner: str, name: str) -> Json | None:
    repo = ctx.state.githost.repo(owner, name)
    if repo is None:
        return None
    repo_id = ctx.state.repo_id(owner, name)
    repository: Json = {}

    async def ref(_info: GraphQLResolveInfo, qualifiedName: str) -> Json | None:
        branch = qualifiedName.removeprefix("refs/heads/")
        return await _ref(ctx, repo, repository, branch)

    async def default_branch_ref(_info: GraphQLResolveInfo) -> Json | None:
        return await _ref(ctx, repo, repository, "main")

    async def pull_requests() -> list[Json]:
        return [await _pull(ctx, repo, p) for p in ctx.state.pulls(owner, name)]

    async def pull_requests_field(info: GraphQLResolveInfo, **args: Any) -> Json:
        states = set(args.get("states") or ("OPEN", "CLOSED", "MERGED"))
        head, base = args.get("headRefName"), args.get("baseRefName")
        found = [
            p
            for p in ctx.state.pulls(owner, name)
            if p.state.upper() in states and head in (None, p.head) and base in (None, p.base)
        ]
        order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
        if order["field"] == "UPDATED_AT":
            found.sort(key=lambda p: p.updated_at)
        if order["direction"] == "DESC":
            found.reverse()
        return connection(info, [await _pull(ctx, repo, p) for p in found], args)

    async def pull_request(_info: GraphQLResolveInfo, number: int) -> Json | None:
        try:
            pull = ctx.state.pull(owner, name, number)
        except GitHubError:
            raise graphql_error(
                f"Could not resolve to a PullRequest with the number of {number}.", "NOT_FOUND"
            ) from None
        return await _pull(ctx, repo, pull)

    created = stamp(ctx.state.created)
    pushed = ctx.state.githost.pushed_at(owner, name)
    repository |= {
        "__typename": "Repository",
        "id": node_id("R", str(repo_id)),
        "databaseId": repo_id,
        "name": name,
        "nameWithOwner": f"{owner}/{name}",
        "owner": _actor(ctx, owner_account(owner)),
        "description": None,
        "url": f"{ctx.urls.web}/{owner}/{name}",
        "sshUrl": ctx.urls.ssh(owner, name),
        "isPrivate": False,
        "isFork": False,
        "isArchived": False,
        "visibility": "PUBLIC",
        "hasIssuesEnabled": True,
        "hasWikiEnabled": False,
        "viewerPermission": "WRITE",  # REST: push true, admin false
        "defaultBranchRef": default_branch_ref,
        "ref": ref,
        "parent": None,
        "mergeCommitAllowed": True,
        "rebaseMergeAllowed": True,
        "squashMergeAllowed": True,
        "createdAt": created,
        "updatedAt": created,
        "pushedAt": stamp(pushed) if pushed else created,
        "pullRequest": pull_request,
        "pullRequests": pull_requests_field,
    }
    return repository


async def _ref(ctx: Context, repo: BareRepo, repository: Json, branch: str) -> Json | None:
    sha = await repo.branch_sha(branch)
    if sha is None:
        return None
    repo_id = int(str(repository["databaseId"]))
    return {
        "__typename": "Ref",
        "id": ref_node_id(repo_id, f"refs/heads/{branch}"),
        "name": branch,
        "prefix": "refs/heads/",
        "repository": repository,
        "target": await _commit(ctx, repo, repo_id, repository["nameWithOwner"], sha),
    }


async def _commit(
    ctx: Context, repo: BareRepo, repo_id: int, full_name: str, sha: str, found: Json | None = None
) -> Json | None:
    found = found or await repo.commit(sha)
    if found is None:
        return None
    message = found["message"].rstrip("\n")
    headline, _, rest = message.partition("\n")
    author: Json = {
        "name": found["author_name"],
        "email": found["author_email"],
        "date": found["author_date"],
        "user": None,  # no GitHub account behind the lab's commit identities
    }
    return {
        "__typename": "Commit",
        "id": commit_node_id(repo_id, found["sha"]),
        "oid": found["sha"],
        "abbreviatedOid": found["sha"][:7],
        "message": message,
        "messageHeadline": headline,
        "messageBody": rest.strip("\n"),
        "authoredDate": stamp(datetime.fromisoformat(found["author_date"])),
        "committedDate": stamp(datetime.fromisoformat(found["committer_date"])),
        "authors": paged([author]),
        "statusCheckRollup": None,  # no statuses or check runs on the lab's commits
        "url": f"{ctx.urls.web}/{full_name}/commit/{found['sha']}",
    }


async def _pull(ctx: Context, repo: BareRepo, pull: Pull) -> Json:
    await GitHub.refresh(repo, pull)
    repository = _repository(ctx, pull.owner, pull.repo)
    repo_id = ctx.state.repo_id(pull.owner, pull.repo)
    full_name = f"{pull.owner}/{pull.repo}"
    url = f"{ctx.urls.web}/{full_name}/pull/{pull.number}"
    mergeable = ctx.state.mergeable(repo, pull)
    counts = await pull_counts(repo, pull)

    async def commits() -> list[Json]:
        base = await repo.merge_base(pull.base_sha, pull.head_sha)
        found = await repo.log(base, pull.head_sha) if base else []
        return [
            {
                "__typename": "PullRequestCommit",
                "id": node_id("PURC", str(pull.id), c["sha"]),
                "url": f"{url}/commits/{c['sha']}",
                "commit": await _commit(ctx, repo, repo_id, full_name, c["sha"], c),
            }
            for c in found
        ]

    files = [
        {
            "path": change.filename,
            "additions": change.additions,
            "deletions": change.deletions,
            "changeType": PATCH_STATUS.get(change.status, "MODIFIED"),
        }
        for change in counts["changes"]
    ]
    return {
        "__typename": "PullRequest",
        "id": node_id("PR", str(pull.id)),
        "databaseId": pull.id,
        "number": pull.number,
        "title": pull.title,
        "body": pull.body or "",
        "state": pull.state.upper(),
        "url": url,
        "resourcePath": f"/{full_name}/pull/{pull.number}",
        "isDraft": False,
        "closed": pull.closed_at is not None,
        "closedAt": stamp(pull.closed_at) if pull.closed_at else None,
        "merged": False,
        "mergedAt": None,
        "author": _actor(ctx, pull.user),
        "baseRefName": pull.base,
        "headRefName": pull.head,
        "headRefOid": pull.head_sha,
        "baseRefOid": pull.base_sha,
        "headRepository": repository,
        "headRepositoryOwner": _actor(ctx, owner_account(pull.owner)),
        "baseRepository": repository,
        "isCrossRepository": False,
        "maintainerCanModify": False,
        "createdAt": stamp(pull.created_at),
        "updatedAt": stamp(pull.updated_at),
        "mergeable": MERGEABLE[mergeable],
        "mergeStateStatus": MERGE_STATE[mergeable],
        "reviewDecision": None,  # no branch protection asks for reviews
        "additions": counts["additions"],
        "deletions": counts["deletions"],
        "changedFiles": counts["changed_files"],
        "commits": paged(commits),
        "files": paged(files),
        "reviewRequests": paged([]),
        "reviews": paged([]),
        "assignees": paged([]),
        "labels": paged([]),
        "comments": paged([]),
        "projectItems": paged([]),  # in no project
        "milestone": None,
        "reactionGroups": _reaction_groups(),
        "autoMergeRequest": None,
    }


async def _viewer_field(_root: Any, info: GraphQLResolveInfo) -> Json:
    ctx: Context = info.context
    return _actor(ctx, ctx.viewer)


async def _repository_field(_root: Any, info: GraphQLResolveInfo, owner: str, name: str, **_: Any) -> Json | None:
    found = _repository(info.context, owner, name)
    if found is None:
        raise graphql_error(f"Could not resolve to a Repository with the name '{owner}/{name}'.", "NOT_FOUND")
    return found


def _account_field(kind: str) -> Callable[..., Awaitable[Json | None]]:
    async def resolve(_root: Any, info: GraphQLResolveInfo, login: str) -> Json | None:
        found = info.context.state.account(login)
        if found is None or found.type != kind:
            raise graphql_error(
                f"Could not resolve to a{'n' if kind[0] in 'O' else ''} {kind} with the login of '{login}'.",
                "NOT_FOUND",
            )
        return _actor(info.context, found)

    return resolve


async def _node(ctx: Context, value: str) -> Json | None:
    """The object a global id names, or None."""
    parsed = parse_node_id(value)
    if parsed is None:
        return None
    kind, parts = parsed
    state = ctx.state
    if kind in ("U", "O", "BOT") and len(parts) == 1:
        found = next((a for a in ACCOUNTS.values() if a.node_id == value), None)
        return _actor(ctx, found) if found else None
    if kind == "R" and len(parts) == 1 and parts[0].isdigit() and (key := state.repo_by_id(int(parts[0]))):
        return _repository(ctx, *key)
    if kind == "PR" and len(parts) == 1 and parts[0].isdigit() and (pull := state.pull_by_id(int(parts[0]))):
        repo = state.githost.repo(pull.owner, pull.repo)
        return await _pull(ctx, repo, pull) if repo else None
    if kind in ("C", "REF") and len(parts) == 2 and parts[0].isdigit() and (key := state.repo_by_id(int(parts[0]))):
        repository = _repository(ctx, *key)
        repo = state.githost.repo(*key)
        if repository is None or repo is None:
            return None
        if kind == "C":
            return await _commit(ctx, repo, int(parts[0]), "/".join(key), parts[1])
        try:
            ref = ref_of_node(parts[1])
        except (ValueError, UnicodeDecodeError):
            return None
        return (
            await _ref(ctx, repo, repository, ref.removeprefix("refs/heads/"))
            if ref.startswith("refs/heads/")
            else None
        )
    return None


async def _node_field(_root: Any, info: GraphQLResolveInfo, id: str) -> Json | None:
    found = await _node(info.context, id)
    if found is None:
        raise graphql_error(f"Could not resolve to a node with the global id of '{id}'", "NOT_FOUND")
    return found


async def _nodes_field(_root: Any, info: GraphQLResolveInfo, ids: list[str]) -> list[Json | None]:
    return [await _node(info.context, value) for value in ids]


def _pull_input(ctx: Context, value: str) -> tuple[Pull, BareRepo]:
    parsed = parse_node_id(value)
    pull = None
    if parsed and parsed[0] == "PR" and len(parsed[1]) == 1 and parsed[1][0].isdigit():
        pull = ctx.state.pull_by_id(int(parsed[1][0]))
    repo = ctx.state.githost.repo(pull.owner, pull.repo) if pull else None
    if pull is None or repo is None:
        raise graphql_error(f"Could not resolve to a node with the global id of '{value}'", "NOT_FOUND")
    return pull, repo


async def _create_pull_request(_root: Any, info: GraphQLResolveInfo, input: Json) -> Json:
    ctx: Context = info.context
    repository_id = str(input["repositoryId"])
    parsed = parse_node_id(repository_id)
    found = None
    if parsed and parsed[0] == "R" and len(parsed[1]) == 1 and parsed[1][0].isdigit():
        found = ctx.state.repo_by_id(int(parsed[1][0]))
    repo = ctx.state.githost.repo(*found) if found else None
    if found is None or repo is None:
        raise graphql_error(f"Could not resolve to a node with the global id of '{repository_id}'", "NOT_FOUND")
    if ctx.state.faults.on(PR_FORBIDDEN):
        raise graphql_error("Resource not accessible by integration", "FORBIDDEN")
    owner, name = found
    try:
        pull = await ctx.state.open_pull(
            owner, name, input["headRefName"], input["baseRefName"], input["title"], input.get("body"), ctx.viewer
        )
    except GitHubError as error:
        # GitHub's GraphQL API words a rejected pull request as its REST API does, under UNPROCESSABLE.
        details = [e.get("message") or f"{e.get('field')} {e.get('code')}" for e in error.errors]
        raise graphql_error("; ".join(details) or error.message, "UNPROCESSABLE") from None
    return {"clientMutationId": input.get("clientMutationId"), "pullRequest": await _pull(ctx, repo, pull)}


async def _close_pull_request(_root: Any, info: GraphQLResolveInfo, input: Json) -> Json:
    """Close an open pull request (closing a closed one changes nothing), as REST's PATCH state=closed."""
    ctx: Context = info.context
    pull, repo = _pull_input(ctx, str(input["pullRequestId"]))
    if pull.state == "open":
        pull.closed_at = pull.updated_at = now()
    return {"clientMutationId": input.get("clientMutationId"), "pullRequest": await _pull(ctx, repo, pull)}


def _resolve_type(value: Json, _info: Any, _type: Any) -> str:
    return str(value["__typename"])


def _schema() -> GraphQLSchema:
    schema = build_schema(SUBSET.read_text())
    query, mutation = schema.query_type, schema.mutation_type
    assert query is not None and mutation is not None
    query.fields["id"].resolve = lambda *_: "MDU6UXVlcnk="  # GitHub's: base64 of "05:Query"
    query.fields["viewer"].resolve = _viewer_field
    query.fields["repository"].resolve = _repository_field
    query.fields["user"].resolve = _account_field("User")
    query.fields["organization"].resolve = _account_field("Organization")
    query.fields["node"].resolve = _node_field
    query.fields["nodes"].resolve = _nodes_field
    mutation.fields["createPullRequest"].resolve = _create_pull_request
    mutation.fields["closePullRequest"].resolve = _close_pull_request
    for name, kind in schema.type_map.items():
        if hasattr(kind, "resolve_type") and not name.startswith("__"):
            kind.resolve_type = _resolve_type  # type: ignore[union-attr]
    return schema


SCHEMA = _schema()
UNDEFINED_FIELD = re.compile(r"Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'\.")


def _format(error: GraphQLError) -> Json:
    """graphql-core's error in GitHub's words: `type` at the top level, GitHub's message for an unknown field."""
    formatted: Json = dict(error.formatted)
    extensions = dict(formatted.pop("extensions", None) or {})
    if "type" in extensions:
        formatted["type"] = extensions.pop("type")
    if match := UNDEFINED_FIELD.match(error.message):
        formatted["message"] = f"Field '{match['field']}' doesn't exist on type '{match['type']}'"
        extensions = {"code": "undefinedField", "typeName": match["type"], "fieldName": match["field"]}
    if extensions:
        formatted["extensions"] = extensions
    return formatted


def _bad_gateway() -> web.Response:
    """What GitHub's front end answers when the GraphQL service behind it fails."""
    rid = request_id()
    message = (
        "Something went wrong while executing your query. This may be the result of a timeout, or it could be "
        f"a GitHub bug. Please include `{rid}` when reporting this issue."
    )
    response = respond({"data": None, "errors": [{"message": message}]}, 502)
    response.headers["X-GitHub-Request-Id"] = rid
    return response


async def graphql_endpoint(request: web.Request) -> web.Response:
    if github(request).faults.on(GRAPHQL_FAILS):
        return _bad_gateway()
    try:
        body = json.loads(await request.text() or "null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return respond({"message": "Problems parsing JSON", "documentation_url": GRAPHQL_DOCS}, 400)
    query = body.get("query")
    if not isinstance(query, str):
        return respond({"errors": [{"message": "A query attribute must be specified and must be a string."}]})
    variables = body.get("variables")
    try:
        document = parse(query)
    except GraphQLError as error:
        return respond({"errors": [_format(error)]})
    if errors := validate(SCHEMA, document, RULES):
        return respond({"errors": [_format(e) for e in errors]})
    result = execute(
        SCHEMA,
        document,
        context_value=Context(request),
        variable_values=variables if isinstance(variables, dict) else None,
        operation_name=body.get("operationName") or None,
    )
    if isawaitable(result):
        result = await result
    assert isinstance(result, ExecutionResult)
    answer: Json = {}
    if result.errors:
        answer["errors"] = [_format(e) for e in result.errors]
    if result.data is not None or not result.errors:
        answer = {"data": result.data} | answer
    return respond(answer)
