"""Where the files go and what they are: R28 Vod (2020-12-01), R29 StorageConfig.Type selects
its sub-config, R30 veImageX is for snapshots, R31 no STS token for Kodo, R32 audio-only formats,
R35 FileNameConfig.Prefix."""

from __future__ import annotations

from typing import Any

from ._base import Ctx, as_check, as_int, as_list, err, warn

# StorageConfig.Type -> the sub-config it reads (the others are ignored, U: warned).
SUB_CONFIGS = {0: "TosConfig", 1: "VodConfig", 2: "CustomConfig", 3: "VeImageXConfig"}
AUDIO_ONLY_FORMATS = ("MP3", "AAC", "M4A")
PREFIX_TYPES = frozenset({0, 2})  # TOS and S3-compatible storage take a Prefix
PREFIX_MAX = 128  # the joined path, slashes included
KODO = 4


_R28 = warn("$.Vod", "R28", "no Vod: the files go where the console's storage settings say, if any")
_R30 = warn(
    "$.StorageConfig.Type",
    "R30",
    "Type 3 (veImageX) is documented for snapshots; the service may refuse a recording",
)
_R31 = err(
    "$.StorageConfig.CustomConfig.SecurityToken",
    "R31",
    "Kodo (Vendor 4) takes no STS SecurityToken",
)
# Type -> (R29 when its sub-config is missing, R29 for each other sub-config present)
_R29 = {
    kind: (
        err(
            f"$.StorageConfig.{wanted}",
            "R29",
            f"StorageConfig.Type {kind} stores through {wanted}, which is missing",
        ),
        tuple(
            (
                other,
                warn(
                    f"$.StorageConfig.{other}",
                    "R29",
                    f"ignored: StorageConfig.Type {kind} uses {wanted}",
                ),
            )
            for other in SUB_CONFIGS.values()
            if other != wanted
        ),
    )
    for kind, wanted in SUB_CONFIGS.items()
}


def _vod_present(ctx: Ctx) -> None:
    """R28: Vod is documented as required, yet both documented examples omit it."""
    if "Vod" not in ctx.body:
        ctx.out.append(_R28)


vod_present = as_check(_vod_present)


def _storage_type(body: dict[str, Any]) -> int | None:
    storage = body.get("StorageConfig")
    if type(storage) is not dict:
        return None
    kind = as_int(storage.get("Type"))
    return 0 if kind is None and "Type" not in storage else kind


def _storage_config(ctx: Ctx) -> None:
    """R29: the sub-config that StorageConfig.Type names must be present; others are ignored.
    R30: Type 3 (veImageX) is documented for snapshots, not recordings. R31: no STS token with
    Kodo (Vendor 4)."""
    storage = ctx.body.get("StorageConfig")
    if type(storage) is not dict:
        return  # no StorageConfig (or not an object: the schema says so)
    kind = _storage_type(ctx.body)
    if kind is None or kind not in SUB_CONFIGS:
        return  # a Type the schema already refuses
    out = ctx.out
    missing, others = _R29[kind]
    if SUB_CONFIGS[kind] not in storage:
        out.append(missing)
    for other, problem in others:
        if other in storage:
            out.append(problem)
    if kind == 3:
        out.append(_R30)
    custom = storage.get("CustomConfig")
    if type(custom) is dict and "SecurityToken" in custom and as_int(custom.get("Vendor")) == KODO:
        out.append(_R31)


storage_config = as_check(_storage_config)


def _file_formats(ctx: Ctx) -> None:
    """R32: MP3, AAC and M4A hold audio only, so they need audio-only recording."""
    config = ctx.body.get("FileFormatConfig")
    if type(config) is not dict:
        return
    formats = as_list(config.get("FileFormat"))
    if not formats or as_int(ctx.control.get("MediaType")) == 1:
        return
    for i, f in enumerate(formats):
        if f in AUDIO_ONLY_FORMATS:
            ctx.out.append(
                err(
                    f"$.FileFormatConfig.FileFormat[{i}]",
                    "R32",
                    f"{f} is an audio-only format: set Control.MediaType 1 (audio only)",
                )
            )


file_formats = as_check(_file_formats)


def _file_prefix(ctx: Ctx) -> None:
    """R35: the Prefix path fits 128 characters, and only TOS and S3 storage use it."""
    config = ctx.body.get("FileNameConfig")
    if type(config) is not dict:
        return
    prefix = config.get("Prefix")
    if type(prefix) is not list or not prefix:
        return
    items = [p for p in prefix if type(p) is str]
    joined = sum(len(p) + 1 for p in items)  # each item and its trailing slash
    if joined > PREFIX_MAX:
        ctx.out.append(
            err(
                "$.FileNameConfig.Prefix",
                "R35",
                f"the joined path {'/'.join(items)[:40]}.../ has {joined} characters; at most "
                f"{PREFIX_MAX} are allowed",
            )
        )
    kind = _storage_type(ctx.body)
    if kind is not None and kind not in PREFIX_TYPES:
        ctx.out.append(
            warn(
                "$.FileNameConfig.Prefix",
                "R35",
                f"ignored: StorageConfig.Type {kind} takes no Prefix (only TOS 0 and "
                "S3-compatible 2)",
            )
        )


file_prefix = as_check(_file_prefix)
