"""The generated wire functions (tools/regen_wire.py) agree with the cattrs converters they
replace on the hot path: same dicts (key order too), same models, same errors."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from rtc_startrecord_models import VERSIONS
from schemathesis import GenerationMode

import rtc_startrecord as rs
from rtc_startrecord import spec, wire

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from contract_tests import support  # noqa: E402
from contract_tests.test_properties import bodies  # noqa: E402

SETTINGS = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
ACTIONS = ("StartRecord", "StopRecord", "UpdateRecord", "GetRecordTask")


def generated(version: str) -> Any:
    return importlib.import_module(f"rtc_startrecord_models.{VERSIONS[version]}.wire")


def golden_requests() -> list[tuple[str, str]]:
    return [(v, n) for v in spec.API_VERSIONS for n in support.golden_files(v) if ".request." in n]


def golden_responses() -> list[tuple[str, str]]:
    return [(v, n) for v in spec.API_VERSIONS for n in support.golden_files(v) if ".response." in n]


def model_of(version: str, name: str) -> type[Any]:
    action, kind, _ = name.split(".")
    op = spec.operation(action, version)
    return op.request_model if kind == "request" else op.response_model


@pytest.mark.parametrize(("version", "name"), golden_requests() + golden_responses())
def test_generated_and_cattrs_agree_on_golden_bodies(version: str, name: str) -> None:
    body = support.golden_files(version)[name]
    cls = model_of(version, name)
    tolerant = ".response." in name
    module = generated(version)
    table = module.FROM_WIRE_TOLERANT if tolerant else module.FROM_WIRE
    fast = table[cls](body)  # the fast path takes every golden body
    slow = wire.converter(tolerant=tolerant).structure(body, cls)
    assert fast == slow and rs.from_wire(cls, body) == slow
    if cls in module.TO_WIRE:
        out = module.TO_WIRE[cls](fast)
        ref = wire.converter(tolerant=False).unstructure(slow)
        assert out == ref and list(out) == list(ref)  # the same key order: the same bytes
        assert wire.dumps(rs.to_wire(fast)) == wire.dumps(ref)


# The actions with a JSON body (GetRecordTask's request is its query string).
BODY_CASES = [
    (action, version)
    for version in spec.API_VERSIONS
    for action in ACTIONS
    if spec.operation(action, version).request_in == "body"
]


@pytest.mark.parametrize(("action", "version"), BODY_CASES)
def test_schema_valid_bodies_round_trip_through_the_generated_functions(
    action: str, version: str
) -> None:
    """to_wire(from_wire(C, d)) == d for every request model of every version, with the
    bodies of the spec's own strategies (contract_tests.test_properties)."""
    model = spec.operation(action, version).request_model

    @SETTINGS
    @given(bodies(action, GenerationMode.POSITIVE, version))
    def check(body: Any) -> None:
        # (an integral float such as 1.0 for an integer is schema-valid: the fast path
        # declines it and the converter reads it, so compare through from_wire)
        fast = rs.from_wire(model, body)
        assert fast == wire.converter(tolerant=False).structure(body, model)
        out = rs.to_wire(fast)
        assert out == body
        assert list(out) == list(wire.converter(tolerant=False).unstructure(fast))

    check()


@pytest.mark.parametrize("version", spec.API_VERSIONS)
def test_invalid_bodies_give_the_converters_errors(version: str) -> None:
    """Whatever the fast path declines, the converter answers: the same model or the same
    WireFormatError (negative bodies of the spec's strategies)."""
    model = spec.operation("StartRecord", version).request_model

    @SETTINGS
    @given(bodies("StartRecord", GenerationMode.NEGATIVE, version))
    def check(body: Any) -> None:
        try:
            expected: Any = wire.converter(tolerant=False).structure(body, model)
        except Exception:
            with pytest.raises(rs.WireFormatError):
                rs.from_wire(model, body)
            return
        assert rs.from_wire(model, body) == expected

    check()


def test_fast_path_is_strict_where_the_converter_converts() -> None:
    """An integral float, a str subclass, a Mapping that is not a dict: the fast path declines
    and the converter builds what it always built."""
    body = {"AppId": "a", "RoomId": "r", "TaskId": "t", "RecordMode": 1.0}
    request = rs.from_wire(rs.StartRecordRequest, body)
    assert request.record_mode is rs.RecordMode.SINGLE_STREAM
    with pytest.raises(KeyError):
        generated(spec.DEFAULT_VERSION).FROM_WIRE[rs.StartRecordRequest]({"AppId": "a"})


def test_classes_without_a_generated_writer_use_cattrs() -> None:
    class Mine(rs.Stream):
        pass

    assert rs.to_wire(Mine(user_id="u")) == {"UserId": "u"}
    meta = {"RequestId": "r", "Action": "StartRecord", "Version": spec.DEFAULT_VERSION,
            "Service": "rtc", "Region": "cn-north-1"}  # fmt: skip
    error = rs.from_wire(rs.ErrorResponse, {"ResponseMetadata": meta, "Result": {"A": [1]}})
    assert rs.ErrorResponse not in generated(spec.DEFAULT_VERSION).TO_WIRE  # an `Any` member
    assert rs.to_wire(error) == {"ResponseMetadata": meta, "Result": {"A": [1]}}


@pytest.mark.parametrize("version", spec.API_VERSIONS)
def test_the_generated_module_is_what_regen_writes(version: str) -> None:
    pytest.importorskip("datamodel_code_generator", reason="regeneration needs the dev extra")
    regen: Any = importlib.import_module("regen")  # tools/, a script's directory
    regen_wire: Any = importlib.import_module("regen_wire")

    module = VERSIONS[version]
    base = ROOT / "generated" / "rtc_startrecord_models" / module
    files = [*(f"spec/{module}/{f}" for f in regen.DOCUMENTS), f"spec/{regen.COMMON}"]
    header = regen.HEADER.format(command=regen.COMMAND, sources=", ".join(files))
    models = (base / "models.py").read_text(encoding="utf-8")
    text = regen_wire.render_wire(models, version=version, header=header)
    assert text == (base / "wire.py").read_text(encoding="utf-8")
