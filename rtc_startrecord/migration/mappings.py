"""The documented mappings between API versions, as one table (`MAPPINGS`).

Only what the documentation states is written here by hand: storage (`Vod` <-> `StorageConfig`
with Type 1 and `VodConfig`), the file name (`RecordFileNamePattern` <-> `FileNameConfig.Pattern`),
region geometry and `Layout.MainVideoStreamIndex` -> `Layout.MainVideoStream`
(layout_mappings.py), and the output format (the first version records MP4 only). Which row
applies to a pair of versions is decided by the shapes of their specs (`source_has`,
`target_has`, ...), never by a version string, so a fifth version with one of these shapes gets
the same treatment. Every other field is copied when the target has it and dropped with a note
when it does not (`migration.migrate`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .layout_mappings import REGIONS, main_stream_index, pixel_to_ratio, ratio_to_pixel
from .notes import Context

__all__ = ["MAPPINGS", "Mapping", "applicable", "renames"]


@attrs.frozen
class Mapping:
    """One documented mapping: it applies when the source spec has every `source_has` path and
    none of `source_lacks`, and the target spec has every `target_has` and none of
    `target_lacks`. `renames` are the (old, new) field paths the documentation names."""

    name: str
    source_has: tuple[str, ...]
    target_has: tuple[str, ...]
    target_lacks: tuple[str, ...]
    apply: Callable[[dict[str, Any], Context], None] = attrs.field(repr=False)
    source_lacks: tuple[str, ...] = ()
    renames: tuple[tuple[str, str], ...] = ()


def applicable(source: set[str], target: set[str]) -> list[Mapping]:
    """The rows of `MAPPINGS` for a source and a target field set (schema paths)."""
    return [
        m
        for m in MAPPINGS
        if all(p in source for p in m.source_has)
        and not any(p in source for p in m.source_lacks)
        and all(p in target for p in m.target_has)
        and not any(p in target for p in m.target_lacks)
    ]


def renames(source: set[str], target: set[str]) -> dict[str, str]:
    """Old path -> new path, for the documented renames between two field sets."""
    return {old: new for m in applicable(source, target) for old, new in m.renames}


def _dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


# -- storage ----------------------------------------------------------------------------------


def _vod_to_storage(body: dict[str, Any], ctx: Context) -> None:
    if "Vod" not in body:
        if "StorageConfig" not in body and ctx.target_fields["$.StorageConfig"].required:
            ctx.note(
                "$.Vod",
                "$.StorageConfig",
                "not_carried",
                f"the body has no Vod, so there is no storage to carry; {ctx.target} "
                "requires StorageConfig: add it (the migration never invents storage)",
            )
        return
    vod = body.pop("Vod")
    if "StorageConfig" in body:
        ctx.drop("$.Vod", "the body already has a StorageConfig, which wins; Vod dropped")
        return
    if _dict(vod) is None:
        ctx.note("$.Vod", None, "not_carried", "not an object; not carried")
        return
    members = {k for k in vod if f"$.StorageConfig.VodConfig.{k}" in ctx.target_fields}
    config = {k: v for k, v in vod.items() if k in members}
    body["StorageConfig"] = {"Type": 1, "VodConfig": config}
    ctx.note(
        "$.Vod",
        "$.StorageConfig.VodConfig",
        "renamed",
        "moved into StorageConfig with Type 1 (VOD); VodConfig.Region is left out (its default)",
    )
    ctx.drop_rest(vod, "$.Vod", members, f"VodConfig of {ctx.target} has no such member")
    needed = [
        p.rsplit(".", 1)[1]
        for p, f in ctx.target_fields.items()
        if p.startswith("$.StorageConfig.VodConfig.") and p.count(".") == 3 and f.required
    ]
    for key in needed:
        if key not in config:
            ctx.note(
                f"$.Vod.{key}",
                f"$.StorageConfig.VodConfig.{key}",
                "not_carried",
                f"the body's Vod has no {key}, which VodConfig requires: add it",
            )


def _storage_to_vod(body: dict[str, Any], ctx: Context) -> None:
    if "StorageConfig" not in body:
        return
    storage = body.pop("StorageConfig")
    if "Vod" in body:
        ctx.drop("$.StorageConfig", "the body already has a Vod, which wins; StorageConfig dropped")
        return
    sc = _dict(storage)
    vc = _dict(sc.get("VodConfig")) if sc is not None else None
    if sc is None or sc.get("Type") != 1 or vc is None:
        kind = "not an object" if sc is None else f"storage of Type {sc.get('Type', 0)!r}"
        ctx.drop(
            "$.StorageConfig",
            f"{kind}: {ctx.target} stores files only in VOD (Vod), so "
            "this storage has no counterpart; the files go where the console's storage "
            "settings say, if any: set Vod by hand",
        )
        return
    members = {k for k in vc if f"$.Vod.{k}" in ctx.target_fields}
    body["Vod"] = {k: v for k, v in vc.items() if k in members}
    ctx.note("$.StorageConfig", "$.Vod", "renamed", "its VodConfig moved to Vod (VOD storage)")
    ctx.drop_rest(
        sc,
        "$.StorageConfig",
        {"VodConfig", "Type"},
        f"only the VOD storage (Type 1) has a counterpart in {ctx.target}",
    )
    ctx.drop_rest(
        vc, "$.StorageConfig.VodConfig", members, f"Vod of {ctx.target} has no such member"
    )
    ctx.note("$.StorageConfig.Type", None, "dropped", "Type 1 (VOD) is what Vod means")


# -- file names and formats -------------------------------------------------------------------


def _pattern_to_config(body: dict[str, Any], ctx: Context) -> None:
    if "RecordFileNamePattern" not in body:
        return
    pattern = body.pop("RecordFileNamePattern")
    config = body.setdefault("FileNameConfig", {})
    if _dict(config) is None or "Pattern" in config:
        ctx.drop(
            "$.RecordFileNamePattern",
            "the body already has a FileNameConfig.Pattern, "
            "which wins; RecordFileNamePattern dropped",
        )
        return
    config["Pattern"] = pattern
    ctx.note(
        "$.RecordFileNamePattern",
        "$.FileNameConfig.Pattern",
        "renamed",
        f"moved to FileNameConfig.Pattern; {ctx.target} appends a random suffix to the "
        "names, which the source version may not have done",
    )


def _config_to_pattern(body: dict[str, Any], ctx: Context) -> None:
    if "FileNameConfig" not in body:
        return
    config = body.pop("FileNameConfig")
    if _dict(config) is None or "Pattern" not in config or "RecordFileNamePattern" in body:
        ctx.drop("$.FileNameConfig", f"{ctx.target} names files by RecordFileNamePattern only")
        return
    body["RecordFileNamePattern"] = config["Pattern"]
    ctx.note(
        "$.FileNameConfig",
        "$.RecordFileNamePattern",
        "renamed",
        "its Pattern moved to RecordFileNamePattern",
    )
    ctx.drop_rest(
        config, "$.FileNameConfig", {"Pattern"}, f"{ctx.target} has no file name prefix; dropped"
    )


def _mp4_output(body: dict[str, Any], ctx: Context) -> None:
    if "FileFormatConfig" in body:
        return
    body["FileFormatConfig"] = {"FileFormat": ["MP4"]}
    ctx.note(
        "$",
        "$.FileFormatConfig.FileFormat",
        "added",
        f'{ctx.source} records MP4 only; FileFormat ["MP4"] keeps that output '
        f"(left out, {ctx.target} would leave the format to its default)",
    )


def _drop_formats(body: dict[str, Any], ctx: Context) -> None:
    if "FileFormatConfig" not in body:
        return
    config = body.pop("FileFormatConfig")
    formats = _dict(config) and config.get("FileFormat")
    same = "" if formats == ["MP4"] else ", whatever formats the body asked for"
    ctx.drop(
        "$.FileFormatConfig", f"{ctx.target} has no FileFormatConfig and records MP4 only{same}"
    )


MAPPINGS: tuple[Mapping, ...] = (
    Mapping(
        "vod_to_storage",
        ("$.Vod",),
        ("$.StorageConfig.VodConfig",),
        ("$.Vod",),
        _vod_to_storage,
        renames=(("$.Vod", "$.StorageConfig.VodConfig"),),
    ),
    Mapping(
        "storage_to_vod",
        ("$.StorageConfig.VodConfig",),
        ("$.Vod",),
        ("$.StorageConfig",),
        _storage_to_vod,
        renames=(("$.StorageConfig.VodConfig", "$.Vod"),),
    ),
    Mapping(
        "pattern_to_file_name_config",
        ("$.RecordFileNamePattern",),
        ("$.FileNameConfig.Pattern",),
        ("$.RecordFileNamePattern",),
        _pattern_to_config,
        renames=(("$.RecordFileNamePattern", "$.FileNameConfig.Pattern"),),
    ),
    Mapping(
        "file_name_config_to_pattern",
        ("$.FileNameConfig.Pattern",),
        ("$.RecordFileNamePattern",),
        ("$.FileNameConfig",),
        _config_to_pattern,
        renames=(("$.FileNameConfig.Pattern", "$.RecordFileNamePattern"),),
    ),
    Mapping(
        "mp4_output",
        (),
        ("$.FileFormatConfig.FileFormat",),
        (),
        _mp4_output,
        source_lacks=("$.FileFormatConfig",),
    ),
    Mapping("mp4_only", ("$.FileFormatConfig",), (), ("$.FileFormatConfig",), _drop_formats),
    Mapping(
        "ratio_to_pixel",
        (f"{REGIONS}.WidthProportion",),
        (f"{REGIONS}.Width",),
        (f"{REGIONS}.WidthProportion",),
        ratio_to_pixel,
        renames=(
            (f"{REGIONS}.WidthProportion", f"{REGIONS}.Width"),
            (f"{REGIONS}.HeightProportion", f"{REGIONS}.Height"),
        ),
    ),
    Mapping(
        "pixel_to_ratio",
        (f"{REGIONS}.Width",),
        (f"{REGIONS}.WidthProportion",),
        (f"{REGIONS}.Width",),
        pixel_to_ratio,
        renames=(
            (f"{REGIONS}.Width", f"{REGIONS}.WidthProportion"),
            (f"{REGIONS}.Height", f"{REGIONS}.HeightProportion"),
        ),
    ),
    Mapping(
        "main_video_stream_index",
        ("$.Layout.MainVideoStreamIndex",),
        ("$.Layout.MainVideoStream",),
        ("$.Layout.MainVideoStreamIndex",),
        main_stream_index,
        renames=(("$.Layout.MainVideoStreamIndex", "$.Layout.MainVideoStream"),),
    ),
)
