"""The documented rules a JSON schema cannot say, per API version and action.

Each check reads the wire dict (PascalCase keys) and must survive any input, however malformed:
the schema problems are reported separately, so a check simply skips what it cannot read.

One id means one rule in every version: the 2020-12-01 ids (R1-R28) are kept where a later
version has the same rule, and rules new in later versions are R29 on. `RULE_IDS` says what each
id means and where it applies; docs/rules.md is written from it (`python -m rtc_startrecord.rules`).

Severity, decided once here:
- error: what the service rejects, and what it would silently replace by a default so that the
  user gets something other than what was asked (decisions.md: the client is stricter than the
  service);
- warning: what the service accepts and ignores, or what is documented so vaguely that refusing
  it could block a valid call. Warnings never block a send.
"""

from __future__ import annotations

from ._base import Check, Ctx, Runner, as_check
from ._base import identity as stream_identity
from ._base import streams as listed_streams
from .control import (
    PUSH_ONLY_2020,
    PUSH_ONLY_2023_06,
    _encode_audio,
    _max_silence,
    _sei_payload,
    _spatial_orientation,
    _sync_upload,
    push_only_runner,
)
from .layout import Corner, Geometry, _mode_rules, layout_runners
from .storage import _file_formats, _file_prefix, _storage_config, _vod_present
from .streams import _target_exclude, _unique_index

__all__ = [
    "RULES",
    "RULE_IDS",
    "RUNNERS",
    "SCHEMA_RULES",
    "Check",
    "Ctx",
    "RuleInfo",
    "Runner",
    "listed_streams",
    "markdown",
    "schema_rule",
    "stream_identity",
]

_START_2020, _UPDATE_2020 = layout_runners(Geometry.RATIO, Corner.PUSH_ONLY)
_START_RATIO, _UPDATE_RATIO = _START_2020, _UPDATE_2020
_START_PIXEL_PUSH, _UPDATE_PIXEL_PUSH = layout_runners(Geometry.PIXEL, Corner.PUSH_ONLY)
_START_PIXEL, _UPDATE_PIXEL = layout_runners(Geometry.PIXEL, Corner.DRAWN)
_NONE: tuple[Runner, ...] = ()

# Rule set (named by the version that introduced it; spec/versions.yaml maps each version to
# one) -> action -> rules, in the order their problems are reported. `validation.validate_wire`
# runs them on one shared `Ctx` per call; `RULES` holds each as a stand-alone `Check`.
RUNNERS: dict[str, dict[str, tuple[Runner, ...]]] = {
    "2020-12-01": {
        "StartRecord": (
            _unique_index,
            _target_exclude,
            _mode_rules,
            _START_2020,
            _encode_audio,
            push_only_runner(PUSH_ONLY_2020),
            _spatial_orientation,
            _vod_present,
        ),
        "UpdateRecord": (_unique_index, _UPDATE_2020),
        "StopRecord": _NONE,
        "GetRecordTask": _NONE,
    },
    "2022-06-01": {
        "StartRecord": (
            _unique_index,
            _target_exclude,
            _mode_rules,
            _START_RATIO,
            _encode_audio,
            _storage_config,
            _file_formats,
            _file_prefix,
        ),
        "UpdateRecord": (_unique_index, _UPDATE_RATIO),
        "StopRecord": _NONE,
        "GetRecordTask": _NONE,
    },
    "2023-06-01": {
        "StartRecord": (
            _unique_index,
            _target_exclude,
            _mode_rules,
            _START_PIXEL_PUSH,
            _encode_audio,
            push_only_runner(PUSH_ONLY_2023_06),
            _sei_payload,
            _spatial_orientation,
            _storage_config,
            _file_formats,
            _file_prefix,
        ),
        "UpdateRecord": (_unique_index, _UPDATE_PIXEL_PUSH),
        "StopRecord": _NONE,
        "GetRecordTask": _NONE,
    },
    "2023-11-01": {
        "StartRecord": (
            _unique_index,
            _target_exclude,
            _mode_rules,
            _START_PIXEL,
            _encode_audio,
            _sync_upload,
            _max_silence,
            _storage_config,
            _file_formats,
            _file_prefix,
        ),
        "UpdateRecord": (_unique_index, _UPDATE_PIXEL),
        "StopRecord": _NONE,
        "GetRecordTask": _NONE,
    },
}

