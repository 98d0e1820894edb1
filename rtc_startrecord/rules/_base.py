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


class Ctx:
    """One body being checked: what several rules read, looked up once, and the problems found.

    `validation.validate_wire` makes one per call and hands it to every rule of the action in
    turn (`Runner`s append to `out`, in the order they are reported); a `Check` is a runner
    wrapped for a single call (`as_check`). Rules only read the body, never change it.
    """

    __slots__ = ("_excludes", "_targets", "body", "control", "encode", "out")

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.out: list[Problem] = []
        self.control = obj(body.get("Control"))
        self.encode = obj(body.get("Encode"))
        self._targets: list[tuple[int, dict[str, Any]]] | None = None
        self._excludes: list[tuple[int, dict[str, Any]]] | None = None

    def targets(self) -> list[tuple[int, dict[str, Any]]]:
        """`streams(body, "TargetStreams")`, read once."""
        found = self._targets
        if found is None:
            found = self._targets = streams(self.body, "TargetStreams")
        return found

    def excludes(self) -> list[tuple[int, dict[str, Any]]]:
        """`streams(body, "ExcludeStreams")`, read once."""
        found = self._excludes
        if found is None:
            found = self._excludes = streams(self.body, "ExcludeStreams")
        return found


Runner = Callable[[Ctx], None]


def as_check(run: Runner, name: str | None = None) -> Check:
    """The `Check` of one runner: a body in, its problems out (in the runner's order)."""

    def check(body: dict[str, Any]) -> Iterator[Problem]:
        ctx = Ctx(body)
        run(ctx)
        return iter(ctx.out)

    check.__name__ = check.__qualname__ = name or run.__name__.lstrip("_")
    check.__doc__ = run.__doc__
    return check


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
