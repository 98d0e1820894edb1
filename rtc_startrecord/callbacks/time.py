"""EventTime: RFC 3339 parsing and formatting, and the freshness window (internal to
`rtc_startrecord.callbacks`, which re-exports the public names)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from .errors import MalformedCallback, StaleEvent, snippet

__all__ = ["DEFAULT_MAX_AGE", "DEFAULT_MAX_FUTURE", "format_event_time", "parse_event_time"]

DEFAULT_MAX_AGE: Final = 600.0
"""Seconds an event may be old before `parse` refuses it as a replay."""
DEFAULT_MAX_FUTURE: Final = 300.0
"""Seconds an EventTime may be ahead of the local clock (skew) before `parse` refuses it."""

_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def parse_event_time(text: str) -> datetime:
    """Parse an RFC 3339 date-time (``Z`` or a ``±HH:MM`` offset, optional fractional seconds,
    a leap second ``:60`` folded into the next second) to an aware datetime in UTC.
    Raises `MalformedCallback` for anything else (a time without an offset included)."""
    m = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise MalformedCallback(
            f"callback EventTime is not an RFC 3339 date-time: {snippet(str(text))}"
        )
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    zone = m.group(8)
    leap = second == 60
    value: datetime | None = None
    try:
        if zone in ("Z", "z"):
            tz: timezone = UTC
        else:
            sign = 1 if zone[0] == "+" else -1
            offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            tz = timezone(sign * offset)
        value = datetime(year, month, day, hour, minute, 59 if leap else second, micro, tzinfo=tz)
        if leap:
            value += timedelta(seconds=1)
        value = value.astimezone(UTC)
    except (ValueError, OverflowError):
        value = None
    if value is None:  # raised here, not in the except block: no chained context
        raise MalformedCallback(f"callback EventTime is out of range: {snippet(text)}")
    return value


def format_event_time(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z``: ``2026-11-25T03:30:00Z``, or with milliseconds when the
    time has a sub-second part (``2026-11-25T03:30:00.123Z``). Naive datetimes raise ValueError."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("event_time must be timezone-aware")
    utc = value.astimezone(UTC)
    spec = "milliseconds" if utc.microsecond else "seconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def check_limit(name: str, value: float | None) -> None:
    """A freshness limit is None or a non-negative number (ValueError otherwise)."""
    if value is not None and (math.isnan(value) or value < 0):
        raise ValueError(f"{name} must be a non-negative number or None")


def check_fresh(
    event_time: datetime, raw: str, *, now: float, max_age: float | None, max_future: float | None
) -> None:
    """`StaleEvent` when ``event_time`` is outside [now - max_age, now + max_future]."""
    age = now - event_time.timestamp()
    if max_age is not None and age > max_age:
        raise StaleEvent(
            f"callback EventTime {snippet(raw)} is {age:.0f} s old, more than max_age {max_age:g} s"
        )
    if max_future is not None and -age > max_future:
        raise StaleEvent(
            f"callback EventTime {snippet(raw)} is {-age:.0f} s in the future, "
            f"more than max_future {max_future:g} s"
        )