RULES: dict[str, dict[str, tuple[Check, ...]]] = {
    rule_set: {action: tuple(as_check(run) for run in runs) for action, runs in actions.items()}
    for rule_set, actions in RUNNERS.items()
}


class RuleInfo:
    """What one rule id means: its text, its severity and the rule sets it is checked in."""

    __slots__ = ("checked", "meaning", "severity")

    def __init__(self, meaning: str, severity: str, checked: str) -> None:
        self.meaning, self.severity, self.checked = meaning, severity, checked


_ALL = "all"
_LATER = "2022-06-01, 2023-06-01, 2023-11-01"
RULE_IDS: dict[str, RuleInfo] = {
    "R1": RuleInfo(
        ("TargetStreams.StreamList holds at most 17 streams (schema maxItems)"),
        "error",
        _ALL,
    ),
    "R2": RuleInfo(
        ("ExcludeStreams.StreamList holds at most 17 streams (schema maxItems)"),
        "error",
        _ALL,
    ),
    "R3": RuleInfo(
        ("no stream (UserId + StreamType) in both TargetStreams and ExcludeStreams"),
        "error",
        _ALL,
    ),
    "R4": RuleInfo(
        ("screen streams (StreamType 1) cannot be excluded"),
        "error",
        _ALL,
    ),
    "R5": RuleInfo(
        ("single-stream recording honours only Encode.VideoFps and VideoBitrate"),
        "warning",
        _ALL,
    ),
    "R6": RuleInfo(
        ("mixed recording honours only Encode.VideoWidth/Height/Fps/Bitrate"),
        "warning",
        _ALL,
    ),
    "R7": RuleInfo(
        ("a Layout only in mixed mode (RecordMode 0)"),
        "error",
        _ALL,
    ),
    "R8": RuleInfo(
        (
            "TaskId unique per AppId + RoomId while the task runs; 2023-11-01 answers a "
            "repeat with success and an 'already started' Result"
        ),
        "service",
        _ALL,
    ),
    "R9": RuleInfo(
        ("at most 60 calls per second per account (the client's limiter, the simulator)"),
        "service",
        _ALL,
    ),
    "R10": RuleInfo(
        ("an empty or absent TargetStreams records every stream of the room"),
        "meaning",
        _ALL,
    ),
    "R11": RuleInfo(
        ("custom layout: exactly one Region per target stream, matched by Index / StreamIndex"),
        "error",
        _ALL,
    ),
    "R12": RuleInfo(
        ("Index values unique within one StreamList"),
        "error",
        _ALL,
    ),
    "R13": RuleInfo(
        (
            "an invalid optional value is silently replaced by its default: the schema's "
            "ranges refuse it instead"
        ),
        "error",
        _ALL,
    ),
    "R14": RuleInfo(
        ("Encode.VideoWidth/VideoHeight are ignored with a custom layout (the Canvas wins)"),
        "warning",
        _ALL,
    ),
    "R15": RuleInfo(
        ("even sizes: Canvas.Width/Height, Encode.VideoWidth/VideoHeight (schema multipleOf)"),
        "error",
        _ALL,
    ),
    "R16": RuleInfo(
        (
            "a region ends inside the canvas (ratios: LocationX + WidthProportion <= 1; "
            "pixels from 2023-06-01: LocationX + Width <= Canvas.Width, default 640x480)"
        ),
        "error",
        _ALL,
    ),
    "R17": RuleInfo(
        ("MainVideoStream(Index) only with the vertical layout (LayoutMode 1)"),
        "warning",
        _ALL,
    ),
    "R18": RuleInfo(
        ("AudioProfile 2 (HE-AAC v2) needs AudioChannels 2"),
        "error",
        _ALL,
    ),
    "R19": RuleInfo(
        ("FrameInterpolationMode has no effect in the adaptive layout"),
        "warning",
        _ALL,
    ),
    "R20": RuleInfo(
        (
            "spatial audio: the listener's Forward/Right/Up vectors non-zero and pairwise"
            " perpendicular"
        ),
        "error",
        "2020-12-01, 2023-06-01",
    ),
    "R21": RuleInfo(
        ("every AccountId is the main account's, also when a sub-user signs"),
        "not checkable",
        _ALL,
    ),
    "R22": RuleInfo(
        ("file name pattern variables; names over 128 characters are cut"),
        "meaning",
        _ALL,
    ),
    "R23": RuleInfo(
        ("recording must be enabled in the console first"),
        "not checkable",
        _ALL,
    ),
    "R24": RuleInfo(
        ("prefer the recording-finished callback to polling GetRecordTask"),
        "meaning",
        _ALL,
    ),
    "R25": RuleInfo(
        ("UpdateRecord only for a running task started in mixed mode with a custom layout"),
        "service",
        _ALL,
    ),
    "R26": RuleInfo(
        ("GetRecordTask sees tasks of the last 72 hours and answers the most recent"),
        "service",
        _ALL,
    ),
    "R27": RuleInfo(
        (
            "push-to-CDN-only members are accepted and ignored by a recording (2020-12-01"
            " Control push members and CornerRadius; 2023-06-01 PushStreamMode, "
            "SEIConfig, CornerRadius)"
        ),
        "warning",
        "2020-12-01, 2023-06-01",
    ),
    "R28": RuleInfo(
        ("Vod is documented as required but absent from the documented bodies"),
        "warning",
        "2020-12-01",
    ),
    "R29": RuleInfo(
        (
            "StorageConfig.Type (default 0) selects the sub-config that must be present: "
            "0 TosConfig, 1 VodConfig, 2 CustomConfig, 3 VeImageXConfig; the others are "
            "ignored (warning)"
        ),
        "error",
        _LATER,
    ),
    "R30": RuleInfo(
        ("StorageConfig.Type 3 (veImageX) is documented for snapshots, not recordings"),
        "warning",
        _LATER,
    ),
    "R31": RuleInfo(
        ("CustomConfig.SecurityToken not with Vendor 4 (Kodo)"),
        "error",
        "2023-11-01",
    ),
    "R32": RuleInfo(
        ("FileFormat MP3, AAC and M4A only with audio-only recording (Control.MediaType 1)"),
        "error",
        _LATER,
    ),
    "R33": RuleInfo(
        ("Control.EnableSyncUpload needs HLS in FileFormatConfig.FileFormat"),
        "error",
        "2023-11-01",
    ),
    "R34": RuleInfo(
        ("Control.MaxSilenceSeconds only in single-stream mode, and below MaxIdleTime"),
        "warning",
        "2023-11-01",
    ),
    "R35": RuleInfo(
        (
            "FileNameConfig.Prefix: letters and digits (schema pattern), the joined path "
            "with slashes at most 128 characters (error); only storage Type 0 and 2 use "
            "it (warning)"
        ),
        "error",
        _LATER,
    ),
    "R36": RuleInfo(
        (
            "SEIConfig.SEIPayloadUUID needed with SEIPayLoadType 5 (error), ignored "
            "otherwise (warning)"
        ),
        "error",
        "2023-06-01",
    ),
    "R37": RuleInfo(
        ("CornerRadius x canvas width above half the region's smaller side draws no rounding"),
        "warning",
        "2023-11-01",
    ),
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


def markdown() -> str:
    """docs/rules.md: every rule id, what it means, its severity and where it is checked."""
    lines = [
        "# Rule ids",
        "",
        "Written by `python -m rtc_startrecord.rules` from `rtc_startrecord/rules/__init__.py`;",
        "a test keeps this file equal to it. One id means one rule in every API version.",
        "Severity: `error` blocks the send, `warning` never does; `service` is enforced by the",
        "service (and the simulator), `not checkable` by neither, `meaning` documents behaviour.",
        "",
        "| id | rule | severity | versions |",
        "|---|---|---|---|",
    ]
    for rule_id, info in RULE_IDS.items():
        lines.append(f"| {rule_id} | {info.meaning} | {info.severity} | {info.checked} |")
    return "\n".join(lines) + "\n"
