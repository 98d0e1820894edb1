"""Golden files: the documented bodies and responses, kept equal to the spec's named examples,
valid against the spec's schemas, and surviving the models byte-for-byte as data."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi

import rtc_startrecord as rs
from rtc_startrecord import spec

from . import support

GOLDEN = support.golden_files()
EXAMPLES = support.spec_examples()


def _schema_name(name: str) -> str:
    action, kind, _ = name.split(".", 2)
    op = spec.operation(action)
    return op.request if kind == "request" else op.response


def _model(name: str) -> type[Any]:
    return getattr(spec.model_module(), _schema_name(name))  # type: ignore[no-any-return]


def test_every_spec_example_is_a_golden_file_and_back() -> None:
    assert sorted(EXAMPLES) == sorted(GOLDEN), "add or remove golden files to match the spec's examples"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_equals_spec_example(name: str) -> None:
    assert GOLDEN[name] == EXAMPLES[name], f"{name}.json and the spec's example differ"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_is_valid_against_the_schema(name: str) -> None:
    schema = {"$ref": f"#/components/schemas/{_schema_name(name)}",
              "components": support.bundle()["components"]}  # fmt: skip
    jsonschema.Draft202012Validator(schema).validate(GOLDEN[name])


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_round_trips_through_the_models(name: str) -> None:
    data = GOLDEN[name]
    model = rs.from_wire(_model(name), data)
    assert rs.to_wire(model) == data
    assert json.loads(json.dumps(rs.to_wire(model))) == data


@pytest.mark.parametrize("name", sorted(n for n in GOLDEN if ".request." in n))
def test_golden_requests_have_no_errors(name: str) -> None:
    problems = rs.validate(GOLDEN[name], action=name.split(".")[0])
    assert [p for p in problems if p.severity == "error"] == []


def test_documented_bodies_structure_into_start_record_request() -> None:
    for name in ("StartRecord.request.auto_layout", "StartRecord.request.custom_layout"):
        request = rs.from_wire(rs.StartRecordRequest, GOLDEN[name])
        assert request.task_id == "Your_TaskId"
    custom = rs.from_wire(rs.StartRecordRequest, GOLDEN["StartRecord.request.custom_layout"])
    assert custom.layout is not None and custom.layout.custom_layout is not None
    regions = custom.layout.custom_layout.regions or []
    assert [r.location_x for r in regions] == [0, 0.5]
    assert custom.layout.layout_mode == rs.LayoutMode.CUSTOM


@pytest.mark.parametrize("action", sorted(support.bundle()["documents"]))
def test_each_document_is_valid_openapi(action: str) -> None:
    validate_openapi(support.bundle()["documents"][action])


def test_golden_custom_layout_is_the_seed_text_verbatim() -> None:
    """The signing vectors sign the seed's custom-layout body as printed; the golden file is it."""
    text = (support.GOLDEN / "StartRecord.request.custom_layout.json").read_text(encoding="utf-8")
    assert text.startswith('{\n    "AppId": "Your_AppId",\n    "BusinessId" : "Your_BusinessId"')
