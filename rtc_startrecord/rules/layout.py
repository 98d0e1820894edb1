"""The picture: R5/R6 Encode members per mode, R7 Layout only in mixed mode, R11 one region per
target stream, R14, R16 regions inside the canvas, R17 MainVideoStream(Index), R19, and the
corner radius (R27 where it is push-to-CDN only, R37 where recording draws it).

Regions are ratios of the canvas in 2020-12-01 and 2022-06-01 (WidthProportion, LocationX in
[0, 1)) and pixels from 2023-06-01 on (Width, LocationX on the canvas, 640x480 when no Canvas
is given): `Geometry` says which, so one implementation serves every version.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from ..errors import Problem
from ._base import EPSILON, Check, Ctx, Runner, as_check, as_int, err, num, obj, warn

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


_ALLOWED = {  # RecordMode 1 or not -> (members honoured, rule, mode's name, the list as text)
    True: (SINGLE_ENCODE, "R5", "single-stream", ", ".join(sorted(SINGLE_ENCODE))),
    False: (MIXED_ENCODE, "R6", "mixed", ", ".join(sorted(MIXED_ENCODE))),
}
# The problems whose text never varies are made once (a Problem is immutable).
_R7 = err("$.Layout", "R7", "a Layout is only accepted in mixed mode (RecordMode 0)")
_R19 = warn("$.Control.FrameInterpolationMode", "R19", "no effect in the adaptive layout")
_R14 = tuple(
    (key, warn(f"$.Encode.{key}", "R14", f"ignored with a custom layout: Canvas.{key[5:]} is used"))
    for key in ("VideoWidth", "VideoHeight")
)
_R11_NO_REGIONS = err(
    "$.Layout.CustomLayout",
    "R11",
    "LayoutMode 2 (custom) needs CustomLayout.Regions, one per target stream",
)
_R11_NO_TARGETS = err(
    "$.TargetStreams", "R11", "a custom layout's regions refer to TargetStreams by Index; list them"
)
_R17_NOT_VERTICAL = {
    key: warn(f"$.Layout.{key}", "R17", "only the vertical layout (LayoutMode 1) uses it")
    for key in ("MainVideoStream", "MainVideoStreamIndex")
}
_R17_BOTH = warn("$.Layout.MainVideoStreamIndex", "R17", "MainVideoStream wins when both are set")


def _mode_rules(ctx: Ctx) -> None:
    """R5/R6: Encode members a mode ignores (warnings); R7: Layout only in mixed mode."""
    body = ctx.body
    mode = body.get("RecordMode", 0)
    if type(mode) is not int:
        mode = as_int(mode)
    single = mode == 1
    encode = ctx.encode
    if encode:
        allowed, rule, name, listed = _ALLOWED[single]
        for key in encode:
            if key not in allowed:
                ctx.out.append(
                    warn(
                        f"$.Encode.{key}",
                        rule,
                        f"{name} recording honours only {listed}; the service may ignore {key}",
                    )
                )
    if single and "Layout" in body:
        ctx.out.append(_R7)


mode_rules = as_check(_mode_rules)


def layout_checks(geometry: Geometry, corner: Corner) -> tuple[Check, Check]:
    """(StartRecord's layout check, UpdateRecord's) for one version's region shape."""
    start, update = layout_runners(geometry, corner)
    name = f"layout_rules_{geometry.value}"
    return as_check(start, name), as_check(update, name)


def layout_runners(geometry: Geometry, corner: Corner) -> tuple[Runner, Runner]:
    """`layout_checks` as runners (see `_base.Ctx`)."""

    def start(ctx: Ctx) -> None:
        _layout_rules(ctx, geometry, corner, True)

    def update(ctx: Ctx) -> None:
        # Without TargetStreams the task keeps its streams, which only the service knows, so
        # regions are matched to streams only when the update names them.
        _layout_rules(ctx, geometry, corner, "TargetStreams" in ctx.body)

    start.__name__ = update.__name__ = f"layout_rules_{geometry.value}"
    return start, update


