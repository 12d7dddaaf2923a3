"""GitHub's GraphQL API at /api/graphql: the part of GitHub's public schema the GitHub CLI selects for
`gh auth status`, `gh api user` and `gh pr create`, validated and executed by graphql-core.

A query naming a field the subset lacks gets GitHub's `undefinedField` error, as an unknown field would
on GitHub. Pull requests are the REST API's own (same numbers, same node ids).
Fault: `graphql-fails` (the endpoint answers 502 as GitHub's front end does; REST still works).
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web
from graphql import GraphQLError, GraphQLSchema, build_schema
from graphql import graphql as execute

from lab.faults import GRAPHQL_FAILS, PR_FORBIDDEN
from lab.github.gitrepo import BareRepo
from lab.github.render import Urls, request_id, respond
from lab.github.state import GitHub, GitHubError, Json, Pull, github, owner_account, stamp

routes = web.RouteTableDef()
PATH = "/api/graphql"
DOCS = "https://docs.github.com/graphql"

# A subset of https://docs.github.com/public/fpt/schema.docs.graphql: names, types and nullability as there.
SDL = """
scalar DateTime
scalar URI
scalar GitObjectID

interface Node { id: ID! }
interface Actor { login: String! url: URI! avatarUrl(size: Int): URI! }
interface RepositoryOwner { id: ID! login: String! url: URI! avatarUrl(size: Int): URI! }

type User implements Node & Actor & RepositoryOwner {
  id: ID!
  databaseId: Int
  login: String!
  name: String
  url: URI!
  avatarUrl(size: Int): URI!
}

type Organization implements Node & Actor & RepositoryOwner {
  id: ID!
  databaseId: Int
  login: String!
  name: String
  url: URI!
  avatarUrl(size: Int): URI!
}

enum RepositoryPermission { ADMIN MAINTAIN WRITE TRIAGE READ }
enum RepositoryVisibility { PRIVATE PUBLIC INTERNAL }
enum PullRequestState { OPEN CLOSED MERGED }
enum OrderDirection { ASC DESC }
enum IssueOrderField { CREATED_AT UPDATED_AT COMMENTS }
input IssueOrder { field: IssueOrderField! direction: OrderDirection! }

type Commit implements Node { id: ID! oid: GitObjectID! }
type Ref implements Node { id: ID! name: String! prefix: String! target: Commit }

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }

type Repository implements Node {
  id: ID!
  databaseId: Int
  name: String!
  nameWithOwner: String!
  owner: RepositoryOwner!
  description: String
  url: URI!
  sshUrl: String!
  isPrivate: Boolean!
  isFork: Boolean!
  isArchived: Boolean!
  visibility: RepositoryVisibility!
  hasIssuesEnabled: Boolean!
  hasWikiEnabled: Boolean!
  viewerPermission: RepositoryPermission
  defaultBranchRef: Ref
  parent: Repository
  mergeCommitAllowed: Boolean!
  rebaseMergeAllowed: Boolean!
  squashMergeAllowed: Boolean!
  createdAt: DateTime!
  pushedAt: DateTime
  pullRequest(number: Int!): PullRequest
  pullRequests(
    first: Int, after: String, last: Int, before: String,
    states: [PullRequestState!], headRefName: String, baseRefName: String, orderBy: IssueOrder
  ): PullRequestConnection!
}

type PullRequest implements Node {
  id: ID!
  databaseId: Int
  number: Int!
  title: String!
  body: String!
  state: PullRequestState!
  url: URI!
  isDraft: Boolean!
  closed: Boolean!
  merged: Boolean!
  author: Actor
  baseRefName: String!
  headRefName: String!
  headRefOid: GitObjectID!
  baseRefOid: GitObjectID!
  headRepository: Repository
  headRepositoryOwner: RepositoryOwner
  baseRepository: Repository
  isCrossRepository: Boolean!
  maintainerCanModify: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  closedAt: DateTime
}

enum IssueState { OPEN CLOSED }
enum IssueStateReason { COMPLETED NOT_PLANNED REOPENED DUPLICATE }
type Issue implements Node {
  id: ID!
  number: Int!
  title: String!
  state: IssueState!
  stateReason: IssueStateReason
  url: URI!
}

type PullRequestConnection { nodes: [PullRequest] totalCount: Int! pageInfo: PageInfo! }

input CreatePullRequestInput {
  repositoryId: ID!
  baseRefName: String!
  headRefName: String!
  headRepositoryId: ID
  title: String!
  body: String
  draft: Boolean = false
  maintainerCanModify: Boolean = true
  clientMutationId: String
}

