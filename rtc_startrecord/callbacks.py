"""Recording callbacks (message notifications): verify, parse, build, dedupe, receive over WSGI.

RTC POSTs a JSON body to the URL configured in the console (fact sheet §9)::

    {"EventType": "RecordStarted", "EventData": "{\\"AppId\\": ...}", "EventTime": "...Z",
     "EventId": "...", "AppId": "...", "Version": "2020-12-01", "Nonce": "1234",
     "Signature": "<hex>"}

``EventData`` is JSON *text* inside the JSON body. The signature is plain SHA-256 (not HMAC) over
the values of EventType, EventData, EventTime, EventId, AppId, Version, Nonce and the secret key,
sorted as strings ascending and concatenated. Older documents spell the nonce key ``Noce``; both
are accepted (``Nonce`` wins when a body carries both).

Payload shapes: only ``RecordStarted`` is documented (BytePlus 75125). ``RecordStopped`` and the
upload events are UNCONFIRMED (open question 7): their typed payloads are the shapes the simulator
sends. Because a verified event is authentic, an unconfirmed event whose EventData does not fit the
guessed shape is not refused: it comes back as `GenericEventData` (with a warning in the log), and
so does any unknown EventType. Unknown extra keys in EventData are always tolerated.

Freshness: `parse` refuses an event whose EventTime is more than ``max_age`` seconds old (default
600 s) or more than ``max_future`` seconds ahead of the local clock (default 300 s, for clock skew);
either check is off when its limit is None.

The secret never appears in an error message, a repr or a log record of this module.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from rtc_startrecord.errors import RtcError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_FUTURE",
    "SIGNED_FIELDS",
    "Body",
    "CallbackApp",
    "CallbackError",
    "Deduplicator",
    "Event",
    "EventPayload",
    "GenericEventData",
    "MalformedCallback",
    "RecordStarted",
    "RecordStopped",
    "RecordUpload",
    "RecordUploadBackuped",
    "RecordUploadDone",
    "RecordUploadProcessing",
    "RecordUploadStarted",
    "SignatureMismatch",
    "StaleEvent",
    "build_callback_body",
    "compute_signature",
    "format_event_time",
    "make_wsgi_app",
    "parse",
    "parse_event_time",
    "verify",
]

logger = logging.getLogger("rtc_startrecord.callbacks")

DEFAULT_MAX_AGE: Final = 600.0
"""Seconds an event may be old before `parse` refuses it as a replay."""
DEFAULT_MAX_FUTURE: Final = 300.0
"""Seconds an EventTime may be ahead of the local clock (skew) before `parse` refuses it."""
DEFAULT_MAX_BODY: Final = 1024 * 1024
"""Largest request body `make_wsgi_app` reads; larger ones get 413."""
DEFAULT_VERSION: Final = "2020-12-01"

SIGNED_FIELDS: Final = ("EventType", "EventData", "EventTime", "EventId", "AppId", "Version")
"""Body keys whose values are signed, besides the nonce (``Nonce`` or ``Noce``) and the secret."""
_NONCE_KEYS: Final = ("Nonce", "Noce")

Body = bytes | bytearray | memoryview | str | Mapping[str, Any]


# --------------------------------------------------------------------------------------------
# Errors


class CallbackError(RtcError):
    """A callback body was refused. Messages say what failed and never contain the secret."""


class MalformedCallback(CallbackError, ValueError):
    """Not JSON, not an object, a field missing or not a string, EventTime/EventData unreadable."""


class SignatureMismatch(CallbackError):
    """The Signature does not match the body and the secret (wrong secret, or a tampered field)."""


class StaleEvent(CallbackError):
    """EventTime is too old (a replay) or too far in the future for the freshness window."""


# --------------------------------------------------------------------------------------------
# Payloads (EventData, decoded)


@attrs.frozen(kw_only=True)
class RecordStarted:
    """EventData of ``RecordStarted`` (documented, BytePlus 75125).

    ``code`` is ``0`` when the task started and ``1`` when it failed; ``error_message`` is set
    when ``code`` is not ``0``. ``business_id`` is None when the key is absent.
    """

    app_id: str
    business_id: str | None
    room_id: str
    task_id: str
    code: int
    error_message: str | None = None


@attrs.frozen(kw_only=True)
class RecordStopped:
    """EventData of ``RecordStopped``. UNCONFIRMED: the shape the simulator sends (open question 7).

    Wire keys: AppId, BusinessId, RoomId, TaskId, StopReason (as GetRecordTask: ``StopByAPI``,
    ``IdleTimeOut``, ...), StartTime and EndTime (Unix ms), RecordFileList (GetRecordTask's
    RecordFile wire dicts: StartTime, Duration, Size, Vid, ObjectKey, StreamList, VideoCodec,
    AudioCodec, VideoWidth, VideoHeight).
    """

    app_id: str
    business_id: str | None
    room_id: str
    task_id: str
    stop_reason: str
    start_time: int
    end_time: int
    record_file_list: list[dict[str, Any]]


@attrs.frozen(kw_only=True)
class RecordUpload:
    """EventData of the upload events. UNCONFIRMED: the shape the simulator sends (open question 7).

    Wire keys: AppId, BusinessId, RoomId, TaskId, File (one RecordFile wire dict, as in
    GetRecordTask). Each upload EventType decodes to its own subclass, so
    ``isinstance(data, RecordUpload)`` matches all four.
    """

    app_id: str
    business_id: str | None
    room_id: str
    task_id: str
    file: dict[str, Any]


@attrs.frozen(kw_only=True)
class RecordUploadStarted(RecordUpload):
    """EventData of ``RecordUploadStarted`` (UNCONFIRMED; the `RecordUpload` shape)."""


@attrs.frozen(kw_only=True)
class RecordUploadProcessing(RecordUpload):
    """EventData of ``RecordUploadProcessing`` (UNCONFIRMED; the `RecordUpload` shape)."""


@attrs.frozen(kw_only=True)
class RecordUploadDone(RecordUpload):
    """EventData of ``RecordUploadDone`` (UNCONFIRMED; the `RecordUpload` shape)."""


@attrs.frozen(kw_only=True)
class RecordUploadBackuped(RecordUpload):
    """EventData of ``RecordUploadBackuped`` (UNCONFIRMED; the `RecordUpload` shape)."""


@attrs.frozen(kw_only=True)
class GenericEventData:
    """EventData of an unknown EventType, or of an unconfirmed one that did not fit its guessed
    shape: the decoded JSON value as it came."""

    payload: Any


# RecordUpload covers its four subclasses.
EventPayload = RecordStarted | RecordStopped | RecordUpload | GenericEventData


@attrs.frozen(kw_only=True)
class Event:
    """A verified, fresh callback. ``event_time`` is timezone-aware, converted to UTC."""

    event_type: str
    event_id: str
    event_time: datetime
    app_id: str
    version: str
    nonce: str
    data: EventPayload
    raw_event_data: str

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for printing): the envelope fields, the payload class name and the
        payload's fields (snake_case; a `GenericEventData` gives its decoded value)."""
        data: Any = (
            self.data.payload
            if isinstance(self.data, GenericEventData)
            else attrs.asdict(self.data, recurse=False)
        )
        return {
            "event_type": self.event_type,
            "event_id": self.event_id,
            "event_time": format_event_time(self.event_time),
            "app_id": self.app_id,
            "version": self.version,
            "nonce": self.nonce,
            "payload_type": type(self.data).__name__,
            "data": data,
        }


