"""The picture: R5/R6 Encode members per mode, R7 Layout only in mixed mode, R11 one region per
target stream, R14, R16 regions inside the canvas, R17 MainVideoStream(Index), R19, and the
corner radius (R27 where it is push-to-CDN only, R37 where recording draws it).

Regions are ratios of the canvas in 2020-12-01 and 2022-06-01 (WidthProportion, LocationX in
[0, 1)) and pixels from 2023-06-01 on (Width, LocationX on the canvas, 640x480 when no Canvas
is given): `Geometry` says which, so one implementation serves every version.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import Any

from ..errors import Problem
from ._base import EPSILON, NUMBER, Check, as_int, err, num, obj, streams, warn

MIXED_ENCODE = frozenset({"VideoWidth", "VideoHeight", "VideoFps", "VideoBitrate"})
SINGLE_ENCODE = frozenset({"VideoFps", "VideoBitrate"})
DEFAULT_CANVAS = (640, 480)  # the documented default of Canvas.Width / Canvas.Height


class Geometry(Enum):
    RATIO = "ratio"  # 2020-12-01, 2022-06-01
    PIXEL = "pixel"  # 2023-06-01 on


class Corner(Enum):
    """What Regions[].CornerRadius means in a version."""

    PUSH_ONLY = "push_only"  # accepted, ignored by recording (R27)
    DRAWN = "drawn"  # a recording feature; too large a radius draws nothing (R37)


def mode_rules(body: dict[str, Any]) -> Iterator[Problem]:
    """R5/R6: Encode members a mode ignores (warnings); R7: Layout only in mixed mode."""
    mode = as_int(body.get("RecordMode"))
    mode = 0 if mode is None else mode
    allowed, rule, name = (
        (SINGLE_ENCODE, "R5", "single-stream") if mode == 1 else (MIXED_ENCODE, "R6", "mixed")
    )
    for key in obj(body.get("Encode")):
        if key not in allowed:
            yield warn(
                f"$.Encode.{key}",
                rule,
                f"{name} recording honours only {', '.join(sorted(allowed))}; "
                f"the service may ignore {key}",
            )
    if mode == 1 and "Layout" in body:
        yield err("$.Layout", "R7", "a Layout is only accepted in mixed mode (RecordMode 0)")


def layout_checks(geometry: Geometry, corner: Corner) -> tuple[Check, Check]:
    """(StartRecord's layout check, UpdateRecord's) for one version's region shape."""

    def start(body: dict[str, Any]) -> Iterator[Problem]:
        return layout_rules(body, geometry=geometry, corner=corner)

    def update(body: dict[str, Any]) -> Iterator[Problem]:
        # Without TargetStreams the task keeps its streams, which only the service knows, so
        # regions are matched to streams only when the update names them.
        return layout_rules(
            body, geometry=geometry, corner=corner, streams_known="TargetStreams" in body
        )

    start.__name__ = update.__name__ = f"layout_rules_{geometry.value}"
    return start, update


def layout_rules(
    body: dict[str, Any],
    *,
    geometry: Geometry = Geometry.RATIO,
    corner: Corner = Corner.PUSH_ONLY,
    streams_known: bool = True,
) -> Iterator[Problem]:
    """R11 custom layout regions, R14, R16 regions inside the canvas, R17, R19, R27/R37."""
    layout = body.get("Layout")
    if not isinstance(layout, dict):
        layout = {}
    mode = as_int(layout.get("LayoutMode"))
    mode = 0 if mode is None else mode
    if mode == 0 and "FrameInterpolationMode" in obj(body.get("Control")):
        yield warn("$.Control.FrameInterpolationMode", "R19", "no effect in the adaptive layout")
    if not layout:
        return
    targets = streams(body, "TargetStreams")
    if mode == 2:
        yield from _custom_layout(layout, targets, streams_known, geometry, corner)
        encode = obj(body.get("Encode"))
        for key in ("VideoWidth", "VideoHeight"):
            if key in encode:
                yield warn(
                    f"$.Encode.{key}",
                    "R14",
                    f"ignored with a custom layout: Canvas.{key[5:]} is used",
                )
    has_index = "MainVideoStreamIndex" in layout
    has_stream = "MainVideoStream" in layout
    if (has_index or has_stream) and mode != 1:
        key = "MainVideoStream" if has_stream else "MainVideoStreamIndex"
        yield warn(f"$.Layout.{key}", "R17", "only the vertical layout (LayoutMode 1) uses it")
    elif has_index and has_stream:
        yield warn("$.Layout.MainVideoStreamIndex", "R17", "MainVideoStream wins when both are set")
    elif has_index:
        index = as_int(layout.get("MainVideoStreamIndex"))
        if index is not None and index not in {as_int(s.get("Index")) for _, s in targets}:
            yield warn(
                "$.Layout.MainVideoStreamIndex",
                "R17",
                f"no target stream has Index {index}; the service picks a random stream",
            )


