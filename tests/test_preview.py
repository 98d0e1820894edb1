"""SVG preview of custom layouts, and file-name preview."""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, cast

import pytest

from rtc_startrecord.preview import (
    EACH_USER_PLACEHOLDER,
    PreviewError,
    file_name_source,
    preview_file_names,
    region_units,
    render_layout_svg,
)
from rtc_startrecord.spec import API_VERSIONS

NS: Any = {"svg": "http://www.w3.org/2000/svg"}

# The documented custom-layout example, read from its golden file (one copy of the document's
# body); the ids and user names are this file's own, and both streams are cameras here.
GOLDEN = (
    Path(__file__).resolve().parents[1]
    / "contract_tests/golden/2020-12-01/StartRecord.request.custom_layout.json"
)


def _documented_example() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    del body["BusinessId"]
    body.update(AppId="661e****543cf", RoomId="room_1", TaskId="task_1")
    for stream, user in zip(body["TargetStreams"]["StreamList"], ("user_1", "user_2"), strict=True):
        stream.update(UserId=user, StreamType=0)
    return body


EXAMPLE = _documented_example()


def example() -> Any:
    return copy.deepcopy(EXAMPLE)


def regions_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    regions: list[dict[str, Any]] = body["Layout"]["CustomLayout"]["Regions"]
    return regions


def render(body: dict[str, Any]) -> tuple[ET.Element, list[str]]:
    svg, warnings = render_layout_svg(body)
    return ET.fromstring(svg), warnings


def groups(root: ET.Element) -> list[ET.Element]:
    return root.findall("svg:g[@class='region']", NS)


def geometry(rect: ET.Element) -> tuple[int, int, int, int]:
    return (
        int(rect.attrib["x"]),
        int(rect.attrib["y"]),
        int(rect.attrib["width"]),
        int(rect.attrib["height"]),
    )


def region_rect(group: ET.Element) -> ET.Element:
    rect = group.find("svg:rect", NS)
    assert rect is not None
    assert rect.get("class") != "warning"
    return rect


def label(group: ET.Element) -> str:
    text = group.find("svg:text", NS)
    assert text is not None
    return text.text or ""


def test_documented_example_geometry() -> None:
    root, warnings = render(example())
    assert warnings == []
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.attrib["width"], root.attrib["height"]) == ("860", "340")
    canvas = root.find("svg:rect[@id='canvas']", NS)
    assert canvas is not None
    assert geometry(canvas) == (0, 0, 860, 340)
    assert canvas.attrib["fill"] == "#303342"
    gs = groups(root)
    assert len(gs) == 2
    assert [g.attrib["data-stream-index"] for g in gs] == ["0", "1"]
    assert [g.attrib["data-user-id"] for g in gs] == ["user_1", "user_2"]
    assert geometry(region_rect(gs[0])) == (0, 0, 430, 340)
    assert geometry(region_rect(gs[1])) == (430, 0, 430, 340)
    assert [label(g) for g in gs] == ["user_1 #0", "user_2 #1"]
    assert root.findall(".//*[@class='warning']", NS) == []


def test_colours_distinct_and_deterministic() -> None:
    body = example()
    regions = regions_of(body)
    for k in range(2, 17):
        regions.append({"StreamIndex": k, "WidthProportion": 0.1, "HeightProportion": 0.1})
    svg1, _ = render_layout_svg(body)
    svg2, _ = render_layout_svg(copy.deepcopy(body))
    assert svg1 == svg2
    fills = [region_rect(g).attrib["fill"] for g in groups(ET.fromstring(svg1))]
    assert len(fills) == 17
    assert len(set(fills)) == 17


def test_defaults() -> None:
    body = example()
    body["Layout"]["CustomLayout"] = {
        "Regions": [{"StreamIndex": 0, "WidthProportion": 0.25, "HeightProportion": 0.5}]
    }
    root, warnings = render(body)
    assert (root.attrib["width"], root.attrib["height"]) == ("640", "480")
    canvas = root.find("svg:rect[@id='canvas']", NS)
    assert canvas is not None
    assert canvas.attrib["fill"] == "#000000"
    (g,) = groups(root)
    assert geometry(region_rect(g)) == (0, 0, 160, 240)
    assert region_rect(g).attrib["fill-opacity"] == "1"
    assert g.attrib["data-z-order"] == "0"
    # stream 1 has no region: reported (R11)
    assert any("Index 1" in w and "R11" in w for w in warnings)


