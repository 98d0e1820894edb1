"""`rs.validate`: every rule and schema keyword, each at its path, all problems at once."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import rtc_startrecord as rs

GOLDEN = Path(__file__).resolve().parent.parent / "contract_tests" / "golden" / "2020-12-01"

Body = dict[str, Any]
Expected = set[tuple[str, str, str]]  # (severity, rule, path)

VOD = {"AccountId": "200000000", "Space": "my-vod-space"}


def base(**extra: Any) -> Body:
    """A valid StartRecord body (with Vod, so no R28 warning) plus `extra`."""
    body: Body = {"AppId": "app1", "RoomId": "room1", "TaskId": "task1", "RecordMode": 0,
                  "Vod": dict(VOD)}  # fmt: skip
    body.update(copy.deepcopy(extra))
    return body


def streams(*items: Body) -> Body:
    return {"StreamList": list(items)}


def users(n: int, **extra: Any) -> list[Body]:
    return [{"UserId": f"user{i}", **extra} for i in range(n)]


def region(index: int, **extra: Any) -> Body:
    return {"StreamIndex": index, "WidthProportion": 0.5, "HeightProportion": 1, **extra}


def custom(regions: list[Body], targets: list[Body], **canvas: Any) -> Body:
    """A custom-layout body: `targets` as TargetStreams, `regions` on a 640x480 canvas."""
    return base(
        TargetStreams=streams(*targets),
        Layout={"LayoutMode": 2, "CustomLayout": {
            "Canvas": {"Width": 640, "Height": 480, **canvas}, "Regions": regions}},
    )  # fmt: skip


TWO = [{"UserId": "a", "Index": 0}, {"UserId": "b", "Index": 1}]
ONE = [{"UserId": "a", "Index": 0}]


def found(problems: list[rs.Problem]) -> Expected:
    return {(p.severity, p.rule, p.path) for p in problems}


def err(rule: str, path: str) -> tuple[str, str, str]:
    return ("error", rule, path)


def warn(rule: str, path: str) -> tuple[str, str, str]:
    return ("warning", rule, path)


# Each case: an invalid body and EXACTLY the problems it must produce.
CASES: list[tuple[str, Body, Expected]] = [
    # -- numbered rules ------------------------------------------------------------------
    ("R1 18 target streams", base(TargetStreams=streams(*users(18))),
     {err("R1", "$.TargetStreams.StreamList")}),
    ("R2 18 excluded streams", base(ExcludeStreams=streams(*users(18))),
     {err("R2", "$.ExcludeStreams.StreamList")}),
    ("R3 stream in both lists",
     base(TargetStreams=streams({"UserId": "u"}), ExcludeStreams=streams({"UserId": "u",
                                                                          "StreamType": 0})),
     {err("R3", "$.ExcludeStreams.StreamList[0]")}),
    ("R4 screen stream excluded", base(ExcludeStreams=streams({"UserId": "u", "StreamType": 1})),
     {err("R4", "$.ExcludeStreams.StreamList[0].StreamType")}),
    ("R5 single-stream ignores VideoWidth",
     base(RecordMode=1, Encode={"VideoWidth": 640, "VideoFps": 15}),
     {warn("R5", "$.Encode.VideoWidth")}),
    ("R6 mixed ignores VideoGop", base(Encode={"VideoGop": 2, "VideoFps": 15}),
     {warn("R6", "$.Encode.VideoGop")}),
    ("R7 layout in single-stream mode", base(RecordMode=1, Layout={"LayoutMode": 0}),
     {err("R7", "$.Layout")}),
    ("R11 target stream without a region", custom([region(0)], TWO),
     {err("R11", "$.TargetStreams.StreamList[1].Index")}),
    ("R11 region for an unknown index", custom([region(0), region(5, LocationX=0.5)], ONE),
     {err("R11", "$.Layout.CustomLayout.Regions[1].StreamIndex")}),
    ("R11 two regions for one index", custom([region(0), region(0, LocationX=0.5)], ONE),
     {err("R11", "$.Layout.CustomLayout.Regions[1].StreamIndex")}),
    ("R11 target stream without Index", custom([region(0)], [*ONE, {"UserId": "b"}]),
     {err("R11", "$.TargetStreams.StreamList[1]")}),
    ("R11 custom layout without regions", base(TargetStreams=streams(*ONE),
                                               Layout={"LayoutMode": 2}),
     {err("R11", "$.Layout.CustomLayout")}),
    ("R12 duplicate Index",
     base(TargetStreams=streams({"UserId": "a", "Index": 1}, {"UserId": "b", "Index": 1})),
     {err("R12", "$.TargetStreams.StreamList[1].Index")}),
    ("R12 duplicate Index in ExcludeStreams",
     base(ExcludeStreams=streams({"UserId": "a", "Index": 3}, {"UserId": "b", "Index": 3})),
     {err("R12", "$.ExcludeStreams.StreamList[1].Index")}),
    ("R14 Encode size with a custom layout",
     {**custom([region(0)], ONE), "Encode": {"VideoWidth": 640, "VideoHeight": 480}},
     {warn("R14", "$.Encode.VideoWidth"), warn("R14", "$.Encode.VideoHeight")}),
    ("R15 odd Canvas.Width", custom([region(0)], ONE, Width=861),
     {err("R15", "$.Layout.CustomLayout.Canvas.Width")}),
    ("R15 odd Encode.VideoWidth", base(Encode={"VideoWidth": 641}),
     {err("R15", "$.Encode.VideoWidth")}),
    ("R15 odd Encode.VideoHeight", base(Encode={"VideoHeight": 479}),
     {err("R15", "$.Encode.VideoHeight")}),
    ("R16 region past the right edge", custom([region(0, LocationX=0.6)], ONE),
     {err("R16", "$.Layout.CustomLayout.Regions[0]")}),
    ("R16 region past the bottom edge",
     custom([region(0, LocationY=0.6, HeightProportion=0.5)], ONE),
     {err("R16", "$.Layout.CustomLayout.Regions[0]")}),
    ("R17 MainVideoStreamIndex outside the vertical layout",
     base(Layout={"LayoutMode": 0, "MainVideoStreamIndex": 0}),
     {warn("R17", "$.Layout.MainVideoStreamIndex")}),
    ("R17 MainVideoStreamIndex names no target",
     base(TargetStreams=streams(*ONE), Layout={"LayoutMode": 1, "MainVideoStreamIndex": 4}),
     {warn("R17", "$.Layout.MainVideoStreamIndex")}),
    ("R17 both main-stream keys",
     base(Layout={"LayoutMode": 1, "MainVideoStreamIndex": 0, "MainVideoStream": {"UserId": "a"}}),
     {warn("R17", "$.Layout.MainVideoStreamIndex")}),
    ("R18 HE-AAC v2 in mono", base(Encode={"AudioProfile": 2, "AudioChannels": 1}),
     {err("R18", "$.Encode.AudioChannels"),
      warn("R6", "$.Encode.AudioProfile"), warn("R6", "$.Encode.AudioChannels")}),
    ("R19 frame interpolation in the adaptive layout",
     base(Layout={"LayoutMode": 0}, Control={"FrameInterpolationMode": 1}),
     {warn("R19", "$.Control.FrameInterpolationMode")}),
    ("R20 orientation not perpendicular",
     base(Control={"SpatialConfig": {"AudienceSpatialOrientation": {"Forward": [1, 1, 0]}}}),
     {err("R20", "$.Control.SpatialConfig.AudienceSpatialOrientation")}),
    ("R27 push-only Control member", base(Control={"TalkVolume": 3}),
     {warn("R27", "$.Control.TalkVolume")}),
    ("R27 CornerRadius", custom([region(0, CornerRadius=0.1)], ONE),
     {warn("R27", "$.Layout.CustomLayout.Regions[0].CornerRadius")}),
    ("R28 no Vod", {"AppId": "a", "RoomId": "r", "TaskId": "t"}, {warn("R28", "$.Vod")}),
    # -- schema keywords -----------------------------------------------------------------
    ("schema.required top level", {k: v for k, v in base().items() if k != "TaskId"},
     {err("schema.required", "$.TaskId")}),
    ("schema.required Stream.UserId", base(TargetStreams=streams({"Index": 0})),
     {err("schema.required", "$.TargetStreams.StreamList[0].UserId")}),
    ("schema.required Region.HeightProportion",
     custom([{"StreamIndex": 0, "WidthProportion": 1}], ONE),
     {err("schema.required", "$.Layout.CustomLayout.Regions[0].HeightProportion")}),
    ("schema.type string for an integer", base(Encode={"VideoFps": "15"}),
     {err("schema.type", "$.Encode.VideoFps")}),
    ("schema.type number for an Id", base(AppId=5), {err("schema.type", "$.AppId")}),
    ("schema.enum RecordMode 2", base(RecordMode=2), {err("schema.enum", "$.RecordMode")}),
    ("schema.enum StreamType 2", base(TargetStreams=streams({"UserId": "u", "StreamType": 2})),
     {err("schema.enum", "$.TargetStreams.StreamList[0].StreamType")}),
    ("schema.pattern UserId", base(TargetStreams=streams({"UserId": "bad user!"})),
     {err("schema.pattern", "$.TargetStreams.StreamList[0].UserId")}),
    ("schema.pattern Background", custom([region(0)], ONE, Background="red"),
     {err("schema.pattern", "$.Layout.CustomLayout.Canvas.Background")}),
    ("schema.maxLength TaskId 129", base(TaskId="t" * 129), {err("schema.maxLength", "$.TaskId")}),
    ("schema.minLength Vod.Space", base(Vod={"AccountId": "1", "Space": ""}),
     {err("schema.minLength", "$.Vod.Space")}),
    ("schema.minimum VideoFps 0", base(Encode={"VideoFps": 0}),
     {err("schema.minimum", "$.Encode.VideoFps")}),
    ("schema.maximum VideoFps 61", base(Encode={"VideoFps": 61}),
     {err("schema.maximum", "$.Encode.VideoFps")}),
    ("schema.maximum Alpha 1.5", custom([region(0, Alpha=1.5)], ONE),
     {err("schema.maximum", "$.Layout.CustomLayout.Regions[0].Alpha")}),
    ("schema.exclusiveMaximum LocationX 1", custom([region(0, LocationX=1)], ONE),
     # x = 1 is outside [0, 1) and the region (x + w = 1.5) also passes the edge: two problems.
     {err("schema.exclusiveMaximum", "$.Layout.CustomLayout.Regions[0].LocationX"),
      err("R16", "$.Layout.CustomLayout.Regions[0]")}),
    ("schema.exclusiveMinimum Alpha 0", custom([region(0, Alpha=0)], ONE),
     {err("schema.exclusiveMinimum", "$.Layout.CustomLayout.Regions[0].Alpha")}),
    ("schema.additionalProperties top level", base(Foo=1),
     {err("schema.additionalProperties", "$.Foo")}),
    ("schema.additionalProperties nested", base(Vod={**VOD, "Bucket": "b"}),
     {err("schema.additionalProperties", "$.Vod.Bucket")}),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_and_keyword_at_its_path(body: Body, expected: Expected) -> None:
    problems = rs.validate(body)
    assert found(problems) == expected
    assert len(problems) == len(expected), "one Problem per violation"
    has_error = any(sev == "error" for sev, _, _ in expected)
    assert any(p.severity == "error" for p in problems) == has_error
    for p in problems:
        assert p.message, p
        assert str(p).startswith(f"{p.path}: {p.rule}: ")


def test_every_problem_is_reported_at_once() -> None:
    body = custom(
        [region(0, LocationX=0.6), region(0, LocationY=0.2, HeightProportion=0.5)],
        [*TWO, {"UserId": "c", "Index": 1}],
        Width=641,
    )
    body.update(
        TaskId="t" * 129,
        ExcludeStreams=streams({"UserId": "a"}, {"UserId": "s", "StreamType": 1}),
        Encode={"VideoWidth": 640, "AudioProfile": 2, "AudioChannels": 1, "VideoFps": 0},
        Control={"TalkVolume": 1},
        Extra=True,
    )
    del body["Vod"]
    got = found(rs.validate(body))
    for rule in ("R3", "R4", "R11", "R12", "R15", "R16", "R18", "schema.maxLength",
                 "schema.minimum", "schema.additionalProperties"):  # fmt: skip
        assert any(r == rule and sev == "error" for sev, r, _ in got), rule
    for rule in ("R6", "R14", "R27", "R28"):
        assert any(r == rule and sev == "warning" for sev, r, _ in got), rule


# -- valid edge cases ------------------------------------------------------------------------


VALID: list[tuple[str, Body]] = [
    ("exactly 17 target streams", base(TargetStreams=streams(*users(17)))),
    ("exactly 17 excluded streams", base(ExcludeStreams=streams(*users(17)))),
    ("Alpha 1 and LocationX 0", custom([region(0, Alpha=1, LocationX=0, LocationY=0)], ONE)),
    ("region touching both edges", custom(
        [region(0, LocationX=0.5, LocationY=0.5, WidthProportion=0.5, HeightProportion=0.5)],
        ONE)),
    ("float rounding: 0.7 + 0.3", custom(
        [region(0, LocationX=0.7, WidthProportion=0.3)], ONE)),
    ("same user, camera and screen, in target and exclude",
     base(TargetStreams=streams({"UserId": "u", "StreamType": 1}),
          ExcludeStreams=streams({"UserId": "u"}))),
    ("even sizes at the bounds", base(Encode={"VideoWidth": 1920, "VideoHeight": 2})),
    ("perpendicular orientation", base(Control={"SpatialConfig": {"AudienceSpatialOrientation": {
        "Forward": [0, 0, 1], "Right": [0, 1, 0], "Up": [1, 0, 0]}}})),
    ("single-stream with its own Encode", base(RecordMode=1, Encode={"VideoFps": 30,
                                                                     "VideoBitrate": 900})),
    ("empty StreamList: every stream", base(TargetStreams={"StreamList": []})),
]  # fmt: skip


@pytest.mark.parametrize("body", [c[1] for c in VALID], ids=[c[0] for c in VALID])
def test_valid_edge_cases_have_no_problems(body: Body) -> None:
    assert rs.validate(body) == []


@pytest.mark.parametrize("name", ["auto_layout", "custom_layout"])
def test_documented_examples_are_valid(name: str) -> None:
    body = json.loads((GOLDEN / f"StartRecord.request.{name}.json").read_text())
    problems = rs.validate(body)
    assert [p for p in problems if p.severity == "error"] == []
    # Both documented examples omit Vod: R28 is a warning, never an error.
    assert found(problems) == {warn("R28", "$.Vod")}
    assert rs.validate({**body, "Vod": VOD}) == []


# -- models ----------------------------------------------------------------------------------


def test_validate_takes_a_model_built_with_from_wire() -> None:
    body = json.loads((GOLDEN / "StartRecord.request.custom_layout.json").read_text())
    model = rs.from_wire(rs.StartRecordRequest, body)
    assert found(rs.validate(model)) == {warn("R28", "$.Vod")}
    bad = rs.from_wire(rs.StartRecordRequest, custom([region(0, LocationX=0.6)], ONE))
    assert found(rs.validate(bad)) == {err("R16", "$.Layout.CustomLayout.Regions[0]")}
    assert found(rs.validate(rs.from_wire(rs.StartRecordRequest, base(RecordMode=1,
                                                                      Layout={})))) == {
        err("R7", "$.Layout")
    }  # fmt: skip


def test_validate_takes_the_action_from_the_model_type() -> None:
    update = json.loads((GOLDEN / "UpdateRecord.request.swap_regions.json").read_text())
    stop = json.loads((GOLDEN / "StopRecord.request.stop.json").read_text())
    assert rs.validate(rs.from_wire(rs.UpdateRecordRequest, update)) == []
    assert rs.validate(rs.from_wire(rs.StopRecordRequest, stop)) == []
    model = rs.from_wire(rs.StopRecordRequest, stop)
    assert rs.validate(model, action="StopRecord") == []
    with pytest.raises(ValueError):
        rs.validate(model, action="StartRecord")


# -- junk --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "junk",
    [None, [], "x", 5, 1.5, True, {}, {"AppId": {}}, {"AppId": None, "RoomId": [], "TaskId": 1},
     {"TargetStreams": {"StreamList": [None, 1, "x", []]}},
     {"TargetStreams": {"StreamList": "x"}, "ExcludeStreams": [], "Encode": [],
      "Layout": {"LayoutMode": 2, "CustomLayout": {"Regions": [None, {"StreamIndex": "x"}]}},
      "Control": {"SpatialConfig": {"AudienceSpatialOrientation": {"Forward": "up"}}}},
     {"Layout": {"LayoutMode": "2", "CustomLayout": {"Regions": "x"}}, "RecordMode": None},
     {"Control": {"SpatialConfig": {"AudienceSpatialOrientation": {"Forward": [1, "a", None]}}}},
     {"Layout": {"LayoutMode": 2, "CustomLayout": {"Regions": [{"StreamIndex": 0,
      "LocationX": "a", "WidthProportion": None, "HeightProportion": float("nan")}]}}}],
    ids=repr,
)  # fmt: skip
def test_validate_never_raises_for_junk(junk: Any) -> None:
    for action in ("StartRecord", "StopRecord", "UpdateRecord", "GetRecordTask"):
        problems = rs.validate(junk, action=action)
        assert problems, f"{action}: junk {junk!r} passed"
        assert any(p.severity == "error" for p in problems)
        assert all(p.path.startswith("$") and p.rule for p in problems)


@pytest.mark.parametrize("junk", [None, [], "x"])
def test_non_objects_are_one_type_problem_at_the_root(junk: Any) -> None:
    assert found(rs.validate(junk)) == {err("schema.type", "$")}


def test_wrong_typed_member_is_a_type_problem() -> None:
    problems = rs.validate({"AppId": {}, "RoomId": "r", "TaskId": "t", "Vod": VOD})
    assert found(problems) == {err("schema.type", "$.AppId")}


# -- the sibling actions ---------------------------------------------------------------------

IDS = {"AppId": "app1", "RoomId": "room1", "TaskId": "task1"}


@pytest.mark.parametrize(
    ("action", "body", "expected"),
    [
        ("StopRecord", {**IDS, "BusinessId": "b"}, set()),
        ("StopRecord", {"AppId": "a", "RoomId": "r"}, {err("schema.required", "$.TaskId")}),
        ("StopRecord", {**IDS, "RecordMode": 0},
         {err("schema.additionalProperties", "$.RecordMode")}),
        ("StopRecord", {**IDS, "TaskId": "bad id"}, {err("schema.pattern", "$.TaskId")}),
        ("GetRecordTask", IDS, set()),
        ("GetRecordTask", {**IDS, "BusinessId": "b"},
         {err("schema.additionalProperties", "$.BusinessId")}),
        ("GetRecordTask", {"RoomId": "r", "TaskId": "t"}, {err("schema.required", "$.AppId")}),
        ("UpdateRecord", {**IDS, "TargetStreams": streams(*users(2))}, set()),
        ("UpdateRecord", {**IDS, "TargetStreams": streams(*users(18))},
         {err("R1", "$.TargetStreams.StreamList")}),
        ("UpdateRecord", {**IDS, "TargetStreams": streams({"UserId": "a", "Index": 1},
                                                          {"UserId": "b", "Index": 1})},
         {err("R12", "$.TargetStreams.StreamList[1].Index")}),
        ("UpdateRecord", {**IDS, "TargetStreams": streams(*ONE), "Layout": {
            "LayoutMode": 2, "CustomLayout": {"Regions": [region(0, LocationX=0.6)]}}},
         {err("R16", "$.Layout.CustomLayout.Regions[0]")}),
        ("UpdateRecord", {**IDS, "TargetStreams": streams(*TWO), "Layout": {
            "LayoutMode": 2, "CustomLayout": {"Regions": [region(0)]}}},
         {err("R11", "$.TargetStreams.StreamList[1].Index")}),
        ("UpdateRecord", {**IDS, "Encode": {"VideoFps": 15}},
         {err("schema.additionalProperties", "$.Encode")}),
    ],
)  # fmt: skip
def test_sibling_actions_via_action(action: str, body: Body, expected: Expected) -> None:
    assert found(rs.validate(body, action=action)) == expected


def test_update_record_golden_is_valid() -> None:
    body = json.loads((GOLDEN / "UpdateRecord.request.swap_regions.json").read_text())
    assert rs.validate(body, action="UpdateRecord") == []


# -- known bugs: these fail on purpose until rules.py / validation.py are fixed ---------------


def test_r19_warns_when_the_layout_is_absent() -> None:
    # Mixed mode without a Layout uses the default LayoutMode 0 (adaptive), where
    # FrameInterpolationMode has no effect (R19); the rule only looks when Layout is present.
    problems = rs.validate(base(Control={"FrameInterpolationMode": 1}))
    assert found(problems) == {warn("R19", "$.Control.FrameInterpolationMode")}, (
        "BUG rules.layout_rules: R19 is not reported when Layout is absent, although the "
        f"default layout is the adaptive one; got {problems}"
    )


def test_update_record_may_change_only_the_layout() -> None:
    # UpdateRecord takes TargetStreams and/or Layout: a layout-only update keeps the task's
    # streams, which the client cannot see, so R11 cannot demand TargetStreams here.
    body = {**IDS, "Layout": {"LayoutMode": 2, "CustomLayout": {"Regions": [
        region(1), region(0, LocationX=0.5)]}}}  # fmt: skip
    problems = rs.validate(body, action="UpdateRecord")
    assert problems == [], (
        "BUG rules._custom_layout: a layout-only UpdateRecord is rejected with R11 "
        f"'$.TargetStreams' although the running task's streams apply; got {problems}"
    )


BAD_MODELS: list[tuple[str, Callable[[], object]]] = [
    ("enum field holding a str",
     lambda: rs.StartRecordRequest(app_id="a", room_id="r", task_id="t",
                                   record_mode="x")),  # type: ignore[arg-type]
    ("object field holding a str",
     lambda: rs.StartRecordRequest(app_id="a", room_id="r", task_id="t",
                                   target_streams="x")),  # type: ignore[arg-type]
]  # fmt: skip


@pytest.mark.parametrize("make", [m[1] for m in BAD_MODELS], ids=[m[0] for m in BAD_MODELS])
def test_validate_never_raises_for_a_model_holding_junk(make: Callable[[], object]) -> None:
    model = make()  # attrs models do not check types at construction
    try:
        problems = rs.validate(model)
    except Exception as exc:  # the contract: validate never raises for bad input
        pytest.fail(
            "BUG validation.validate: to_wire(model) raises "
            f"{type(exc).__name__}: {exc} instead of reporting schema problems"
        )
    assert any(p.severity == "error" for p in problems)


def test_validate_never_raises_for_non_string_keys() -> None:
    body: dict[Any, Any] = {**base(), 1: "x"}
    try:
        problems = rs.validate(body)
    except Exception as exc:
        pytest.fail(
            "BUG validation.schema_problems: jsonschema_rs raises "
            f"{type(exc).__name__}: {exc} for a dict with a non-str key"
        )
    assert any(p.severity == "error" for p in problems)
