"""The stream lists: R12 unique Index, R3 no stream in both lists, R4 no excluded screen stream.

Every version has the same TargetStreams/ExcludeStreams shape. R3 and R4 are documented for
2020-12-01 and not restated later (fact sheet, later versions: R5, U); they stay errors in every
version, because nothing suggests the service relaxed them.
"""

from __future__ import annotations

from typing import Any

from ._base import Ctx, as_check, as_int, err, identity


def _duplicates(key: str, found: list[tuple[int, dict[str, Any]]], ctx: Ctx) -> None:
    seen: dict[int, int] = {}
    for i, s in found:
        index = as_int(s.get("Index"))
        if index is None:
            continue
        if index in seen:
            ctx.out.append(
                err(
                    f"$.{key}.StreamList[{i}].Index",
                    "R12",
                    f"Index {index} is already used by StreamList[{seen[index]}]",
                )
            )
        else:
            seen[index] = i


def _unique(found: list[tuple[int, dict[str, Any]]]) -> bool:
    """Whether the Index values are all different: the common case, decided in one pass."""
    indexes = [s["Index"] for _, s in found if "Index" in s]
    try:
        return len(set(indexes)) == len(indexes)
    except TypeError:
        return False  # an unhashable Index: the schema reports it; look closer


def _unique_index(ctx: Ctx) -> None:
    """R12: Index values are unique within one StreamList."""
    targets = ctx.targets()
    if len(targets) > 1 and not _unique(targets):
        _duplicates("TargetStreams", targets, ctx)
    if "ExcludeStreams" in ctx.body:
        excludes = ctx.excludes()
        if len(excludes) > 1 and not _unique(excludes):
            _duplicates("ExcludeStreams", excludes, ctx)


def _target_exclude(ctx: Ctx) -> None:
    """R3: no stream in both lists; R4: screen streams cannot be excluded."""
    if "ExcludeStreams" not in ctx.body:
        return
    targets = {ident: i for i, s in ctx.targets() if (ident := identity(s))}
    out = ctx.out
    for j, s in ctx.excludes():
        ident = identity(s)
        if ident is None:
            continue
        if ident in targets:
            out.append(
                err(
                    f"$.ExcludeStreams.StreamList[{j}]",
                    "R3",
                    f"stream {ident[0]!r} (StreamType {ident[1]}) is also in "
                    f"TargetStreams.StreamList[{targets[ident]}]",
                )
            )
        if ident[1] == 1:
            out.append(
                err(
                    f"$.ExcludeStreams.StreamList[{j}].StreamType",
                    "R4",
                    "screen streams (StreamType 1) cannot be excluded",
                )
            )


unique_index = as_check(_unique_index)
target_exclude = as_check(_target_exclude)
