"""Every error the package raises, and `Problem`, the unit of a validation report.

This module imports nothing else from the package, so every layer may raise these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs

Severity = Literal["error", "warning"]


@attrs.frozen(kw_only=True)
class Problem:
    """One thing wrong with a request body.

    ``path`` is a JSONPath-like location from the wire root (``$.Layout.CustomLayout.Regions[1]``),
    ``rule`` a stable id (``"R3"`` or ``"schema.maxItems"``). Warnings never block a send.
    """

    path: str
    rule: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else " (warning)"
        return f"{self.path}: {self.rule}: {self.message}{tag}"


class RtcError(Exception):
    """Base class of every error this package raises.

    `ambiguous` is a property of the call that raised it: True when any attempt may have reached
    the service (the request was written and then the answer was lost, or a 5xx came back), so
    the action may have run although the call failed. Errors raised before anything was sent
    (RequestInvalid, ClientClosed) are never ambiguous.
    """

    ambiguous: bool = False


class WireFormatError(RtcError, ValueError):
    """A wire dict does not fit the model: wrong types, missing required keys, unknown keys."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(_summarise("wire format", self.problems))


class RequestInvalid(RtcError, ValueError):
    """The request breaks the spec or a documented rule; nothing was sent."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(_summarise("request invalid", self.problems))


class RtcApiError(RtcError):
    """The service answered with ``ResponseMetadata.Error``."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        code_n: int | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        action: str | None = None,
        ambiguous: bool = False,
    ) -> None:
        self.ambiguous = ambiguous
        self.code = code
        self.code_n = code_n
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        self.action = action
        super().__init__(f"{code}: {message} (HTTP {http_status}, RequestId {request_id or '-'})")


class TaskMayAlreadyExist(RtcApiError):
    """A start failed ambiguously, then a retry met the task running: it most likely started.

    `code` is the service's (InvalidParameter.TaskAlreadyExists), or `AlreadyStarted` where the
    version answers a running TaskId with success and an already-started Result (2023-11-01).
    """


class StopMayHaveSucceeded(RtcApiError):
    """A stop failed ambiguously and a retry met ErrorActiveTaskNotFound: it most likely stopped."""


class TransportError(RtcError):
    """The network failed (after the bounded retries), or the answer was not an RTC envelope."""

    def __init__(self, message: str, *, attempts: int = 1, ambiguous: bool = False) -> None:
        self.attempts = attempts
        self.ambiguous = ambiguous
        super().__init__(message)


class UnexpectedResponse(TransportError):
    """An HTTP answer without the RTC envelope (say an HTML 502 from a proxy)."""

    def __init__(
        self, status: int, body_start: bytes, *, attempts: int = 1, ambiguous: bool = False
    ) -> None:
        self.http_status = status
        self.body_start = body_start
        super().__init__(
            f"HTTP {status} without an RTC envelope; body starts {body_start!r}",
            attempts=attempts,
            ambiguous=ambiguous,
        )


class ResponseTooLarge(TransportError):
    """The answer was larger than the client's cap (`max_response_bytes`, after decoding); the
    client stopped reading at the cap and closed the connection."""

    def __init__(self, limit: int, *, attempts: int = 1, ambiguous: bool = True) -> None:
        self.limit = limit
        super().__init__(
            f"the answer exceeds {limit} bytes (max_response_bytes); it was not read further",
            attempts=attempts,
            ambiguous=ambiguous,
        )


class DeadlineExceeded(TransportError, TimeoutError):
    """The call's one deadline (`total_timeout`) passed; `waiting_for` names what was pending:
    "the rate limiter", "connecting", "the answer" or "a retry"."""

    def __init__(
        self, budget: float, waiting_for: str, *, attempts: int = 1, ambiguous: bool = False
    ) -> None:
        self.budget = budget
        self.waiting_for = waiting_for
        super().__init__(
            f"the call's total_timeout of {budget:g} s passed while waiting for {waiting_for}",
            attempts=attempts,
            ambiguous=ambiguous,
        )


class ClientClosed(RtcError):
    """The client (or the one it was copied from with `with_options`) was closed: nothing is
    sent. Build a new client."""


class WaitTimeout(RtcError):
    """`wait_for_task` ran out of time before the task reached the status."""


class TaskEndedEarly(RtcError):
    """`wait_for_task` saw the task end or fail before it reached the status."""


def _summarise(what: str, problems: Sequence[Problem]) -> str:
    lines = [f"{what}: {len(problems)} problem(s)"]
    lines.extend(f"  {p}" for p in problems)
    return "\n".join(lines)


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type (object, array, string, number, boolean, null),
    for messages: users read JSON, not Python's type names."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "value"
