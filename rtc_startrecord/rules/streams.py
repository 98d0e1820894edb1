"""The stream lists: R12 unique Index, R3 no stream in both lists, R4 no excluded screen stream.

Every version has the same TargetStreams/ExcludeStreams shape. R3 and R4 are documented for
2020-12-01 and not restated later (fact sheet, later versions: R5, U); they stay errors in every
version, because nothing suggests the service relaxed them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import Problem
from ._base import as_int, err, identity, streams


def unique_index(body: dict[str, Any]) -> Iterator[Problem]:
    """R12: Index values are unique within one StreamList."""
    for key in ("TargetStreams", "ExcludeStreams"):
        found = streams(body, key)
        indexes = [s.get("Index") for _, s in found if "Index" in s]
        try:
            if len(set(indexes)) == len(indexes):
                continue  # the common case, decided in one pass
        except TypeError:
            pass  # an unhashable Index: the schema reports it; look closer below
        seen: dict[int, int] = {}
        for i, s in found:
            index = as_int(s.get("Index"))
            if index is None:
                continue
            if index in seen:
                yield err(
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
    targets = {ident: i for i, s in streams(body, "TargetStreams") if (ident := identity(s))}
    for j, s in streams(body, "ExcludeStreams"):
        ident = identity(s)
        if ident is None:
            continue
        if ident in targets:
            yield err(
                f"$.ExcludeStreams.StreamList[{j}]",
                "R3",
                f"stream {ident[0]!r} (StreamType {ident[1]}) is also in "
                f"TargetStreams.StreamList[{targets[ident]}]",
            )
        if ident[1] == 1:
            yield err(
                f"$.ExcludeStreams.StreamList[{j}].StreamType",
                "R4",
                "screen streams (StreamType 1) cannot be excluded",
            )