def canvas_size(layout: dict[str, Any]) -> tuple[int, int]:
    """The canvas in pixels: Canvas.Width/Height where given as integers, else the default."""
    canvas = obj(obj(layout.get("CustomLayout")).get("Canvas"))
    width, height = as_int(canvas.get("Width")), as_int(canvas.get("Height"))
    return (width or DEFAULT_CANVAS[0], height or DEFAULT_CANVAS[1])


def _region_bounds(
    k: int, r: dict[str, Any], geometry: Geometry, canvas: tuple[int, int]
) -> Iterator[Problem]:
    """R16: a region ends inside the canvas (the service would otherwise clip or refuse it)."""
    if geometry is Geometry.RATIO:
        keys, limits, unit = ("WidthProportion", "HeightProportion"), (1.0, 1.0), ""
    else:
        keys, limits, unit = ("Width", "Height"), (float(canvas[0]), float(canvas[1])), " px"
    x, w = r.get("LocationX", 0), r.get(keys[0], 0)
    y, h = r.get("LocationY", 0), r.get(keys[1], 0)
    if not (type(x) in NUMBER and type(w) in NUMBER and type(y) in NUMBER
            and type(h) in NUMBER):  # fmt: skip
        x, w, y, h = num(x, 0.0), num(w, 0.0), num(y, 0.0), num(h, 0.0)
    if x + w > limits[0] + EPSILON:
        yield err(
            f"$.Layout.CustomLayout.Regions[{k}]",
            "R16",
            f"LocationX + {keys[0]} = {x + w:g}{unit} passes the canvas' right edge "
            f"({limits[0]:g}{unit})",
        )
    if y + h > limits[1] + EPSILON:
        yield err(
            f"$.Layout.CustomLayout.Regions[{k}]",
            "R16",
            f"LocationY + {keys[1]} = {y + h:g}{unit} passes the canvas' bottom edge "
            f"({limits[1]:g}{unit})",
        )


def _corner(
    k: int, r: dict[str, Any], corner: Corner, geometry: Geometry, canvas: tuple[int, int]
) -> Iterator[Problem]:
    if "CornerRadius" not in r:
        return
    if corner is Corner.PUSH_ONLY:
        yield warn(
            f"$.Layout.CustomLayout.Regions[{k}].CornerRadius",
            "R27",
            "push-to-CDN only; recording ignores it",
        )
        return
    if type(r.get("CornerRadius")) not in NUMBER or geometry is not Geometry.PIXEL:
        return
    radius = num(r.get("CornerRadius"), 0.0)
    w, h = r.get("Width"), r.get("Height")
    if type(w) is int and type(h) is int and radius * canvas[0] > min(w, h) / 2 + EPSILON:
        yield warn(
            f"$.Layout.CustomLayout.Regions[{k}].CornerRadius",
            "R37",
            f"a radius of {radius:g} x canvas width = {radius * canvas[0]:g} px exceeds half "
            f"the region's smaller side ({min(w, h) / 2:g} px): no rounding is drawn",
        )


def _custom_layout(
    layout: dict[str, Any],
    targets: list[tuple[int, dict[str, Any]]],
    streams_known: bool,
    geometry: Geometry,
    corner: Corner,
) -> Iterator[Problem]:
    custom = layout.get("CustomLayout")
    if type(custom) is not dict or type(custom.get("Regions")) is not list:
        yield err(
            "$.Layout.CustomLayout",
            "R11",
            "LayoutMode 2 (custom) needs CustomLayout.Regions, one per target stream",
        )
        return
    canvas = canvas_size(layout)
    # One pass over the regions: where each StreamIndex first appears, duplicates, R16, R27.
    first: dict[int, int] = {}
    later: list[tuple[int, int]] = []
    for k, r in enumerate(custom["Regions"]):
        if type(r) is not dict:
            continue
        si = r.get("StreamIndex")
        if type(si) is not int:
            si = as_int(si)
        if si is not None:
            if si in first:
                later.append((k, si))
            else:
                first[si] = k
        yield from _region_bounds(k, r, geometry, canvas)
        yield from _corner(k, r, corner, geometry, canvas)
    if not streams_known:
        return  # an update keeping the task's streams: only the service can match them
    if not targets and (first or later):
        yield err(
            "$.TargetStreams",
            "R11",
            "a custom layout's regions refer to TargetStreams by Index; list them",
        )
    indexes = set()
    for i, s in targets:
        index = s.get("Index")
        if type(index) is not int:
            index = as_int(index)
        if index is None:
            if "Index" not in s:
                yield err(
                    f"$.TargetStreams.StreamList[{i}]",
                    "R11",
                    "with a custom layout every target stream needs an Index",
                )
            continue
        indexes.add(index)
        if index not in first:
            yield err(
                f"$.TargetStreams.StreamList[{i}].Index",
                "R11",
                f"no region has StreamIndex {index}",
            )
    if targets:
        for index in sorted(first.keys() - indexes):
            yield err(
                f"$.Layout.CustomLayout.Regions[{first[index]}].StreamIndex",
                "R11",
                f"no target stream has Index {index}",
            )
    for k, index in later:
        yield err(
            f"$.Layout.CustomLayout.Regions[{k}].StreamIndex",
            "R11",
            f"StreamIndex {index} already has Regions[{first[index]}]",
        )
