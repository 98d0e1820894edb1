"""The generated checked writers (tools/regen_checked.py) may decline a valid model but never
accept an invalid one, and write exactly what `to_wire` writes.

Soundness is tested where it is hardest: from valid request models of every version (golden
bodies, every member synthesized, the maximal body), one member anywhere in the tree is set to
a value near or past a bound, of the wrong type, an enum of another version, a list too long...
Whenever the checked writer then returns a dict, jsonschema-rs must find it valid and it must
equal `to_wire`. Completeness is tested on the valid models themselves: the fast path is taken.
"""

from __future__ import annotations

import copy
import enum
import math
from collections.abc import Hashable, Iterator
from typing import Any, cast

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtc_startrecord as rs
from contract_tests import support
from rtc_startrecord import spec, validation
from rtc_startrecord.wire import from_wire, to_wire

VERSIONS = list(rs.API_VERSIONS)
BODY_ACTIONS = ("StartRecord", "UpdateRecord", "StopRecord")


def _valid_models(version: str) -> list[Any]:
    """Valid request models of `version`: its golden requests, every member synthesized, and
    the maximal StartRecord body."""
    out = []
    for name, body in support.golden_files(version).items():
        action, kind = name.split(".")[:2]
        if kind == "request" and action in BODY_ACTIONS:
            out.append(from_wire(spec.operation(action, version).request_model, body))
    for action in BODY_ACTIONS:
        op = spec.operation(action, version)
        body = support.synth(version, support.request_node(action, version), every=True)
        body = support.repair(action, body, version)
        assert validation.schema_problems(body, action, version) == [], (action, version)
        out.append(from_wire(op.request_model, body))
    start = spec.operation("StartRecord", version).request_model
    out.append(from_wire(start, support.maximal_start_body(version)))
    return out


MODELS = {v: _valid_models(v) for v in VERSIONS}


def _action(model: Any) -> str:
    return spec.action_of_model(cast(Hashable, type(model)))[0]


def _accepted(model: Any) -> dict[str, Any] | None:
    return validation.checked_wire(model)


@pytest.mark.parametrize("version", VERSIONS)
def test_valid_models_take_the_fast_path(version: str) -> None:
    for model in MODELS[version]:
        written = _accepted(model)
        assert written is not None, f"declined a valid {type(model).__name__} ({version})"
        assert written == to_wire(model)
        assert list(written) == list(to_wire(model))  # the same key order, so the same bytes


def _slots(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, attrs.Attribute or list index) of every member and list item under `node`."""
    if attrs.has(type(node)):
        for a in attrs.fields(type(node)):
            yield (*path, a.name), a
            yield from _slots(getattr(node, a.name), (*path, a.name))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield (*path, i), i
            yield from _slots(item, (*path, i))


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step] if isinstance(step, int) else getattr(node, step)
    return node


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of `node` with the member or list item at `path` set to `value` (attrs'
    frozen models are set through object.__setattr__, as a careless caller could)."""
    root = copy.deepcopy(node)
    parent = root
    for step in path[:-1]:
        parent = parent[step] if isinstance(step, int) else getattr(parent, step)
    last = path[-1]
    if isinstance(last, int):
        parent[last] = value
    else:
        object.__setattr__(parent, last, value)
    return root


_OTHER_ENUMS = [m for v in VERSIONS for e in vars(spec.model_module(v)).values()
                if isinstance(e, type) and issubclass(e, enum.Enum) for m in e]  # fmt: skip
_NUMBERS = [0, 1, -1, 2, 3, 99, 100, 101, 127, 128, 129, 1023, 1024, 1025, 2**31 - 1, 2**31,
            -(2**31), -(2**31) - 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 0.0, -0.0,
            0.5, 1.0, 1.5, 1e-12, -1e-12, 0.9999999999, 1.0000000001, 2.0, 99.5, 100.0, 100.5,
            1e308, -1e308, math.nan, math.inf, -math.inf, True, False]  # fmt: skip
_STRINGS = [
    *("", "a", "a" * 128, "a" * 129, "a" * 1024, "a" * 1025, "#FFFFFF", "#FFFFF", "#GGGGGG"),
    *("FFFFFF", "user_1", "user 1", "user-1\n", "用户", "\udc80", "a.b@c", "1", "0"),
    *("0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdeg"),
]


