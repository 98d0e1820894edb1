"""What every rule module shares: reading a wire dict that may be malformed, and making Problems.

The checks run on every request a client sends: exact type tests (`type(x) is int` leaves bool
out) and few calls keep them cheap on the valid path; see benchmarks/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..errors import Problem

Check = Callable[[dict[str, Any]], Iterator[Problem]]

EPSILON = 1e-9
NUMBER = frozenset({int, float})
_EMPTY: dict[str, Any] = {}


def obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (the schema reports the type)."""
    return value if type(value) is dict else _EMPTY


def as_list(value: Any) -> list[Any]:
    return value if type(value) is list else []


def as_int(value: Any) -> int | None:
    """An integer as JSON Schema sees one (1.0 counts), else None."""
    t = type(value)
    if t is int:
        return value  # type: ignore[no-any-return]
    if t is float and value.is_integer():
        return int(value)
    return None


def num(value: Any, default: float) -> float:
    t = type(value)
    return value if t is float or t is int else default


def err(path: str, rule: str, message: str) -> Problem:
    return Problem(path=path, rule=rule, message=message)


def warn(path: str, rule: str, message: str) -> Problem:
    return Problem(path=path, rule=rule, message=message, severity="warning")


def streams(body: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    """(position, stream) of each object in `body[key].StreamList`."""
    found = obj(body.get(key)).get("StreamList")
    if type(found) is not list:
        return []
    return [(i, s) for i, s in enumerate(found) if type(s) is dict]


def identity(stream: dict[str, Any]) -> tuple[str, int] | None:
    """(UserId, StreamType) naming a stream, or None when the entry cannot name one."""
    user = stream.get("UserId")
    if type(user) is not str:
        return None
    stype = stream.get("StreamType", 0)
    return (user, stype if type(stype) is int else (as_int(stype) or 0))
