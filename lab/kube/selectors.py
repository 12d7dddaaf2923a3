"""Label and field selectors as the API server parses and applies them.

Labels follow k8s.io/apimachinery's pkg/labels/selector.go: `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
`k notin (a,b)`, `k` (exists), `!k` (does not exist), and `k>n`, `k<n`. Fields follow
pkg/fields/selector.go (`=`, `==`, `!=` only); which fields a resource can be selected by follows its
registry strategy (pkg/registry/core/pod/strategy.go `PodToSelectableFields`,
pkg/registry/core/event/strategy.go `ToSelectableFields`, pkg/registry/core/namespace/strategy.go), and
an unknown one is refused as pkg/apis/core/v1/conversion.go words it: `field label not supported: <f>`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


class SelectorError(ValueError):
    """An unparsable selector or an unsupported field: the API server answers 400 BadRequest."""


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # =, !=, in, notin, exists, !, gt, lt
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present, value = self.key in labels, labels.get(self.key)
        match self.op:
            case "=" | "in":
                return present and value in self.values
            case "!=" | "notin":
                return not present or value not in self.values
            case "exists":
                return present
            case "!":
                return not present
            case _:  # gt, lt: integer comparisons; a non-integer label does not match
                if value is None or not re.fullmatch(r"-?\d+", value):
                    return False
                bound = int(self.values[0])
                return int(value) > bound if self.op == "gt" else int(value) < bound


_TERM = re.compile(
    r"""\s*(?:
        (?P<not>!)\s*(?P<absent>[^\s,=!<>()]+)
      | (?P<setkey>[^\s,=!<>()]+)\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\)
      | (?P<key>[^\s,=!<>()]+)\s*(?:(?P<op>==|=|!=|>|<)\s*(?P<value>[^\s,=!<>()]*))?
    )\s*(?:,|$)""",
    re.VERBOSE,
)


def parse_labels(raw: str) -> list[Requirement]:
    """The requirements of a label selector; SelectorError for one the API server would refuse."""
    found: list[Requirement] = []
    position = 0
    raw = raw.strip()
    while position < len(raw):
        term = _TERM.match(raw, position)
        if term is None or term.end() == position:
            raise SelectorError(f"unable to parse requirement: found '{raw[position:]}', expected: identifier")
        position = term.end()
        if term["absent"]:
            found.append(Requirement(term["absent"], "!"))
        elif term["setkey"]:
            values = tuple(v.strip() for v in term["values"].split(",") if v.strip())
            if not values:
                raise SelectorError(f"for '{term['setop']}', 'notin' operators, values set can't be empty")
            found.append(Requirement(term["setkey"], term["setop"], values))
        elif term["op"] is None:
            found.append(Requirement(term["key"], "exists"))
        elif term["op"] in (">", "<"):
            if not re.fullmatch(r"-?\d+", term["value"] or ""):
                raise SelectorError(f"for 'Gt', 'Lt' operators, the value must be an integer: {term['value']!r}")
            found.append(Requirement(term["key"], "gt" if term["op"] == ">" else "lt", (term["value"],)))
        else:
            op = "!=" if term["op"] == "!=" else "="
            found.append(Requirement(term["key"], op, (term["value"],)))
    return found


def _dig(*path: str) -> Callable[[Obj], str]:
    def get(obj: Obj) -> str:
        value: Any = obj
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        return "" if value is None else str(value)

    return get


def _source(event: Obj) -> str:
    # The event strategy selects `source` by the reporting component (the kubelet, the scheduler).
    return event.get("reportingComponent") or event.get("source", {}).get("component", "")


_META = {"metadata.name": _dig("metadata", "name"), "metadata.namespace": _dig("metadata", "namespace")}
FIELDS: dict[str, dict[str, Callable[[Obj], str]]] = {
    "pods": _META
    | {
        "spec.nodeName": _dig("spec", "nodeName"),
        "spec.restartPolicy": _dig("spec", "restartPolicy"),
        "spec.schedulerName": _dig("spec", "schedulerName"),
        "spec.serviceAccountName": _dig("spec", "serviceAccountName"),
        "spec.hostNetwork": lambda pod: str(bool(pod["spec"].get("hostNetwork", False))).lower(),
        "status.phase": _dig("status", "phase"),
        "status.podIP": _dig("status", "podIP"),
        "status.nominatedNodeName": _dig("status", "nominatedNodeName"),
    },
    "events": _META
    | {
        "involvedObject.kind": _dig("involvedObject", "kind"),
        "involvedObject.namespace": _dig("involvedObject", "namespace"),
        "involvedObject.name": _dig("involvedObject", "name"),
        "involvedObject.uid": _dig("involvedObject", "uid"),
        "involvedObject.apiVersion": _dig("involvedObject", "apiVersion"),
        "involvedObject.resourceVersion": _dig("involvedObject", "resourceVersion"),
        "involvedObject.fieldPath": _dig("involvedObject", "fieldPath"),
        "reason": _dig("reason"),
        "reportingComponent": _dig("reportingComponent"),
        "source": _source,
        "type": _dig("type"),
    },
    "namespaces": {"metadata.name": _dig("metadata", "name"), "status.phase": _dig("status", "phase")},
}


def parse_fields(resource: str, raw: str) -> list[tuple[Callable[[Obj], str], str, bool]]:
    """(getter, value, equal) terms of a field selector over `resource`'s selectable fields."""
    selectable = FIELDS.get(resource, _META)
    terms = []
    for term in filter(None, (t.strip() for t in raw.split(","))):
        field, op, value = term.partition("!=")
        if not op:
            field, op, value = term.replace("==", "=", 1).partition("=")
        if not op or not field.strip():
            raise SelectorError(f"invalid selector: '{raw}'; can't understand '{term}'")
        field = field.strip()
        if field not in selectable:
            raise SelectorError(f"field label not supported: {field}")
        terms.append((selectable[field], value.strip(), op == "="))
    return terms


def selector(resource: str, labels: str, fields: str) -> Callable[[Obj], bool]:
    """A predicate for the objects a list or watch with these selectors returns."""
    by_label, by_field = parse_labels(labels), parse_fields(resource, fields)

    def matches(obj: Obj) -> bool:
        own = obj["metadata"].get("labels", {})
        return all(r.matches(own) for r in by_label) and all((get(obj) == v) == eq for get, v, eq in by_field)

    return matches
