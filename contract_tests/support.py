"""Helpers shared by the contract tests: the bundled spec, golden files, signing, repairs.

Everything is per API version (`spec.API_VERSIONS`, the table of spec/versions.yaml); the
`version` arguments default to the default version, 2020-12-01. Nothing here lists versions:
what differs between them (pixel or ratio regions, which members exist, which are required)
is read from each version's bundled spec.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from rtc_startrecord import signing, spec
from rtc_startrecord.simulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY

HERE = Path(__file__).resolve().parent
GOLDEN_ROOT = HERE / "golden"
GOSDK = HERE / "data" / "gosdk"
VERSION = spec.DEFAULT_VERSION
VERSIONS = spec.API_VERSIONS
GOLDEN = GOLDEN_ROOT / VERSION  # the default version's golden files (the seed's texts)
IDS = ("AppId", "RoomId", "TaskId")


def bundle(version: str = VERSION) -> dict[str, Any]:
    return spec.bundle(version)


@cache
def documents(version: str = VERSION) -> dict[str, Any]:
    """Each action's OpenAPI document of `version`, every $ref local (written by regen here,
    beside the suite that drives them, not into the runtime package)."""
    from rtc_startrecord_models import VERSIONS as MODULES

    text = (HERE / "documents" / f"{MODULES[version]}.json").read_text(encoding="utf-8")
    return json.loads(text)["documents"]  # type: ignore[no-any-return]


def schemas(version: str = VERSION) -> dict[str, Any]:
    return bundle(version)["components"]["schemas"]  # type: ignore[no-any-return]


def golden_dir(version: str = VERSION) -> Path:
    return GOLDEN_ROOT / version


def golden_files(version: str = VERSION) -> dict[str, Any]:
    """Every golden file of a version, by name `{Action}.{request|response}.{example}`."""
    return {p.name.removesuffix(".json"): json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(golden_dir(version).glob("*.json"))}  # fmt: skip


def spec_examples(version: str = VERSION) -> dict[str, Any]:
    """Every named example of a version's spec, named as the golden files are."""
    out = {}
    for action, op in bundle(version)["operations"].items():
        for kind in ("request", "response"):
            for name, value in op[f"{kind}_examples"].items():
                out[f"{action}.{kind}.{name}"] = value
    return out


def body_bytes(body: Any) -> bytes:
    """What a generated body becomes on the wire (schemathesis may hand bytes, str or JSON)."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def sign(
    method: str, host: str, path: str, raw_query: str, headers: Mapping[str, str], body: bytes
) -> dict[str, str]:
    """Sign as a client would, with the simulator's test credentials."""
    return signing.sign(
        method, host, path, parse_qsl(raw_query, keep_blank_values=True), headers, body,
        access_key_id=TEST_ACCESS_KEY_ID, secret_access_key=TEST_SECRET_ACCESS_KEY,
        region="cn-north-1", service="rtc", x_date=signing.x_date_now(),
    )  # fmt: skip


# -- reading a version's schemas --------------------------------------------------------------


def resolve(version: str, node: Mapping[str, Any]) -> dict[str, Any]:
    """`node` with its `$ref`s followed (sibling keywords of a `$ref` win over the target's)."""
    found = dict(node)
    while "$ref" in found:
        target = schemas(version)[str(found.pop("$ref")).rsplit("/", 1)[1]]
        found = {**target, **found}
    return found


@cache
def property_paths(version: str, schema_name: str) -> dict[str, dict[str, Any]]:
    """Every property path below a component schema, `$ref`s resolved: `A.B`, `A[]` for array
    items, `A[].B` for their members. Each maps to its resolved schema plus `_required` (in its
    parent's `required`; always False for array items)."""
    out: dict[str, dict[str, Any]] = {}

    def walk(node: Mapping[str, Any], path: str, required: bool, depth: int) -> None:
        node = resolve(version, node)
        if path:
            out[path] = {**node, "_required": required}
        if depth > 16:
            raise AssertionError(f"{schema_name}: schemas nest deeper than 16 at {path}")
        for key, sub in (node.get("properties") or {}).items():
            walk(sub, f"{path}.{key}" if path else key, key in node.get("required", []), depth + 1)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]", False, depth + 1)

    walk({"$ref": f"#/components/schemas/{schema_name}"}, "", True, 0)
    return out


