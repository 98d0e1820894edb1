"""The custom mixed-stream layout of a StartRecord/UpdateRecord body, drawn as SVG.

Regions are placed by ratios of the canvas in versions whose ``Region`` has ``WidthProportion``
(2020-12-01, 2022-06-01) and by integer pixels in versions whose ``Region`` has ``Width``
(2023-06-01, 2023-11-01): :func:`region_units` reads which from the spec.
"""

from __future__ import annotations

import colorsys
import math
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Literal
from xml.sax.saxutils import escape, quoteattr

from .. import spec
from ._body import PreviewError, is_int, is_number, target_streams

DEFAULT_CANVAS_WIDTH = 640
DEFAULT_CANVAS_HEIGHT = 480
DEFAULT_BACKGROUND = "#000000"

_CUSTOM_LAYOUT_MODE = 2
_HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
_REGIONS_PATH = "$.Layout.CustomLayout.Regions"
_WARNING_COLOUR = "#ff0000"
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _schema_properties(version: str, name: str) -> Mapping[str, Any]:
    schema = spec.bundle(version)["components"]["schemas"].get(name)
    props = schema.get("properties") if isinstance(schema, Mapping) else None
    return props if isinstance(props, Mapping) else {}


@cache
def region_units(version: str = spec.DEFAULT_VERSION) -> Literal["pixels", "ratios"]:
    """How `version` places custom-layout regions: ``"pixels"`` (``Width``, ``Height``,
    ``LocationX``, ``LocationY`` integers on the canvas) or ``"ratios"`` (``WidthProportion``,
    ``HeightProportion``, ``LocationX``, ``LocationY`` fractions of the canvas)."""
    return "pixels" if "Width" in _schema_properties(version, "Region") else "ratios"


def _versions_with(units: str) -> str:
    return ", ".join(v for v in spec.API_VERSIONS if region_units(v) == units)


def region_color(i: int) -> str:
    """The fill colour of the ``i``-th region (list position): distinct, deterministic."""
    hue = (i * 0.618033988749895) % 1.0  # golden-ratio steps spread hues evenly
    r, g, b = colorsys.hls_to_rgb(hue, 0.5, 0.65)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def _px(ratio: float, size: int) -> int:
    """Pixel = round(ratio x size), halves rounded up (R16). A ratio the validator refused
    (1e308, NaN) is drawn clamped to a few canvases beyond the edge rather than not at all."""
    if not -8.0 <= ratio <= 8.0:
        ratio = 0.0 if ratio != ratio else max(-8.0, min(8.0, ratio))
    return math.floor(ratio * size + 0.5)


def _num(value: float) -> str:
    return f"{value:g}"


