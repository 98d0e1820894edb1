"""Helpers shared by the contract tests: the bundled spec, golden files, signing, repairs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from rtc_startrecord import signing, spec
from rtc_startrecord.simulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY

GOLDEN = Path(__file__).resolve().parent / "golden" / "2020-12-01"
VERSION = spec.DEFAULT_VERSION


def bundle() -> dict[str, Any]:
    return spec.bundle(VERSION)


def golden_files() -> dict[str, Any]:
    """Every golden file, by name `{Action}.{request|response}.{example}`."""
    return {p.name.removesuffix(".json"): json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(GOLDEN.glob("*.json"))}  # fmt: skip


def spec_examples() -> dict[str, Any]:
    """Every named example of the spec, named as the golden files are."""
    out = {}
    for action, op in bundle()["operations"].items():
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


def sign(method: str, host: str, path: str, raw_query: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    """Sign as a client would, with the simulator's test credentials."""
    return signing.sign(
        method, host, path, parse_qsl(raw_query, keep_blank_values=True), headers, body,
        access_key_id=TEST_ACCESS_KEY_ID, secret_access_key=TEST_SECRET_ACCESS_KEY,
        region="cn-north-1", service="rtc", x_date=signing.x_date_now(),
    )  # fmt: skip


# -- repairs: make a schema-valid body obey the rules a schema cannot say --------------------


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


def _fix_layout(layout: dict[str, Any], streams: list[dict[str, Any]]) -> dict[str, Any]:
    layout = json.loads(json.dumps(layout))
    if "MainVideoStreamIndex" in layout or "MainVideoStream" in layout:
        layout.pop("MainVideoStreamIndex", None)
        layout.pop("MainVideoStream", None)
    if layout.get("LayoutMode", 0) != 2:
        return layout
    custom = layout.setdefault("CustomLayout", {})
    canvas = custom.get("Canvas")
    regions = [r for r in custom.get("Regions", [])]
    fixed = []
    for i, s in enumerate(streams):
        r = dict(regions[i]) if i < len(regions) else {"WidthProportion": 0.5, "HeightProportion": 0.5}
        r["StreamIndex"] = s["Index"]
        r["LocationX"] = min(r.get("LocationX", 0), 1 - r["WidthProportion"])
        r["LocationY"] = min(r.get("LocationY", 0), 1 - r["HeightProportion"])
        r.pop("CornerRadius", None)
        fixed.append(r)
    custom["Regions"] = fixed
    if canvas is not None:
        custom["Canvas"] = canvas
    return layout


def repair(action: str, body: Any) -> Any:
    """A schema-valid body, changed as little as needed to obey R3, R4, R7, R11, R12, R16, R18, R20."""
    if not isinstance(body, dict) or action not in ("StartRecord", "UpdateRecord"):
        return body
    body = json.loads(json.dumps(body))
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
        body["Layout"] = _fix_layout(layout, targets)
    encode = body.get("Encode")
    if isinstance(encode, dict) and encode.get("AudioProfile") == 2:
        encode["AudioChannels"] = 2
    spatial = body.get("Control", {}).get("SpatialConfig", {})
    spatial.pop("AudienceSpatialOrientation", None)
    return body


def maximal_start_body() -> dict[str, Any]:
    """A valid StartRecord body with every structure filled: 17 streams, 17 regions."""
    streams = [{"UserId": f"user_{i:02d}", "Index": i, "StreamType": i % 2} for i in range(17)]
    regions = []
    for i in range(17):
        col, row = i % 5, i // 5
        regions.append({
            "StreamIndex": i, "LocationX": col * 0.2, "LocationY": row * 0.25,
            "WidthProportion": 0.2, "HeightProportion": 0.25, "ZOrder": i, "Alpha": 0.9,
            "RenderMode": 1, "SourceCrop": {"LocationX": 0.1, "LocationY": 0.1,
                                            "WidthProportion": 0.8, "HeightProportion": 0.8},
            "AlternateImage": "https://example.com/placeholder.png", "AlternateImageFillMode": 1,
            "MediaType": 0, "SpatialPosition": [i, -i, 0], "ApplySpatialAudio": True,
        })  # fmt: skip
    return {
        "AppId": "661e0000000000000543cf", "BusinessId": "business-1", "RoomId": "room_max",
        "TaskId": "task_max", "RecordMode": 0,
        "TargetStreams": {"StreamList": streams},
        "Encode": {"VideoWidth": 1280, "VideoHeight": 720, "VideoFps": 30, "VideoBitrate": 2500},
        "Layout": {"LayoutMode": 2, "CustomLayout": {
            "Canvas": {"Width": 1280, "Height": 720, "Background": "#303342"},
            "Regions": regions}},
        "Control": {"MediaType": 0, "FrameInterpolationMode": 1, "MaxIdleTime": 300,
                    "MaxRecordTime": 7200, "SpatialConfig": {"EnableSpatialRender": True,
                    "AudienceSpatialPosition": [0, 0, 0], "AudienceSpatialOrientation": {
                        "Forward": [1, 0, 0], "Right": [0, 1, 0], "Up": [0, 0, 1]}}},
        "Vod": {"AccountId": "200000000", "Space": "my-vod-space"},
        "RecordFileNamePattern": "{TaskId}_{RoomId}_{StartTime}_{Duration}",
    }  # fmt: skip