def test_rounding_of_ratios() -> None:
    body = example()
    body["Layout"]["CustomLayout"]["Canvas"] = {"Width": 1920, "Height": 1080}
    regions_of(body)[1].update(LocationX=0.33, WidthProportion=0.33, HeightProportion=0.5)
    root, _ = render(body)
    # 1920 * 0.33 = 633.6 -> 634; 1080 * 0.5 = 540
    assert geometry(region_rect(groups(root)[1])) == (634, 0, 634, 540)


def test_z_order_drawing_order() -> None:
    body = example()
    regions = regions_of(body)
    regions[0]["ZOrder"] = 5
    regions[1]["ZOrder"] = 1
    body["TargetStreams"]["StreamList"].append({"UserId": "user_3", "Index": 2})
    regions.append({"StreamIndex": 2, "WidthProportion": 0.1, "HeightProportion": 0.1, "ZOrder": 1})
    root, _ = render(body)
    # ascending ZOrder; the tie (ZOrder 1) keeps list order
    assert [g.attrib["data-stream-index"] for g in groups(root)] == ["1", "2", "0"]
    # and regions are drawn after (above) the canvas
    children = list(root)
    assert children[0].attrib.get("id") == "canvas"


def test_alpha() -> None:
    body = example()
    regions_of(body)[1]["Alpha"] = 0.4
    root, warnings = render(body)
    assert warnings == []
    g0, g1 = groups(root)
    assert region_rect(g0).attrib["fill-opacity"] == "1"
    assert region_rect(g1).attrib["fill-opacity"] == "0.4"
    assert g1.attrib["data-alpha"] == "0.4"


def test_invalid_alpha_drawn_opaque_with_warning() -> None:
    body = example()
    regions_of(body)[0]["Alpha"] = 0
    root, warnings = render(body)
    assert region_rect(groups(root)[0]).attrib["fill-opacity"] == "1"
    assert any("Regions[0].Alpha" in w for w in warnings)


def test_labels_screen_and_unknown_index() -> None:
    body = example()
    body["TargetStreams"]["StreamList"][1]["StreamType"] = 1
    body["TargetStreams"]["StreamList"].append({"UserId": "carol", "Index": 4})
    regions_of(body).append(
        {"StreamIndex": 9, "WidthProportion": 0.2, "HeightProportion": 0.2, "ZOrder": 2}
    )
    root, warnings = render(body)
    gs = groups(root)
    assert [label(g) for g in gs] == ["user_1 #0", "user_2 #1 (screen)", "? #9"]
    assert gs[2].attrib["data-user-id"] == ""
    assert any("Regions[2].StreamIndex" in w and "9" in w for w in warnings)
    assert any("Index 4" in w for w in warnings)  # carol has no region


def test_escaping() -> None:
    body = example()
    body["TargetStreams"]["StreamList"][0]["UserId"] = "a<b&c\"'>"
    svg, _ = render_layout_svg(body)
    assert "a<b" not in svg
    root = ET.fromstring(svg)
    g0 = groups(root)[0]
    assert g0.attrib["data-user-id"] == "a<b&c\"'>"
    assert label(g0) == "a<b&c\"'> #0"


def test_control_characters_do_not_break_xml() -> None:
    body = example()
    body["TargetStreams"]["StreamList"][0]["UserId"] = "x\x01y"
    root, _ = render(body)
    assert label(groups(root)[0]) == "x\ufffdy #0"


def test_escaping_background() -> None:
    body = example()
    body["Layout"]["CustomLayout"]["Canvas"]["Background"] = '"><script>'
    body["Layout"]["CustomLayout"]["Canvas"]["BackgroundImage"] = 'https://e.x/a.png?a=1&b="2"'
    root, warnings = render(body)
    canvas = root.find("svg:rect[@id='canvas']", NS)
    assert canvas is not None
    assert canvas.attrib["fill"] == "#000000"
    assert any("Canvas.Background" in w for w in warnings)
    image = root.find("svg:image", NS)
    assert image is not None
    assert image.attrib["href"] == 'https://e.x/a.png?a=1&b="2"'


