"""The errors of `rtc_startrecord.callbacks` (import them from there).

Every one is a `CallbackError` (an `RtcError`). Their messages say what failed and may quote a
short, ``repr``-escaped piece of the input; they never contain the secret. None of them is chained:
``__cause__`` and ``__context__`` are None (they are raised outside of any ``except`` block), so
a low-level exception that saw the secret, or the whole body, never travels with them.
"""

from __future__ import annotations

from ..errors import RtcError

__all__ = [
    "CallbackError",
    "MalformedCallback",
    "SignatureMismatch",
    "StaleEvent",
    "UnexpectedAppId",
    "UnsupportedBody",
]


class CallbackError(RtcError):
    """A callback body was refused. Messages say what failed and never contain the secret."""


class MalformedCallback(CallbackError, ValueError):
    """Not JSON, not an object, a field missing, not a string or not in its documented format,
    EventTime or EventData unreadable."""


class UnsupportedBody(MalformedCallback, TypeError):
    """The body is not bytes, bytearray, memoryview, str or a mapping (also a TypeError)."""


class SignatureMismatch(CallbackError):
    """The Signature does not match the body and the secret (wrong secret, or a tampered field)."""


class StaleEvent(CallbackError):
    """EventTime is too old (a replay) or too far in the future for the freshness window."""


class UnexpectedAppId(CallbackError):
    """A correctly signed, well-formed event for an AppId outside the expected ``app_ids``."""


def snippet(text: str, limit: int = 64) -> str:
    """A short, repr-escaped quotation of input for an error message: lone surrogates and control
    characters come out as escapes, so the message is always printable and encodable."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")
