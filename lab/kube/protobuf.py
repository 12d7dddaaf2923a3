"""Reading the protobuf bodies kubectl sends (`Content-Type: application/vnd.kubernetes.protobuf`).

kubectl's typed clients write built-in objects as protobuf: the envelope of
staging/src/k8s.io/apimachinery/pkg/runtime/serializer/protobuf/protobuf.go (the magic `k8s\\0`, then a
runtime.Unknown holding the object's bytes), the object as its generated.proto declares it. The lab
reads the one such body it serves, a SelfSubjectAccessReview (staging/src/k8s.io/api/authorization/v1/
generated.proto), into the JSON form; answers are JSON, which the client also accepts.
"""

from __future__ import annotations

from typing import Any

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    pass


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def fields(data: bytes) -> dict[int, list[Any]]:
    """A message's fields by number: ints for varints, bytes for length-delimited ones."""
    found: dict[int, list[Any]] = {}
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 2:
            size, at = _varint(data, at)
            value, at = data[at : at + size], at + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value, at = data[at : at + width], at + width
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        found.setdefault(number, []).append(value)
    return found


def _strings(data: bytes, names: tuple[str, ...]) -> dict[str, str]:
    message = fields(data)
    return {name: message[i + 1][-1].decode() for i, name in enumerate(names) if i + 1 in message}


def unwrap(body: bytes) -> tuple[str, str, bytes]:
    """(apiVersion, kind, object bytes) of an enveloped object."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the protobuf magic")
    unknown = fields(body[len(MAGIC) :])
    type_meta = _strings(unknown.get(1, [b""])[-1], ("apiVersion", "kind"))
    return type_meta.get("apiVersion", ""), type_meta.get("kind", ""), unknown.get(2, [b""])[-1]


RESOURCE_ATTRIBUTES = ("namespace", "verb", "group", "version", "resource", "subresource", "name")


def self_subject_access_review(body: bytes) -> dict[str, Any]:
    """The JSON form of an enveloped SelfSubjectAccessReview (its spec; metadata is empty on a review)."""
    api_version, kind, raw = unwrap(body)
    review = fields(raw)
    spec: dict[str, Any] = {}
    if 2 in review:
        parts = fields(review[2][-1])
        if 1 in parts:
            spec["resourceAttributes"] = _strings(parts[1][-1], RESOURCE_ATTRIBUTES)
        if 2 in parts:
            spec["nonResourceAttributes"] = _strings(parts[2][-1], ("path", "verb"))
    return {"apiVersion": api_version, "kind": kind, "metadata": {}, "spec": spec}