@pytest.mark.parametrize(
    "change",
    [
        {"LocationX": 0.6},  # 0.6 + 0.5 > 1
        {"LocationY": 0.5},  # 0.5 + 1 > 1
        {"LocationX": 1.0, "WidthProportion": 0.0001},
        {"LocationX": -0.1},
    ],
)
def test_out_of_canvas_warning(change: dict[str, float]) -> None:
    body = example()
    regions_of(body)[1].update(change)
    root, warnings = render(body)
    g0, g1 = groups(root)
    assert g0.findall("*[@class='warning']", NS) == []
    marked = g1.findall("*[@class='warning']", NS)
    assert marked
    outline = g1.find("svg:rect[@class='warning']", NS)
    assert outline is not None
    assert outline.attrib["stroke"] == "#ff0000"
    assert "stroke-dasharray" in outline.attrib
    assert any("⚠" in (el.text or "") for el in marked)
    outside = [w for w in warnings if "outside" in w]
    assert len(outside) == 1
    assert outside[0].startswith("$.Layout.CustomLayout.Regions[1]: ")


def test_exactly_filling_canvas_is_not_a_warning() -> None:
    body = example()
    regions_of(body)[0].update(LocationX=0.25, LocationY=0.0, WidthProportion=0.75)
    _, warnings = render(body)
    assert warnings == []


def test_unusable_region_skipped_with_warning() -> None:
    body = example()
    del regions_of(body)[0]["WidthProportion"]
    root, warnings = render(body)
    assert [g.attrib["data-stream-index"] for g in groups(root)] == ["1"]
    assert any(w.startswith("$.Layout.CustomLayout.Regions[0].WidthProportion") for w in warnings)


@pytest.mark.parametrize(
    "layout",
    [
        None,
        {"LayoutMode": 0},
        {"LayoutMode": 1, "CustomLayout": {"Regions": []}},
        {"LayoutMode": 3},
        {"LayoutMode": 2},
        {"LayoutMode": 2, "CustomLayout": None},
    ],
)
def test_no_custom_layout(layout: dict[str, Any] | None) -> None:
    body = example()
    if layout is None:
        del body["Layout"]
    else:
        body["Layout"] = layout
    with pytest.raises(PreviewError) as info:
        render_layout_svg(body)
    assert isinstance(info.value, ValueError)
    assert "LayoutMode" in str(info.value) and "CustomLayout" in str(info.value)


def test_update_record_body() -> None:
    body = example()
    del body["RecordMode"]
    root, warnings = render(body)
    assert len(groups(root)) == 2
    assert warnings == []


# --- file names ----------------------------------------------------------------------------


def test_file_names_mixed_default() -> None:
    names = preview_file_names(example(), start_time_ms=1000, duration_s=42)
    assert names == ["task_1_room_1_1000_000042_XXXXXXXX"]


def test_file_names_single_stream() -> None:
    body = example()
    del body["Layout"]
    body["RecordMode"] = 1
    body["TargetStreams"]["StreamList"][1]["StreamType"] = 1
    names = preview_file_names(body, start_time_ms=1000, random="r1234567")
    assert names == [
        "task_1_room_1_user_1_C_1000_000000_r1234567",
        "task_1_room_1_user_2_S_1000_000000_r1234567",
    ]


def test_file_names_single_stream_no_list() -> None:
    body = example()
    body["RecordMode"] = 1
    del body["TargetStreams"]
    body["RecordFileNamePattern"] = "{UserId}-{Type}"
    assert preview_file_names(body, start_time_ms=0) == [f"{EACH_USER_PLACEHOLDER}-C"]


def test_file_names_custom_pattern() -> None:
    body = example()
    body["RecordFileNamePattern"] = "rec/{roomid}_{TASKID}_{Foo}"
    assert preview_file_names(body, start_time_ms=0) == ["rec/room_1_task_1_{Foo}"]


# --- API versions: pixel regions (2023-06-01, 2023-11-01) and FileNameConfig (2022-06-01+) --

PIXEL_VERSIONS = ["2023-06-01", "2023-11-01"]
RATIO_VERSIONS = ["2020-12-01", "2022-06-01"]


