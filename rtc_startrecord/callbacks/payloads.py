"""Callback payloads (EventData, decoded) and the `Event` that carries one.

Internal to `rtc_startrecord.callbacks` (which re-exports every public name). Only
``RecordStarted`` is documented (BytePlus 75125); ``RecordStopped`` and the upload events are
UNCONFIRMED (open question 7): their classes are the shapes the simulator sends, and a verified
event whose EventData does not fit the guessed shape comes back as `GenericEventData`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from .envelope import loads_json
from .errors import MalformedCallback, snippet
from .time import format_event_time

__all__ = [
    "KNOWN_EVENT_TYPES",
    "Event",
    "EventPayload",
    "GenericEventData",
    "RecordStarted",
    "RecordStopped",
    "RecordUpload",
    "RecordUploadBackuped",
    "RecordUploadDone",
    "RecordUploadProcessing",
    "RecordUploadStarted",
]

logger = logging.getLogger("rtc_startrecord.callbacks")


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
# Decoding

_UPLOAD_TYPES: Final[dict[str, type[RecordUpload]]] = {
    "RecordUploadStarted": RecordUploadStarted,
    "RecordUploadProcessing": RecordUploadProcessing,
    "RecordUploadDone": RecordUploadDone,
    "RecordUploadBackuped": RecordUploadBackuped,
}

KNOWN_EVENT_TYPES: Final = frozenset({"RecordStarted", "RecordStopped", *_UPLOAD_TYPES})
"""The EventTypes with a typed payload; any other well-formed one gives `GenericEventData`."""


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


def _object(decoded: Any) -> dict[str, Any]:
    if not isinstance(decoded, dict):
        raise _Shape("EventData is not a JSON object")
    return decoded


def _typed_payload(event_type: str, decoded: Any) -> EventPayload | None:
    """The typed payload of a known EventType, None for an unknown one; `_Shape` when it does
    not fit."""
    if event_type == "RecordStarted":
        data = _object(decoded)
        return RecordStarted(
            app_id=_get_str(data, "AppId"),
            business_id=_get_opt_str(data, "BusinessId"),
            room_id=_get_str(data, "RoomId"),
            task_id=_get_str(data, "TaskId"),
            code=_get_int(data, "Code"),
            error_message=_get_opt_str(data, "ErrorMessage"),
        )
    if event_type == "RecordStopped":
        data = _object(decoded)
        files = data.get("RecordFileList")
        if files is None:
            files = []
        if not isinstance(files, list):
            raise _Shape("EventData.RecordFileList is not an array")
        return RecordStopped(
            app_id=_get_str(data, "AppId"),
            business_id=_get_opt_str(data, "BusinessId"),
            room_id=_get_str(data, "RoomId"),
            task_id=_get_str(data, "TaskId"),
            stop_reason=_get_str(data, "StopReason"),
            start_time=_get_int(data, "StartTime"),
            end_time=_get_int(data, "EndTime"),
            record_file_list=[
                _get_file(f, f"EventData.RecordFileList[{i}]") for i, f in enumerate(files)
            ],
        )
    upload_cls = _UPLOAD_TYPES.get(event_type)
    if upload_cls is not None:
        data = _object(decoded)
        return upload_cls(
            app_id=_get_str(data, "AppId"),
            business_id=_get_opt_str(data, "BusinessId"),
            room_id=_get_str(data, "RoomId"),
            task_id=_get_str(data, "TaskId"),
            file=_get_file(data.get("File"), "EventData.File"),
        )
    return None


def decode_payload(event_type: str, raw_event_data: str) -> EventPayload:
    """EventData (JSON text) as the payload of ``event_type``.

    `MalformedCallback` when it is not JSON, or when a ``RecordStarted`` payload (the documented
    one) does not fit; an unconfirmed payload that does not fit, or an unknown EventType, gives
    `GenericEventData` (with a warning in the log for the former).
    """
    decoded = loads_json(raw_event_data, "callback EventData")
    problem: str | None = None
    try:
        payload = _typed_payload(event_type, decoded)
    except _Shape as exc:
        payload, problem = None, str(exc)
    if problem is not None:
        if event_type == "RecordStarted":
            raise MalformedCallback(f"RecordStarted callback: {problem}")
        logger.warning(
            "callback %s: EventData does not fit the unconfirmed payload shape (%s); "
            "returning GenericEventData",
            snippet(event_type),
            problem,
        )
    return GenericEventData(payload=decoded) if payload is None else payload
