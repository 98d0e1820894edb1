"""Where the files go and what they are: R28 Vod (2020-12-01), R29 StorageConfig.Type selects
its sub-config, R30 veImageX is for snapshots, R31 no STS token for Kodo, R32 audio-only formats,
R35 FileNameConfig.Prefix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import Problem
from ._base import as_int, as_list, err, obj, warn

# StorageConfig.Type -> the sub-config it reads (the others are ignored, U: warned).
SUB_CONFIGS = {0: "TosConfig", 1: "VodConfig", 2: "CustomConfig", 3: "VeImageXConfig"}
AUDIO_ONLY_FORMATS = ("MP3", "AAC", "M4A")
PREFIX_TYPES = frozenset({0, 2})  # TOS and S3-compatible storage take a Prefix
PREFIX_MAX = 128  # the joined path, slashes included
KODO = 4


def vod_present(body: dict[str, Any]) -> Iterator[Problem]:
    """R28: Vod is documented as required, yet both documented examples omit it."""
    if "Vod" not in body:
        yield warn(
            "$.Vod", "R28", "no Vod: the files go where the console's storage settings say, if any"
        )


def _storage_type(body: dict[str, Any]) -> int | None:
    storage = body.get("StorageConfig")
    if type(storage) is not dict:
        return None
    kind = as_int(storage.get("Type"))
    return 0 if kind is None and "Type" not in storage else kind


def storage_config(body: dict[str, Any]) -> Iterator[Problem]:
    """R29: the sub-config that StorageConfig.Type names must be present; others are ignored.
    R30: Type 3 (veImageX) is documented for snapshots, not recordings. R31: no STS token with
    Kodo (Vendor 4)."""
    kind = _storage_type(body)
    if kind is None or kind not in SUB_CONFIGS:
        return  # no StorageConfig, or a Type the schema already refuses
    storage = obj(body.get("StorageConfig"))
    wanted = SUB_CONFIGS[kind]
    if wanted not in storage:
        yield err(
            f"$.StorageConfig.{wanted}",
            "R29",
            f"StorageConfig.Type {kind} stores through {wanted}, which is missing",
        )
    for other in SUB_CONFIGS.values():
        if other != wanted and other in storage:
            yield warn(
                f"$.StorageConfig.{other}",
                "R29",
                f"ignored: StorageConfig.Type {kind} uses {wanted}",
            )
    if kind == 3:
        yield warn(
            "$.StorageConfig.Type",
            "R30",
            "Type 3 (veImageX) is documented for snapshots; the service may refuse a recording",
        )
    custom = obj(storage.get("CustomConfig"))
    if "SecurityToken" in custom and as_int(custom.get("Vendor")) == KODO:
        yield err(
            "$.StorageConfig.CustomConfig.SecurityToken",
            "R31",
            "Kodo (Vendor 4) takes no STS SecurityToken",
        )


def file_formats(body: dict[str, Any]) -> Iterator[Problem]:
    """R32: MP3, AAC and M4A hold audio only, so they need audio-only recording."""
    formats = as_list(obj(body.get("FileFormatConfig")).get("FileFormat"))
    audio_only = as_int(obj(body.get("Control")).get("MediaType")) == 1
    if audio_only:
        return
    for i, f in enumerate(formats):
        if f in AUDIO_ONLY_FORMATS:
            yield err(
                f"$.FileFormatConfig.FileFormat[{i}]",
                "R32",
                f"{f} is an audio-only format: set Control.MediaType 1 (audio only)",
            )


def file_prefix(body: dict[str, Any]) -> Iterator[Problem]:
    """R35: the Prefix path fits 128 characters, and only TOS and S3 storage use it."""
    prefix = obj(body.get("FileNameConfig")).get("Prefix")
    if type(prefix) is not list or not prefix:
        return
    items = [p for p in prefix if type(p) is str]
    joined = sum(len(p) + 1 for p in items)  # each item and its trailing slash
    if joined > PREFIX_MAX:
        yield err(
            "$.FileNameConfig.Prefix",
            "R35",
            f"the joined path {'/'.join(items)[:40]}.../ has {joined} characters; at most "
            f"{PREFIX_MAX} are allowed",
        )
    kind = _storage_type(body)
    if kind is not None and kind not in PREFIX_TYPES:
        yield warn(
            "$.FileNameConfig.Prefix",
            "R35",
            f"ignored: StorageConfig.Type {kind} takes no Prefix (only TOS 0 and S3-compatible 2)",
        )