type CreatePullRequestPayload { clientMutationId: String pullRequest: PullRequest }

type Query {
  viewer: User!
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
  node(id: ID!): Node
}

type Mutation {
  createPullRequest(input: CreatePullRequestInput!): CreatePullRequestPayload
}
"""


class Context:
    """What resolvers see: the shared state and the request's URLs."""

    def __init__(self, request: web.Request) -> None:
        self.state = github(request)
        self.urls = Urls(request)


def _account(urls: Urls, login: str) -> Json:
    account = owner_account(login)
    return {
        "__typename": "Organization" if account.type == "Organization" else "User",
        "id": f"U_lab{account.id}" if account.type == "User" else f"O_lab{account.id}",
        "databaseId": account.id,
        "login": account.login,
        "name": account.name,
        "url": f"{urls.web}/{account.login}",
        "avatarUrl": f"{urls.web}/avatars/{account.login}",
    }


def _viewer(urls: Urls, state: GitHub) -> Json:
    user = state.user
    return {
        "__typename": "User",
        "id": f"U_lab{user.id}",
        "databaseId": user.id,
        "login": user.login,
        "name": user.name,
        "url": f"{urls.web}/{user.login}",
        "avatarUrl": f"{urls.web}/avatars/{user.login}",
    }


def _repository(ctx: Context, owner: str, name: str) -> Json | None:
    repo = ctx.state.githost.repo(owner, name)
    if repo is None:
        return None
    repo_id = ctx.state.repo_id(owner, name)

    async def default_branch_ref(_info: Any) -> Json | None:
        sha = await repo.branch_sha("main")
        if sha is None:
            return None
        return {"id": f"REF_lab{sha[:12]}", "name": "main", "prefix": "refs/heads/", "target": {"id": sha, "oid": sha}}

    async def pull_requests(info: Any, **args: Any) -> Json:
        states = set(args.get("states") or ("OPEN", "CLOSED", "MERGED"))
        head, base = args.get("headRefName"), args.get("baseRefName")
        found = [
            p
            for p in ctx.state.pulls(owner, name)
            if p.state.upper() in states and head in (None, p.head) and base in (None, p.base)
        ]
        order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
        if order["direction"] == "DESC":
            found.reverse()
        first = args.get("first")
        page = found[:first] if first is not None else found
        nodes = [await _pull(ctx, repo, p) for p in page]
        return {
            "nodes": nodes,
            "totalCount": len(found),
            "pageInfo": {"hasNextPage": len(page) < len(found), "hasPreviousPage": False},
        }

    async def pull_request(_info: Any, number: int) -> Json | None:
        try:
            pull = ctx.state.pull(owner, name, number)
        except GitHubError:
            return None
        return await _pull(ctx, repo, pull)

    created = stamp(ctx.state.created)
    return {
        "__typename": "Repository",
        "id": f"R_lab{repo_id}",
        "databaseId": repo_id,
        "name": name,
        "nameWithOwner": f"{owner}/{name}",
        "owner": _account(ctx.urls, owner),
        "description": None,
        "url": f"{ctx.urls.web}/{owner}/{name}",
        "sshUrl": f"git@{ctx.urls.web.split('://', 1)[1]}:{owner}/{name}.git",
        "isPrivate": False,
        "isFork": False,
        "isArchived": False,
        "visibility": "PUBLIC",
        "hasIssuesEnabled": True,
        "hasWikiEnabled": False,
        "viewerPermission": "WRITE",  # REST: push true, admin false
        "defaultBranchRef": default_branch_ref,
        "parent": None,
        "mergeCommitAllowed": True,
        "rebaseMergeAllowed": True,
        "squashMergeAllowed": True,
        "createdAt": created,
        "pushedAt": created,
        "pullRequest": pull_request,
        "pullRequests": pull_requests,
    }


async def _pull(ctx: Context, repo: BareRepo, pull: Pull) -> Json:
    await GitHub.refresh(repo, pull)
    repository = _repository(ctx, pull.owner, pull.repo)
    return {
        "__typename": "PullRequest",
        "id": f"PR_lab{pull.id}",
        "databaseId": pull.id,
        "number": pull.number,
        "title": pull.title,
        "body": pull.body or "",
        "state": pull.state.upper(),
        "url": f"{ctx.urls.web}/{pull.owner}/{pull.repo}/pull/{pull.number}",
        "isDraft": False,
        "closed": pull.closed_at is not None,
        "merged": False,
        "author": _viewer(ctx.urls, ctx.state) if pull.user == ctx.state.user else _account(ctx.urls, pull.user.login),
        "baseRefName": pull.base,
        "headRefName": pull.head,
        "headRefOid": pull.head_sha,
        "baseRefOid": pull.base_sha,
        "headRepository": repository,
        "headRepositoryOwner": _account(ctx.urls, pull.owner),
        "baseRepository": repository,
        "isCrossRepository": False,
        "maintainerCanModify": False,
        "createdAt": stamp(pull.created_at),
        "updatedAt": stamp(pull.updated_at),
        "closedAt": stamp(pull.closed_at) if pull.closed_at else None,
    }