def pixel_example() -> Any:
    """The documented example, as a 2023-11-01 body: regions in pixels on the 860x340 canvas."""
    body = example()
    for region, x in zip(regions_of(body), (0, 430), strict=True):
        del region["WidthProportion"], region["HeightProportion"]
        region.update(LocationX=x, LocationY=0, Width=430, Height=340)
    body["StorageConfig"] = {"Type": 0, "TosConfig": {"AccountId": "2000", "Bucket": "b"}}
    return body


def test_region_units_and_file_name_source_follow_the_spec() -> None:
    assert [region_units(v) for v in API_VERSIONS] == ["ratios", "ratios", "pixels", "pixels"]
    assert [file_name_source(v) for v in API_VERSIONS] == [
        "Pattern", "FileNameConfig", "FileNameConfig", "FileNameConfig",
    ]  # fmt: skip
    assert region_units() == "ratios"  # the default version, 2020-12-01


@pytest.mark.parametrize("version", PIXEL_VERSIONS)
def test_pixel_regions(version: str) -> None:
    svg, warnings = render_layout_svg(pixel_example(), version=version)
    assert warnings == []
    root = ET.fromstring(svg)
    assert (root.attrib["width"], root.attrib["height"]) == ("860", "340")
    gs = groups(root)
    assert [geometry(region_rect(g)) for g in gs] == [(0, 0, 430, 340), (430, 0, 430, 340)]
    assert [label(g) for g in gs] == ["user_1 #0", "user_2 #1"]
    assert root.findall(".//*[@class='warning']", NS) == []


def test_pixel_regions_default_canvas_and_z_order() -> None:
    body = pixel_example()
    body["Layout"]["CustomLayout"] = {
        "Regions": [
            {"StreamIndex": 0, "Width": 640, "Height": 480, "ZOrder": 3, "Alpha": 0.5},
            {"StreamIndex": 1, "LocationX": 480, "LocationY": 360, "Width": 160, "Height": 120},
        ]
    }
    body["TargetStreams"]["StreamList"][1]["StreamType"] = 1
    root, warnings = render_v(body, "2023-11-01")
    assert warnings == []
    assert (root.attrib["width"], root.attrib["height"]) == ("640", "480")
    g_small, g_full = groups(root)  # ascending ZOrder: the full-canvas region is on top
    assert geometry(region_rect(g_small)) == (480, 360, 160, 120)
    assert label(g_small) == "user_2 #1 (screen)"
    assert geometry(region_rect(g_full)) == (0, 0, 640, 480)
    assert region_rect(g_full).attrib["fill-opacity"] == "0.5"


def render_v(body: dict[str, Any], version: str) -> tuple[ET.Element, list[str]]:
    svg, warnings = render_layout_svg(body, version=version)
    return ET.fromstring(svg), warnings


@pytest.mark.parametrize(
    "change",
    [
        {"LocationX": 431},  # 431 + 430 > 860
        {"LocationY": 1},  # 1 + 340 > 340
        {"LocationX": 860, "Width": 2},  # starts on the right edge
        {"LocationX": -2},
        {"Height": 341},
    ],
)
def test_pixel_out_of_canvas_warning(change: dict[str, int]) -> None:
    body = pixel_example()
    regions_of(body)[1].update(change)
    root, warnings = render_v(body, "2023-11-01")
    g0, g1 = groups(root)
    assert g0.findall("*[@class='warning']", NS) == []
    outline = g1.find("svg:rect[@class='warning']", NS)
    assert outline is not None
    assert outline.attrib["stroke"] == "#ff0000"
    assert "stroke-dasharray" in outline.attrib
    assert any("⚠" in (el.text or "") for el in g1.findall("*[@class='warning']", NS))
    (outside,) = [w for w in warnings if "outside" in w]
    assert outside.startswith("$.Layout.CustomLayout.Regions[1]: ")
    assert "860x340 canvas" in outside
    assert "LocationX+Width <= 860" in outside and "(pixels, R16)" in outside


def test_pixel_region_exactly_filling_canvas_is_not_a_warning() -> None:
    body = pixel_example()
    regions_of(body)[0].update(LocationX=0, Width=860)
    _, warnings = render_v(body, "2023-11-01")
    assert warnings == []


