"""Drift between the spec, the generated models and the validator.

- every property of every object schema is an attribute of its model (by wire name), and back;
- every enum schema is an IntEnum with exactly its values; required properties have no default;
- every constraint keyword the spec uses is listed in ENFORCED with the place that enforces it,
  and each occurrence of a constraint reachable from a request body is proven enforced: a
  mutation breaking it, applied to a body that uses every field, yields a problem at its path.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

import rtc_startrecord as rs
from rtc_startrecord import rules, spec
from rtc_startrecord.wire import wire_name

from . import support

SCHEMAS: dict[str, Any] = support.bundle()["components"]["schemas"]
MODELS = spec.model_module()

# Every JSON Schema keyword the spec uses that constrains a value, and what enforces it.
ENFORCED = {
    "type": "validate() (jsonschema-rs on the spec) and from_wire (strict cattrs hooks)",
    "required": "validate() and from_wire (missing keys)",
    "additionalProperties": "validate() and from_wire for requests (unknown keys)",
    "enum": "validate() and from_wire (IntEnum hooks)",
    "minimum": "validate()",
    "maximum": "validate()",
    "exclusiveMinimum": "validate()",
    "exclusiveMaximum": "validate()",
    "multipleOf": "validate() (reported as R15)",
    "minLength": "validate()",
    "maxLength": "validate()",
    "pattern": "validate()",
    "minItems": "validate()",
    "maxItems": "validate() (R1/R2 for the stream lists)",
}
# Keywords that describe rather than constrain.
DESCRIPTIVE = {"description", "format", "x-enum-varnames", "items", "properties", "$ref", "title"}


def _walk_keywords(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key == "properties":
                for sub in value.values():
                    yield from _walk_keywords(sub)
            elif key in ("items",) or isinstance(value, (dict, list)):
                yield from _walk_keywords(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_keywords(item)


def test_every_constraint_keyword_is_enforced_somewhere() -> None:
    used = set(_walk_keywords(SCHEMAS)) - DESCRIPTIVE
    used = {k for k in used if k[:1].islower() or k in ENFORCED}
    unknown = sorted(k for k in used if k not in ENFORCED and k in _JSON_SCHEMA_KEYWORDS)
    assert unknown == [], f"say in ENFORCED where these are enforced: {unknown}"


_JSON_SCHEMA_KEYWORDS = set(ENFORCED) | {
    "const", "uniqueItems", "minProperties", "maxProperties", "oneOf", "anyOf", "allOf", "not",
    "if", "then", "else", "dependentRequired", "contains", "prefixItems", "propertyNames",
}  # fmt: skip


def _object_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, schema in SCHEMAS.items():
        if schema.get("type") == "object":
            yield name, schema


@pytest.mark.parametrize("name", [n for n, _ in _object_schemas()])
def test_properties_map_to_model_attributes_and_back(name: str) -> None:
    schema = SCHEMAS[name]
    model = getattr(MODELS, name)
    wire = {wire_name(a): a for a in attrs.fields(model)}
    assert set(wire) == set(schema.get("properties", {})), f"{name}: spec and model differ"
    for key in schema.get("required", []):
        assert wire[key].default is attrs.NOTHING, f"{name}.{key} is required but has a default"
    for key, a in wire.items():
        if key not in schema.get("required", []):
            assert a.default is None, f"{name}.{key} is optional and must default to None (unset)"


@pytest.mark.parametrize("name", [n for n, s in SCHEMAS.items() if "enum" in s and s.get("type") == "integer"])
def test_integer_enums_are_int_enums(name: str) -> None:
    cls = getattr(MODELS, name)
    assert issubclass(cls, enum.IntEnum)
    assert sorted(m.value for m in cls) == sorted(SCHEMAS[name]["enum"])


# -- mutation: every constraint reachable from a request body is enforced -------------------


def every_field_body() -> dict[str, Any]:
    """The maximal body plus every optional member (warnings allowed, no errors)."""
    body = support.maximal_start_body()
    body["ExcludeStreams"] = {"StreamList": [{"UserId": "someone_else", "Index": 0, "StreamType": 0}]}
    body["Encode"].update({"VideoCodec": 0, "VideoGop": 2, "AudioCodec": 0, "AudioProfile": 0,
                           "AudioBitrate": 64, "AudioSampleRate": 48000, "AudioChannels": 2})  # fmt: skip
    body["Layout"].update({"MainVideoStreamIndex": 0, "MainVideoStream": {"UserId": "user_00", "Index": 0, "StreamType": 0}})
    body["Layout"]["CustomLayout"]["Canvas"]["BackgroundImage"] = "https://example.com/bg.png"
    body["Layout"]["CustomLayout"]["Regions"][0]["CornerRadius"] = 0.1
    body["Control"].update({"PushStreamMode": 0, "TalkVolume": 10, "VolumeIndicationMode": True,
                            "VolumeIndicationInterval": 2})  # fmt: skip
    return body


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMAS[node["$ref"].rsplit("/", 1)[1]] | {k: v for k, v in node.items() if k != "$ref"}
    return node


def _mutations(value: Any, schema: dict[str, Any], path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, expected rule-or-keyword, violating value) for each constraint at this node."""
    schema = _resolve(schema)
    t = schema.get("type")
    if "enum" in schema:
        yield path, "enum", max(schema["enum"]) + 1
    if "minimum" in schema:
        yield path, "minimum", schema["minimum"] - 1
    if "maximum" in schema:
        yield path, "maximum", schema["maximum"] + (1 if t == "integer" else 0.5)
    if "exclusiveMinimum" in schema:
        yield path, "exclusiveMinimum", schema["exclusiveMinimum"]
    if "exclusiveMaximum" in schema:
        yield path, "exclusiveMaximum", schema["exclusiveMaximum"]
    if "multipleOf" in schema:
        yield path, "multipleOf", (value + 1 if isinstance(value, int) else 3)
    if "minLength" in schema:
        yield path, "minLength", ""
    if "maxLength" in schema:
        yield path, "maxLength", "a" * (schema["maxLength"] + 1)
    if "pattern" in schema:
        yield path, "pattern", "not valid!"
    if "minItems" in schema:
        yield path, "minItems", value[: schema["minItems"] - 1]
    if "maxItems" in schema and value:
        yield path, "maxItems", (value * (schema["maxItems"] + 1))[: schema["maxItems"] + 1]
    if t is not None:
        yield path, "type", ({"not": "this"} if t != "object" else "not an object")
    if t == "object":
        if schema.get("additionalProperties") is False:
            yield f"{path}.Bogus", "additionalProperties", ("ADD", "Bogus")
        for key in schema.get("required", []):
            yield f"{path}.{key}", "required", ("DEL", key)
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                yield from _mutations(value[key], sub, f"{path}.{key}")
    if t == "array" and value:
        yield from _mutations(value[0], schema["items"], f"{path}[0]")