def _error(message: str, kind: str) -> GraphQLError:
    """A mutation's failure as GitHub reports it: `type` beside `message` (moved there in `_format`)."""
    return GraphQLError(message, extensions={"type": kind})


async def _viewer_field(_root: Any, info: Any) -> Json:
    ctx: Context = info.context
    return _viewer(ctx.urls, ctx.state)


async def _repository_field(_root: Any, info: Any, owner: str, name: str, **_: Any) -> Json | None:
    return _repository(info.context, owner, name)


async def _node_field(_root: Any, info: Any, id: str) -> Json | None:
    ctx: Context = info.context
    if id.startswith("R_lab") and id[5:].isdigit() and (found := ctx.state.repo_by_id(int(id[5:]))):
        return _repository(ctx, *found)
    if id == f"U_lab{ctx.state.user.id}":
        return _viewer(ctx.urls, ctx.state)
    return None


async def _create_pull_request(_root: Any, info: Any, input: Json) -> Json:
    ctx: Context = info.context
    repository_id = str(input["repositoryId"])
    found = ctx.state.repo_by_id(int(repository_id[5:])) if repository_id[5:].isdigit() else None
    if not repository_id.startswith("R_lab") or found is None:
        raise _error(f"Could not resolve to a node with the global id of '{repository_id}'", "NOT_FOUND")
    owner, name = found
    repo = ctx.state.githost.repo(owner, name)
    if repo is None:
        raise _error(f"Could not resolve to a node with the global id of '{repository_id}'", "NOT_FOUND")
    if ctx.state.faults.on(PR_FORBIDDEN):
        raise _error("Resource not accessible by integration", "FORBIDDEN")
    try:
        pull = await ctx.state.open_pull(
            owner, name, input["headRefName"], input["baseRefName"], input["title"], input.get("body")
        )
    except GitHubError as error:
        # GitHub's GraphQL API words a rejected pull request as its REST API does, under UNPROCESSABLE.
        details = [e.get("message") or f"{e.get('field')} {e.get('code')}" for e in error.errors]
        raise _error("; ".join(details) or error.message, "UNPROCESSABLE") from None
    return {"clientMutationId": input.get("clientMutationId"), "pullRequest": await _pull(ctx, repo, pull)}


def _schema() -> GraphQLSchema:
    schema = build_schema(SDL)
    query, mutation = schema.query_type, schema.mutation_type
    assert query is not None and mutation is not None
    query.fields["viewer"].resolve = _viewer_field
    query.fields["repository"].resolve = _repository_field
    query.fields["node"].resolve = _node_field
    mutation.fields["createPullRequest"].resolve = _create_pull_request
    return schema


def _resolve_type(value: Json, _info: Any, _type: Any) -> str:
    return str(value.get("__typename", "User"))


SCHEMA = _schema()
for _abstract in ("Node", "Actor", "RepositoryOwner"):
    SCHEMA.get_type(_abstract).resolve_type = _resolve_type  # type: ignore[union-attr]

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


@routes.post(PATH)
async def graphql_endpoint(request: web.Request) -> web.Response:
    if github(request).faults.on(GRAPHQL_FAILS):
        return _bad_gateway()
    try:
        body = json.loads(await request.text() or "null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return respond({"message": "Problems parsing JSON", "documentation_url": DOCS}, 400)
    query = body.get("query")
    if not isinstance(query, str):
        return respond({"errors": [{"message": "A query attribute must be specified and must be a string."}]})
    variables = body.get("variables")
    result = await execute(
        SCHEMA,
        query,
        context_value=Context(request),
        variable_values=variables if isinstance(variables, dict) else None,
        operation_name=body.get("operationName") or None,
    )
    answer: Json = {}
    if result.errors:
        answer["errors"] = [_format(e) for e in result.errors]
    if result.data is not None or not result.errors:
        answer = {"data": result.data} | answer
    return respond(answer)