# --------------------------------------------------------------------------------------------
# Signature


def compute_signature(fields: Mapping[str, str], secret: str) -> str:
    """The §9 signature of a callback body: lowercase hex SHA-256.

    ``fields`` holds at least EventType, EventData, EventTime, EventId, AppId, Version and the
    nonce under ``Nonce`` or ``Noce`` (other keys, such as Signature, are ignored). The eight values
    (the seven and ``secret``) are sorted as strings ascending, concatenated and hashed as UTF-8.
    Raises `MalformedCallback` when a field is missing or not a string.
    """
    _check_secret(secret)
    values = [_signed_value(fields, key) for key in SIGNED_FIELDS]
    values.append(_nonce_of(fields))
    values.append(secret)
    values.sort()
    return hashlib.sha256("".join(values).encode("utf-8")).hexdigest()


def verify(body: Body, *, secret: str) -> bool:
    """True iff ``body`` (raw bytes, str, or a parsed mapping) carries a valid Signature.

    Never raises for a bad body (not JSON, fields missing, ...): that is simply False. Raises
    TypeError only when ``body`` or ``secret`` has the wrong type, ValueError for an empty secret.
    The comparison is constant-time. Freshness is not checked here; `parse` does that.
    """
    _check_body_type(body)
    _check_secret(secret)
    try:
        fields = _load_body(body)
        _check_signature(fields, secret)
    except CallbackError:
        return False
    return True


