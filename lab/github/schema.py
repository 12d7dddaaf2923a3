"""The lab's part of GitHub's GraphQL schema, cut from GitHub's own SDL (npm `@octokit/graphql-schema`'s
`schema.graphql`): the object and interface types in `SELECTION` with the fields listed there, every
definition copied as GitHub writes it (descriptions, arguments, defaults, deprecations), and the enums,
input objects and scalars those fields name, whole. An object type keeps the interfaces of the selection
it implements (and their fields); a union keeps its selected members.

`schema.graphql` beside this file is the cut the lab serves; `python -m lab.github.schema SDL` writes it
again from GitHub's SDL, and the contract tests fail when the two differ (tests/lab/test_contracts_github.py).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from graphql import (
    ASTValidationRule,
    DefinitionNode,
    DirectiveDefinitionNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    FieldDefinitionNode,
    GraphQLError,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    TypeNode,
    UnionTypeDefinitionNode,
    parse,
    print_ast,
    specified_rules,
)
from graphql.validation.rules.overlapping_fields_can_be_merged import OverlappingFieldsCanBeMergedRule

SUBSET = Path(__file__).with_name("schema.graphql")
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}
CONNECTION = ("edges", "nodes", "pageInfo", "totalCount")

# Object and interface types, and the fields of each the lab answers. What gh 2.103.3 selects for
# `auth status`, `pr create`, `pr view` (and `--json` with every field), `pr close`.
SELECTION: dict[str, tuple[str, ...]] = {
    "Query": ("id", "node", "nodes", "organization", "repository", "user", "viewer"),
    "Mutation": ("closePullRequest", "createPullRequest"),
    "Node": ("id",),
    "Actor": ("avatarUrl", "login", "resourcePath", "url"),
    "RepositoryOwner": ("avatarUrl", "id", "login", "resourcePath", "url"),
    "GitObject": ("abbreviatedOid", "id", "oid"),
    "User": ("avatarUrl", "databaseId", "email", "id", "login", "name", "resourcePath", "url"),
    "Organization": ("avatarUrl", "databaseId", "id", "login", "name", "resourcePath", "url"),
    "Bot": ("avatarUrl", "databaseId", "id", "login", "resourcePath", "url"),
    "Team": ("id", "name", "organization", "slug"),
    "Repository": (
        "createdAt",
        "databaseId",
        "defaultBranchRef",
        "description",
        "hasIssuesEnabled",
        "hasWikiEnabled",
        "id",
        "isArchived",
        "isFork",
        "isPrivate",
        "mergeCommitAllowed",
        "name",
        "nameWithOwner",
        "owner",
        "parent",
        "pullRequest",
        "pullRequests",
        "pushedAt",
        "rebaseMergeAllowed",
        "ref",
        "squashMergeAllowed",
        "sshUrl",
        "updatedAt",
        "url",
        "viewerPermission",
        "visibility",
    ),
    "Ref": ("id", "name", "prefix", "repository", "target"),
    "Commit": (
        "abbreviatedOid",
        "authoredDate",
        "authors",
        "committedDate",
        "id",
        "message",
        "messageBody",
        "messageHeadline",
        "oid",
        "statusCheckRollup",
        "url",
    ),
    "GitActor": ("date", "email", "name", "user"),
    "GitActorConnection": CONNECTION,
    "GitActorEdge": ("cursor", "node"),
    "PullRequest": (
        "additions",
        "assignees",
        "author",
        "autoMergeRequest",
        "baseRefName",
        "baseRefOid",
        "baseRepository",
        "body",
        "changedFiles",
        "closed",
        "closedAt",
        "comments",
        "commits",
        "createdAt",
        "databaseId",
        "deletions",
        "files",
        "headRefName",
        "headRefOid",
        "headRepository",
        "headRepositoryOwner",
        "id",
        "isCrossRepository",
        "isDraft",
        "labels",
        "maintainerCanModify",
        "mergeStateStatus",
        "mergeable",
        "merged",
        "mergedAt",
        "milestone",
        "number",
        "projectItems",
        "reactionGroups",
        "resourcePath",
        "reviewDecision",
        "reviewRequests",
        "reviews",
        "state",
        "title",
        "updatedAt",
        "url",
    ),
    "PullRequestConnection": CONNECTION,
    "PullRequestEdge": ("cursor", "node"),
    "PullRequestCommit": ("commit", "id", "url"),
    "PullRequestCommitConnection": CONNECTION,
    "PullRequestCommitEdge": ("cursor", "node"),
    "PullRequestChangedFile": ("additions", "changeType", "deletions", "path"),
    "PullRequestChangedFileConnection": CONNECTION,
    "PullRequestChangedFileEdge": ("cursor", "node"),
    "AutoMergeRequest": ("authorEmail", "commitBody", "commitHeadline", "enabledAt", "enabledBy", "mergeMethod"),
    "ReviewRequest": ("asCodeOwner", "id", "requestedReviewer"),
    "ReviewRequestConnection": CONNECTION,
    "ReviewRequestEdge": ("cursor", "node"),
    "PullRequestReview": (
        "author",
        "authorAssociation",
        "body",
        "commit",
        "id",
        "reactionGroups",
        "state",
        "submittedAt",
    ),
    "PullRequestReviewConnection": CONNECTION,
    "PullRequestReviewEdge": ("cursor", "node"),
    "IssueComment": (
        "author",
        "authorAssociation",
        "body",
        "createdAt",
        "id",
        "includesCreatedEdit",
        "isMinimized",
        "minimizedReason",
        "reactionGroups",
        "url",
        "viewerDidAuthor",
    ),
    "IssueCommentConnection": CONNECTION,
    "IssueCommentEdge": ("cursor", "node"),
    "ReactionGroup": ("content", "createdAt", "users", "viewerHasReacted"),
    "ReactingUserConnection": CONNECTION,
    "ReactingUserEdge": ("cursor", "node", "reactedAt"),
    "UserConnection": CONNECTION,
    "UserEdge": ("cursor", "node"),
    "Label": ("color", "description", "id", "name"),
    "LabelConnection": CONNECTION,
    "LabelEdge": ("cursor", "node"),
    "ProjectV2": ("id", "title"),
    "ProjectV2Item": ("fieldValueByName", "id", "project"),
    "ProjectV2ItemConnection": CONNECTION,
    "ProjectV2ItemEdge": ("cursor", "node"),
    "ProjectV2ItemFieldSingleSelectValue": ("id", "name", "optionId"),
    "Milestone": ("description", "dueOn", "id", "number", "title"),
    "StatusCheckRollup": ("contexts", "id", "state"),
    "StatusCheckRollupContextConnection": CONNECTION,
    "StatusCheckRollupContextEdge": ("cursor", "node"),
    "StatusContext": ("context", "createdAt", "description", "id", "state", "targetUrl"),
    "CheckRun": ("checkSuite", "completedAt", "conclusion", "detailsUrl", "id", "name", "startedAt", "status"),
    "CheckSuite": ("id", "workflowRun"),
    "WorkflowRun": ("id", "workflow"),
    "Workflow": ("id", "name"),
    "PageInfo": ("endCursor", "hasNextPage", "hasPreviousPage", "startCursor"),
    "Issue": ("id", "number", "state", "stateReason", "title", "url"),
    "CreatePullRequestPayload": ("clientMutationId", "pullRequest"),
    "ClosePullRequestPayload": ("clientMutationId", "pullRequest"),
}


class FieldsCanBeMergedAsGitHubDoes(OverlappingFieldsCanBeMergedRule):
    """The spec's rule without the part GitHub does not enforce: fields of one response name under different
    object types may differ in nullability (gh's `pr view` asks `...on User{name}` and `...on Team{name}`,
    `String` and `String!`, under one `requestedReviewer`)."""

    def report_error(self, error: GraphQLError) -> None:
        if "they return conflicting types" not in error.message:
            super().report_error(error)


# How GitHub validates a query document: graphql-core's rules, the overlapping-fields one as GitHub's.
RULES: tuple[type[ASTValidationRule], ...] = tuple(
    FieldsCanBeMergedAsGitHubDoes if rule is OverlappingFieldsCanBeMergedRule else rule for rule in specified_rules
)


class SubsetError(ValueError):
    """The selection names what GitHub's SDL lacks, or needs a type it leaves out."""