def value_paths(value: Any, path: str = "") -> Iterator[str]:
    """The property paths a JSON value uses, spelled as `property_paths` spells them."""
    if isinstance(value, dict):
        for key, sub in value.items():
            here = f"{path}.{key}" if path else key
            yield here
            yield from value_paths(sub, here)
    elif isinstance(value, list):
        for item in value:
            yield f"{path}[]"
            yield from value_paths(item, f"{path}[]")


def pixel_regions(version: str = VERSION) -> bool:
    """Regions in pixels (Width, Height; from 2023-06-01) rather than canvas ratios."""
    return "Width" in (schemas(version).get("Region", {}).get("properties") or {})


# -- synthesizing values from a schema ---------------------------------------------------------

# Strings tried, in order, for a `pattern` (the first that matches wins).
PATTERN_CANDIDATES = ("a1", "#303342", "0123456789abcdef0123456789abcdef", "x", "1")


def synth(version: str, node: Mapping[str, Any], *, every: bool = False, path: str = "") -> Any:
    """A value valid against `node`: its required members only, or `every` member."""
    node = resolve(version, node)
    if node.get("examples"):
        return copy.deepcopy(node["examples"][0])
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object":
        props = node.get("properties") or {}
        keys = list(props) if every else [k for k in props if k in node.get("required", [])]
        return {k: synth(version, props[k], every=every, path=f"{path}.{k}") for k in keys}
    if kind == "array":
        count = max(node.get("minItems", 1), 1)
        return [synth(version, node["items"], every=every, path=f"{path}[]") for _ in range(count)]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return _number(node, integer=kind == "integer")
    if kind == "string":
        return _string(node, path)
    raise AssertionError(f"{version} {path}: no value can be made for the schema {node}")


def _number(node: Mapping[str, Any], *, integer: bool) -> int | float:
    """The first of: minimum, maximum, a value just inside the exclusive bounds, 1, 0 that
    satisfies every bound (and multipleOf, rounding up)."""
    low, high = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
    top = node.get("maximum", high)
    inside = None
    if low is not None:
        inside = low + 1 if integer else (low + top) / 2 if top is not None else low + 1
    elif high is not None:
        inside = high - 1 if integer else high / 2
    step = node.get("multipleOf")
    for candidate in (node.get("minimum"), node.get("maximum"), inside, 1, 0):
        if candidate is None:
            continue
        value = math.ceil(candidate / step) * step if step else candidate
        if _in_bounds(node, value):
            return int(value) if integer else float(value)
    raise AssertionError(f"no number satisfies {node}")


def _in_bounds(node: Mapping[str, Any], value: float) -> bool:
    return not (
        ("minimum" in node and value < node["minimum"])
        or ("maximum" in node and value > node["maximum"])
        or ("exclusiveMinimum" in node and value <= node["exclusiveMinimum"])
        or ("exclusiveMaximum" in node and value >= node["exclusiveMaximum"])
    )


def _string(node: Mapping[str, Any], path: str) -> str:
    lo, hi = node.get("minLength", 1), node.get("maxLength", 1 << 30)
    pattern = node.get("pattern")
    for candidate in PATTERN_CANDIDATES if pattern else ("x" * max(lo, 1),):
        if lo <= len(candidate) <= hi and (pattern is None or re.search(pattern, candidate)):
            return candidate
    raise AssertionError(f"{path}: add to PATTERN_CANDIDATES a string for {pattern!r}")


def fill(version: str, value: Any, node: Mapping[str, Any], *, every: bool, path: str = "") -> Any:
    """`value` with each missing required member (or, with `every`, each missing member) added,
    recursively into objects and array items."""
    node = resolve(version, node)
    if isinstance(value, dict) and node.get("type") == "object":
        props = node.get("properties") or {}
        for key, sub in props.items():
            if key in value:
                value[key] = fill(version, value[key], sub, every=every, path=f"{path}.{key}")
            elif every or key in node.get("required", []):
                value[key] = synth(version, sub, every=every, path=f"{path}.{key}")
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        return [fill(version, v, node["items"], every=every, path=f"{path}[]") for v in value]
    return value


def prune(version: str, value: Any, node: Mapping[str, Any]) -> Any:
    """`value` without the members its schema does not have (a body written for all versions)."""
    node = resolve(version, node)
    if isinstance(value, dict) and "properties" in node:
        props = node["properties"]
        return {k: prune(version, v, props[k]) for k, v in value.items() if k in props}
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [prune(version, v, node["items"]) for v in value]
    return value