def _check_signature(fields: Mapping[str, Any], secret: str) -> None:
    provided = fields.get("Signature")
    if not isinstance(provided, str):
        raise MalformedCallback(
            "callback body: field 'Signature' is missing"
            if provided is None
            else "callback body: field 'Signature' is not a string"
        )
    expected = compute_signature(fields, secret)
    if not hmac.compare_digest(
        expected.encode("ascii"), provided.lower().encode("utf-8", "replace")
    ):
        raise SignatureMismatch(
            "callback signature does not match the body (wrong secret or a tampered field)"
        )


def _signed_value(fields: Mapping[str, Any], key: str) -> str:
    value = fields.get(key)
    if value is None:
        raise MalformedCallback(f"callback body: field {key!r} is missing")
    if not isinstance(value, str):
        raise MalformedCallback(
            f"callback body: field {key!r} is not a string (got {type(value).__name__})"
        )
    return value


def _nonce_of(fields: Mapping[str, Any]) -> str:
    for key in _NONCE_KEYS:
        if key in fields:
            return _signed_value(fields, key)
    raise MalformedCallback("callback body: field 'Nonce' (or 'Noce') is missing")


def _check_secret(secret: object) -> None:
    if not isinstance(secret, str):
        raise TypeError(f"secret must be a str, not {type(secret).__name__}")
    if not secret:
        raise ValueError("secret must not be empty")


def _check_body_type(body: object) -> None:
    if not isinstance(body, bytes | bytearray | memoryview | str | Mapping):
        raise TypeError(f"body must be bytes, str or a mapping, not {type(body).__name__}")


def _load_body(body: Body) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        fields: object = body
    else:
        if isinstance(body, bytes | bytearray | memoryview):
            try:
                text = bytes(body).decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise MalformedCallback(f"callback body is not UTF-8: {exc.reason}") from None
        else:
            text = body
        try:
            fields = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise MalformedCallback(f"callback body is not JSON: {_json_reason(exc)}") from None
    if not isinstance(fields, Mapping):
        raise MalformedCallback(f"callback body is not a JSON object (got {type(fields).__name__})")
    if not all(isinstance(k, str) for k in fields):
        raise MalformedCallback("callback body has a non-string key")
    return fields


