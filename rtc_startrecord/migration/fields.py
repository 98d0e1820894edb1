"""The fields of one action of one API version, read from the bundled spec (`spec.bundle`).

A field is named by its schema path: `$.Layout.CustomLayout.Regions[].Width`, `[]` standing for
every item of an array. `fields(version, action, side)` maps each path below the request (or the
response envelope) to its `Field`: the resolved schema (a `$ref` followed, its sibling keywords
winning, as the generated models read them) and whether its parent requires it. Both the
migration and the change report work on these maps, so neither lists a version's fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any, Literal

import attrs

from .. import spec

__all__ = ["Field", "Side", "body_paths", "field_path", "fields", "resolve"]

Side = Literal["request", "response"]

_MAX_DEPTH = 24
_INDEX = re.compile(r"\[\d+\]")


@attrs.frozen
class Field:
    """One property path of a schema: its resolved schema and its required flag."""

    path: str
    schema: Mapping[str, Any] = attrs.field(eq=False, repr=False)
    required: bool

    @property
    def type(self) -> str | None:
        kind = self.schema.get("type")
        return kind if isinstance(kind, str) else None


def resolve(version: str, node: Mapping[str, Any]) -> dict[str, Any]:
    """`node` with its `$ref`s (and any `allOf`) folded in; the node's own keywords win."""
    schemas = spec.bundle(version)["components"]["schemas"]
    found = dict(node)
    for _ in range(_MAX_DEPTH):
        if "$ref" in found:
            target = schemas[str(found.pop("$ref")).rsplit("/", 1)[1]]
            found = {**target, **found}
        elif isinstance(found.get("allOf"), list):
            parts = found.pop("allOf")
            merged: dict[str, Any] = {}
            for part in parts:
                merged.update(resolve(version, part))
            found = {**merged, **found}
        else:
            return found
    raise ValueError(f"{version}: $ref chain deeper than {_MAX_DEPTH}")


@cache
def fields(version: str, action: str, side: Side = "request") -> dict[str, Field]:
    """Every property path of `action`'s request (or response) schema in `version`."""
    op = spec.operation(action, version)
    root = op.request if side == "request" else op.response
    out: dict[str, Field] = {}

    def walk(node: Mapping[str, Any], path: str, required: bool, depth: int) -> None:
        node = resolve(version, node)
        if path != "$":
            out[path] = Field(path=path, schema=node, required=required)
        if depth > _MAX_DEPTH:
            return
        props = node.get("properties") or {}
        needed = set(node.get("required") or ())
        for key, sub in props.items():
            walk(sub, f"{path}.{key}", key in needed, depth + 1)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]", False, depth + 1)

    walk({"$ref": f"#/components/schemas/{root}"}, "$", True, 0)
    return out


def field_path(concrete: str) -> str:
    """`$.A[3].B` -> `$.A[].B`: the schema path a concrete JSON path falls under."""
    return _INDEX.sub("[]", concrete)


def body_paths(value: Any, path: str = "$") -> Iterator[str]:
    """Every concrete JSON path of a body's members and array items, parents first."""
    if isinstance(value, dict):
        for key, sub in value.items():
            here = f"{path}.{key}"
            yield here
            yield from body_paths(sub, here)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            here = f"{path}[{i}]"
            yield here
            yield from body_paths(sub, here)
