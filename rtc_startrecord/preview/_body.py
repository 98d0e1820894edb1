"""Reading a request body tolerantly for the previews: it may be any JSON, not yet validated."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeGuard

from ..errors import RtcError
from ..rules import listed_streams


class PreviewError(RtcError, ValueError):
    """The body cannot be previewed (e.g. it has no custom layout to draw)."""


def is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def target_streams(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [stream for _, stream in listed_streams(dict(body), "TargetStreams")]
