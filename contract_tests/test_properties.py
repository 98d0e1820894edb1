"""Property tests whose strategies come from the spec itself (schemathesis' generators), for
every API version of `spec.API_VERSIONS` against one simulator that serves them all:

- any schema-valid body survives to_wire(from_wire(body)) exactly, through its version's models;
- for generated bodies, valid or not, the client's `validate` and the simulator agree:
  no error problems <=> HTTP 200 with Result "ok";
- a documented rule broken on purpose in a valid body is always caught, with its rule id, in
  every version whose rule set has the rule;
- `validate` never raises, whatever it is given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from werkzeug.test import Client

import rtc_startrecord as rs
from rtc_startrecord import rules, spec
from rtc_startrecord.simulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, SimulatorApp
from rtc_startrecord.simulator.state import State

from . import support

EXPLORE = os.environ.get("RTC_CONTRACT_EXPLORE") == "1"
SETTINGS = settings(
    max_examples=int(os.environ.get("RTC_CONTRACT_EXAMPLES", "300" if EXPLORE else "60")),
    derandomize=not EXPLORE, deadline=None, database=None,
    suppress_health_check=list(HealthCheck),
)  # fmt: skip
VERSIONS = spec.API_VERSIONS


@cache
def bodies(
    action: str, mode: GenerationMode, version: str = spec.DEFAULT_VERSION
) -> st.SearchStrategy[Any]:
    schema = schemathesis.openapi.from_dict(support.documents(version)[action])
    method = spec.operation(action, version).method
    operation = schema["/"][method]
    return operation.as_strategy(generation_mode=mode).map(lambda case: case.body)


def _app() -> SimulatorApp:
    return SimulatorApp(State(), secrets={TEST_ACCESS_KEY_ID: TEST_SECRET_ACCESS_KEY}, qps=None)


def _send(app: SimulatorApp, action: str, body: Any, version: str) -> tuple[int, dict[str, Any]]:
    raw = support.body_bytes(None if body is NOT_SET else body)
    query = f"Action={action}&Version={version}"
    headers = {"Content-Type": "application/json"}
    signed = support.sign("POST", "localhost", "/", query, headers, raw)
    resp = Client(app).post("/", query_string=query, data=raw, headers=signed)
    return resp.status_code, json.loads(resp.get_data())


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("action", ["StartRecord", "UpdateRecord"])
def test_schema_valid_bodies_round_trip_through_the_models(action: str, version: str) -> None:
    model = spec.operation(action, version).request_model

    @SETTINGS
    @given(bodies(action, GenerationMode.POSITIVE, version))
    def check(body: Any) -> None:
        assert rs.to_wire(rs.from_wire(model, body)) == body

    check()


def _any_start_body(version: str) -> st.SearchStrategy[Any]:
    positive = bodies("StartRecord", GenerationMode.POSITIVE, version)
    return st.one_of(positive, bodies("StartRecord", GenerationMode.NEGATIVE, version),
                     positive.map(lambda b: support.repair("StartRecord", b, version)))  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
def test_client_and_simulator_agree_on_start_record(version: str) -> None:
    @SETTINGS
    @given(_any_start_body(version))
    def check(body: Any) -> None:
        status, envelope = _send(_app(), "StartRecord", body, version)
        wire = body if body is not NOT_SET else None
        if isinstance(wire, (bytes, str)):
            try:
                wire = json.loads(wire)
            except ValueError:
                wire = object()  # not JSON: the client could never send it
        problems = rs.validate(wire, version=version)
        client_accepts = not any(p.severity == "error" for p in problems)
        simulator_accepts = status == 200 and envelope.get("Result") == "ok"
        assert client_accepts == simulator_accepts, (status, envelope, problems)
        assert envelope["ResponseMetadata"]["Version"] == version

    check()


@pytest.mark.parametrize("version", VERSIONS)
def test_repaired_bodies_have_no_errors_and_start(version: str) -> None:
    """ST202's premise: a repaired positive body breaks no rule of its version, and starts."""

    @SETTINGS
    @given(bodies("StartRecord", GenerationMode.POSITIVE, version))
    def check(body: Any) -> None:
        fixed = support.repair("StartRecord", body, version)
        assert [p for p in rs.validate(fixed, version=version) if p.severity == "error"] == []
        assert support.repair("StartRecord", fixed, version) == fixed  # nothing left to repair
        status, envelope = _send(_app(), "StartRecord", fixed, version)
        assert status == 200 and envelope["Result"] == "ok", envelope

    check()


# -- injected rule violations --------------------------------------------------------------

Result = tuple[dict[str, Any], str, str]  # the broken body, the path and the rule expected there
Injector = Callable[[dict[str, Any], str], Result]


def _region(version: str, index: int) -> dict[str, Any]:
    """A region inside any canvas, in the version's units."""
    if support.pixel_regions(version):
        return {"StreamIndex": index, "Width": 100, "Height": 100}
    return {"StreamIndex": index, "WidthProportion": 0.5, "HeightProportion": 0.5}