def _xml_safe(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold (control characters) replaced by U+FFFD."""
    return _NOT_XML_CHAR.sub("\ufffd", text)


def _attrs(**attributes: object) -> str:
    """SVG attributes; ``fill_opacity`` -> ``fill-opacity``, ``class_`` -> ``class``; escaped."""
    return "".join(
        f" {name.rstrip('_').replace('_', '-')}={quoteattr(_xml_safe(str(value)))}"
        for name, value in attributes.items()
    )


def _custom_layout(body: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise PreviewError("the request body must be a JSON object")
    layout = body.get("Layout")
    how = (
        "set Layout.LayoutMode to 2 and give Layout.CustomLayout with a Canvas and one Region per "
        "stream; the other layout modes are arranged by the service and cannot be previewed"
    )
    if not isinstance(layout, Mapping):
        raise PreviewError(f"the body has no Layout, so no custom layout to draw: {how}")
    mode = layout.get("LayoutMode", 0)
    if mode != _CUSTOM_LAYOUT_MODE or isinstance(mode, bool):
        raise PreviewError(f"Layout.LayoutMode is {mode!r}, not 2 (custom): {how}")
    custom = layout.get("CustomLayout")
    if not isinstance(custom, Mapping):
        raise PreviewError(f"Layout.LayoutMode is 2 but Layout.CustomLayout is missing: {how}")
    return custom


def _canvas_size(canvas: Mapping[str, Any], key: str, default: int, warnings: list[str]) -> int:
    value = canvas.get(key)
    if value is None:
        return default
    if not is_int(value) or value < 2:
        warnings.append(
            f"$.Layout.CustomLayout.Canvas.{key}: {value!r} is not a valid size; "
            f"drawn with the default {default}"
        )
        return default
    size: int = value
    return size


def _ratio_geometry(
    region: Mapping[str, Any],
    path: str,
    width: int,
    height: int,
    warnings: list[str],
    version: str,
) -> tuple[int, int, int, int, bool] | None:
    """x, y, w, h in pixels and whether the region leaves the canvas, from ratios (2020, 2022).

    None (and a warning) when a value is unusable.
    """
    values: list[float] = []
    for key, default in (  # the sizes first: their absence says most (a body of another version)
        ("WidthProportion", None),
        ("HeightProportion", None),
        ("LocationX", 0.0),
        ("LocationY", 0.0),
    ):
        value = region.get(key, default)
        if not is_number(value):
            what = "is missing" if value is None else f"is {value!r}, not a number"
            hint = ""
            if value is None and ("Width" in region or "Height" in region):
                hint = (
                    " (the region gives pixel Width/Height: pixel regions are API versions "
                    f"{_versions_with('pixels')}; API version {version} takes WidthProportion "
                    "and HeightProportion, ratios of the canvas)"
                )
            warnings.append(f"{path}.{key} {what}; region not drawn{hint}")
            return None
        values.append(float(value))
    wp, hp, lx, ly = values
    x, y = _px(lx, width), _px(ly, height)
    w, h = _px(wp, width), _px(hp, height)
    if wp <= 0 or hp <= 0:
        warnings.append(f"{path}: WidthProportion and HeightProportion must be > 0")
    outside = lx < 0 or ly < 0 or lx >= 1 or ly >= 1 or x + w > width or y + h > height
    return x, y, w, h, outside


def _pixel_geometry(
    region: Mapping[str, Any],
    path: str,
    width: int,
    height: int,
    warnings: list[str],
    version: str,
) -> tuple[int, int, int, int, bool] | None:
    """x, y, w, h and whether the region leaves the canvas, from pixels (2023-06-01 and later).

    None (and a warning) when a value is unusable.
    """
    values: list[int] = []
    for key, default, size in (  # the sizes first: their absence says most
        ("Width", None, width),
        ("Height", None, height),
        ("LocationX", 0, width),
        ("LocationY", 0, height),
    ):
        value = region.get(key, default)
        if not is_number(value):
            what = "is missing" if value is None else f"is {value!r}, not a number"
            hint = ""
            if value is None and ("WidthProportion" in region or "HeightProportion" in region):
                hint = (
                    f" (the region gives WidthProportion/HeightProportion, ratios: API version "
                    f"{version} takes Width and Height in pixels; ratio regions are API versions "
                    f"{_versions_with('ratios')})"
                )
            warnings.append(f"{path}.{key} {what}; region not drawn{hint}")
            return None
        if not float(value).is_integer():
            hint = ""
            if 0 < value <= 1:
                hint = (
                    f"; a ratio? API version {version} takes pixels: {value!r} of {size} is "
                    f"{_px(float(value), size)}"
                )
            warnings.append(
                f"{path}.{key} is {value!r}, not a whole number of pixels; region not drawn{hint}"
            )
            return None
        values.append(int(value))
    w, h, x, y = values
    if w <= 0 or h <= 0:
        warnings.append(f"{path}: Width and Height must be > 0 pixels")
    outside = x < 0 or y < 0 or x >= width or y >= height or x + w > width or y + h > height
    return x, y, w, h, outside


def render_layout_svg(
    body: Mapping[str, Any], *, version: str = spec.DEFAULT_VERSION
) -> tuple[str, list[str]]:
    """Draw the custom layout (LayoutMode 2) of a StartRecord/UpdateRecord wire body as SVG.

    `version` is the API version the body is for (default 2020-12-01): it decides whether regions
    are ratios of the canvas (2020-12-01, 2022-06-01: ``LocationX``/``LocationY`` in [0, 1),
    ``WidthProportion``/``HeightProportion``, drawn at ``round(ratio x canvas size)``) or pixels
    on it (2023-06-01, 2023-11-01: integer ``LocationX``, ``LocationY``, ``Width``, ``Height``);
    see :func:`region_units`.

    Returns ``(svg_text, warnings)``. The ``<svg>`` has the canvas size (default 640x480) and a
    background ``<rect id="canvas">`` (``Canvas.Background``, default ``#000000``; a
    ``BackgroundImage`` is drawn over it, stretched). Each region is a
    ``<g class="region" data-stream-index=.. data-user-id=..>`` holding a ``<rect>`` with
    ``fill-opacity`` = Alpha, and a ``<text>`` label
    ``"UserId #Index"`` (``" (screen)"`` added for StreamType 1; ``"?"`` as the user when no stream
    has that Index). Regions are drawn in ascending ZOrder, ties in list order, each in its own
    colour. A region reaching outside the canvas gets a red dashed ``class="warning"`` outline and a
    "⚠" text, and a warning naming ``$.Layout.CustomLayout.Regions[i]``. Output is deterministic.

    Raises :class:`PreviewError` when the body has no custom layout, ValueError for an unknown
    `version`.
    """
    pixels = region_units(spec.check_version(version)) == "pixels"
    custom = _custom_layout(body)
    warnings: list[str] = []

    if body.get("RecordMode", 0) == 1:
        warnings.append("$.Layout: a layout is only used in mixed mode (RecordMode 0) (R7)")

    canvas_raw = custom.get("Canvas")
    canvas: Mapping[str, Any] = canvas_raw if isinstance(canvas_raw, Mapping) else {}
    width = _canvas_size(canvas, "Width", DEFAULT_CANVAS_WIDTH, warnings)
    height = _canvas_size(canvas, "Height", DEFAULT_CANVAS_HEIGHT, warnings)
    background = canvas.get("Background")
    if background is None:
        background = DEFAULT_BACKGROUND
    elif not isinstance(background, str) or not _HEX_COLOUR.fullmatch(background):
        warnings.append(
            f"$.Layout.CustomLayout.Canvas.Background: {background!r} is not #RRGGBB; "
            f"drawn with the default {DEFAULT_BACKGROUND}"
        )
        background = DEFAULT_BACKGROUND
    background_image = canvas.get("BackgroundImage")

    streams_by_index: dict[int, dict[str, Any]] = {}
    for listed in target_streams(body):
        index = listed.get("Index")
        if is_int(index) and index not in streams_by_index:
            streams_by_index[index] = listed

    regions_raw = custom.get("Regions")
    regions: list[Any] = (
        list(regions_raw)
        if isinstance(regions_raw, Sequence) and not isinstance(regions_raw, str)
        else []
    )
    if not regions:
        warnings.append(f"{_REGIONS_PATH}: no regions, nothing but the canvas is drawn")

    lines = [
        f"<svg{_attrs(xmlns='http://www.w3.org/2000/svg', viewBox=f'0 0 {width} {height}')}"
        + f"{_attrs(width=width, height=height)}>",
        f"  <rect{_attrs(id='canvas', x=0, y=0, width=width, height=height, fill=background)}/>",
    ]
    if isinstance(background_image, str) and background_image:
        lines.append(
            f"  <image{_attrs(id='background-image', x=0, y=0, width=width, height=height)}"
            f"{_attrs(href=background_image, preserveAspectRatio='none')}/>"
        )

    drawable: list[tuple[int, int, Mapping[str, Any]]] = []
    seen_indexes: set[int] = set()
    for i, region in enumerate(regions):
        path = f"{_REGIONS_PATH}[{i}]"
        if not isinstance(region, Mapping):
            warnings.append(f"{path}: not an object; skipped")
            continue
        z_order = region.get("ZOrder", 0)
        if not is_int(z_order):
            warnings.append(f"{path}.ZOrder: {z_order!r} is not an integer; drawn with ZOrder 0")
            z_order = 0
        drawable.append((z_order, i, region))
    drawable.sort(key=lambda item: (item[0], item[1]))

    for z_order, i, region in drawable:
        path = f"{_REGIONS_PATH}[{i}]"
        stream_index = region.get("StreamIndex")
        if is_int(stream_index):
            seen_indexes.add(stream_index)  # an undrawable region still names its stream
        geometry = (
            _pixel_geometry(region, path, width, height, warnings, version)
            if pixels
            else _ratio_geometry(region, path, width, height, warnings, version)
        )
        if geometry is None:
            continue
        x, y, w, h, outside = geometry

        stream = streams_by_index.get(stream_index) if is_int(stream_index) else None
        if stream_index is None:
            warnings.append(f"{path}.StreamIndex is missing")
        elif stream is None:
            warnings.append(
                f"{path}.StreamIndex: no stream in TargetStreams.StreamList has Index "
                f"{stream_index!r} (R11)"
            )
        user_id = stream.get("UserId") if stream is not None else None
        user_text = str(user_id) if user_id is not None and stream is not None else "?"
        label = f"{user_text} #{'' if stream_index is None else stream_index}"
        if stream is not None and stream.get("StreamType") == 1:
            label += " (screen)"

        alpha_raw = region.get("Alpha", 1.0)
        if is_number(alpha_raw) and 0 < alpha_raw <= 1:
            alpha = float(alpha_raw)
        else:
            warnings.append(f"{path}.Alpha: {alpha_raw!r} is not in (0, 1]; drawn with 1")
            alpha = 1.0

        lines.append(
            f"  <g{_attrs(class_='region')}"
            f"{_attrs(data_stream_index='' if stream_index is None else stream_index)}"
            f"{_attrs(data_user_id='' if user_id is None else user_id)}"
            f"{_attrs(data_z_order=z_order, data_alpha=_num(alpha))}>"
        )
        fill = region_color(i)
        lines.append(
            f"    <rect{_attrs(x=x, y=y, width=max(w, 0), height=max(h, 0), fill=fill)}"
            f"{_attrs(fill_opacity=_num(alpha))}"
            f"{_attrs(stroke='#ffffff', stroke_width=1)}/>"
        )
        label_x = min(max(x, 0), max(width - 8, 0)) + 4
        label_y = min(max(y, 0), max(height - 20, 0)) + 16
        lines.append(
            f"    <text{_attrs(x=label_x, y=label_y, fill='#ffffff', font_size=14)}"
            f"{_attrs(font_family='sans-serif')}>{escape(_xml_safe(label))}</text>"
        )
        if outside:
            keep = (
                f"keep 0 <= LocationX < {width}, 0 <= LocationY < {height}, "
                f"LocationX+Width <= {width} and LocationY+Height <= {height} (pixels, R16)"
                if pixels
                else "keep LocationX/Y < 1 and "
                "LocationX+WidthProportion, LocationY+HeightProportion <= 1 (R16)"
            )
            warnings.append(
                f"{path}: the region reaches outside the {width}x{height} canvas "
                f"(x={x}, y={y}, width={w}, height={h}); {keep}"
            )
            lines.append(
                f"    <rect{_attrs(class_='warning', x=x, y=y, width=max(w, 0), height=max(h, 0))}"
                f"{_attrs(fill='none', stroke=_WARNING_COLOUR, stroke_width=3)}"
                f"{_attrs(stroke_dasharray='8 4')}/>"
            )
            lines.append(
                f"    <text{_attrs(class_='warning', x=label_x, y=label_y + 20)}"
                f"{_attrs(fill=_WARNING_COLOUR, font_size=18)}>⚠ outside canvas</text>"
            )
        lines.append("  </g>")

    for index, listed in sorted(streams_by_index.items()):
        if index not in seen_indexes and regions:
            warnings.append(
                f"$.TargetStreams.StreamList: the stream with Index {index} "
                f"(UserId {listed.get('UserId')!r}) has no Region (R11)"
            )

    lines.append("</svg>")
    return "\n".join(lines) + "\n", warnings
