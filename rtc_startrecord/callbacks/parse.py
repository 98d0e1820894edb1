"""`verify` and `parse`: the receiving side's two entry points (see `rtc_startrecord.callbacks`,
which re-exports them and documents what the checks can and cannot catch)."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterable
from datetime import datetime

from .envelope import (
    Body,
    expected_app_ids,
    format_problem,
    load_body,
    nonce_key,
    signed_values,
)
from .errors import (
    CallbackError,
    MalformedCallback,
    UnexpectedAppId,
    snippet,
)
from .payloads import Event, decode_payload
from .signature import check_secret, check_signature
from .time import (
    DEFAULT_MAX_AGE,
    DEFAULT_MAX_FUTURE,
    check_fresh,
    check_limit,
    parse_event_time,
)

__all__ = ["parse", "verify"]

logger = logging.getLogger("rtc_startrecord.callbacks")

_SIGNED_BUT = (
    "; the signature matched, so this is a format this package does not know, or a forged body "
    "whose characters were moved between fields"
)


def _authentic(
    body: object, secret: str, app_ids: frozenset[str] | None
) -> tuple[dict[str, str], datetime]:
    """The signed values and EventTime of an authentic, well-formed body, else a CallbackError.

    Order: the body and the presence and type of every signed field (`MalformedCallback`), the
    signature (`SignatureMismatch`), then each field's documented format (`MalformedCallback`)
    and the AppId (`UnexpectedAppId`).
    """
    fields = load_body(body)
    values = signed_values(fields)
    check_signature(fields, values, secret)
    for key in ("EventType", "EventId", "AppId", "Version", "Nonce"):
        name = nonce_key(fields) if key == "Nonce" else key  # as the body spells it
        problem = format_problem(name, values[key])
        if problem is not None:
            raise MalformedCallback(f"callback body: {problem}{_SIGNED_BUT}")
    event_time = parse_event_time(values["EventTime"])
    if app_ids is not None and values["AppId"] not in app_ids:
        raise UnexpectedAppId(
            f"callback AppId {snippet(values['AppId'])} is not one this receiver expects "
            f"({len(app_ids)} expected)"
        )
    return values, event_time


def _where(exc: BaseException) -> str:
    """Where an unexpected exception came from (type, file and line; never its message)."""
    frames = traceback.extract_tb(exc.__traceback__)
    place = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{place}"


def verify(body: Body, *, secret: str, app_ids: Iterable[str] | None = None) -> bool:
    """True iff ``body`` (raw bytes, str, or a parsed mapping) carries a valid Signature, every
    envelope field has its documented format, and (with ``app_ids``) AppId is one of them.

    Never raises for any body at all (not JSON, fields missing, lone surrogates, another type,
    ...): that is simply False. Raises TypeError or ValueError only for a bad ``secret`` or
    ``app_ids`` (configuration, checked first). The comparison is constant-time. Freshness and
    EventData are not checked here; `parse` does that.
    """
    check_secret(secret)
    ids = expected_app_ids(app_ids)
    try:
        _authentic(body, secret, ids)
    except CallbackError:
        return False
    except Exception as exc:  # defence in depth: a bug of ours must still refuse the body
        logger.error("callback verify: unexpected %s; refusing the body", _where(exc))
        return False
    return True


def parse(
    body: Body,
    *,
    secret: str,
    max_age: float | None = DEFAULT_MAX_AGE,
    max_future: float | None = DEFAULT_MAX_FUTURE,
    now: float | None = None,
    app_ids: Iterable[str] | None = None,
) -> Event:
    """Verify, check freshness and decode a callback body into an `Event`.

    Order: the body's type (`UnsupportedBody`, a `MalformedCallback` and a TypeError), JSON and
    the presence and type of each signed field (`MalformedCallback`), the signature
    (`SignatureMismatch`), each envelope field's documented format (`MalformedCallback`), AppId
    against ``app_ids`` when given (`UnexpectedAppId`), the freshness window (`StaleEvent`: older
    than ``max_age`` or more than ``max_future`` seconds ahead of ``now``, default
    ``time.time()``; None turns a check off), then EventData (`MalformedCallback` when it is not
    JSON, or when a ``RecordStarted`` payload lacks a documented field).

    For any body at all, only a `CallbackError` is raised, never chained; TypeError or
    ValueError only for a bad ``secret``, ``max_age``, ``max_future``, ``now`` or ``app_ids``.
    Dedupe on ``event.event_id`` yourself, or use `Deduplicator`.
    """
    check_secret(secret)
    check_limit("max_age", max_age)
    check_limit("max_future", max_future)
    ids = expected_app_ids(app_ids)
    if now is not None and (isinstance(now, bool) or not isinstance(now, int | float)):
        raise TypeError(f"now must be a number of seconds or None, not {type(now).__name__}")
    where: str | None = None
    try:
        values, event_time = _authentic(body, secret, ids)
        check_fresh(
            event_time,
            values["EventTime"],
            now=time.time() if now is None else now,
            max_age=max_age,
            max_future=max_future,
        )
        return Event(
            event_type=values["EventType"],
            event_id=values["EventId"],
            event_time=event_time,
            app_id=values["AppId"],
            version=values["Version"],
            nonce=values["Nonce"],
            data=decode_payload(values["EventType"], values["EventData"]),
            raw_event_data=values["EventData"],
        )
    except CallbackError:
        raise
    except Exception as exc:  # defence in depth: a bug of ours is still a refused body
        where = _where(exc)
    logger.error("callback parse: unexpected %s; refusing the body", where)
    raise MalformedCallback(f"callback body could not be parsed (unexpected {where})")