def test_pixel_region_with_ratios_says_what_to_do() -> None:
    # a 2020-12-01 body sent as 2023-11-01: ratios where pixels are expected
    root, warnings = render_v(example(), "2023-11-01")
    assert groups(root) == []
    assert len(warnings) == 2
    for i, w in enumerate(warnings):
        assert w.startswith(
            f"$.Layout.CustomLayout.Regions[{i}].Width is missing; region not drawn"
        )
        assert "API version 2023-11-01 takes Width and Height in pixels" in w
        assert "ratio regions are API versions 2020-12-01, 2022-06-01" in w
    # no "has no Region" noise: the regions name their streams, they just cannot be drawn
    assert not any("has no Region" in w for w in warnings)


def test_ratio_region_with_pixels_says_what_to_do() -> None:
    root, warnings = render_v(pixel_example(), "2022-06-01")
    assert groups(root) == []
    assert all("pixel regions are API versions 2023-06-01, 2023-11-01" in w for w in warnings)
    assert len(warnings) == 2


def test_pixel_region_fraction_is_a_ratio_hint() -> None:
    body = pixel_example()
    regions_of(body)[1]["Width"] = 0.5
    root, warnings = render_v(body, "2023-11-01")
    assert [g.attrib["data-stream-index"] for g in groups(root)] == ["0"]
    (w,) = warnings
    assert w.startswith("$.Layout.CustomLayout.Regions[1].Width is 0.5, not a whole number")
    assert "0.5 of 860 is 430" in w


def test_pixel_region_whole_float_is_drawn() -> None:
    body = pixel_example()
    regions_of(body)[1]["Width"] = 430.0
    root, warnings = render_v(body, "2023-11-01")
    assert warnings == []
    assert geometry(region_rect(groups(root)[1])) == (430, 0, 430, 340)


def test_pixel_region_zero_size_warns() -> None:
    body = pixel_example()
    regions_of(body)[1]["Height"] = 0
    _, warnings = render_v(body, "2023-11-01")
    assert any("Regions[1]: Width and Height must be > 0 pixels" in w for w in warnings)


@pytest.mark.parametrize("version", RATIO_VERSIONS)
def test_ratio_versions_unchanged(version: str) -> None:
    svg_default, warnings_default = render_layout_svg(example())
    svg, warnings = render_layout_svg(example(), version=version)
    assert (svg, warnings) == (svg_default, warnings_default)


def test_unknown_version_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown API version"):
        render_layout_svg(example(), version="2021-01-01")
    with pytest.raises(ValueError, match="unknown API version"):
        preview_file_names(example(), start_time_ms=0, version="2021-01-01")


def test_file_names_2020_ignore_file_name_config() -> None:
    body = example()
    body["FileNameConfig"] = {"Pattern": "{TaskId}-x", "Prefix": ["a"]}
    assert preview_file_names(body, start_time_ms=1000) == ["task_1_room_1_1000_000000_XXXXXXXX"]


@pytest.mark.parametrize("version", ["2022-06-01", "2023-06-01", "2023-11-01"])
def test_file_names_file_name_config(version: str) -> None:
    body = pixel_example()
    body["RecordFileNamePattern"] = "ignored-{TaskId}"  # not a member of these versions
    names = partial_names(body, version)
    # the default mixed pattern, then the random suffix the service appends
    assert names == ["task_1_room_1_1000_000000_XXXXXXXX_XXXXXXXX"]
    # Prefix folders (TOS), Pattern, then the random suffix
    body["FileNameConfig"] = {
        "Prefix": ["directory1", "directory2"],
        "Pattern": "{TaskId}_{RoomId}",
    }
    assert partial_names(body, version) == ["directory1/directory2/task_1_room_1_XXXXXXXX"]
    # a Pattern that has {Random} still gets the suffix (as in the simulator; undocumented)
    body["FileNameConfig"]["Pattern"] = "{RoomId}-{random}"
    assert partial_names(body, version) == ["directory1/directory2/room_1-XXXXXXXX_XXXXXXXX"]
    # S3-compatible storage (Type 2) takes the Prefix too; VOD (Type 1) ignores it
    body["StorageConfig"] = {"Type": 2, "CustomConfig": {}}
    assert partial_names(body, version)[0].startswith("directory1/directory2/")
    body["StorageConfig"] = {"Type": 1, "VodConfig": {"AccountId": "1", "Space": "s"}}
    assert partial_names(body, version) == ["room_1-XXXXXXXX_XXXXXXXX"]