def request_node(action: str, version: str = VERSION) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{spec.operation(action, version).request}"}


def start_body(version: str, ids: Mapping[str, Any], **members: Any) -> dict[str, Any]:
    """The smallest StartRecord body of a version naming `ids`, plus `members`, repaired.

    The members the version requires beyond the ids (2022-06-01 on: StorageConfig) come from
    the first of its documented StartRecord bodies that has them."""
    body: dict[str, Any] = {**ids, **copy.deepcopy(members)}
    schema = resolve(version, request_node("StartRecord", version))
    examples = list(bundle(version)["operations"]["StartRecord"]["request_examples"].values())
    for key in schema.get("required", []):
        if key in body:
            continue
        documented = [e[key] for e in examples if isinstance(e, dict) and key in e]
        body[key] = (
            copy.deepcopy(documented[0])
            if documented
            else synth(version, schema["properties"][key])
        )
    return repair("StartRecord", prune(version, body, schema), version)  # type: ignore[no-any-return]


# -- repairs: make a schema-valid body obey the rules a schema cannot say --------------------

DEFAULT_CANVAS = (640, 480)  # Canvas.Width / Canvas.Height when not given (pixel regions, R16)
STORAGE_SUB_CONFIGS = {0: "TosConfig", 1: "VodConfig", 2: "CustomConfig", 3: "VeImageXConfig"}
VEIMAGEX = 3  # documented for snapshots (R30, a warning): never chosen by a repair
KODO = 4  # CustomConfig.Vendor that takes no SecurityToken (R31)
AUDIO_ONLY_FORMATS = frozenset({"MP3", "AAC", "M4A"})  # need Control.MediaType 1 (R32)
PREFIX_MAX = 128  # FileNameConfig.Prefix joined with a slash after each item (R35)
SEI_UUID = "0123456789abcdef0123456789abcdef"  # for SEIPayLoadType 5 (R36)


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return default