def _json_reason(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return type(exc).__name__


# --------------------------------------------------------------------------------------------
# Time

_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def parse_event_time(text: str) -> datetime:
    """Parse an RFC 3339 date-time (``Z`` or a ``±HH:MM`` offset, optional fractional seconds,
    a leap second ``:60`` folded into the next second) to an aware datetime in UTC.
    Raises `MalformedCallback` for anything else (a time without an offset included)."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise MalformedCallback(f"callback EventTime is not an RFC 3339 date-time: {text[:64]!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    zone = m.group(8)
    leap = second == 60
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
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise MalformedCallback(f"callback EventTime is out of range: {text[:64]!r}") from None


def format_event_time(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z``: ``2026-11-25T03:30:00Z``, or with milliseconds when the
    time has a sub-second part (``2026-11-25T03:30:00.123Z``). Naive datetimes raise ValueError."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("event_time must be timezone-aware")
    utc = value.astimezone(UTC)
    spec = "milliseconds" if utc.microsecond else "seconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _check_limit(name: str, value: float | None) -> None:
    if value is not None and (math.isnan(value) or value < 0):
        raise ValueError(f"{name} must be a non-negative number or None")


def _check_fresh(
    event_time: datetime, raw: str, *, now: float, max_age: float | None, max_future: float | None
) -> None:
    age = now - event_time.timestamp()
    if max_age is not None and age > max_age:
        raise StaleEvent(
            f"callback EventTime {raw[:64]!r} is {age:.0f} s old, more than max_age {max_age:g} s"
        )
    if max_future is not None and -age > max_future:
        raise StaleEvent(
            f"callback EventTime {raw[:64]!r} is {-age:.0f} s in the future, "
            f"more than max_future {max_future:g} s"
        )


# --------------------------------------------------------------------------------------------
# Parse

_UPLOAD_TYPES: Final[dict[str, type[RecordUpload]]] = {
    "RecordUploadStarted": RecordUploadStarted,
    "RecordUploadProcessing": RecordUploadProcessing,
    "RecordUploadDone": RecordUploadDone,
    "RecordUploadBackuped": RecordUploadBackuped,
}


class _Shape(Exception):
    """EventData does not fit the expected payload shape (internal)."""


def _get_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _Shape(f"EventData.{key} is {'missing' if value is None else 'not a string'}")
    return value


def _get_opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _Shape(f"EventData.{key} is not a string")
    return value


def _get_int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Shape(f"EventData.{key} is {'missing' if value is None else 'not an integer'}")
    return value


def _get_file(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Shape(f"{where} is {'missing' if value is None else 'not an object'}")
    return value


def _decode_payload(event_type: str, decoded: Any) -> EventPayload:
    if event_type == "RecordStarted":
        try:
            if not isinstance(decoded, dict):
                raise _Shape("EventData is not a JSON object")
            return RecordStarted(
                app_id=_get_str(decoded, "AppId"),
                business_id=_get_opt_str(decoded, "BusinessId"),
                room_id=_get_str(decoded, "RoomId"),
                task_id=_get_str(decoded, "TaskId"),
                code=_get_int(decoded, "Code"),
                error_message=_get_opt_str(decoded, "ErrorMessage"),
            )
        except _Shape as exc:
            raise MalformedCallback(f"RecordStarted callback: {exc}") from None
    try:
        if event_type == "RecordStopped":
            if not isinstance(decoded, dict):
                raise _Shape("EventData is not a JSON object")
            files = decoded.get("RecordFileList")
            if files is None:
                files = []
            if not isinstance(files, list):
                raise _Shape("EventData.RecordFileList is not an array")
            return RecordStopped(
                app_id=_get_str(decoded, "AppId"),
                business_id=_get_opt_str(decoded, "BusinessId"),
                room_id=_get_str(decoded, "RoomId"),
                task_id=_get_str(decoded, "TaskId"),
                stop_reason=_get_str(decoded, "StopReason"),
                start_time=_get_int(decoded, "StartTime"),
                end_time=_get_int(decoded, "EndTime"),
                record_file_list=[
                    _get_file(f, f"EventData.RecordFileList[{i}]") for i, f in enumerate(files)
                ],
            )
        upload_cls = _UPLOAD_TYPES.get(event_type)
        if upload_cls is not None:
            if not isinstance(decoded, dict):
                raise _Shape("EventData is not a JSON object")
            return upload_cls(
                app_id=_get_str(decoded, "AppId"),
                business_id=_get_opt_str(decoded, "BusinessId"),
                room_id=_get_str(decoded, "RoomId"),
                task_id=_get_str(decoded, "TaskId"),
                file=_get_file(decoded.get("File"), "EventData.File"),
            )
    except _Shape as exc:
        logger.warning(
            "callback %r: EventData does not fit the unconfirmed payload shape (%s); "
            "returning GenericEventData",
            event_type[:64],
            exc,
        )
    return GenericEventData(payload=decoded)


def parse(
    body: Body,
    *,
    secret: str,
    max_age: float | None = DEFAULT_MAX_AGE,
    max_future: float | None = DEFAULT_MAX_FUTURE,
    now: float | None = None,
) -> Event:
    """Verify, check freshness and decode a callback body into an `Event`.

    Order: body JSON and field presence (`MalformedCallback`), signature (`SignatureMismatch`),
    EventTime format (`MalformedCallback`) and window (`StaleEvent`: older than ``max_age`` or more
    than ``max_future`` seconds ahead of ``now``, default ``time.time()``; None turns a check off),
    then EventData (`MalformedCallback` when it is not JSON, or when a ``RecordStarted`` payload
    lacks a documented field). Dedupe on ``event.event_id`` yourself, or use `Deduplicator`.
    """
    _check_body_type(body)
    _check_secret(secret)
    _check_limit("max_age", max_age)
    _check_limit("max_future", max_future)
    fields = _load_body(body)
    _check_signature(fields, secret)  # also checks every signed field is present and a string
    event_type = fields["EventType"]
    raw_time = fields["EventTime"]
    raw_data = fields["EventData"]
    event_time = parse_event_time(raw_time)
    _check_fresh(
        event_time,
        raw_time,
        now=time.time() if now is None else now,
        max_age=max_age,
        max_future=max_future,
    )
    try:
        decoded = json.loads(raw_data)
    except (ValueError, RecursionError) as exc:
        raise MalformedCallback(
            f"callback EventData is not JSON text: {_json_reason(exc)}"
        ) from None
    return Event(
        event_type=event_type,
        event_id=fields["EventId"],
        event_time=event_time,
        app_id=fields["AppId"],
        version=fields["Version"],
        nonce=_nonce_of(fields),
        data=_decode_payload(event_type, decoded),
        raw_event_data=raw_data,
    )


# --------------------------------------------------------------------------------------------
# Build (the simulator's side)


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
    """A signed callback body, ready for ``json.dumps``.

    ``data`` (PascalCase wire keys) becomes the EventData JSON text. Defaults: EventId a fresh
    uuid4 hex, EventTime now (real clock) in RFC 3339 UTC, Nonce a random 4-digit string.
    ``nonce_key="Noce"`` spells the nonce key the older way.
    """
    _check_secret(secret)
    body: dict[str, str] = {
        "EventType": event_type,
        "EventData": json.dumps(dict(data), ensure_ascii=False, separators=(",", ":")),
        "EventTime": format_event_time(datetime.now(UTC) if event_time is None else event_time),
        "EventId": uuid.uuid4().hex if event_id is None else event_id,
        "AppId": app_id,
        "Version": version,
        nonce_key: f"{1000 + secrets.randbelow(9000)}" if nonce is None else nonce,
    }
    body["Signature"] = compute_signature(body, secret)
    return body


# --------------------------------------------------------------------------------------------
# Dedupe


class Deduplicator:
    """A bounded, thread-safe set of seen EventIds; the least recently seen are evicted first."""

    def __init__(self, max_size: int = 10000) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValueError("max_size must be a positive integer")
        self._max_size = max_size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def max_size(self) -> int:
        return self._max_size

    def check_and_add(self, event_id: str) -> bool:
        """True if ``event_id`` was already seen (it becomes the most recent); otherwise record
        it and return False. Atomic: of N concurrent calls with one new id, exactly one is False."""
        with self._lock:
            if event_id in self._ids:
                self._ids.move_to_end(event_id)
                return True
            self._insert(event_id)
            return False

    def add(self, event_id: str) -> None:
        """Record ``event_id`` as seen (most recent)."""
        with self._lock:
            if event_id in self._ids:
                self._ids.move_to_end(event_id)
            else:
                self._insert(event_id)

    def discard(self, event_id: str) -> None:
        """Forget ``event_id`` (say its processing failed and a retry should be processed)."""
        with self._lock:
            self._ids.pop(event_id, None)

    def _insert(self, event_id: str) -> None:
        self._ids[event_id] = None
        while len(self._ids) > self._max_size:
            self._ids.popitem(last=False)

    def __contains__(self, event_id: object) -> bool:
        with self._lock:
            return event_id in self._ids

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    def __repr__(self) -> str:
        return f"Deduplicator(max_size={self._max_size}, size={len(self)})"


# --------------------------------------------------------------------------------------------
# WSGI receiver

_STATUS: Final = {
    200: "200 OK",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    405: "405 Method Not Allowed",
    409: "409 Conflict",
    411: "411 Length Required",
    413: "413 Content Too Large",
    500: "500 Internal Server Error",
}


class CallbackApp:
    """The WSGI app `make_wsgi_app` returns (see there). ``dedupe`` is its `Deduplicator`."""

    def __init__(
        self,
        handler: Callable[[Event], object],
        *,
        secret: str,
        max_age: float | None,
        max_future: float | None,
        dedupe: Deduplicator,
        max_body: int,
    ) -> None:
        _check_secret(secret)
        _check_limit("max_age", max_age)
        _check_limit("max_future", max_future)
        self.handler = handler
        self.dedupe = dedupe
        self.max_age = max_age
        self.max_future = max_future
        self.max_body = max_body
        self.__secret = secret
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()

    def __repr__(self) -> str:
        return (
            f"CallbackApp(handler={self.handler!r}, max_age={self.max_age!r}, "
            f"max_future={self.max_future!r}, dedupe={self.dedupe!r})"
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        status, payload, extra = self._respond(environ)
        data = json.dumps(payload).encode("utf-8")
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            *extra,
        ]
        start_response(_STATUS[status], headers)
        return [data]

    def _respond(
        self, environ: WSGIEnvironment
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method != "POST":
            return (
                405,
                _err("MethodNotAllowed", f"method {method} not allowed; use POST"),
                [("Allow", "POST")],
            )
        body = self._read_body(environ)
        if isinstance(body, tuple):
            return body[0], body[1], []
        try:
            event = parse(
                body, secret=self.__secret, max_age=self.max_age, max_future=self.max_future
            )
        except SignatureMismatch as exc:
            logger.warning("callback refused (401): %s", exc)
            return 401, _err(type(exc).__name__, str(exc)), []
        except CallbackError as exc:
            logger.warning("callback refused (400): %s", exc)
            return 400, _err(type(exc).__name__, str(exc)), []

        eid = event.event_id
        with self._lock:
            if eid in self.dedupe:
                duplicate, busy = True, False
            elif eid in self._in_flight:
                duplicate, busy = False, True
            else:
                duplicate, busy = False, False
                self._in_flight.add(eid)
        if duplicate:
            logger.info("callback %r %r: duplicate, already processed", event.event_type, eid)
            return 200, {"ok": True, "duplicate": True}, []
        if busy:
            logger.info("callback %r %r: already being processed", event.event_type, eid)
            return (
                409,
                _err("InProgress", f"event {eid} is being processed; retry later"),
                [("Retry-After", "1")],
            )
        try:
            self.handler(event)
        except Exception:
            logger.exception("callback %r %r: handler failed", event.event_type, eid)
            with self._lock:
                self._in_flight.discard(eid)
            return 500, _err("HandlerFailed", "the callback handler failed"), []
        with self._lock:
            self.dedupe.add(eid)
            self._in_flight.discard(eid)
        logger.info("callback %r %r: processed", event.event_type, eid)
        return 200, {"ok": True}, []

    def _read_body(self, environ: WSGIEnvironment) -> bytes | tuple[int, dict[str, Any]]:
        stream = environ.get("wsgi.input")
        raw_length = str(environ.get("CONTENT_LENGTH") or "").strip()
        if raw_length:
            try:
                length = int(raw_length)
            except ValueError:
                length = -1
            if length < 0:
                return 400, _err("BadRequest", "invalid Content-Length")
            if length > self.max_body:
                logger.warning("callback refused (413): body of %d bytes", length)
                return 413, _err("TooLarge", f"body larger than {self.max_body} bytes")
        elif environ.get("wsgi.input_terminated"):
            length = self.max_body + 1
        else:
            return 411, _err("LengthRequired", "Content-Length required")
        chunks: list[bytes] = []
        got = 0
        while stream is not None and got < length:
            chunk = stream.read(length - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > self.max_body:
            return 413, _err("TooLarge", f"body larger than {self.max_body} bytes")
        if raw_length and got < length:
            return 400, _err("BadRequest", "body shorter than Content-Length")
        return b"".join(chunks)


def _err(error: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": error, "message": message}


def make_wsgi_app(
    handler: Callable[[Event], object],
    *,
    secret: str,
    max_age: float | None = DEFAULT_MAX_AGE,
    max_future: float | None = DEFAULT_MAX_FUTURE,
    dedupe: Deduplicator | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> CallbackApp:
    """A WSGI app receiving RTC callbacks; ``handler`` is called once per verified, fresh event.

    Answers (JSON bodies ``{"ok": ..., "error": ..., "message": ...}``; never the secret):
    405 with ``Allow: POST`` for other methods; 411 without Content-Length (unless the server
    sets ``wsgi.input_terminated``); 413 for bodies over ``max_body`` bytes (1 MiB); 401 on
    `SignatureMismatch`; 400 on `MalformedCallback` or `StaleEvent`; 200 without calling the
    handler for an EventId already processed; 409 with ``Retry-After`` while the same EventId is
    being handled by another request; 200 after ``handler`` returns; 500 when it raises — the event
    is then not marked as seen, so the service's retry is processed. ``dedupe`` defaults to a new
    `Deduplicator` (10000 ids), reachable as ``app.dedupe``.
    """
    return CallbackApp(
        handler,
        secret=secret,
        max_age=max_age,
        max_future=max_future,
        dedupe=Deduplicator() if dedupe is None else dedupe,
        max_body=max_body,
    )