def _apply(body: dict[str, Any], path: str, new: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    tokens = path[2:].replace("[", ".[").split(".") if path != "$" else []
    if isinstance(new, tuple) and new[0] in ("ADD", "DEL"):
        tokens = tokens[:-1]
    parent: Any = None
    node: Any = body
    last: Any = None
    for tok in tokens:
        parent, last = node, (int(tok[1:-1]) if tok.startswith("[") else tok)
        node = node[last]
    if isinstance(new, tuple) and new[0] == "ADD":
        node[new[1]] = 1
    elif isinstance(new, tuple) and new[0] == "DEL":
        del node[new[1]]
    elif parent is None:
        return new  # type: ignore[no-any-return]
    else:
        parent[last] = new
    return body


BASE = every_field_body()
MUTATIONS = list(_mutations(BASE, SCHEMAS["StartRecordRequest"], "$"))


def test_the_every_field_body_is_valid() -> None:
    assert [p for p in rs.validate(BASE) if p.severity == "error"] == []


def test_mutations_cover_every_keyword() -> None:
    assert {kw for _, kw, _ in MUTATIONS} == set(ENFORCED)


@pytest.mark.parametrize(("path", "keyword", "value"), MUTATIONS, ids=[f"{p}:{k}" for p, k, _ in MUTATIONS])
def test_each_constraint_is_enforced_by_validate(path: str, keyword: str, value: Any) -> None:
    body = _apply(BASE, path, value)
    expected = rules.schema_rule(keyword, path)
    problems = rs.validate(body)
    assert any(p.path == path and p.rule == expected for p in problems), (
        f"breaking {keyword} at {path} was not reported as {expected}: {problems}"
    )