def partial_names(body: dict[str, Any], version: str) -> list[str]:
    return preview_file_names(body, start_time_ms=1000, version=version)


def test_file_names_file_name_config_single_stream() -> None:
    body = pixel_example()
    del body["Layout"]
    body["RecordMode"] = 1
    body["TargetStreams"]["StreamList"][1]["StreamType"] = 1
    body["FileNameConfig"] = {"Prefix": ["recordings"], "Pattern": "{UserId}_{Type}"}
    names = preview_file_names(body, start_time_ms=0, random="r1234567", version="2023-11-01")
    assert names == ["recordings/user_1_C_r1234567", "recordings/user_2_S_r1234567"]
    # no pattern: the single-stream default (which has {Random})
    body["FileNameConfig"] = {"Prefix": ["recordings"]}
    del body["TargetStreams"]
    names = preview_file_names(body, start_time_ms=0, version="2022-06-01")
    each = EACH_USER_PLACEHOLDER
    assert names == [f"recordings/task_1_room_1_{each}_C_0_000000_XXXXXXXX_XXXXXXXX"]


def test_file_names_tolerate_odd_file_name_config() -> None:
    body = pixel_example()
    default = "task_1_room_1_1000_000000_XXXXXXXX_XXXXXXXX"
    body["FileNameConfig"] = {"Prefix": "notalist", "Pattern": 7}
    assert partial_names(body, "2023-11-01") == [default]
    body["FileNameConfig"] = {"Prefix": ["ok", 3, ""], "Pattern": ""}
    assert partial_names(body, "2023-11-01") == [f"ok/{default}"]
    body["FileNameConfig"] = "junk"
    body["StorageConfig"] = "junk"
    assert partial_names(body, "2023-11-01") == [default]


# --- the names agree with the files the simulator makes -------------------------------------


@pytest.mark.parametrize("pattern", [None, "{TaskId}_{RoomId}_{StartTime}_{Duration}", "{Random}"])
def test_file_names_agree_with_the_simulator(pattern: str | None) -> None:
    import rtc_startrecord as rs
    from rtc_startrecord.simulator import Simulator

    body = pixel_example() | {"AppId": "661e00000000000543cf"}
    body["FileNameConfig"] = {"Prefix": ["directory1", "directory2"]}
    if pattern is not None:
        body["FileNameConfig"]["Pattern"] = pattern
    ids = {k: body[k] for k in ("AppId", "RoomId", "TaskId")}
    with (
        Simulator(qps=None) as sim,
        rs.RtcClient(sim.credentials, version="2023-11-01", endpoint=sim.url, qps=None) as client,
    ):
        for stream in body["TargetStreams"]["StreamList"]:
            sim.publish(body["AppId"], body["RoomId"], stream["UserId"])
        client.start_record(body)
        sim.advance(42)
        client.stop_record(cast(Any, ids))
        result = client.get_record_task(cast(Any, ids)).result
    assert result is not None
    task = result.record_task
    assert task is not None
    assert task.record_file_list is not None
    (file,) = task.record_file_list
    assert file.object_key is not None
    key, _, extension = file.object_key.rpartition(".")
    assert extension == "mp4"
    assert task.start_time is not None
    assert file.duration is not None
    (expected,) = preview_file_names(
        body, start_time_ms=task.start_time, duration_s=file.duration // 1000, version="2023-11-01"
    )
    # every random part (the {Random} variable, the service's suffix) is drawn by the simulator
    assert expected.startswith("directory1/directory2/")
    assert re.fullmatch(re.escape(expected).replace("XXXXXXXX", "[A-Za-z0-9]{8}"), key), key


@pytest.mark.parametrize("value", [1e308, -1e308, float("nan"), float("inf"), -1e30])
@pytest.mark.parametrize("key", ["LocationX", "LocationY", "WidthProportion", "HeightProportion"])
def test_absurd_ratios_are_drawn_clamped_not_crashed(key: str, value: float) -> None:
    body = example()
    regions_of(body)[0][key] = value
    root, _ = render(body)
    x, y, w, h = geometry(region_rect(groups(root)[0]))
    for px in (x, y, w, h):
        assert abs(px) <= 8 * 1920 + 1
