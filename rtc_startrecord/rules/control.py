"""Encoding and task control: R18 HE-AAC v2 needs stereo, R20 perpendicular spatial-audio
vectors, R27 push-to-CDN-only members, R33 EnableSyncUpload needs HLS, R34 MaxSilenceSeconds,
R36 the SEI payload UUID."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from ..errors import Problem
from ._base import EPSILON, Check, as_int, as_list, err, num, obj, warn

# Control members that only push-to-CDN tasks use, per version family.
PUSH_ONLY_2020 = (
    "PushStreamMode",
    "TalkVolume",
    "VolumeIndicationMode",
    "VolumeIndicationInterval",
)
PUSH_ONLY_2023_06 = ("PushStreamMode", "SEIConfig")

_ORIENTATION_DEFAULTS = {"Forward": [1, 0, 0], "Right": [0, 1, 0], "Up": [0, 0, 1]}


def encode_audio(body: dict[str, Any]) -> Iterator[Problem]:
    """R18: HE-AAC v2 needs stereo."""
    encode = obj(body.get("Encode"))
    if as_int(encode.get("AudioProfile")) == 2 and as_int(encode.get("AudioChannels")) == 1:
        yield err(
            "$.Encode.AudioChannels", "R18", "AudioProfile 2 (HE-AAC v2) needs AudioChannels 2"
        )


def push_only(members: tuple[str, ...]) -> Check:
    """R27: Control members a recording ignores (warnings)."""

    def check(body: dict[str, Any]) -> Iterator[Problem]:
        control = obj(body.get("Control"))
        for key in members:
            if key in control:
                yield warn(f"$.Control.{key}", "R27", "push-to-CDN only; recording ignores it")

    check.__name__ = "push_only"
    return check


def spatial_orientation(body: dict[str, Any]) -> Iterator[Problem]:
    """R20: the listener's three direction vectors are non-zero and pairwise perpendicular."""
    control = obj(body.get("Control"))
    orient = obj(obj(control.get("SpatialConfig")).get("AudienceSpatialOrientation"))
    if not orient:
        return
    vecs = {}
    for key, default in _ORIENTATION_DEFAULTS.items():
        v = orient.get(key, default)
        if not (type(v) is list and len(v) == 3):
            return
        vecs[key] = [num(c, 0.0) for c in v]
    if vecs == _ORIENTATION_DEFAULTS:
        return
    for key, v in vecs.items():
        if not all(math.isfinite(c) for c in v):
            yield err(
                f"$.Control.SpatialConfig.AudienceSpatialOrientation.{key}",
                "R20",
                "components must be finite numbers",
            )
            return
        if not any(abs(c) > EPSILON for c in v):
            yield err(
                f"$.Control.SpatialConfig.AudienceSpatialOrientation.{key}",
                "R20",
                "a direction vector cannot be zero",
            )
            return
    for a, b in (("Forward", "Right"), ("Forward", "Up"), ("Right", "Up")):
        dot = sum(p * q for p, q in zip(vecs[a], vecs[b], strict=True))
        if abs(dot) > EPSILON:
            yield err(
                "$.Control.SpatialConfig.AudienceSpatialOrientation",
                "R20",
                f"{a} and {b} are not perpendicular (dot product {dot:g})",
            )


def sync_upload(body: dict[str, Any]) -> Iterator[Problem]:
    """R33: uploading while recording works only for HLS output."""
    if obj(body.get("Control")).get("EnableSyncUpload") is not True:
        return
    formats = as_list(obj(body.get("FileFormatConfig")).get("FileFormat"))
    if "HLS" not in formats:
        yield err(
            "$.Control.EnableSyncUpload",
            "R33",
            'EnableSyncUpload needs "HLS" in FileFormatConfig.FileFormat',
        )


def max_silence(body: dict[str, Any]) -> Iterator[Problem]:
    """R34: MaxSilenceSeconds only counts in single-stream mode, and below MaxIdleTime."""
    control = obj(body.get("Control"))
    silence = as_int(control.get("MaxSilenceSeconds"))
    if silence is None:
        return
    mode = as_int(body.get("RecordMode"))
    if (mode or 0) != 1:
        yield warn(
            "$.Control.MaxSilenceSeconds",
            "R34",
            "only single-stream recording (RecordMode 1) uses it; mixed recording ignores it",
        )
    idle = as_int(control.get("MaxIdleTime"))
    if idle is not None and silence >= idle:
        yield warn(
            "$.Control.MaxSilenceSeconds",
            "R34",
            f"MaxSilenceSeconds {silence} is not below MaxIdleTime {idle}: the task ends "
            "before a silence could split a file",
        )


def sei_payload(body: dict[str, Any]) -> Iterator[Problem]:
    """R36: SEIPayloadUUID is needed with SEIPayLoadType 5 and ignored otherwise."""
    sei = obj(obj(body.get("Control")).get("SEIConfig"))
    if not sei:
        return
    kind = as_int(sei.get("SEIPayLoadType"))
    kind = 100 if kind is None else kind
    has_uuid = "SEIPayloadUUID" in sei
    if kind == 5 and not has_uuid:
        yield err(
            "$.Control.SEIConfig.SEIPayloadUUID",
            "R36",
            "SEIPayLoadType 5 needs SEIPayloadUUID (32 hex digits)",
        )
    elif kind != 5 and has_uuid:
        yield warn(
            "$.Control.SEIConfig.SEIPayloadUUID",
            "R36",
            f"ignored with SEIPayLoadType {kind}; only type 5 carries a UUID",
        )