def _named(node: TypeNode) -> str:
    while isinstance(node, NonNullTypeNode | ListTypeNode):
        node = node.type
    assert isinstance(node, NamedTypeNode)
    return node.name.value


def _fields_once(fields: tuple[FieldDefinitionNode, ...]) -> dict[str, FieldDefinitionNode]:
    """GitHub's SDL defines a few fields twice (identically); graphql-core refuses that, so keep one."""
    found: dict[str, FieldDefinitionNode] = {}
    for field in fields:
        found.setdefault(field.name.value, field)
    return found


def subset(sdl: str, selection: dict[str, tuple[str, ...]] = SELECTION) -> str:
    """The cut of GitHub's `sdl` that `selection` describes, as SDL."""
    document = parse(sdl, no_location=True)
    definitions: dict[str, DefinitionNode] = {}
    directives: dict[str, DirectiveDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            directives[definition.name.value] = definition
        elif hasattr(definition, "name"):
            definitions[definition.name.value] = definition  # type: ignore[attr-defined]
    for name in selection:
        if not isinstance(definitions.get(name), ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
            raise SubsetError(f"GitHub's schema has no object or interface type {name}")

    kept: dict[str, DefinitionNode] = {}
    pending = list(selection)
    used_directives: set[str] = set()

    def need(type_name: str, where: str) -> None:
        if type_name in BUILT_IN or type_name in selection or type_name in kept or type_name in pending:
            return
        definition = definitions.get(type_name)
        if definition is None:
            raise SubsetError(f"{where} names {type_name}, which GitHub's schema lacks")
        if isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
            raise SubsetError(f"{where} is of type {type_name}: add it to the selection")
        pending.append(type_name)

    def note_directives(node: object) -> None:
        for directive in getattr(node, "directives", None) or ():
            used_directives.add(directive.name.value)

    while pending:
        name = pending.pop(0)
        definition = definitions[name]
        note_directives(definition)
        if isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
            fields = _fields_once(definition.fields or ())
            interfaces = [i for i in definition.interfaces or () if i.name.value in selection]
            wanted = set(selection[name])
            for interface in interfaces:
                wanted |= set(selection[interface.name.value])
            missing = sorted(wanted - set(fields))
            if missing:
                raise SubsetError(f"GitHub's {name} has no field {', '.join(missing)}")
            chosen = tuple(field for field_name, field in fields.items() if field_name in wanted)
            for field in chosen:
                note_directives(field)
                need(_named(field.type), f"{name}.{field.name.value}")
                for argument in field.arguments or ():
                    note_directives(argument)
                    need(_named(argument.type), f"{name}.{field.name.value}({argument.name.value}:)")
            definition = replace(definition, fields=chosen, interfaces=tuple(interfaces))
        elif isinstance(definition, UnionTypeDefinitionNode):
            members = tuple(t for t in definition.types or () if t.name.value in selection)
            if not members:
                raise SubsetError(f"none of union {name}'s members is in the selection")
            definition = replace(definition, types=members)
        elif isinstance(definition, InputObjectTypeDefinitionNode):
            for field in definition.fields or ():
                note_directives(field)
                need(_named(field.type), f"input {name}.{field.name.value}")
        elif isinstance(definition, EnumTypeDefinitionNode):
            for value in definition.values or ():
                note_directives(value)
        elif not isinstance(definition, ScalarTypeDefinitionNode):
            raise SubsetError(f"{name} is a {type(definition).__name__}, which the cut does not handle")
        kept[name] = definition

    used_directives -= {"deprecated", "include", "skip", "specifiedBy", "oneOf"}
    order = {name: index for index, name in enumerate(definitions)}
    chosen_definitions: list[DefinitionNode] = [directives[d] for d in sorted(used_directives)]
    chosen_definitions += sorted(kept.values(), key=lambda d: order[d.name.value])  # type: ignore[attr-defined]
    header = (
        "# GitHub's GraphQL schema as the lab serves it: a cut of npm @octokit/graphql-schema's schema.graphql\n"
        "# made by lab/github/schema.py (`python -m lab.github.schema SDL` writes it again). Do not edit.\n\n"
    )
    return header + print_ast(DocumentNode(definitions=tuple(chosen_definitions))) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m lab.github.schema PATH/TO/@octokit/graphql-schema/schema.graphql", file=sys.stderr)
        return 2
    SUBSET.write_text(subset(Path(argv[0]).read_text()))
    print(f"wrote {SUBSET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
