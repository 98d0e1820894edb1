"""Golden files, per API version: the documented bodies and responses, kept equal to the spec's
named examples, valid against the spec's schemas, and surviving that version's models
byte-for-byte as data. Every version of `spec.API_VERSIONS` is covered; a new version needs
its golden files in contract_tests/golden/<version>/ and nothing here."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi

import rtc_startrecord as rs
from rtc_startrecord import spec

from . import support

VERSIONS = spec.API_VERSIONS
GOLDEN = {v: support.golden_files(v) for v in VERSIONS}
EXAMPLES = {v: support.spec_examples(v) for v in VERSIONS}
NAMES = [(v, name) for v in VERSIONS for name in sorted(GOLDEN[v])]
IDS = [f"{v}/{name}" for v, name in NAMES]
REQUESTS = [(v, n) for v, n in NAMES if ".request." in n]
DOCUMENTS = [(v, action) for v in VERSIONS for action in sorted(support.documents(v))]


def _schema_name(version: str, name: str) -> str:
    action, kind, _ = name.split(".", 2)
    op = spec.operation(action, version)
    return op.request if kind == "request" else op.response


def _model(version: str, name: str) -> type[Any]:
    return getattr(spec.model_module(version), _schema_name(version, name))  # type: ignore[no-any-return]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_spec_example_is_a_golden_file_and_back(version: str) -> None:
    missing = sorted(set(EXAMPLES[version]) - set(GOLDEN[version]))
    extra = sorted(set(GOLDEN[version]) - set(EXAMPLES[version]))
    where = support.golden_dir(version)
    assert (missing, extra) == ([], []), (
        f"{version}: add golden files to {where} for {missing}; remove (or add to the spec) {extra}"
    )


@pytest.mark.parametrize(("version", "name"), NAMES, ids=IDS)
def test_golden_equals_spec_example(version: str, name: str) -> None:
    assert name in EXAMPLES[version], f"{version}: {name}.json is no example of the spec"
    assert GOLDEN[version][name] == EXAMPLES[version][name], (
        f"{version}: {name}.json and the spec's example differ"
    )


@pytest.mark.parametrize(("version", "name"), NAMES, ids=IDS)
def test_golden_is_valid_against_the_schema(version: str, name: str) -> None:
    schema = {"$ref": f"#/components/schemas/{_schema_name(version, name)}",
              "components": support.bundle(version)["components"]}  # fmt: skip
    jsonschema.Draft202012Validator(schema).validate(GOLDEN[version][name])


@pytest.mark.parametrize(("version", "name"), NAMES, ids=IDS)
def test_golden_round_trips_through_the_models(version: str, name: str) -> None:
    data = GOLDEN[version][name]
    cls = _model(version, name)
    assert spec.version_of_model(cls) == version
    model = rs.from_wire(cls, data)
    assert type(model) is cls
    assert rs.to_wire(model) == data
    assert json.loads(json.dumps(rs.to_wire(model))) == data


@pytest.mark.parametrize(("version", "name"), REQUESTS, ids=[f"{v}/{n}" for v, n in REQUESTS])
def test_golden_requests_have_no_errors(version: str, name: str) -> None:
    action = name.split(".")[0]
    problems = rs.validate(GOLDEN[version][name], action=action, version=version)
    assert [p for p in problems if p.severity == "error"] == []
    # The same verdict for the model of that version (its version is the model's own).
    model = rs.from_wire(_model(version, name), GOLDEN[version][name])
    assert [p for p in rs.validate(model) if p.severity == "error"] == []


def test_documented_bodies_structure_into_start_record_request() -> None:
    golden = GOLDEN[spec.DEFAULT_VERSION]
    for name in ("StartRecord.request.auto_layout", "StartRecord.request.custom_layout"):
        request = rs.from_wire(rs.StartRecordRequest, golden[name])
        assert request.task_id == "Your_TaskId"
    custom = rs.from_wire(rs.StartRecordRequest, golden["StartRecord.request.custom_layout"])
    assert custom.layout is not None and custom.layout.custom_layout is not None
    regions = custom.layout.custom_layout.regions or []
    assert [r.location_x for r in regions] == [0, 0.5]
    assert custom.layout.layout_mode == rs.LayoutMode.CUSTOM


@pytest.mark.parametrize(("version", "action"), DOCUMENTS, ids=[f"{v}/{a}" for v, a in DOCUMENTS])
def test_each_document_is_valid_openapi(version: str, action: str) -> None:
    document = support.documents(version)[action]
    validate_openapi(document)
    # Each document is its own version's: info.version, and the Version query parameter
    # of its operation admits that version only, as its Action parameter admits the action.
    assert document["info"]["version"] == version
    (operation,) = document["paths"]["/"].values()
    assert operation["operationId"] == action
    params = {}
    for param in operation["parameters"]:
        if "$ref" in param:
            param = document["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
        params[param["name"]] = param
    assert params["Version"]["schema"]["enum"] == [version]
    assert params["Action"]["schema"]["enum"] == [action]


def test_golden_custom_layout_is_the_seed_text_verbatim() -> None:
    """The signing vectors sign the seed's custom-layout body as printed; the golden file is it."""
    text = (support.GOLDEN / "StartRecord.request.custom_layout.json").read_text(encoding="utf-8")
    assert text.startswith('{\n    "AppId": "Your_AppId",\n    "BusinessId" : "Your_BusinessId"')
