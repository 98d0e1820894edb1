"""SVG preview of custom layouts, and file-name preview."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from rtc_startrecord.preview import (
    EACH_USER_PLACEHOLDER,
    PreviewError,
    preview_file_names,
    render_layout_svg,
)

NS = {"svg": "http://www.w3.org/2000/svg"}

# The documented custom-layout example (fact sheet §7 / S1).
EXAMPLE: dict[str, Any] = {
    "AppId": "661e****543cf",
    "RoomId": "room_1",
    "TaskId": "task_1",
    "RecordMode": 0,
    "TargetStreams": {
        "StreamList": [
            {"UserId": "user_1", "Index": 0, "StreamType": 0},
            {"UserId": "user_2", "Index": 1, "StreamType": 0},
        ]
    },
    "Layout": {
        "LayoutMode": 2,
        "CustomLayout": {
            "Canvas": {"Width": 860, "Height": 340, "Background": "#303342"},
            "Regions": [
                {
                    "StreamIndex": 0,
                    "LocationX": 0.0,
                    "LocationY": 0.0,
                    "WidthProportion": 0.5,
                    "HeightProportion": 1,
                    "ZOrder": 0,
                    "Alpha": 1.0,
                    "RenderMode": 0,
                },
                {
                    "StreamIndex": 1,
                    "LocationX": 0.5,
                    "LocationY": 0.0,
                    "WidthProportion": 0.5,
                    "HeightProportion": 1,
                    "ZOrder": 1,
                    "Alpha": 1.0,
                    "RenderMode": 1,
                },
            ],
        },
    },
}


def example() -> dict[str, Any]:
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
