"""The documented layout mappings between API versions: region geometry (ratios of the canvas
<-> pixels on it) and `Layout.MainVideoStreamIndex` -> `Layout.MainVideoStream`.

`mappings.MAPPINGS` says when each applies; the storage and file mappings are in mappings.py.
"""

from __future__ import annotations

import math
from typing import Any

from ..rules.layout import DEFAULT_CANVAS, canvas_size
from .notes import Context

__all__ = ["REGIONS", "main_stream_index", "pixel_to_ratio", "ratio_to_pixel"]

REGIONS = "$.Layout.CustomLayout.Regions[]"
_RATIO_DIGITS = 6  # pixel -> ratio: px / canvas, rounded to this many decimals


def _dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _regions(body: dict[str, Any]) -> tuple[dict[str, Any], list[Any]] | None:
    layout = _dict(body.get("Layout"))
    custom = _dict(layout.get("CustomLayout")) if layout else None
    regions = custom.get("Regions") if custom else None
    if layout is None or not isinstance(regions, list) or not regions:
        return None
    return layout, regions


def _canvas(layout: dict[str, Any], ctx: Context) -> tuple[int, int]:
    width, height = canvas_size(layout)
    custom = _dict(layout.get("CustomLayout")) or {}
    given = _dict(custom.get("Canvas")) or {}
    if not (type(given.get("Width")) is int and type(given.get("Height")) is int):
        ctx.note(
            "$.Layout.CustomLayout.Canvas",
            None,
            "default",
            f"the body gives no whole Canvas.Width and Canvas.Height: the regions were "
            f"converted on {width}x{height} (the documented default canvas is "
            f"{DEFAULT_CANVAS[0]}x{DEFAULT_CANVAS[1]})",
        )
    return width, height


def _step(ctx: Context, key: str) -> int:
    """The `multipleOf` the target's schema asks of a pixel member (1 when none)."""
    step = ctx.target_fields[f"{REGIONS}.{key}"].schema.get("multipleOf")
    return step if type(step) is int and step > 0 else 1


def ratio_to_pixel(body: dict[str, Any], ctx: Context) -> None:
    found = _regions(body)
    if found is None:
        return
    layout, regions = found
    width, height = _canvas(layout, ctx)
    members = (
        ("LocationX", "LocationX", width),
        ("LocationY", "LocationY", height),
        ("WidthProportion", "Width", width),
        ("HeightProportion", "Height", height),
    )
    for k, region in enumerate(regions):
        if not isinstance(region, dict):
            continue
        at = f"$.Layout.CustomLayout.Regions[{k}]"
        out: dict[str, Any] = {}
        for key, value in region.items():
            spot = next((m for m in members if m[0] == key), None)
            if spot is None:
                out[key] = value
                continue
            _, new, extent = spot
            if not _number(value):
                out[new] = value
                ctx.note(
                    f"{at}.{key}",
                    f"{at}.{new}",
                    "not_carried",
                    "not a number, so not converted to pixels",
                )
                continue
            step = _step(ctx, new)
            exact = value * extent / step + 0.5
            if not math.isfinite(exact):
                out[new] = value
                ctx.note(
                    f"{at}.{key}", f"{at}.{new}", "not_carried", "too large to convert to pixels"
                )
                continue
            px = math.floor(exact) * step
            out[new] = px
            renamed = f"renamed to {new}; " if new != key else ""
            ctx.note(
                f"{at}.{key}",
                f"{at}.{new}",
                "converted",
                f"{renamed}{value:g} x {extent} = {px} px (rounded half up)",
            )
        for pos, size, extent in (("LocationX", "Width", width), ("LocationY", "Height", height)):
            x, w = out.get(pos, 0), out.get(size)
            if type(x) is int and type(w) is int:
                if w == 0:
                    ctx.note(
                        f"{at}.{size}",
                        f"{at}.{size}",
                        "converted",
                        "rounds to 0 px, which cannot be drawn: set it by hand",
                    )
                elif x + w > extent and x < extent:
                    out[size] = extent - x
                    ctx.note(
                        f"{at}.{size}",
                        f"{at}.{size}",
                        "converted",
                        f"{x} + {w} px passed the canvas ({extent} px); cut to {extent - x} px",
                    )
        regions[k] = out


def pixel_to_ratio(body: dict[str, Any], ctx: Context) -> None:
    found = _regions(body)
    if found is None:
        return
    layout, regions = found
    width, height = _canvas(layout, ctx)
    members = {
        "LocationX": ("LocationX", width),
        "LocationY": ("LocationY", height),
        "Width": ("WidthProportion", width),
        "Height": ("HeightProportion", height),
    }
    for k, region in enumerate(regions):
        if not isinstance(region, dict):
            continue
        at = f"$.Layout.CustomLayout.Regions[{k}]"
        out: dict[str, Any] = {}
        for key, value in region.items():
            if key not in members:
                out[key] = value
                continue
            new, extent = members[key]
            if not _number(value):
                out[new] = value
                ctx.note(
                    f"{at}.{key}",
                    f"{at}.{new}",
                    "not_carried",
                    "not a number, so not converted to a ratio",
                )
                continue
            ratio = round(value / extent, _RATIO_DIGITS) if extent else math.inf
            if not math.isfinite(ratio):
                out[new] = value
                ctx.note(
                    f"{at}.{key}",
                    f"{at}.{new}",
                    "not_carried",
                    "not convertible to a ratio of this canvas",
                )
                continue
            out[new] = int(ratio) if ratio in (0, 1) else ratio
            renamed = f"renamed to {new}; " if new != key else ""
            ctx.note(
                f"{at}.{key}",
                f"{at}.{new}",
                "converted",
                f"{renamed}{value:g} px / {extent} = {ratio:g} of the canvas",
            )
        regions[k] = out


def main_stream_index(body: dict[str, Any], ctx: Context) -> None:
    layout = _dict(body.get("Layout"))
    if layout is None or "MainVideoStreamIndex" not in layout:
        return
    index = layout.pop("MainVideoStreamIndex")
    at = "$.Layout.MainVideoStreamIndex"
    if "MainVideoStream" in layout:
        ctx.drop(at, "MainVideoStream is also set and wins; the index is dropped")
        return
    targets = _dict(body.get("TargetStreams")) or {}
    streams = targets.get("StreamList")
    match = (
        next(
            (
                s
                for s in streams
                if isinstance(s, dict) and s.get("Index") == index and type(index) is int
            ),
            None,
        )
        if isinstance(streams, list)
        else None
    )
    if match is None:
        ctx.drop(
            at,
            f"no TargetStreams.StreamList item has Index {index!r}, so the stream it "
            "means is unknown (the service would pick one at random): set "
            "Layout.MainVideoStream by hand",
        )
        return
    layout["MainVideoStream"] = {
        k: match[k] for k in ("UserId", "StreamType", "Index") if k in match
    }
    ctx.note(
        at,
        "$.Layout.MainVideoStream",
        "converted",
        f"the target stream with Index {index} became Layout.MainVideoStream",
    )