def r1(body: dict[str, Any], version: str) -> Result:
    body.pop("Layout", None)
    body["TargetStreams"] = {"StreamList": [{"UserId": f"u{i}"} for i in range(18)]}
    return body, "$.TargetStreams.StreamList", "R1"


def r2(body: dict[str, Any], version: str) -> Result:
    body.pop("TargetStreams", None)
    body.pop("Layout", None)
    body["ExcludeStreams"] = {"StreamList": [{"UserId": f"u{i}"} for i in range(18)]}
    return body, "$.ExcludeStreams.StreamList", "R2"


def r3(body: dict[str, Any], version: str) -> Result:
    body.pop("Layout", None)
    body["TargetStreams"] = {"StreamList": [{"UserId": "dup"}]}
    body["ExcludeStreams"] = {"StreamList": [{"UserId": "dup", "StreamType": 0}]}
    return body, "$.ExcludeStreams.StreamList[0]", "R3"


def r4(body: dict[str, Any], version: str) -> Result:
    body["ExcludeStreams"] = {"StreamList": [{"UserId": "screen_user_x", "StreamType": 1}]}
    body.pop("TargetStreams", None)
    body.pop("Layout", None)
    return body, "$.ExcludeStreams.StreamList[0].StreamType", "R4"


def r7(body: dict[str, Any], version: str) -> Result:
    body["RecordMode"] = 1
    body["Layout"] = {"LayoutMode": 0}
    return body, "$.Layout", "R7"


def r12(body: dict[str, Any], version: str) -> Result:
    body.pop("Layout", None)
    body["TargetStreams"] = {
        "StreamList": [{"UserId": "a", "Index": 3}, {"UserId": "b", "Index": 3}]
    }
    return body, "$.TargetStreams.StreamList[1].Index", "R12"


def r11(body: dict[str, Any], version: str) -> Result:
    body["RecordMode"] = 0
    body["TargetStreams"] = {"StreamList": [{"UserId": "a", "Index": 0}]}
    body["Layout"] = {
        "LayoutMode": 2,
        "CustomLayout": {"Regions": [_region(version, 0), _region(version, 9)]},
    }
    return body, "$.Layout.CustomLayout.Regions[1].StreamIndex", "R11"


def r15(body: dict[str, Any], version: str) -> Result:
    body["Encode"] = dict(body.get("Encode") or {}, VideoWidth=641)
    return body, "$.Encode.VideoWidth", "R15"


def r16(body: dict[str, Any], version: str) -> Result:
    body, _, _ = r11(body, version)
    regions = body["Layout"]["CustomLayout"]["Regions"]
    del regions[1]
    if support.pixel_regions(version):  # no Canvas: the default, 640 pixels wide
        regions[0].update(LocationX=support.DEFAULT_CANVAS[0] - 40, Width=100)
    else:
        regions[0].update(LocationX=0.9, WidthProportion=0.5)
    return body, "$.Layout.CustomLayout.Regions[0]", "R16"


def r18(body: dict[str, Any], version: str) -> Result:
    body["Encode"] = dict(body.get("Encode") or {}, AudioProfile=2, AudioChannels=1)
    return body, "$.Encode.AudioChannels", "R18"


def r20(body: dict[str, Any], version: str) -> Result:
    control = body.setdefault("Control", {})
    control["SpatialConfig"] = {"AudienceSpatialOrientation": {"Forward": [1, 1, 0]}}
    return body, "$.Control.SpatialConfig.AudienceSpatialOrientation", "R20"


def r29(body: dict[str, Any], version: str) -> Result:
    body["StorageConfig"] = {"Type": 1}
    return body, "$.StorageConfig.VodConfig", "R29"


def r31(body: dict[str, Any], version: str) -> Result:
    kodo = {"Vendor": support.KODO, "Bucket": "b", "AccessKey": "a", "SecretKey": "s"}
    body["StorageConfig"] = {"Type": 2, "CustomConfig": {**kodo, "SecurityToken": "t"}}
    return body, "$.StorageConfig.CustomConfig.SecurityToken", "R31"


def r32(body: dict[str, Any], version: str) -> Result:
    body["Control"] = dict(body.get("Control") or {}, MediaType=0)
    body["FileFormatConfig"] = {"FileFormat": ["MP3"]}
    return body, "$.FileFormatConfig.FileFormat[0]", "R32"


def r33(body: dict[str, Any], version: str) -> Result:
    body["Control"] = dict(body.get("Control") or {}, EnableSyncUpload=True)
    body["FileFormatConfig"] = {"FileFormat": ["MP4"]}
    return body, "$.Control.EnableSyncUpload", "R33"


def r35(body: dict[str, Any], version: str) -> Result:
    body["FileNameConfig"] = dict(body.get("FileNameConfig") or {}, Prefix=["a" * 100, "b" * 100])
    return body, "$.FileNameConfig.Prefix", "R35"


def r36(body: dict[str, Any], version: str) -> Result:
    body["Control"] = dict(body.get("Control") or {}, SEIConfig={"SEIPayLoadType": 5})
    return body, "$.Control.SEIConfig.SEIPayloadUUID", "R36"


