"""GitHub's own descriptions of its APIs, to hold the lab's answers against: the REST API of GitHub Enterprise
Server (npm `@octokit/openapi`, `generated/ghes-3.19.json`, OpenAPI 3.0) and the GraphQL schema (npm
`@octokit/graphql-schema`, `schema.graphql`), installed once into `.lab-tools/contracts` (`bin/setup --dev`
does it too, with `NPM_INSTALL`'s line).

`record(exchanges)` is a middleware that writes down what the lab's GitHub answers; `RestContract.check` and
`GraphQLContract.check` say, naming the operation and the field, where an answer leaves its description.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import shutil
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_ast_schema,
    is_abstract_type,
    parse,
    validate,
)
from jsonschema import Draft4Validator, FormatChecker, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from lab.github.render import PREFIX
from lab.github.schema import RULES

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / ".lab-tools" / "contracts"
PACKAGES = {"@octokit/openapi": "23.0.2", "@octokit/graphql-schema": "15.26.1"}
GHES = "ghes-3.19"  # the newest GitHub Enterprise Server the pinned @octokit/openapi describes
NPM_INSTALL = [
    "npm",
    "install",
    "--silent",
    "--no-audit",
    "--no-fund",
    "--prefix",
    ".lab-tools/contracts",
    *(f"{name}@{version}" for name, version in PACKAGES.items()),
]
Json = dict[str, Any]


def _installed() -> bool:
    for name, version in PACKAGES.items():
        manifest = CONTRACTS / "node_modules" / name / "package.json"
        if not manifest.is_file() or json.loads(manifest.read_text()).get("version") != version:
            return False
    return True


def install() -> Path:
    """The packages' folder (`node_modules/@octokit`), installed at the pinned versions if they are not."""
    CONTRACTS.mkdir(parents=True, exist_ok=True)
    with (CONTRACTS / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several pytest workers may ask at once
        if not _installed():
            if shutil.which("npm") is None:
                raise RuntimeError("npm is needed to install GitHub's API descriptions (bin/setup installs it)")
            subprocess.run(NPM_INSTALL, cwd=ROOT, check=True, capture_output=True, text=True, timeout=600)
            if not _installed():
                raise RuntimeError(f"`{' '.join(NPM_INSTALL)}` did not install {PACKAGES}")
    return CONTRACTS / "node_modules" / "@octokit"


# -- what the lab answered ---------------------------------------------------------------------------


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    request: Any  # the JSON the client sent, or None
    response: Any  # the JSON the lab answered, or None (no body, or not JSON)
    content_type: str


def record(exchanges: list[Exchange]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware (put it before `lab.github.install`'s) that appends every API request and answer."""

    @web.middleware
    async def recorder(
        request: web.Request, handler: Callable[..., Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not request.path.startswith(("/api/", PREFIX)):
            return await handler(request)
        sent = None
        if request.can_read_body:
            with contextlib.suppress(ValueError):
                sent = json.loads(await request.text() or "null")
        response = await handler(request)
        answered = None
        if isinstance(response, web.Response) and response.body and "json" in (response.content_type or ""):
            answered = json.loads(response.text or "null")
        exchanges.append(Exchange(request.method, request.path, response.status, sent, answered, response.content_type))
        return response

    return recorder


# -- REST: GitHub Enterprise Server's OpenAPI description --------------------------------------------

BASE = "urn:github-rest"
DISCRIMINATED = "x-lab-discriminated"
DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's schema dialect as JSON Schema draft 4: `nullable` as a null type, a discriminated
    `oneOf` as a choice by the discriminator (the private and public user overlap, so `oneOf` alone would
    refuse GitHub's own answers), `$ref`s absolute."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: _json_schema(value) for key, value in node.items() if key not in ("example", "examples")}
    if isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#"):
        schema["$ref"] = BASE + schema["$ref"]
    mapping = (node.get("discriminator") or {}).get("mapping")
    if "oneOf" in schema and mapping:
        prop = node["discriminator"]["propertyName"]
        schema.pop("oneOf")
        schema.pop("discriminator")
        schema[DISCRIMINATED] = {"propertyName": prop, "mapping": {k: BASE + v for k, v in mapping.items()}}
    if schema.pop("nullable", False) is True:
        if isinstance(schema.get("type"), str):
            schema["type"] = [schema["type"], "null"]
            if "enum" in schema:
                schema["enum"] = [*schema["enum"], None]
        else:
            schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _discriminated(validator: Any, value: Json, instance: Any, _schema: Json) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        return
    key = instance.get(value["propertyName"])
    target = value["mapping"].get(key)
    if target is None:
        yield ValidationError(f"{value['propertyName']} {key!r} is none of {sorted(value['mapping'])}")
        return
    yield from validator.descend(instance, {"$ref": target})


FORMATS = FormatChecker(())
FORMATS.checks("date-time")(lambda value: not isinstance(value, str) or bool(DATE_TIME.match(value)))
FORMATS.checks("uri")(
    lambda value: not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)
)
Validator = validators.extend(Draft4Validator, {DISCRIMINATED: _discriminated})


def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("^" + "".join("(.+)" if p.startswith("{") else re.escape(p) for p in parts) + "$")


class RestContract:
    def __init__(self, document: Json) -> None:
        self.document = _json_schema(document)
        self.registry: Registry = Registry().with_resource(
            BASE, Resource.from_contents(self.document, default_specification=DRAFT4)
        )
        self._resolver = self.registry.resolver()
        self.operations: list[tuple[str, str, re.Pattern[str], Json]] = []
        for path, item in self.document["paths"].items():
            for method, operation in item.items():
                if isinstance(operation, dict) and "responses" in operation:
                    self.operations.append((method.upper(), path, _template(path), operation))

    @classmethod
    def load(cls, packages: Path) -> RestContract:
        return cls(json.loads((packages / "openapi" / "generated" / f"{GHES}.json").read_text()))

    def operation(self, method: str, path: str) -> tuple[str, Json] | None:
        """The described operation a request is: (path template, operation); the template with the most
        literal text wins (`/git/ref/{ref}` takes `heads/a/b`, a branch name may have slashes)."""
        path = path.removeprefix(PREFIX) or "/"
        found = [
            (len(re.sub(r"\{[^}]+\}", "", template)), -sum("/" in g for g in match.groups()), template, operation)
            for verb, template, pattern, operation in self.operations
            if verb == method and (match := pattern.match(path))
        ]
        if not found:
            return None
        *_, template, operation = max(found, key=lambda item: item[:2])
        return template, operation

    def _deref(self, schema: Any) -> Any:
        while isinstance(schema, dict) and "$ref" in schema:
            schema = self._resolver.lookup(schema["$ref"]).contents
        return schema

    def check(self, exchange: Exchange) -> list[str]:
        found = self.operation(exchange.method, exchange.path)
        where = f"{exchange.method} {exchange.path}"
        if found is None:
            return [f"{where}: no operation of GitHub's REST API is this request"]
        template, operation = found
        where = f"{exchange.method} {template} ({operation.get('operationId')}) answered {exchange.status}"
        response = self._deref(operation["responses"].get(str(exchange.status)))
        if response is None:
            return [f"{where}: the description has no {exchange.status} for it ({sorted(operation['responses'])})"]
        content = (response.get("content") or {}).get("application/json")
        if content is None:
            if exchange.response is not None:
                return [f"{where}: the description has no body for {exchange.status}, the lab sent one"]
            return []
        if exchange.response is None:
            return [f"{where}: no JSON body ({exchange.content_type})"]
        schema = content["schema"]
        validator = Validator(schema, registry=self.registry, format_checker=FORMATS)
        problems = [
            f"{where}: {'.'.join(str(p) for p in error.absolute_path) or 'the body'}: {error.message[:300]}"
            for error in sorted(validator.iter_errors(exchange.response), key=lambda e: list(map(str, e.absolute_path)))
        ]
        if not problems:
            self._undescribed(exchange.response, schema, "", problems, where)
        return problems

    def _is_valid(self, instance: Any, schema: Any) -> bool:
        return Validator(schema, registry=self.registry, format_checker=FORMATS).is_valid(instance)

    def _undescribed(self, instance: Any, schema: Any, path: str, problems: list[str], where: str) -> None:
        """Fields the lab sent that the description does not name."""
        schema = self._deref(schema)
        if not isinstance(schema, dict) or instance is None:
            return
        if DISCRIMINATED in schema and isinstance(instance, dict):
            target = schema[DISCRIMINATED]["mapping"].get(instance.get(schema[DISCRIMINATED]["propertyName"]))
            self._undescribed(instance, {"$ref": target}, path, problems, where)
            return
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branch = next((b for b in schema[key] if self._is_valid(instance, b)), None)
                if branch is not None:
                    self._undescribed(instance, branch, path, problems, where)
                return
        if isinstance(instance, list):
            for index, item in enumerate(instance):
                self._undescribed(item, schema.get("items"), f"{path}[{index}]", problems, where)
            return
        if not isinstance(instance, dict):
            return
        properties: Json = {}
        additional: Any = None
        parts = [schema]
        while parts:
            part = self._deref(parts.pop())
            properties |= part.get("properties", {})
            if part.get("additionalProperties") not in (None, False):
                additional = part["additionalProperties"]
            parts += part.get("allOf", [])
        if not properties and additional is None:
            return  # a free-form object
        for key, value in instance.items():
            here = f"{path}.{key}" if path else key
            if key in properties:
                self._undescribed(value, properties[key], here, problems, where)
            elif isinstance(additional, dict):
                self._undescribed(value, additional, here, problems, where)
            elif additional is None:
                problems.append(f"{where}: {here} is not in the description")


# -- GraphQL: GitHub's public schema -------------------------------------------------------------------

SCALARS: dict[str, Callable[[Any], bool]] = {
    "String": lambda v: isinstance(v, str),
    "ID": lambda v: isinstance(v, str),
    "Int": lambda v: isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31,
    "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "Boolean": lambda v: isinstance(v, bool),
    "DateTime": lambda v: isinstance(v, str) and bool(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", v)),
    "GitTimestamp": lambda v: isinstance(v, str) and bool(DATE_TIME.match(v)),
    "GitObjectID": lambda v: isinstance(v, str) and bool(re.fullmatch(r"[0-9a-f]{40}", v)),
    "URI": lambda v: isinstance(v, str) and bool(urlsplit(v).scheme and urlsplit(v).netloc),
    "GitSSHRemote": lambda v: isinstance(v, str) and bool(re.fullmatch(r"[\w.-]+@[\w.-]+:[\w./-]+", v)),
}


class GraphQLContract:
    def __init__(self, sdl: str) -> None:
        # GitHub's SDL defines a few fields twice and deprecates fields of some interfaces' implementers but
        # not the interfaces' own: graphql-core would refuse the schema for both, GitHub serves it.
        self.schema: GraphQLSchema = build_ast_schema(parse(sdl, no_location=True), assume_valid_sdl=True)
        self.schema._validation_errors = []  # type: ignore[attr-defined]

    @classmethod
    def load(cls, packages: Path) -> GraphQLContract:
        return cls((packages / "graphql-schema" / "schema.graphql").read_text())

    def check(self, exchange: Exchange) -> list[str]:
        body = exchange.request if isinstance(exchange.request, dict) else {}
        document = parse(body.get("query") or "")
        operation = next(
            d
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
            and (body.get("operationName") in (None, "") or (d.name and d.name.value == body.get("operationName")))
        )
        where = f"GraphQL {operation.operation.value} {operation.name.value if operation.name else '(anonymous)'}"
        problems = [f"{where}: the query: {error.message}" for error in validate(self.schema, document, RULES)]
        result = exchange.response if isinstance(exchange.response, dict) else {}
        if problems or result.get("errors") or result.get("data") is None:
            return problems
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        root = self.schema.get_root_type(operation.operation)
        assert root is not None
        walker = _Walker(self.schema, fragments, where)
        walker.object(result["data"], root, [operation.selection_set], "")
        return walker.problems


class _Walker:
    """Holds a result against the query's selections and the schema's types."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], where: str) -> None:
        self.schema = schema
        self.fragments = fragments
        self.where = where
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{self.where}: {path or 'data'}: {message}")

    def applies(self, condition: str | None, kind: GraphQLObjectType) -> bool:
        if condition is None or condition == kind.name:
            return True
        target = self.schema.get_type(condition)
        return target is not None and is_abstract_type(target) and self.schema.is_sub_type(target, kind)  # type: ignore[arg-type]

    def collect(self, kind: GraphQLObjectType, sets: list[SelectionSetNode]) -> dict[str, list[FieldNode]]:
        fields: dict[str, list[FieldNode]] = {}
        for selection_set in sets:
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    fields.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition.name.value if selection.type_condition else None
                    if self.applies(condition, kind):
                        for key, nodes in self.collect(kind, [selection.selection_set]).items():
                            fields.setdefault(key, []).extend(nodes)
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = self.fragments[selection.name.value]
                    if self.applies(fragment.type_condition.name.value, kind):
                        for key, nodes in self.collect(kind, [fragment.selection_set]).items():
                            fields.setdefault(key, []).extend(nodes)
        return fields

    def object(self, value: Any, kind: GraphQLObjectType, sets: list[SelectionSetNode], path: str) -> None:
        if not isinstance(value, dict):
            self.fail(path, f"{value!r} is not a {kind.name} object")
            return
        fields = self.collect(kind, sets)
        for key in sorted(set(fields) - set(value)):
            self.fail(f"{path}.{key}".lstrip("."), f"missing from the answer ({kind.name}.{fields[key][0].name.value})")
        for key in sorted(set(value) - set(fields)):
            self.fail(f"{path}.{key}".lstrip("."), f"answered, but not asked for on {kind.name}")
        for key, nodes in fields.items():
            if key not in value:
                continue
            here = f"{path}.{key}".lstrip(".")
            name = nodes[0].name.value
            if name == "__typename":
                if value[key] != kind.name:
                    self.fail(here, f"__typename {value[key]!r} on a {kind.name}")
                continue
            if name == "__type":
                self.introspection(value[key], nodes[0], here)
                continue
            if name.startswith("__"):
                continue
            definition = kind.fields.get(name)
            if definition is None:
                self.fail(here, f"{kind.name} has no field {name} in GitHub's schema")
                continue
            sub = [n.selection_set for n in nodes if n.selection_set]
            self.value(value[key], definition.type, sub, here)

    def value(self, value: Any, kind: Any, sets: list[SelectionSetNode], path: str) -> None:
        if isinstance(kind, GraphQLNonNull):
            if value is None:
                self.fail(path, f"null, but GitHub's schema says {kind}")
                return
            kind = kind.of_type
        if value is None:
            return
        if isinstance(kind, GraphQLList):
            if not isinstance(value, list):
                self.fail(path, f"{value!r} is not a list ({kind})")
                return
            for index, item in enumerate(value):
                self.value(item, kind.of_type, sets, f"{path}[{index}]")
        elif isinstance(kind, GraphQLScalarType):
            check = SCALARS.get(kind.name, lambda v: isinstance(v, str))
            if not check(value):
                self.fail(path, f"{value!r} is not a GitHub {kind.name}")
        elif isinstance(kind, GraphQLEnumType):
            if value not in kind.values:
                self.fail(path, f"{value!r} is not one of {kind.name}'s values")
        elif isinstance(kind, GraphQLObjectType):
            self.object(value, kind, sets, path)
        else:  # an interface or a union: the concrete type its fields fit
            self.abstract(value, kind, sets, path)

    def abstract(self, value: Any, kind: Any, sets: list[SelectionSetNode], path: str) -> None:
        candidates = list(self.schema.get_possible_types(kind))
        if isinstance(value, dict) and "__typename" in value:
            chosen = [c for c in candidates if c.name == value["__typename"]]
            if not chosen:
                self.fail(path, f"__typename {value['__typename']!r} is not a possible {kind.name}")
                return
            candidates = chosen
        best: list[str] | None = None
        for candidate in candidates:
            trial = _Walker(self.schema, self.fragments, self.where)
            trial.object(value, candidate, sets, path)
            if not trial.problems:
                return
            if best is None or len(trial.problems) < len(best):
                best = trial.problems
        self.problems += best or [f"{self.where}: {path}: no possible type of {kind.name}"]

    def introspection(self, value: Any, node: FieldNode, path: str) -> None:
        """`__type(name:)` answers: the type and the fields it lists must be GitHub's."""
        argument = next((a for a in node.arguments if a.name.value == "name"), None)
        if not isinstance(value, dict) or argument is None or not hasattr(argument.value, "value"):
            return
        name = argument.value.value  # type: ignore[attr-defined]
        github = self.schema.get_type(name)
        if github is None:
            self.fail(path, f"introspection names type {name}, which GitHub's schema lacks")
            return
        known = set(getattr(github, "fields", {}) or {})
        for field in value.get("fields") or []:
            if isinstance(field, dict) and field.get("name") not in known:
                self.fail(path, f"introspection lists {name}.{field.get('name')}, which GitHub's schema lacks")


@cache
def contracts() -> tuple[RestContract, GraphQLContract]:
    packages = install()
    return RestContract.load(packages), GraphQLContract.load(packages)


def check_all(exchanges: list[Exchange]) -> list[str]:
    """Every recorded answer held against its description."""
    rest, graph = contracts()
    problems: list[str] = []
    for exchange in exchanges:
        if exchange.path == "/api/graphql":
            problems += graph.check(exchange)
        else:
            problems += rest.check(exchange)
    return problems
