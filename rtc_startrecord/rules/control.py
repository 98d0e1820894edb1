"""Encoding and task control: R18 HE-AAC v2 needs stereo, R20 perpendicular spatial-audio
vectors, R27 push-to-CDN-only members, R33 EnableSyncUpload needs HLS, R34 MaxSilenceSeconds,
R36 the SEI payload UUID."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ..errors import Problem
from ._base import EPSILON, Check, Ctx, Runner, as_check, as_int, as_list, err, obj, warn

# Control members that only push-to-CDN tasks use, per version family.
PUSH_ONLY_2020 = (
    "PushStreamMode",
    "TalkVolume",
    "VolumeIndicationMode",
    "VolumeIndicationInterval",
)
PUSH_ONLY_2023_06 = ("PushStreamMode", "SEIConfig")

_ORIENTATION_DEFAULTS = {"Forward": [1, 0, 0], "Right": [0, 1, 0], "Up": [0, 0, 1]}


_R18 = err("$.Encode.AudioChannels", "R18", "AudioProfile 2 (HE-AAC v2) needs AudioChannels 2")


def _encode_audio(ctx: Ctx) -> None:
    """R18: HE-AAC v2 needs stereo."""
    encode = ctx.encode
    if (
        "AudioProfile" in encode
        and as_int(encode.get("AudioProfile")) == 2
        and as_int(encode.get("AudioChannels")) == 1
    ):
        ctx.out.append(_R18)


encode_audio = as_check(_encode_audio)


def push_only_runner(members: tuple[str, ...]) -> Runner:
    """R27: Control members a recording ignores (warnings)."""
    found = tuple(
        (key, warn(f"$.Control.{key}", "R27", "push-to-CDN only; recording ignores it"))
        for key in members
    )

    def run(ctx: Ctx) -> None:
        control = ctx.control
        if control:
            for key, problem in found:
                if key in control:
                    ctx.out.append(problem)

    run.__name__ = "push_only"
    return run


def push_only(members: tuple[str, ...]) -> Check:
    """R27: Control members a recording ignores (warnings)."""
    return as_check(push_only_runner(members))


def _spatial_orientation(ctx: Ctx) -> None:
    """R20: the listener's three direction vectors are non-zero and pairwise perpendicular."""
    spatial = ctx.control.get("SpatialConfig")
    if type(spatial) is not dict:
        return
    orient = obj(spatial.get("AudienceSpatialOrientation"))
    if not orient:
        return
    vecs = {}
    for key, default in _ORIENTATION_DEFAULTS.items():
        v = orient.get(key, default)
        if not (type(v) is list and len(v) == 3):
            return
        vecs[key] = [c if type(c) is int or type(c) is float else 0.0 for c in v]
    if vecs == _ORIENTATION_DEFAULTS:
        return
    ctx.out.extend(_perpendicular(vecs))


def _perpendicular(vecs: dict[str, list[float]]) -> Iterator[Problem]:
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


spatial_orientation = as_check(_spatial_orientation)


_R33 = err(
    "$.Control.EnableSyncUpload",
    "R33",
    'EnableSyncUpload needs "HLS" in FileFormatConfig.FileFormat',
)
_R34_MIXED = warn(
    "$.Control.MaxSilenceSeconds",
    "R34",
    "only single-stream recording (RecordMode 1) uses it; mixed recording ignores it",
)
_R36_MISSING = err(
    "$.Control.SEIConfig.SEIPayloadUUID",
    "R36",
    "SEIPayLoadType 5 needs SEIPayloadUUID (32 hex digits)",
)


def _sync_upload(ctx: Ctx) -> None:
    """R33: uploading while recording works only for HLS output."""
    if ctx.control.get("EnableSyncUpload") is not True:
        return
    formats = as_list(obj(ctx.body.get("FileFormatConfig")).get("FileFormat"))
    if "HLS" not in formats:
        ctx.out.append(_R33)


sync_upload = as_check(_sync_upload)


def _max_silence(ctx: Ctx) -> None:
    """R34: MaxSilenceSeconds only counts in single-stream mode, and below MaxIdleTime."""
    control = ctx.control
    if "MaxSilenceSeconds" not in control:
        return
    silence = as_int(control.get("MaxSilenceSeconds"))
    if silence is None:
        return
    mode = as_int(ctx.body.get("RecordMode"))
    if (mode or 0) != 1:
        ctx.out.append(_R34_MIXED)
    idle = as_int(control.get("MaxIdleTime"))
    if idle is not None and silence >= idle:
        ctx.out.append(
            warn(
                "$.Control.MaxSilenceSeconds",
                "R34",
                f"MaxSilenceSeconds {silence} is not below MaxIdleTime {idle}: the task ends "
                "before a silence could split a file",
            )
        )


max_silence = as_check(_max_silence)


def _sei_payload(ctx: Ctx) -> None:
    """R36: SEIPayloadUUID is needed with SEIPayLoadType 5 and ignored otherwise."""
    sei = ctx.control.get("SEIConfig")
    if type(sei) is not dict or not sei:
        return
    kind = as_int(sei.get("SEIPayLoadType"))
    kind = 100 if kind is None else kind
    has_uuid = "SEIPayloadUUID" in sei
    if kind == 5 and not has_uuid:
        ctx.out.append(_R36_MISSING)
    elif kind != 5 and has_uuid:
        ctx.out.append(
            warn(
                "$.Control.SEIConfig.SEIPayloadUUID",
                "R36",
                f"ignored with SEIPayLoadType {kind}; only type 5 carries a UUID",
            )
        )


sei_payload = as_check(_sei_payload)
