"""The client skips its scan for `null` in the body bytes because a body that passes the schema
cannot hold what orjson writes as null (None, NaN, the infinities): these tests hold the two
facts that rests on, and the client to never sending a null."""

from __future__ import annotations

import math
from typing import Any

import jsonschema_rs
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtc_startrecord as rs
from contract_tests.support import maximal_start_body
from rtc_startrecord import spec, validation
from rtc_startrecord.validation import _typed_throughout, passing_bodies_are_null_free

NOT_JSON = [math.nan, math.inf, -math.inf, None]


@pytest.mark.parametrize("kind", ["number", "integer"])
@pytest.mark.parametrize("value", NOT_JSON, ids=repr)
def test_jsonschema_rs_types_reject_what_orjson_writes_as_null(kind: str, value: Any) -> None:
    # An upgrade of jsonschema-rs that accepted these would make the skipped scan unsafe.
    bounded = {"type": kind, "minimum": -(2**31), "maximum": 2**31}
    for schema in ({"type": kind}, bounded):
        assert not jsonschema_rs.validator_for(schema).is_valid(value)
        assert not jsonschema_rs.validator_for({"items": schema}).is_valid([value])


@pytest.mark.parametrize("version", rs.API_VERSIONS)
def test_every_shipped_action_types_every_value(version: str) -> None:
    for action in spec.operations(version):
        assert passing_bodies_are_null_free(action, version), (action, version)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"A": {"type": "number"}}},  # open: extra keys untyped
        {"type": "object", "additionalProperties": False, "properties": {"A": {}}},
        {"type": "object", "additionalProperties": {"description": "anything"}},
        {"type": "array"},  # items of any kind
        {"type": ["number", "null"]},
        {"type": "null"},
        {"$ref": "#/components/schemas/Open"},
        {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {"^X": {}},  # X-keys of any kind pass
        },
        {"type": "array", "items": {"type": "number"}, "prefixItems": [{}]},
    ],
    ids=repr,
)
def test_an_untyped_place_makes_the_scan_run(schema: dict[str, Any]) -> None:
    schemas = {"Open": {"type": "object"}}
    assert not _typed_throughout(schema, schemas, set())


def test_typed_closed_schemas_and_cycles_pass() -> None:
    schemas = {
        "Node": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "Value": {"type": "number", "minimum": 0},
                "Children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                "Tags": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    }
    assert _typed_throughout({"$ref": "#/components/schemas/Node"}, schemas, set())


def _number_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if type(node) is dict:
        return [p for k, v in node.items() for p in _number_paths(v, (*path, k))]
    if type(node) is list:
        return [p for i, v in enumerate(node) for p in _number_paths(v, (*path, i))]
    if type(node) in (int, float):
        return [path]
    return []


def _set(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(body) if type(body) is dict else list(body)
    copy[path[0]] = _set(body[path[0]], path[1:], value)
    return copy


MAXIMAL = maximal_start_body()
PATHS = _number_paths(MAXIMAL)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATHS), st.sampled_from(NOT_JSON))
def test_a_null_in_any_number_place_is_refused_for_dict_and_model(
    path: tuple[Any, ...], value: Any
) -> None:
    client = rs.RtcClient(rs.Credentials("AKLTexample", "secret"), qps=None)
    body = _set(MAXIMAL, path, value)
    with pytest.raises(rs.RequestInvalid) as info:
        client.prepare("StartRecord", body)
    assert info.value.problems  # every refusal names what is wrong
    # The same value inside a model: attrs does not check types, so the checked writer must
    # decline NaN and the infinities and the full validation refuse them. None in a model is
    # an unset member: left out of the body, or refused when the member is required.
    model = rs.from_wire(rs.StartRecordRequest, MAXIMAL)
    assert validation.checked_wire(model) is not None
    changed = _model_with(model, path, value)
    if value is not None:
        with pytest.raises(rs.RequestInvalid):
            client.prepare("StartRecord", changed)
        return
    try:
        sent = client.prepare("StartRecord", changed).body
    except rs.RequestInvalid as exc:
        assert exc.problems  # a required member left unset
    else:
        assert b"null" not in sent


def _model_with(model: Any, path: tuple[Any, ...], value: Any) -> Any:
    """`model` with the member at the wire path `path` replaced (frozen models: rebuilt)."""
    import attrs

    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(model, list):
        copy = list(model)
        copy[head] = _model_with(model[head], rest, value)
        return copy
    for field in attrs.fields(type(model)):
        if field.metadata.get("wire") == head:
            inner = getattr(model, field.name)
            return attrs.evolve(model, **{field.name: _model_with(inner, rest, value)})
    raise AssertionError(f"no member {head} in {type(model).__name__}")


def test_prepared_bodies_never_hold_a_null() -> None:
    client = rs.RtcClient(rs.Credentials("AKLTexample", "secret"), qps=None)
    for request in (MAXIMAL, rs.from_wire(rs.StartRecordRequest, MAXIMAL)):
        body = client.prepare("StartRecord", request).body
        assert b"null" not in body
        assert orjson.loads(body) == MAXIMAL


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=repr)
def test_a_refusal_names_the_non_finite_number_not_a_null(value: float) -> None:
    body = _set(MAXIMAL, ("Layout", "CustomLayout", "Regions", 0, "LocationX"), value)
    client = rs.RtcClient(rs.Credentials("AKLTexample", "secret"), qps=None)
    with pytest.raises(rs.RequestInvalid) as info:
        client.prepare("StartRecord", body)
    where = "$.Layout.CustomLayout.Regions[0].LocationX"
    assert (where, "encoding.finite") in {(p.path, p.rule) for p in info.value.problems}
