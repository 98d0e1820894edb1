"""Property tests whose strategies come from the spec itself (schemathesis' generators).

- any schema-valid body survives to_wire(from_wire(body)) exactly;
- for generated bodies, valid or not, the client's `validate` and the simulator agree:
  no error problems <=> HTTP 200 with Result "ok";
- a documented rule broken on purpose in a valid body is always caught, with its rule id;
- `validate` never raises, whatever it is given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from werkzeug.test import Client

import rtc_startrecord as rs
from rtc_startrecord import spec
from rtc_startrecord.simulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, SimulatorApp
from rtc_startrecord.simulator.state import State

from . import support

EXPLORE = os.environ.get("RTC_CONTRACT_EXPLORE") == "1"
SETTINGS = settings(
    max_examples=int(os.environ.get("RTC_CONTRACT_EXAMPLES", "300" if EXPLORE else "60")),
    derandomize=not EXPLORE, deadline=None, database=None,
    suppress_health_check=list(HealthCheck),
)  # fmt: skip
DOCS = support.bundle()["documents"]


def bodies(action: str, mode: GenerationMode) -> st.SearchStrategy[Any]:
    schema = schemathesis.openapi.from_dict(DOCS[action])
    method = spec.operation(action).method
    operation = schema["/"][method]
    return operation.as_strategy(generation_mode=mode).map(lambda case: case.body)


def _send(app: SimulatorApp, action: str, body: Any) -> tuple[int, dict[str, Any]]:
    raw = support.body_bytes(None if body is NOT_SET else body)
    query = f"Action={action}&Version={support.VERSION}"
    headers = {"Content-Type": "application/json"}
    signed = support.sign("POST", "localhost", "/", query, headers, raw)
    resp = Client(app).post("/", query_string=query, data=raw, headers=signed)
    return resp.status_code, json.loads(resp.get_data())


@SETTINGS
@given(bodies("StartRecord", GenerationMode.POSITIVE))
def test_schema_valid_bodies_round_trip_through_the_models(body: Any) -> None:
    assert rs.to_wire(rs.from_wire(rs.StartRecordRequest, body)) == body


@SETTINGS
@given(bodies("UpdateRecord", GenerationMode.POSITIVE))
def test_schema_valid_update_bodies_round_trip(body: Any) -> None:
    assert rs.to_wire(rs.from_wire(rs.UpdateRecordRequest, body)) == body


@SETTINGS
@given(st.one_of(bodies("StartRecord", GenerationMode.POSITIVE),
                 bodies("StartRecord", GenerationMode.NEGATIVE),
                 bodies("StartRecord", GenerationMode.POSITIVE).map(lambda b: support.repair("StartRecord", b))))  # fmt: skip
def test_client_and_simulator_agree_on_start_record(body: Any) -> None:
    app = SimulatorApp(State(), secrets={TEST_ACCESS_KEY_ID: TEST_SECRET_ACCESS_KEY}, qps=None)
    status, envelope = _send(app, "StartRecord", body)
    wire = body if body is not NOT_SET else None
    if isinstance(wire, (bytes, str)):
        try:
            wire = json.loads(wire)
        except ValueError:
            wire = object()  # not JSON: the client could never send it
    client_accepts = not any(p.severity == "error" for p in rs.validate(wire))
    simulator_accepts = status == 200 and envelope.get("Result") == "ok"
    assert client_accepts == simulator_accepts, (status, envelope, rs.validate(wire))


# -- injected rule violations --------------------------------------------------------------

Injector = Callable[[dict[str, Any]], tuple[dict[str, Any], str, str]]


def _targets(body: dict[str, Any]) -> list[dict[str, Any]]:
    lst = body.setdefault("TargetStreams", {}).setdefault("StreamList", [])
    if not lst:
        lst.append({"UserId": "inj_user", "Index": 0})
    return lst  # type: ignore[no-any-return]


def r1(body: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    body.pop("Layout", None)
    body["TargetStreams"] = {"StreamList": [{"UserId": f"u{i}"} for i in range(18)]}
    return body, "$.TargetStreams.StreamList", "R1"


def r3(body: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    body.pop("Layout", None)
    body["TargetStreams"] = {"StreamList": [{"UserId": "dup"}]}
    body["ExcludeStreams"] = {"StreamList": [{"UserId": "dup", "StreamType": 0}]}
    return body, "$.ExcludeStreams.StreamList[0]", "R3"


def r4(body: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    body["ExcludeStreams"] = {"StreamList": [{"UserId": "screen_user_x", "StreamType": 1}]}
    body.pop("TargetStreams", None)
    body.pop("Layout", None)
    return body, "$.ExcludeStreams.StreamList[0].StreamType", "R4"


def r7(body: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    body["RecordMode"] = 1
    body["Layout"] = {"LayoutMode": 0}
    return body, "$.Layout", "R7"


def r12(body: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    body.pop("Layout", None)
    body["TargetStreams"] = {"StreamList": [{"UserId": "a", "Index": 3}, {"UserId": "b", "Index": 3}]}
    return body, "$.TargetStreams.StreamList[1].Index", "R12"


def r11(body: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    body["RecordMode"] = 0
    body["TargetStreams"] = {"StreamList": [{"UserId": "a", "Index": 0}]}
    body["Layout"] = {"LayoutMode": 2, "CustomLayout": {"Regions": [
        {"StreamIndex": 0, "WidthProportion": 0.5, "HeightProportion": 0.5},
        {"StreamIndex": 9, "WidthProportion": 0.5, "HeightProportion": 0.5}]}}  # fmt: skip
    return body, "$.Layout.CustomLayout.Regions[1].StreamIndex", "R11"


def r15(body: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    body["Encode"] = dict(body.get("Encode") or {}, VideoWidth=641)
    return body, "$.Encode.VideoWidth", "R15"


def r16(body: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    body, _, _ = r11(body)
    regions = body["Layout"]["CustomLayout"]["Regions"]
    del regions[1]
    regions[0].update(LocationX=0.9, WidthProportion=0.5)
    return body, "$.Layout.CustomLayout.Regions[0]", "R16"


def r18(body: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    body["Encode"] = dict(body.get("Encode") or {}, AudioProfile=2, AudioChannels=1)
    return body, "$.Encode.AudioChannels", "R18"


def r20(body: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    control = body.setdefault("Control", {})
    control["SpatialConfig"] = {"AudienceSpatialOrientation": {"Forward": [1, 1, 0]}}
    return body, "$.Control.SpatialConfig.AudienceSpatialOrientation", "R20"


INJECTORS: list[Injector] = [r1, r3, r4, r7, r11, r12, r15, r16, r18, r20]


@SETTINGS
@given(bodies("StartRecord", GenerationMode.POSITIVE), st.sampled_from(INJECTORS))
def test_injected_rule_violations_are_caught(body: Any, inject: Injector) -> None:
    valid = support.repair("StartRecord", body)
    assert not any(p.severity == "error" for p in rs.validate(valid)), rs.validate(valid)
    broken, path, rule = inject(json.loads(json.dumps(valid)))
    problems = rs.validate(broken)
    assert any(p.rule == rule and p.path == path for p in problems), (rule, path, problems)
    app = SimulatorApp(State(), secrets={TEST_ACCESS_KEY_ID: TEST_SECRET_ACCESS_KEY}, qps=None)
    status, envelope = _send(app, "StartRecord", broken)
    assert status == 400 and rule in envelope["ResponseMetadata"]["Error"]["Message"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["AppId", "RoomId", "TaskId", "TargetStreams", "ExcludeStreams", "StreamList",
                         "UserId", "Index", "StreamType", "Layout", "LayoutMode", "CustomLayout",
                         "Regions", "StreamIndex", "LocationX", "WidthProportion", "Encode", "Control",
                         "SpatialConfig", "AudienceSpatialOrientation", "Forward", "RecordMode", "x"]),
        inner, max_size=5),
    max_leaves=25,
)  # fmt: skip


@SETTINGS
@given(json_values, st.sampled_from(sorted(DOCS)))
def test_validate_never_raises(value: Any, action: str) -> None:
    problems = rs.validate(value, action=action)
    assert all(isinstance(p, rs.Problem) for p in problems)