def _fix_streams(streams: Any, *, need_index: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for s in streams.get("StreamList", []) if isinstance(streams, dict) else []:
        ident = (s["UserId"], s.get("StreamType", 0))
        if ident in seen:
            continue
        seen.add(ident)
        out.append(dict(s))
    used: set[int] = set()
    next_free = 0
    for s in out:
        if "Index" in s and s["Index"] not in used:
            used.add(s["Index"])
            continue
        if "Index" in s or need_index:
            while next_free in used:
                next_free += 1
            s["Index"] = next_free
            used.add(next_free)
    return out


def _fix_region_ratio(r: dict[str, Any]) -> None:
    """R16 for ratio regions; CornerRadius (push-to-CDN only there, R27) is dropped."""
    r["LocationX"] = min(r.get("LocationX", 0), 1 - r["WidthProportion"])
    r["LocationY"] = min(r.get("LocationY", 0), 1 - r["HeightProportion"])
    r.pop("CornerRadius", None)


def _fix_region_pixel(r: dict[str, Any], canvas: tuple[int, int]) -> None:
    """R16 for pixel regions: inside the canvas; a CornerRadius small enough to be drawn (R37)."""
    r["Width"] = min(r["Width"], canvas[0])
    r["Height"] = min(r["Height"], canvas[1])
    r["LocationX"] = min(r.get("LocationX", 0), canvas[0] - r["Width"])
    r["LocationY"] = min(r.get("LocationY", 0), canvas[1] - r["Height"])
    if "CornerRadius" in r:
        largest = min(r["Width"], r["Height"]) / 2 / canvas[0]
        r["CornerRadius"] = min(r["CornerRadius"], largest)


def _fix_layout(
    layout: dict[str, Any], streams: list[dict[str, Any]], version: str
) -> dict[str, Any]:
    layout = copy.deepcopy(layout)
    if "MainVideoStreamIndex" in layout or "MainVideoStream" in layout:
        layout.pop("MainVideoStreamIndex", None)
        layout.pop("MainVideoStream", None)
    if layout.get("LayoutMode", 0) != 2:
        return layout
    custom = layout.setdefault("CustomLayout", {})
    regions = list(custom.get("Regions", []))
    pixel = pixel_regions(version)
    canvas_given = custom.get("Canvas") or {}
    canvas = (
        canvas_given.get("Width", DEFAULT_CANVAS[0]),
        canvas_given.get("Height", DEFAULT_CANVAS[1]),
    )
    fixed = []
    for i, s in enumerate(streams):
        if i < len(regions):
            r = dict(regions[i])
        elif pixel:
            r = {"Width": max(canvas[0] // 2, 1), "Height": max(canvas[1] // 2, 1)}
        else:
            r = {"WidthProportion": 0.5, "HeightProportion": 0.5}
        r["StreamIndex"] = s["Index"]
        if pixel:
            _fix_region_pixel(r, canvas)
        else:
            _fix_region_ratio(r)
        fixed.append(r)
    custom["Regions"] = fixed
    return layout


def _fix_storage(body: dict[str, Any], version: str) -> None:
    """R29: the sub-config StorageConfig.Type names is there (other ones present are only
    warned about); R31: no SecurityToken with Kodo."""
    storage = body.get("StorageConfig")
    if not isinstance(storage, dict):
        return
    kind = _int(storage.get("Type", 0), 0)
    wanted = STORAGE_SUB_CONFIGS.get(kind)
    if wanted is not None and wanted not in storage:
        present = [
            t for t, name in STORAGE_SUB_CONFIGS.items() if name in storage and t != VEIMAGEX
        ]
        if present:
            storage["Type"] = present[0]
        else:
            node = resolve(version, {"$ref": "#/components/schemas/StorageConfig"})
            storage[wanted] = synth(version, node["properties"][wanted])
    custom = storage.get("CustomConfig")
    if isinstance(custom, dict) and _int(custom.get("Vendor"), -1) == KODO:
        custom.pop("SecurityToken", None)


def _fix_files(body: dict[str, Any]) -> None:
    """R32 audio-only formats need Control.MediaType 1; R33 EnableSyncUpload needs HLS;
    R35 the joined Prefix path fits 128 characters."""
    formats = body.get("FileFormatConfig", {}).get("FileFormat")
    control = body.get("Control")
    if (
        isinstance(control, dict)
        and control.get("EnableSyncUpload") is True
        and "HLS" not in (formats or [])
    ):
        formats = [*(formats or []), "HLS"]
        body["FileFormatConfig"] = dict(body.get("FileFormatConfig", {}), FileFormat=formats)
    if (
        any(f in AUDIO_ONLY_FORMATS for f in formats or [])
        and _int((control or {}).get("MediaType"), 0) != 1
    ):
        body["Control"] = dict(control or {}, MediaType=1)
    names = body.get("FileNameConfig")
    if isinstance(names, dict) and isinstance(names.get("Prefix"), list):
        kept: list[str] = []
        used = 0
        for item in names["Prefix"]:
            room = PREFIX_MAX - used - 1  # the item's own slash
            if room < 1:
                break
            kept.append(item[:room])
            used += len(kept[-1]) + 1
        names["Prefix"] = kept


def _fix_control(body: dict[str, Any]) -> None:
    """R20 (the listener's orientation is dropped: the defaults are perpendicular); R36."""
    control = body.get("Control")
    if not isinstance(control, dict):
        return
    spatial = control.get("SpatialConfig", {})
    spatial.pop("AudienceSpatialOrientation", None)
    sei = control.get("SEIConfig")
    if (
        isinstance(sei, dict)
        and _int(sei.get("SEIPayLoadType"), 100) == 5
        and "SEIPayloadUUID" not in sei
    ):
        sei["SEIPayloadUUID"] = SEI_UUID


def repair(action: str, body: Any, version: str = VERSION) -> Any:
    """A schema-valid body of `version`, changed as little as needed to have no error under
    that version's rules: R3, R4, R7, R11, R12, R16, R18, R20 and, where the version has the
    members, R29, R31, R32, R33, R35, R36. Warnings (R30 veImageX among them) may remain."""
    if not isinstance(body, dict) or action not in ("StartRecord", "UpdateRecord"):
        return body
    body = copy.deepcopy(body)
    layout = body.get("Layout")
    custom = isinstance(layout, dict) and layout.get("LayoutMode", 0) == 2
    if body.get("RecordMode", 0) == 1:
        body.pop("Layout", None)
        custom = False
    # UpdateRecord only reaches custom-layout tasks (R25), whose streams all need an Index.
    need_index = custom or action == "UpdateRecord"
    if "TargetStreams" in body or custom:
        targets = _fix_streams(body.get("TargetStreams", {}), need_index=need_index)
        if need_index and not targets:  # regions need streams to refer to
            targets = [{"UserId": "user_0", "Index": 0}]
        body["TargetStreams"] = dict(body.get("TargetStreams", {}), StreamList=targets)
    else:
        targets = []
    if "ExcludeStreams" in body:
        taken = {(s["UserId"], s.get("StreamType", 0)) for s in targets}
        excluded = [s for s in _fix_streams(body["ExcludeStreams"], need_index=False)
                    if s.get("StreamType", 0) == 0 and (s["UserId"], 0) not in taken]  # fmt: skip
        body["ExcludeStreams"] = dict(body["ExcludeStreams"], StreamList=excluded)
    if isinstance(layout, dict) and "Layout" in body:
        body["Layout"] = _fix_layout(layout, targets, version)
    encode = body.get("Encode")
    if isinstance(encode, dict) and encode.get("AudioProfile") == 2:
        encode["AudioChannels"] = 2
    _fix_control(body)
    _fix_storage(body, version)
    _fix_files(body)
    return body


# -- the maximal body --------------------------------------------------------------------------


def _regions(version: str, canvas: tuple[int, int]) -> list[dict[str, Any]]:
    regions = []
    for i in range(17):
        col, row = i % 5, i // 5
        if pixel_regions(version):
            w, h = canvas[0] // 5, canvas[1] // 4
            place: dict[str, float] = {"LocationX": col * w, "LocationY": row * h, "Width": w,
                                       "Height": h}  # fmt: skip
        else:
            place = {"LocationX": col * 0.2, "LocationY": row * 0.25,
                     "WidthProportion": 0.2, "HeightProportion": 0.25}  # fmt: skip
        regions.append({
            "StreamIndex": i, **place, "ZOrder": i, "Alpha": 0.9,
            "RenderMode": 1, "SourceCrop": {"LocationX": 0.1, "LocationY": 0.1,
                                            "WidthProportion": 0.8, "HeightProportion": 0.8},
            "AlternateImage": "https://example.com/placeholder.png", "AlternateImageFillMode": 1,
            "MediaType": 0, "SpatialPosition": [i, -i, 0], "ApplySpatialAudio": True,
        })  # fmt: skip
    return regions


def maximal_start_body(version: str = VERSION) -> dict[str, Any]:
    """A valid StartRecord body of `version` with every structure filled: 17 streams, 17
    regions (ratios or pixels, as the version has them), and where the version has them the
    storage, file format and file name members. Members a version lacks are left out, and
    members it requires that are not written here are made from its schema."""
    streams = [{"UserId": f"user_{i:02d}", "Index": i, "StreamType": i % 2} for i in range(17)]
    canvas = (1280, 720)
    body = {
        "AppId": "661e0000000000000543cf", "BusinessId": "business-1", "RoomId": "room_max",
        "TaskId": "task_max", "RecordMode": 0,
        "TargetStreams": {"StreamList": streams},
        "Encode": {"VideoWidth": 1280, "VideoHeight": 720, "VideoFps": 30, "VideoBitrate": 2500},
        "Layout": {"LayoutMode": 2, "CustomLayout": {
            "Canvas": {"Width": canvas[0], "Height": canvas[1], "Background": "#303342"},
            "Regions": _regions(version, canvas)}},
        "Control": {"MediaType": 0, "FrameInterpolationMode": 1, "MaxIdleTime": 300,
                    "MaxRecordTime": 7200, "SpatialConfig": {"EnableSpatialRender": True,
                    "AudienceSpatialPosition": [0, 0, 0], "AudienceSpatialOrientation": {
                        "Forward": [1, 0, 0], "Right": [0, 1, 0], "Up": [0, 0, 1]}}},
        "Vod": {"AccountId": "200000000", "Space": "my-vod-space"},
        "RecordFileNamePattern": "{TaskId}_{RoomId}_{StartTime}_{Duration}",
        "FileFormatConfig": {"FileFormat": ["MP4", "HLS"]},
        "FileNameConfig": {"Prefix": ["recordings", "max"],
                           "Pattern": "{TaskId}_{RoomId}_{StartTime}_{Duration}"},
        "StorageConfig": {"Type": 0, "TosConfig": {"AccountId": "200000000", "Region": 0,
                                                   "Bucket": "my-bucket"}},
    }  # fmt: skip
    node = request_node("StartRecord", version)
    return fill(version, prune(version, body, node), node, every=False)  # type: ignore[no-any-return]