def layout_rules(
    body: dict[str, Any],
    *,
    geometry: Geometry = Geometry.RATIO,
    corner: Corner = Corner.PUSH_ONLY,
    streams_known: bool = True,
) -> list[Problem]:
    """R11 custom layout regions, R14, R16 regions inside the canvas, R17, R19, R27/R37."""
    ctx = Ctx(body)
    _layout_rules(ctx, geometry, corner, streams_known)
    return ctx.out


def _layout_rules(ctx: Ctx, geometry: Geometry, corner: Corner, streams_known: bool) -> None:
    layout = ctx.body.get("Layout")
    if not isinstance(layout, dict):
        layout = {}
    mode = layout.get("LayoutMode", 0)
    if type(mode) is not int:
        mode = as_int(mode)
        mode = 0 if mode is None else mode
    if mode == 0 and "FrameInterpolationMode" in ctx.control:
        ctx.out.append(_R19)
    if not layout:
        return
    out = ctx.out
    if mode == 2:
        _custom_layout(ctx, layout, streams_known, geometry, corner)
        encode = ctx.encode
        if encode:
            for key, problem in _R14:
                if key in encode:
                    out.append(problem)
    has_index = "MainVideoStreamIndex" in layout
    has_stream = "MainVideoStream" in layout
    if (has_index or has_stream) and mode != 1:
        out.append(_R17_NOT_VERTICAL["MainVideoStream" if has_stream else "MainVideoStreamIndex"])
    elif has_index and has_stream:
        out.append(_R17_BOTH)
    elif has_index:
        index = as_int(layout.get("MainVideoStreamIndex"))
        if index is not None and index not in {as_int(s.get("Index")) for _, s in ctx.targets()}:
            out.append(
                warn(
                    "$.Layout.MainVideoStreamIndex",
                    "R17",
                    f"no target stream has Index {index}; the service picks a random stream",
                )
            )


def canvas_size(layout: dict[str, Any]) -> tuple[int, int]:
    """The canvas in pixels: Canvas.Width/Height where given as integers, else the default."""
    canvas = obj(obj(layout.get("CustomLayout")).get("Canvas"))
    width, height = as_int(canvas.get("Width")), as_int(canvas.get("Height"))
    return (width or DEFAULT_CANVAS[0], height or DEFAULT_CANVAS[1])


def _out_of_canvas(
    out: list[Problem],
    k: int,
    edges: tuple[float, float, float, float],
    geometry: Geometry,
    limits: tuple[float, float],
) -> None:
    """R16: a region ends inside the canvas (the service would otherwise clip or refuse it)."""
    x, w, y, h = edges
    if geometry is Geometry.RATIO:
        keys, unit = ("WidthProportion", "HeightProportion"), ""
    else:
        keys, unit = ("Width", "Height"), " px"
    if x + w > limits[0] + EPSILON:
        out.append(
            err(
                f"$.Layout.CustomLayout.Regions[{k}]",
                "R16",
                f"LocationX + {keys[0]} = {x + w:g}{unit} passes the canvas' right edge "
                f"({limits[0]:g}{unit})",
            )
        )
    if y + h > limits[1] + EPSILON:
        out.append(
            err(
                f"$.Layout.CustomLayout.Regions[{k}]",
                "R16",
                f"LocationY + {keys[1]} = {y + h:g}{unit} passes the canvas' bottom edge "
                f"({limits[1]:g}{unit})",
            )
        )


