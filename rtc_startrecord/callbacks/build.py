"""`build_callback_body`: the sending side (the simulator's), re-exported by
`rtc_startrecord.callbacks`."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal

from .envelope import format_problem, signed_values
from .signature import check_secret, signature_of
from .time import format_event_time

__all__ = ["DEFAULT_VERSION", "build_callback_body"]

DEFAULT_VERSION: Final = "2020-12-01"
"""The Version a built callback body carries unless told otherwise (the documented one)."""


def build_callback_body(
    event_type: str,
    data: Mapping[str, Any],
    *,
    app_id: str,
    secret: str,
    event_id: str | None = None,
    event_time: datetime | None = None,
    nonce: str | None = None,
    version: str = DEFAULT_VERSION,
    nonce_key: Literal["Nonce", "Noce"] = "Nonce",
) -> dict[str, str]:
    """A signed callback body, ready for ``json.dumps``; `parse` accepts what this builds.

    ``data`` (PascalCase wire keys) becomes the EventData JSON text. Defaults: EventId a fresh
    uuid4 hex, EventTime now (real clock) in RFC 3339 UTC, Nonce a random 4-digit string.
    ``nonce_key="Noce"`` spells the nonce key the older way. ValueError when ``event_type``,
    ``app_id``, ``event_id``, ``version`` or ``nonce`` is not in its documented format (the
    message quotes the value, so do not pass the secret as one of them).
    """
    check_secret(secret)
    if nonce_key not in ("Nonce", "Noce"):
        raise ValueError(f"nonce_key must be 'Nonce' or 'Noce', not {nonce_key!r}")
    values: dict[str, str] = {
        "EventType": event_type,
        "EventData": json.dumps(
            dict(data), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ),
        "EventTime": format_event_time(datetime.now(UTC) if event_time is None else event_time),
        "EventId": uuid.uuid4().hex if event_id is None else event_id,
        "AppId": app_id,
        "Version": version,
        "Nonce": f"{1000 + secrets.randbelow(9000)}" if nonce is None else nonce,
    }
    for key, value in values.items():
        if not isinstance(value, str):
            raise TypeError(f"{key} must be a str, not {type(value).__name__}")
    values = signed_values(values)  # MalformedCallback (a ValueError) for a lone surrogate
    for key, value in values.items():
        problem = format_problem(key, value)
        if problem is not None:
            raise ValueError(f"cannot build a callback body: {problem}")
    body = {k: v for k, v in values.items() if k != "Nonce"}
    body[nonce_key] = values["Nonce"]
    body["Signature"] = signature_of(values, secret)
    return body