INJECTORS: list[Injector] = [
    r1,
    r2,
    r3,
    r4,
    r7,
    r11,
    r12,
    r15,
    r16,
    r18,
    r20,
    r29,
    r31,
    r32,
    r33,
    r35,
    r36,
]


def _rule_of(inject: Injector) -> str:
    return inject.__name__.upper()


def _checked_in(rule: str, version: str) -> bool:
    """Whether `version`'s rule set checks `rule` (docs/rules.md's versions column)."""
    checked = rules.RULE_IDS[rule].checked
    return checked == "all" or spec.rule_set(version) in checked.split(", ")


def injectors(version: str) -> list[Injector]:
    return [i for i in INJECTORS if _checked_in(_rule_of(i), version)]


def test_every_error_rule_has_an_injector() -> None:
    """Each rule that `validate` reports as an error in some version is injected somewhere."""
    errors = {rule for rule, info in rules.RULE_IDS.items() if info.severity == "error"}
    schema_only = {"R13"}  # every range of the spec: the drift tests break each one
    assert errors - schema_only == {_rule_of(i) for i in INJECTORS}


@pytest.mark.parametrize("version", VERSIONS)
def test_injected_rule_violations_are_caught(version: str) -> None:
    @SETTINGS
    @given(
        bodies("StartRecord", GenerationMode.POSITIVE, version), st.sampled_from(injectors(version))
    )
    def check(body: Any, inject: Injector) -> None:
        valid = support.repair("StartRecord", body, version)
        assert not any(p.severity == "error" for p in rs.validate(valid, version=version)), (
            rs.validate(valid, version=version)
        )
        broken, path, rule = inject(json.loads(json.dumps(valid)), version)
        problems = rs.validate(broken, version=version)
        assert any(p.rule == rule and p.path == path for p in problems), (rule, path, problems)
        status, envelope = _send(_app(), "StartRecord", broken, version)
        assert status == 400 and rule in envelope["ResponseMetadata"]["Error"]["Message"]

    check()


WIRE_KEYS = [
    "AppId",
    "RoomId",
    "TaskId",
    "TargetStreams",
    "ExcludeStreams",
    "StreamList",
    "UserId",
    "Index",
    "StreamType",
    "Layout",
    "LayoutMode",
    "CustomLayout",
    "Regions",
    "StreamIndex",
    "LocationX",
    "WidthProportion",
    "Width",
    "Encode",
    "Control",
    "SpatialConfig",
    "AudienceSpatialOrientation",
    "Forward",
    "RecordMode",
    "StorageConfig",
    "Type",
    "TosConfig",
    "CustomConfig",
    "Vendor",
    "SecurityToken",
    "FileFormatConfig",
    "FileFormat",
    "FileNameConfig",
    "Prefix",
    "SEIConfig",
    "SEIPayLoadType",
    "EnableSyncUpload",
    "MaxSilenceSeconds",
    "CornerRadius",
    "x",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(WIRE_KEYS), inner, max_size=5)
    ),
    max_leaves=25,
)
ACTIONS = [(v, a) for v in VERSIONS for a in sorted(spec.operations(v))]


@SETTINGS
@given(json_values, st.sampled_from(ACTIONS))
def test_validate_never_raises(value: Any, version_action: tuple[str, str]) -> None:
    version, action = version_action
    problems = rs.validate(value, action=action, version=version)
    assert all(isinstance(p, rs.Problem) for p in problems)


SCHEMA_RULES = {"R1", "R2", "R15"}  # schema keywords: no positive body breaks them
REPAIRABLE = [pytest.param(v, i, id=f"{v}/{_rule_of(i)}") for v in VERSIONS for i in injectors(v)
              if _rule_of(i) not in SCHEMA_RULES]  # fmt: skip


@pytest.mark.parametrize(("version", "inject"), REPAIRABLE)
def test_repair_undoes_each_injected_violation(version: str, inject: Injector) -> None:
    """Every rule a repair must make hold, broken on purpose in the maximal body: the
    repaired body has no error, whatever hypothesis happened to generate."""
    broken, _, rule = inject(support.maximal_start_body(version), version)
    fixed = support.repair("StartRecord", broken, version)
    problems = rs.validate(fixed, version=version)
    assert [p for p in problems if p.severity == "error"] == [], (rule, problems)


CORNERED = [v for v in VERSIONS if "CornerRadius" in support.schemas(v)["Region"]["properties"]]


@pytest.mark.parametrize("version", CORNERED)
def test_repaired_regions_draw_their_corners(version: str) -> None:
    """CornerRadius: dropped with ratio regions (push-to-CDN only there, R27), else kept but
    small enough to be drawn (no R37)."""
    body = support.maximal_start_body(version)
    for r in body["Layout"]["CustomLayout"]["Regions"]:
        r["CornerRadius"] = 1
    fixed = support.repair("StartRecord", body, version)
    assert not [p for p in rs.validate(fixed, version=version) if p.rule == "R37"]
    radii = [r.get("CornerRadius") for r in fixed["Layout"]["CustomLayout"]["Regions"]]
    if support.pixel_regions(version):
        assert all(r is not None and 0 < r <= 1 for r in radii), radii
    else:
        assert radii == [None] * len(radii)