def _corner(
    out: list[Problem],
    k: int,
    r: dict[str, Any],
    corner: Corner,
    geometry: Geometry,
    canvas: tuple[int, int],
) -> None:
    """R27 (push-to-CDN only) or R37 (too large to draw) for a region with a CornerRadius."""
    if corner is Corner.PUSH_ONLY:
        out.append(
            warn(
                f"$.Layout.CustomLayout.Regions[{k}].CornerRadius",
                "R27",
                "push-to-CDN only; recording ignores it",
            )
        )
        return
    radius = r.get("CornerRadius")
    if (type(radius) is not int and type(radius) is not float) or geometry is not Geometry.PIXEL:
        return
    w, h = r.get("Width"), r.get("Height")
    if type(w) is int and type(h) is int and radius * canvas[0] > min(w, h) / 2 + EPSILON:
        out.append(
            warn(
                f"$.Layout.CustomLayout.Regions[{k}].CornerRadius",
                "R37",
                f"a radius of {radius:g} x canvas width = {radius * canvas[0]:g} px exceeds half "
                f"the region's smaller side ({min(w, h) / 2:g} px): no rounding is drawn",
            )
        )


def _custom_layout(
    ctx: Ctx,
    layout: dict[str, Any],
    streams_known: bool,
    geometry: Geometry,
    corner: Corner,
) -> None:
    out = ctx.out
    custom = layout.get("CustomLayout")
    regions = custom.get("Regions") if type(custom) is dict else None
    if type(regions) is not list:
        out.append(_R11_NO_REGIONS)
        return
    if geometry is Geometry.RATIO:  # ratios of the canvas: its size is not needed
        canvas = DEFAULT_CANVAS
        wkey, hkey, limits = "WidthProportion", "HeightProportion", (1.0, 1.0)
    else:
        canvas = canvas_size(layout)
        wkey, hkey, limits = "Width", "Height", (float(canvas[0]), float(canvas[1]))
    right, bottom = limits[0] + EPSILON, limits[1] + EPSILON
    # One pass over the regions: where each StreamIndex first appears, duplicates, R16, R27.
    first: dict[int, int] = {}
    later: list[tuple[int, int]] = []
    for k, r in enumerate(regions):
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
        # What is not a number counts as 0 (the schema reports it).
        x, w = r.get("LocationX", 0), r.get(wkey, 0)
        if not ((type(x) is float or type(x) is int) and (type(w) is float or type(w) is int)):
            x, w = num(x, 0.0), num(w, 0.0)
        y, h = r.get("LocationY", 0), r.get(hkey, 0)
        if not ((type(y) is float or type(y) is int) and (type(h) is float or type(h) is int)):
            y, h = num(y, 0.0), num(h, 0.0)
        if x + w > right or y + h > bottom:
            _out_of_canvas(out, k, (x, w, y, h), geometry, limits)
        if "CornerRadius" in r:
            _corner(out, k, r, corner, geometry, canvas)
    if not streams_known:
        return  # an update keeping the task's streams: only the service can match them
    targets = ctx.targets()
    if targets:
        _match_targets(out, targets, first)
    elif first or later:
        out.append(_R11_NO_TARGETS)
    for k, index in later:
        out.append(
            err(
                f"$.Layout.CustomLayout.Regions[{k}].StreamIndex",
                "R11",
                f"StreamIndex {index} already has Regions[{first[index]}]",
            )
        )


def _match_targets(
    out: list[Problem], targets: list[tuple[int, dict[str, Any]]], first: dict[int, int]
) -> None:
    """R11: each target stream has a region and each region a target stream."""
    indexes = set()
    for i, s in targets:
        index = s.get("Index")
        if type(index) is not int:
            index = as_int(index)
            if index is None:
                if "Index" not in s:
                    out.append(
                        err(
                            f"$.TargetStreams.StreamList[{i}]",
                            "R11",
                            "with a custom layout every target stream needs an Index",
                        )
                    )
                continue
        indexes.add(index)
        if index not in first:
            out.append(
                err(
                    f"$.TargetStreams.StreamList[{i}].Index",
                    "R11",
                    f"no region has StreamIndex {index}",
                )
            )
    if not indexes.issuperset(first):
        for index in sorted(first.keys() - indexes):
            out.append(
                err(
                    f"$.Layout.CustomLayout.Regions[{first[index]}].StreamIndex",
                    "R11",
                    f"no target stream has Index {index}",
                )
            )
