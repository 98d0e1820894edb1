"""The documented rules a JSON schema cannot say (fact-sheet ids R1-R28), per action.

Each check reads the wire dict (PascalCase keys) and must survive any input, however malformed:
the schema problems are reported separately, so a check simply skips what it cannot read.

Severity, decided once here:
- error: what the service rejects (R3, R4, R7, R11, R12), and what it would silently replace by a
  default so that the user gets something other than what was asked (R15, R16, R18, R20; see
  decisions.md: the client is stricter than the service);
- warning: what the service accepts and ignores (R5/R6 Encode members outside a mode's set, R14,
  R17, R19, R27) and a missing Vod (R28: the documented examples omit it, storage can be set in
  the console). Warnings never block a send.
Not checkable here: R8 (TaskId uniqueness needs the service's state), R9 (rate; the client's
limiter), R21 (main account id), R23 (console switch), R25/R26 (the running task's state).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from .errors import Problem

Check = Callable[[dict[str, Any]], Iterator[Problem]]

MIXED_ENCODE = frozenset({"VideoWidth", "VideoHeight", "VideoFps", "VideoBitrate"})
SINGLE_ENCODE = frozenset({"VideoFps", "VideoBitrate"})
PUSH_ONLY_CONTROL = (
    "PushStreamMode",
    "TalkVolume",
    "VolumeIndicationMode",
    "VolumeIndicationInterval",
)
EPSILON = 1e-9
_NUMBER = frozenset({int, float})


# These run on every request a client sends: exact type tests (`type(x) is int` leaves bool
# out) and few calls keep the rules cheap on the valid path; see benchmarks/.
_EMPTY: dict[str, Any] = {}


def _obj(value: Any) -> dict[str, Any]:
    return value if type(value) is dict else _EMPTY


def _list(value: Any) -> list[Any]:
    return value if type(value) is list else []


def _int(value: Any) -> int | None:
    """An integer as JSON Schema sees one (1.0 counts), else None."""
    t = type(value)
    if t is int:
        return value  # type: ignore[no-any-return]
    if t is float and value.is_integer():
        return int(value)
    return None


def _num(value: Any, default: float) -> float:
    t = type(value)
    return value if t is float or t is int else default


def _err(path: str, rule: str, message: str) -> Problem:
    return Problem(path=path, rule=rule, message=message)


def _warn(path: str, rule: str, message: str) -> Problem:
    return Problem(path=path, rule=rule, message=message, severity="warning")


def _streams(body: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    streams = _obj(body.get(key)).get("StreamList")
    if type(streams) is not list:
        return []
    return [(i, s) for i, s in enumerate(streams) if type(s) is dict]


def _identity(stream: dict[str, Any]) -> tuple[str, int] | None:
    """(UserId, StreamType) naming a stream, or None when the entry cannot name one."""
    user = stream.get("UserId")
    if type(user) is not str:
        return None
    stype = stream.get("StreamType", 0)
    return (user, stype if type(stype) is int else (_int(stype) or 0))


def unique_index(body: dict[str, Any]) -> Iterator[Problem]:
    """R12: Index values are unique within one StreamList."""
    for key in ("TargetStreams", "ExcludeStreams"):
        streams = _streams(body, key)
        indexes = [s.get("Index") for _, s in streams if "Index" in s]
        try:
            if len(set(indexes)) == len(indexes):
                continue  # the common case, decided in one pass
        except TypeError:
            pass  # an unhashable Index: the schema reports it; look closer below
        seen: dict[int, int] = {}
        for i, s in streams:
            index = _int(s.get("Index"))
            if index is None:
                continue
            if index in seen:
                yield _err(
                    f"$.{key}.StreamList[{i}].Index",
                    "R12",
                    f"Index {index} is already used by StreamList[{seen[index]}]",
                )
            else:
                seen[index] = i


def target_exclude(body: dict[str, Any]) -> Iterator[Problem]:
    """R3: no stream in both lists; R4: screen streams cannot be excluded."""
    if "ExcludeStreams" not in body:
        return
    targets = {ident: i for i, s in _streams(body, "TargetStreams") if (ident := _identity(s))}
    for j, s in _streams(body, "ExcludeStreams"):
        ident = _identity(s)
        if ident is None:
            continue
        if ident in targets:
            yield _err(
                f"$.ExcludeStreams.StreamList[{j}]",
                "R3",
                f"stream {ident[0]!r} (StreamType {ident[1]}) is also in "
                f"TargetStreams.StreamList[{targets[ident]}]",
            )
        if ident[1] == 1:
            yield _err(
                f"$.ExcludeStreams.StreamList[{j}].StreamType",
                "R4",
                "screen streams (StreamType 1) cannot be excluded",
            )


def mode_rules(body: dict[str, Any]) -> Iterator[Problem]:
    """R5/R6: Encode members a mode ignores (warnings); R7: Layout only in mixed mode."""
    mode = _int(body.get("RecordMode"))
    mode = 0 if mode is None else mode
    allowed, rule, name = (
        (SINGLE_ENCODE, "R5", "single-stream") if mode == 1 else (MIXED_ENCODE, "R6", "mixed")
    )
    for key in _obj(body.get("Encode")):
        if key not in allowed:
            yield _warn(
                f"$.Encode.{key}",
                rule,
                f"{name} recording honours only {', '.join(sorted(allowed))}; "
                f"the service may ignore {key}",
            )
    if mode == 1 and "Layout" in body:
        yield _err("$.Layout", "R7", "a Layout is only accepted in mixed mode (RecordMode 0)")


def layout_rules(body: dict[str, Any], *, streams_known: bool = True) -> Iterator[Problem]:
    """R11 custom layout regions, R14, R16 regions inside the canvas, R17, R19."""
    layout = body.get("Layout")
    if not isinstance(layout, dict):
        layout = {}
    mode = _int(layout.get("LayoutMode"))
    mode = 0 if mode is None else mode
    if mode == 0 and "FrameInterpolationMode" in _obj(body.get("Control")):
        yield _warn("$.Control.FrameInterpolationMode", "R19", "no effect in the adaptive layout")
    if not layout:
        return
    targets = _streams(body, "TargetStreams")
    if mode == 2:
        yield from _custom_layout(body, layout, targets, streams_known)
        encode = _obj(body.get("Encode"))
        for key in ("VideoWidth", "VideoHeight"):
            if key in encode:
                yield _warn(
                    f"$.Encode.{key}",
                    "R14",
                    f"ignored with a custom layout: Canvas.{key[5:]} is used",
                )
    has_index = "MainVideoStreamIndex" in layout
    has_stream = "MainVideoStream" in layout
    if (has_index or has_stream) and mode != 1:
        key = "MainVideoStream" if has_stream else "MainVideoStreamIndex"
        yield _warn(f"$.Layout.{key}", "R17", "only the vertical layout (LayoutMode 1) uses it")
    elif has_index and has_stream:
        yield _warn(
            "$.Layout.MainVideoStreamIndex", "R17", "MainVideoStream wins when both are set"
        )
    elif has_index:
        index = _int(layout.get("MainVideoStreamIndex"))
        if index is not None and index not in {_int(s.get("Index")) for _, s in targets}:
            yield _warn(
                "$.Layout.MainVideoStreamIndex",
                "R17",
                f"no target stream has Index {index}; the service picks a random stream",
            )


def update_layout_rules(body: dict[str, Any]) -> Iterator[Problem]:
    """UpdateRecord's layout rules: without TargetStreams the task keeps its streams, which only
    the service knows, so regions are matched to streams only when the update names them."""
    return layout_rules(body, streams_known="TargetStreams" in body)


def _custom_layout(
    body: dict[str, Any],
    layout: dict[str, Any],
    targets: list[tuple[int, dict[str, Any]]],
    streams_known: bool,
) -> Iterator[Problem]:
    custom = layout.get("CustomLayout")
    if type(custom) is not dict or type(custom.get("Regions")) is not list:
        yield _err(
            "$.Layout.CustomLayout",
            "R11",
            "LayoutMode 2 (custom) needs CustomLayout.Regions, one per target stream",
        )
        return
    # One pass over the regions: where each StreamIndex first appears, duplicates, R16, R27.
    first: dict[int, int] = {}
    later: list[tuple[int, int]] = []
    limit = 1 + EPSILON
    for k, r in enumerate(custom["Regions"]):
        if type(r) is not dict:
            continue
        si = r.get("StreamIndex")
        if type(si) is not int:
            si = _int(si)
        if si is not None:
            if si in first:
                later.append((k, si))
            else:
                first[si] = k
        x, w = r.get("LocationX", 0), r.get("WidthProportion", 0)
        y, h = r.get("LocationY", 0), r.get("HeightProportion", 0)
        if not (type(x) in _NUMBER and type(w) in _NUMBER and type(y) in _NUMBER
                and type(h) in _NUMBER):  # fmt: skip
            x, w, y, h = _num(x, 0.0), _num(w, 0.0), _num(y, 0.0), _num(h, 0.0)
        if x + w > limit:
            yield _err(
                f"$.Layout.CustomLayout.Regions[{k}]",
                "R16",
                f"LocationX + WidthProportion = {x + w:g} passes the canvas' right edge",
            )
        if y + h > limit:
            yield _err(
                f"$.Layout.CustomLayout.Regions[{k}]",
                "R16",
                f"LocationY + HeightProportion = {y + h:g} passes the canvas' bottom edge",
            )
        if "CornerRadius" in r:
            yield _warn(
                f"$.Layout.CustomLayout.Regions[{k}].CornerRadius",
                "R27",
                "push-to-CDN only; recording ignores it",
            )
    if not streams_known:
        return  # an update keeping the task's streams: only the service can match them
    if not targets and (first or later):
        yield _err(
            "$.TargetStreams",
            "R11",
            "a custom layout's regions refer to TargetStreams by Index; list them",
        )
    indexes = set()
    for i, s in targets:
        index = s.get("Index")
        if type(index) is not int:
            index = _int(index)
        if index is None:
            if "Index" not in s:
                yield _err(
                    f"$.TargetStreams.StreamList[{i}]",
                    "R11",
                    "with a custom layout every target stream needs an Index",
                )
            continue
        indexes.add(index)
        if index not in first:
            yield _err(
                f"$.TargetStreams.StreamList[{i}].Index",
                "R11",
                f"no region has StreamIndex {index}",
            )
    if targets:
        for index in sorted(first.keys() - indexes):
            yield _err(
                f"$.Layout.CustomLayout.Regions[{first[index]}].StreamIndex",
                "R11",
                f"no target stream has Index {index}",
            )
    for k, index in later:
        yield _err(
            f"$.Layout.CustomLayout.Regions[{k}].StreamIndex",
            "R11",
            f"StreamIndex {index} already has Regions[{first[index]}]",
        )


def encode_audio(body: dict[str, Any]) -> Iterator[Problem]:
    """R18: HE-AAC v2 needs stereo."""
    encode = _obj(body.get("Encode"))
    if _int(encode.get("AudioProfile")) == 2 and _int(encode.get("AudioChannels")) == 1:
        yield _err(
            "$.Encode.AudioChannels", "R18", "AudioProfile 2 (HE-AAC v2) needs AudioChannels 2"
        )


_ORIENTATION_DEFAULTS = {"Forward": [1, 0, 0], "Right": [0, 1, 0], "Up": [0, 0, 1]}


def control_rules(body: dict[str, Any]) -> Iterator[Problem]:
    """R27 push-only Control members (warnings); R20 perpendicular orientation vectors."""
    control = _obj(body.get("Control"))
    for key in PUSH_ONLY_CONTROL:
        if key in control:
            yield _warn(f"$.Control.{key}", "R27", "push-to-CDN only; recording ignores it")
    orient = _obj(_obj(control.get("SpatialConfig")).get("AudienceSpatialOrientation"))
    if not orient:
        return
    vecs = {}
    for key, default in _ORIENTATION_DEFAULTS.items():
        v = orient.get(key, default)
        if not (type(v) is list and len(v) == 3):
            return
        vecs[key] = [_num(c, 0.0) for c in v]
    if vecs == _ORIENTATION_DEFAULTS:
        return
    for key, v in vecs.items():
        if not all(math.isfinite(c) for c in v):
            yield _err(
                f"$.Control.SpatialConfig.AudienceSpatialOrientation.{key}",
                "R20",
                "components must be finite numbers",
            )
            return
        if not any(abs(c) > EPSILON for c in v):
            yield _err(
                f"$.Control.SpatialConfig.AudienceSpatialOrientation.{key}",
                "R20",
                "a direction vector cannot be zero",
            )
            return
    for a, b in (("Forward", "Right"), ("Forward", "Up"), ("Right", "Up")):
        dot = sum(p * q for p, q in zip(vecs[a], vecs[b], strict=True))
        if abs(dot) > EPSILON:
            yield _err(
                "$.Control.SpatialConfig.AudienceSpatialOrientation",
                "R20",
                f"{a} and {b} are not perpendicular (dot product {dot:g})",
            )


def vod_present(body: dict[str, Any]) -> Iterator[Problem]:
    """R28: Vod is documented as required, yet both documented examples omit it."""
    if "Vod" not in body:
        yield _warn(
            "$.Vod", "R28", "no Vod: the files go where the console's storage settings say, if any"
        )


# Per action, in the order the problems are reported.
RULES: dict[str, tuple[Check, ...]] = {
    "StartRecord": (
        unique_index,
        target_exclude,
        mode_rules,
        layout_rules,
        encode_audio,
        control_rules,
        vod_present,
    ),
    "UpdateRecord": (unique_index, update_layout_rules),
    "StopRecord": (),
    "GetRecordTask": (),
}

# Schema keywords that implement a numbered rule at a given place: (keyword, path) -> rule.
SCHEMA_RULES: dict[tuple[str, str], str] = {
    ("maxItems", "$.TargetStreams.StreamList"): "R1",
    ("maxItems", "$.ExcludeStreams.StreamList"): "R2",
    ("multipleOf", "*"): "R15",
}


def schema_rule(keyword: str, path: str) -> str:
    return (
        SCHEMA_RULES.get((keyword, path)) or SCHEMA_RULES.get((keyword, "*")) or f"schema.{keyword}"
    )