def _bounds_near(node: dict[str, Any]) -> list[Any]:
    """Values at and around the bounds of a schema node."""
    out: list[Any] = []
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if key in node:
            b = node[key]
            out += [b, b - 1, b + 1, float(b), math.nextafter(float(b), math.inf),
                    math.nextafter(float(b), -math.inf)]  # fmt: skip
    for key in ("minLength", "maxLength"):
        if key in node:
            n = node[key]
            out += ["a" * max(n - 1, 0), "a" * n, "a" * (n + 1)]
    for key in ("minItems", "maxItems"):
        if key in node:
            n = node[key]
            out += [[0] * max(n - 1, 0), [0] * n, [0] * (n + 1), (0,) * n]
    return out


def _node_at(version: str, model: Any, path: tuple[Any, ...]) -> dict[str, Any]:
    """The schema node of the member at `path` ({} for a list item's own node when unknown)."""
    node: dict[str, Any] = support.request_node(_action(model), version)
    target = model
    for step in path:
        node = support.resolve(version, node)
        if isinstance(step, int):
            node = node.get("items", {})
            target = target[step]
        else:
            a = attrs.fields_dict(type(target))[step]
            node = (node.get("properties") or {}).get(a.metadata.get("wire", step), {})
            target = getattr(target, step)
    return support.resolve(version, node)


_SUBMODELS = [
    n for v in VERSIONS for m in MODELS[v] for p, _ in _slots(m) if attrs.has(type(n := _get(m, p)))
]


@st.composite
def _mutants(draw: st.DrawFn) -> tuple[str, Any]:
    version = draw(st.sampled_from(VERSIONS))
    model = draw(st.sampled_from(MODELS[version]))
    slots = list(_slots(model))
    path, _ = draw(st.sampled_from(slots))
    node = _node_at(version, model, path)
    value = draw(
        st.one_of(
            st.sampled_from([None, *_NUMBERS, *_STRINGS, [], (), {}, [0, 0, 0], [101, 0, 0]]),
            st.sampled_from(_bounds_near(node) or [None]),
            st.sampled_from(_OTHER_ENUMS),
            st.sampled_from(_SUBMODELS),
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(),
            st.text(max_size=6),
        )
    )
    return version, _replace(model, path, value)


@settings(max_examples=300, deadline=None)
@given(_mutants())
def test_a_checked_writer_never_accepts_what_the_schema_refuses(case: tuple[str, Any]) -> None:
    version, model = case
    written = _accepted(model)
    if written is None:
        return  # declined: the ordinary path validates it and names its problems
    action = _action(model)
    assert validation.schema_problems(written, action, version) == [], (model, written)
    assert written == to_wire(model)


def _values_for(node: dict[str, Any]) -> list[Any]:
    return [None, *_NUMBERS, *_STRINGS, [], (), {}, [0, 0, 0], [101, 0, 0], *_bounds_near(node),
            *_OTHER_ENUMS, *_SUBMODELS[:: max(len(_SUBMODELS) // 40, 1)]]  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
def test_every_member_with_every_edge_value(version: str) -> None:
    """Deterministically: each member of each class (its first place in a model that has every
    member), set to each edge value, is declined or written schema-valid."""
    seen: set[tuple[str, Any]] = set()
    tried = accepted = 0
    for action in BODY_ACTIONS:
        model = MODELS[version][-4 + BODY_ACTIONS.index(action)]  # the synthesized ones
        assert _action(model) == action
        for path, slot in _slots(model):
            parent = _get(model, path[:-1])
            key = (type(parent).__qualname__, path[-1] if isinstance(slot, int) else slot.name)
            if isinstance(slot, int):
                key = (key[0] + "[]", 0)
            if key in seen:
                continue
            seen.add(key)
            for value in _values_for(_node_at(version, model, path)):
                mutant = _replace(model, path, value)
                tried += 1
                written = _accepted(mutant)
                if written is not None:
                    accepted += 1
                    assert validation.schema_problems(written, action, version) == [], (
                        path, value,
                    )  # fmt: skip
                    assert written == to_wire(mutant)
    assert tried > 1000 and accepted > 50, (tried, accepted)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_model_of_another_class_or_version_is_declined(version: str) -> None:
    other = next(v for v in VERSIONS if v != version)
    model = MODELS[version][0]
    foreign = MODELS[other][0]
    assert validation.checked_wire(object()) is None
    nested = next(
        (p for p, a in _slots(model) if not isinstance(a, int) and attrs.has(type(_get(model, p)))),
        None,
    )
    if nested is not None:
        assert _accepted(_replace(model, nested, foreign)) is None


def test_validate_and_the_client_agree_with_the_ordinary_path() -> None:
    """`rs.validate(model)` through the checked writer gives what the dict path gives."""
    for version in VERSIONS:
        for model in MODELS[version]:
            action = _action(model)
            assert rs.validate(model) == validation.validate_wire(to_wire(model), action, version)
