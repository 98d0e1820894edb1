"""The wire format: PascalCase dicts <-> snake_case attrs models, strictly typed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import rtc_startrecord as rs

GOLDEN = Path(__file__).resolve().parents[1] / "contract_tests" / "golden" / "2020-12-01"


def golden(name: str) -> Any:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["auto_layout", "custom_layout"])
def test_documented_bodies_structure_and_round_trip(name: str) -> None:
    body = golden(f"StartRecord.request.{name}")
    request = rs.from_wire(rs.StartRecordRequest, body)
    assert isinstance(request, rs.StartRecordRequest)
    assert request.app_id == "Your_AppId" and request.record_mode == rs.RecordMode.MIXED
    assert rs.to_wire(request) == body


def test_unset_fields_are_left_out_and_defaults_are_not_invented() -> None:
    request = rs.StartRecordRequest(app_id="a", room_id="r", task_id="t")
    assert rs.to_wire(request) == {"AppId": "a", "RoomId": "r", "TaskId": "t"}
    stream = rs.from_wire(rs.Stream, {"UserId": "u"})
    assert stream.stream_type is None and rs.to_wire(stream) == {"UserId": "u"}


def test_integers_stay_integers_and_numbers_keep_their_form() -> None:
    body = golden("StartRecord.request.custom_layout")
    text = json.dumps(rs.to_wire(rs.from_wire(rs.StartRecordRequest, body)))
    assert '"HeightProportion": 1,' in text and '"WidthProportion": 0.5' in text


def test_every_problem_is_reported_with_its_wire_path() -> None:
    body = {
        "AppId": "a",
        "RoomId": 5,
        "Unknown": True,
        "TargetStreams": {"StreamList": [{"UserId": "u", "Index": "0"}, {"Index": 1}]},
        "Layout": {"CustomLayout": {"Regions": [
            {"StreamIndex": 0, "WidthProportion": 1, "HeightProportion": 1},
            {"StreamIndex": 1, "WidthProportion": 1, "HeightProportion": 1, "Alpha": "1"},
        ]}},
    }  # fmt: skip
    with pytest.raises(rs.WireFormatError) as info:
        rs.from_wire(rs.StartRecordRequest, body)
    found = {(p.path, p.rule) for p in info.value.problems}
    assert found == {
        ("$.TaskId", "schema.required"),
        ("$.RoomId", "schema.type"),
        ("$.Unknown", "schema.additionalProperties"),
        ("$.TargetStreams.StreamList[0].Index", "schema.type"),
        ("$.TargetStreams.StreamList[1].UserId", "schema.required"),
        ("$.Layout.CustomLayout.Regions[1].Alpha", "schema.type"),
    }
    assert "$.Layout.CustomLayout.Regions[1].Alpha" in str(info.value)


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"AppId": "a", "RoomId": "r", "TaskId": 5}, "$.TaskId"),
        ({"AppId": "a", "RoomId": "r", "TaskId": "t", "RecordMode": True}, "$.RecordMode"),
        ({"AppId": "a", "RoomId": "r", "TaskId": "t", "RecordMode": "1"}, "$.RecordMode"),
        ({"AppId": "a", "RoomId": "r", "TaskId": "t", "RecordMode": 7}, "$.RecordMode"),
        ({"AppId": "a", "RoomId": "r", "TaskId": "t", "TargetStreams": []}, "$.TargetStreams"),
        ({"AppId": "a", "RoomId": "r", "TaskId": "t", "Control": {"VolumeIndicationMode": 1}},
         "$.Control.VolumeIndicationMode"),
    ],
)  # fmt: skip
def test_no_silent_coercion(value: dict[str, Any], where: str) -> None:
    with pytest.raises(rs.WireFormatError) as info:
        rs.from_wire(rs.StartRecordRequest, value)
    assert [p.path for p in info.value.problems] == [where]


def test_responses_tolerate_unknown_keys_and_enum_values() -> None:
    data = {
        "ResponseMetadata": {"RequestId": "r", "Action": "GetRecordTask", "Version": "v",
                             "Service": "rtc", "Region": "x", "Brand": "new"},
        "Result": {"RecordTask": {"Status": 7, "Extra": [1], "RecordFileList": [
            {"StartTime": 1, "StreamList": [{"UserId": "u", "StreamType": 9, "Codec": "x"}]}]}},
    }  # fmt: skip
    resp = rs.from_wire(rs.GetRecordTaskResponse, data)
    assert resp.result is not None
    task = resp.result.record_task
    assert task.status == 7 and not isinstance(task.status, rs.RecordTaskStatus)
    assert task.record_file_list is not None
    assert task.record_file_list[0].stream_list is not None
    assert task.record_file_list[0].stream_list[0].stream_type == 9


def test_requests_reject_unknown_nested_keys() -> None:
    with pytest.raises(rs.WireFormatError) as info:
        rs.from_wire(rs.StopRecordRequest, {"AppId": "a", "RoomId": "r", "TaskId": "t", "X": 1})
    assert info.value.problems[0].path == "$.X"


def test_models_are_frozen_keyword_only_and_documented() -> None:
    with pytest.raises(TypeError):
        rs.Stream("u")  # type: ignore[call-arg]
    stream = rs.Stream(user_id="u")
    with pytest.raises(AttributeError):
        stream.user_id = "v"  # type: ignore[misc]
    assert rs.StartRecordRequest.__doc__ and "StartRecord" in rs.StartRecordRequest.__doc__
