"""Tests of rtc_startrecord.callbacks: signature (§9), parse, build, dedupe, and the receiver cases
(`RECEIVER_CASES`) every receiver passes, run here against the WSGI app."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol
from wsgiref.util import setup_testing_defaults

import pytest

from rtc_startrecord import callbacks as cb
from rtc_startrecord.errors import RtcError

SECRET = "S3cr3t-Do-Not-Leak-7f2a"
NOW = datetime(2026, 11, 25, 3, 30, 0, tzinfo=UTC)
NOW_TS = NOW.timestamp()

STARTED_DATA: dict[str, Any] = {
    "AppId": "app1",
    "BusinessId": "biz",
    "RoomId": "room1",
    "TaskId": "task1",
    "Code": 0,
}

FILE: dict[str, Any] = {
    "StartTime": 1764041400000,
    "Duration": 60000,
    "Size": 123456,
    "Vid": "",
    "ObjectKey": "rec/room1/task1.mp4",
    "StreamList": [{"UserId": "u1", "StreamType": 0}],
    "VideoCodec": "h264",
    "AudioCodec": "aac",
    "VideoWidth": 640,
    "VideoHeight": 360,
}


def expected_signature(body: Mapping[str, str], secret: str) -> str:
    """§9, written out independently of the code under test."""
    nonce = body["Nonce"] if "Nonce" in body else body["Noce"]
    values = [
        body["EventType"],
        body["EventData"],
        body["EventTime"],
        body["EventId"],
        body["AppId"],
        body["Version"],
        nonce,
        secret,
    ]
    return hashlib.sha256("".join(sorted(values)).encode("utf-8")).hexdigest()


def make_body(
    event_type: str = "RecordStarted",
    data: Any = None,
    *,
    event_time: str = "2026-11-25T03:30:00Z",
    event_data: str | None = None,
    event_id: str = "evt-0001",
    nonce_key: str = "Nonce",
    nonce: str = "4821",
    secret: str = SECRET,
) -> dict[str, str]:
    body = {
        "EventType": event_type,
        "EventData": event_data
        if event_data is not None
        else json.dumps(STARTED_DATA if data is None else data),
        "EventTime": event_time,
        "EventId": event_id,
        "AppId": "app1",
        "Version": "2020-12-01",
        nonce_key: nonce,
    }
    body["Signature"] = expected_signature(body, secret)
    return body


def as_bytes(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Signature


def test_compute_signature_matches_the_documented_algorithm() -> None:
    body = make_body()
    assert cb.compute_signature(body, SECRET) == body["Signature"]
    assert body["Signature"] == body["Signature"].lower()
    assert len(body["Signature"]) == 64


def test_compute_signature_sorts_values_not_keys() -> None:
    # Values chosen so that key order and value order differ.
    fields = {
        "EventType": "zzz",
        "EventData": "aaa",
        "EventTime": "mmm",
        "EventId": "bbb",
        "AppId": "yyy",
        "Version": "ccc",
        "Nonce": "0001",
    }
    joined = "0001aaabbbcccmmmsecretyyyzzz"
    assert cb.compute_signature(fields, "secret") == hashlib.sha256(joined.encode()).hexdigest()


def test_compute_signature_missing_field() -> None:
    body = make_body()
    del body["AppId"]
    with pytest.raises(cb.MalformedCallback, match="AppId"):
        cb.compute_signature(body, SECRET)


@pytest.mark.parametrize("form", ["bytes", "str", "mapping", "bytearray"])
def test_verify_accepts_every_body_form(form: str) -> None:
    body = make_body()
    value: Any = {
        "bytes": as_bytes(body),
        "str": json.dumps(body),
        "mapping": body,
        "bytearray": bytearray(as_bytes(body)),
    }[form]
    assert cb.verify(value, secret=SECRET) is True


@pytest.mark.parametrize(
    "field",
    ["EventType", "EventData", "EventTime", "EventId", "AppId", "Version", "Nonce", "Signature"],
)
def test_each_tampered_field_is_refused(field: str) -> None:
    body = make_body()
    if field == "EventData":
        body[field] = json.dumps({**STARTED_DATA, "Code": 1})
    elif field == "EventTime":
        body[field] = "2026-11-25T03:30:01Z"
    elif field == "Signature":
        body[field] = "0" * 64
    else:
        body[field] = body[field] + "x"
    assert cb.verify(as_bytes(body), secret=SECRET) is False
    assert cb.verify(body, secret=SECRET) is False
    with pytest.raises(cb.SignatureMismatch):
        cb.parse(body, secret=SECRET, now=NOW_TS)


def test_wrong_secret_is_refused() -> None:
    body = make_body()
    assert cb.verify(body, secret=SECRET + "!") is False
    assert cb.verify(body, secret="other") is False
    with pytest.raises(cb.SignatureMismatch) as info:
        cb.parse(body, secret="other", now=NOW_TS)
    assert isinstance(info.value, cb.CallbackError)
    assert isinstance(info.value, RtcError)


def test_uppercase_signature_is_accepted() -> None:
    body = make_body()
    body["Signature"] = body["Signature"].upper()
    assert cb.verify(body, secret=SECRET) is True


@pytest.mark.parametrize("nonce_key", ["Nonce", "Noce"])
def test_both_nonce_spellings(nonce_key: str) -> None:
    body = make_body(nonce_key=nonce_key, nonce="0042")
    assert cb.verify(body, secret=SECRET) is True
    event = cb.parse(body, secret=SECRET, now=NOW_TS)
    assert event.nonce == "0042"
    body[nonce_key] = "0043"
    assert cb.verify(body, secret=SECRET) is False


def test_nonce_wins_over_noce_when_both_present() -> None:
    body = make_body(nonce="1111")
    body["Noce"] = "2222"
    assert cb.verify(body, secret=SECRET) is True


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[]",
        b"null",
        b'"a string"',
        b"{}",
        b"[" * 100000,
        '{"EventType": 1}',
    ],
)
def test_malformed_bodies(raw: bytes | str) -> None:
    assert cb.verify(raw, secret=SECRET) is False
    with pytest.raises(cb.MalformedCallback):
        cb.parse(raw, secret=SECRET, now=NOW_TS)


@pytest.mark.parametrize(
    "field", ["EventType", "EventData", "EventTime", "EventId", "AppId", "Version", "Signature"]
)
def test_missing_or_non_string_field(field: str) -> None:
    body: dict[str, Any] = make_body()
    del body[field]
    assert cb.verify(body, secret=SECRET) is False
    with pytest.raises(cb.MalformedCallback, match=field):
        cb.parse(body, secret=SECRET, now=NOW_TS)
    typed: dict[str, Any] = {**make_body(), field: 12}
    assert cb.verify(typed, secret=SECRET) is False
    with pytest.raises(cb.MalformedCallback, match=field):
        cb.parse(typed, secret=SECRET, now=NOW_TS)


def test_missing_nonce() -> None:
    body = make_body()
    del body["Nonce"]
    assert cb.verify(body, secret=SECRET) is False
    with pytest.raises(cb.MalformedCallback, match="Nonce"):
        cb.parse(body, secret=SECRET, now=NOW_TS)


def test_eventdata_as_object_is_malformed() -> None:
    body: dict[str, Any] = make_body()
    body["EventData"] = STARTED_DATA
    assert cb.verify(body, secret=SECRET) is False
    with pytest.raises(cb.MalformedCallback):
        cb.parse(body, secret=SECRET, now=NOW_TS)


def test_wrong_argument_types() -> None:
    # A body of another type is input like any other: False, or a CallbackError (also a
    # TypeError, as it used to be). A bad secret is a configuration mistake and raises.
    assert cb.verify(123, secret=SECRET) is False  # type: ignore[arg-type]
    with pytest.raises(cb.UnsupportedBody) as info:
        cb.parse(None, secret=SECRET)  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, cb.MalformedCallback)
    with pytest.raises(TypeError):
        cb.verify(b"{}", secret=b"x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        cb.verify(b"{}", secret="")
    with pytest.raises(ValueError, match="surrogate"):
        cb.verify(b"{}", secret="\ud800")


# --------------------------------------------------------------------------------------------
# Time


def test_fresh_event_parses() -> None:
    event = cb.parse(as_bytes(make_body()), secret=SECRET, now=NOW_TS)
    assert event.event_time == NOW
    assert event.event_time.tzinfo is not None


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(-599.0, True), (-601.0, False), (299.0, True), (301.0, False), (-3600 * 24, False)],
)
def test_freshness_window(offset: float, ok: bool) -> None:
    body = make_body()  # EventTime is NOW
    now = NOW_TS - offset  # event is `offset` seconds relative to now
    if ok:
        cb.parse(body, secret=SECRET, now=now)
    else:
        with pytest.raises(cb.StaleEvent) as info:
            cb.parse(body, secret=SECRET, now=now)
        assert ("old" in str(info.value)) == (offset < 0)
        assert ("future" in str(info.value)) == (offset > 0)


def test_freshness_limits_are_configurable_and_can_be_disabled() -> None:
    body = make_body()
    with pytest.raises(cb.StaleEvent):
        cb.parse(body, secret=SECRET, now=NOW_TS + 61, max_age=60)
    cb.parse(body, secret=SECRET, now=NOW_TS + 10**8, max_age=None)
    cb.parse(body, secret=SECRET, now=NOW_TS - 10**8, max_future=None)
    with pytest.raises(ValueError, match="max_age"):
        cb.parse(body, secret=SECRET, max_age=-1)


def test_stale_event_with_bad_signature_is_a_signature_mismatch() -> None:
    body = make_body(event_time="2020-01-01T00:00:00Z", secret="other")
    with pytest.raises(cb.SignatureMismatch):
        cb.parse(body, secret=SECRET, now=NOW_TS)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25T03:30:00Z",
        "2026-11-25T03:30:00z",
        "2026-11-25T03:30:00.000Z",
        "2026-11-25T03:30:00.000000001Z",
        "2026-11-25T11:30:00+08:00",
        "2026-11-24T22:30:00-05:00",
        "2026-11-25 03:30:00+00:00",
        "2026-11-25T03:29:59.5Z",
    ],
)
def test_rfc3339_forms(text: str) -> None:
    value = cb.parse_event_time(text)
    assert value.utcoffset() == timedelta(0)
    assert abs((value - NOW).total_seconds()) < 1
    event = cb.parse(make_body(event_time=text), secret=SECRET, now=NOW_TS)
    assert abs((event.event_time - NOW).total_seconds()) < 1


def test_leap_second() -> None:
    assert cb.parse_event_time("2016-12-31T23:59:60Z") == datetime(2017, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25T03:30:00",  # no offset
        "2026-11-25",
        "20261125T033000Z",
        "2026-13-25T03:30:00Z",
        "2026-11-25T25:30:00Z",
        "yesterday",
        "1764041400",
        "",
    ],
)
def test_bad_event_time_is_malformed(text: str) -> None:
    with pytest.raises(cb.MalformedCallback, match="EventTime"):
        cb.parse_event_time(text)
    with pytest.raises(cb.MalformedCallback, match="EventTime"):
        cb.parse(make_body(event_time=text), secret=SECRET, now=NOW_TS)


def test_format_event_time() -> None:
    assert cb.format_event_time(NOW) == "2026-11-25T03:30:00Z"
    ms = NOW + timedelta(microseconds=123456)
    assert cb.format_event_time(ms) == "2026-11-25T03:30:00.123Z"
    with pytest.raises(ValueError, match="aware"):
        cb.format_event_time(datetime(2026, 1, 1))


# --------------------------------------------------------------------------------------------
# Payloads


def test_record_started() -> None:
    data = {**STARTED_DATA, "Extra": [1, 2]}
    event = cb.parse(make_body(data=data), secret=SECRET, now=NOW_TS)
    assert event.event_type == "RecordStarted"
    assert event.event_id == "evt-0001"
    assert event.app_id == "app1"
    assert event.version == "2020-12-01"
    assert event.data == cb.RecordStarted(
        app_id="app1", business_id="biz", room_id="room1", task_id="task1", code=0
    )
    assert json.loads(event.raw_event_data) == data


def test_record_started_failure_and_absent_business_id() -> None:
    data = {"AppId": "a", "RoomId": "r", "TaskId": "t", "Code": 1, "ErrorMessage": "boom"}
    event = cb.parse(make_body(data=data), secret=SECRET, now=NOW_TS)
    assert isinstance(event.data, cb.RecordStarted)
    assert event.data.code == 1
    assert event.data.error_message == "boom"
    assert event.data.business_id is None


@pytest.mark.parametrize(
    "data",
    [
        {"AppId": "a", "RoomId": "r", "TaskId": "t"},  # no Code
        {"AppId": "a", "RoomId": "r", "TaskId": "t", "Code": "0"},
        {"AppId": "a", "RoomId": "r", "TaskId": "t", "Code": True},
        {"AppId": "a", "RoomId": "r", "Code": 0},
        [1, 2],
    ],
)
def test_record_started_wrong_shape_is_malformed(data: Any) -> None:
    with pytest.raises(cb.MalformedCallback, match="RecordStarted"):
        cb.parse(make_body(data=data), secret=SECRET, now=NOW_TS)


@pytest.mark.parametrize("event_data", ["not json", "{", "", "{'a': 1}"])
def test_eventdata_not_json_is_malformed(event_data: str) -> None:
    body = make_body(event_data=event_data)
    assert cb.verify(body, secret=SECRET) is True  # signature is fine; the payload is not
    with pytest.raises(cb.MalformedCallback, match="EventData"):
        cb.parse(body, secret=SECRET, now=NOW_TS)


def test_record_stopped() -> None:
    data = {
        "AppId": "app1",
        "BusinessId": "",
        "RoomId": "room1",
        "TaskId": "task1",
        "StopReason": "StopByAPI",
        "StartTime": 1764041400000,
        "EndTime": 1764041460000,
        "RecordFileList": [FILE],
        "Unknown": {"x": 1},
    }
    event = cb.parse(make_body("RecordStopped", data), secret=SECRET, now=NOW_TS)
    assert event.data == cb.RecordStopped(
        app_id="app1",
        business_id="",
        room_id="room1",
        task_id="task1",
        stop_reason="StopByAPI",
        start_time=1764041400000,
        end_time=1764041460000,
        record_file_list=[FILE],
    )


@pytest.mark.parametrize(
    ("event_type", "cls"),
    [
        ("RecordUploadStarted", cb.RecordUploadStarted),
        ("RecordUploadProcessing", cb.RecordUploadProcessing),
        ("RecordUploadDone", cb.RecordUploadDone),
        ("RecordUploadBackuped", cb.RecordUploadBackuped),
    ],
)
def test_upload_events(event_type: str, cls: type[cb.RecordUpload]) -> None:
    data = {"AppId": "app1", "RoomId": "room1", "TaskId": "task1", "File": FILE, "More": 1}
    event = cb.parse(make_body(event_type, data), secret=SECRET, now=NOW_TS)
    assert type(event.data) is cls
    assert isinstance(event.data, cb.RecordUpload)
    assert event.data.file == FILE
    assert event.data.task_id == "task1"
    assert event.data.business_id is None


def test_unconfirmed_event_with_unexpected_shape_is_generic(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = {"AppId": "app1", "Something": "else"}
    with caplog.at_level(logging.WARNING, logger="rtc_startrecord.callbacks"):
        event = cb.parse(make_body("RecordStopped", data), secret=SECRET, now=NOW_TS)
    assert event.data == cb.GenericEventData(payload=data)
    assert "unconfirmed" in caplog.text


@pytest.mark.parametrize("payload", [{"Anything": [1, {"x": None}]}, [1, 2], "text", 3, None])
def test_unknown_event_type_is_generic(payload: Any) -> None:
    body = make_body("SomeFutureEvent", event_data=json.dumps(payload))
    event = cb.parse(body, secret=SECRET, now=NOW_TS)
    assert event.event_type == "SomeFutureEvent"
    assert event.data == cb.GenericEventData(payload=payload)


def test_to_json_dict_is_serialisable() -> None:
    event = cb.parse(make_body(), secret=SECRET, now=NOW_TS)
    out = event.to_json_dict()
    assert json.loads(json.dumps(out)) == out
    assert out["payload_type"] == "RecordStarted"
    assert out["data"]["task_id"] == "task1"
    assert out["event_time"] == "2026-11-25T03:30:00Z"


# --------------------------------------------------------------------------------------------
# Build


def test_build_callback_body_defaults() -> None:
    body = cb.build_callback_body("RecordStarted", STARTED_DATA, app_id="app1", secret=SECRET)
    assert set(body) == {
        "EventType",
        "EventData",
        "EventTime",
        "EventId",
        "AppId",
        "Version",
        "Nonce",
        "Signature",
    }
    assert all(isinstance(v, str) for v in body.values())
    assert body["Signature"] == expected_signature(body, SECRET)
    assert len(body["EventId"]) == 32
    assert int(body["EventId"], 16) >= 0
    assert len(body["Nonce"]) == 4
    assert body["Nonce"].isdigit()
    assert body["Version"] == "2020-12-01"
    assert body["EventTime"].endswith("Z")
    assert json.loads(body["EventData"]) == STARTED_DATA
    event = cb.parse(as_bytes(body), secret=SECRET)  # real clock
    assert isinstance(event.data, cb.RecordStarted)
    other = cb.build_callback_body("RecordStarted", STARTED_DATA, app_id="app1", secret=SECRET)
    assert other["EventId"] != body["EventId"]


def test_build_callback_body_explicit() -> None:
    body = cb.build_callback_body(
        "RecordUploadDone",
        {"AppId": "app1", "RoomId": "r", "TaskId": "t", "File": FILE},
        app_id="app1",
        secret=SECRET,
        event_id="e1",
        event_time=NOW + timedelta(milliseconds=250),
        nonce="0007",
        nonce_key="Noce",
    )
    assert body["EventId"] == "e1"
    assert body["EventTime"] == "2026-11-25T03:30:00.250Z"
    assert body["Noce"] == "0007"
    assert "Nonce" not in body
    assert body["Signature"] == expected_signature(body, SECRET)
    event = cb.parse(body, secret=SECRET, now=NOW_TS)
    assert isinstance(event.data, cb.RecordUploadDone)


# --------------------------------------------------------------------------------------------
# Dedupe


def test_deduplicator_basic() -> None:
    d = cb.Deduplicator()
    assert d.check_and_add("a") is False
    assert d.check_and_add("a") is True
    assert "a" in d
    assert "b" not in d
    assert len(d) == 1
    d.discard("a")
    assert "a" not in d
    assert d.check_and_add("a") is False


def test_deduplicator_eviction_bound() -> None:
    d = cb.Deduplicator(max_size=3)
    for i in range(10):
        assert d.check_and_add(f"id{i}") is False
        assert len(d) <= 3
    assert len(d) == 3
    assert "id0" not in d
    assert all(f"id{i}" in d for i in (7, 8, 9))
    # A re-seen id becomes the most recent: id7 survives, id8 goes.
    assert d.check_and_add("id7") is True
    d.check_and_add("new")
    assert "id7" in d
    assert "id8" not in d


def test_deduplicator_rejects_bad_size() -> None:
    with pytest.raises(ValueError, match="max_size"):
        cb.Deduplicator(max_size=0)


def test_deduplicator_threads() -> None:
    d = cb.Deduplicator()
    barrier = threading.Barrier(16)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        r = d.check_and_add("same-id")
        with lock:
            results.append(r)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 16
    assert results.count(False) == 1
    assert len(d) == 1


# Receivers: the cases every receiver must pass (WSGI here, ASGI in test_callbacks_asgi.py)

Answer = tuple[str, Mapping[str, str], bytes]  # status line, headers, body


class Receiving(Protocol):
    """How a receiver case reaches a receiver: ``make`` builds one (the arguments of
    `make_wsgi_app`), ``call`` delivers one request to it. ``content_length`` None sends the body's
    length, "" none at all; a declared length above the body's leaves the body short."""

    def make(self, handler: Callable[[cb.Event], object], **kw: Any) -> Any: ...

    def call(
        self,
        app: Any,
        body: bytes = b"",
        *,
        method: str = "POST",
        content_length: str | None = None,
    ) -> Answer: ...


def call_app(
    app: Callable[..., Any],
    body: bytes = b"",
    *,
    method: str = "POST",
    content_length: str | None = None,
    environ: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, str], bytes]:
    env: dict[str, Any] = {}
    setup_testing_defaults(env)
    env["REQUEST_METHOD"] = method
    env["wsgi.input"] = io.BytesIO(body)
    env["CONTENT_LENGTH"] = str(len(body)) if content_length is None else content_length
    env["CONTENT_TYPE"] = "application/json"
    env.update(environ or {})
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"] = status
        captured["headers"] = dict(headers)
        return lambda _data: None

    out = b"".join(app(env, start_response))
    return captured["status"], captured["headers"], out


class Wsgi:
    """`Receiving` for the WSGI app, called in-process."""

    def make(self, handler: Callable[[cb.Event], object], **kw: Any) -> Any:
        return cb.make_wsgi_app(handler, **kw)

    def call(
        self,
        app: Any,
        body: bytes = b"",
        *,
        method: str = "POST",
        content_length: str | None = None,
    ) -> Answer:
        return call_app(app, body, method=method, content_length=content_length)


def fresh_body(event_id: str = "evt-w1", **kwargs: Any) -> bytes:
    return as_bytes(
        cb.build_callback_body(
            "RecordStarted", STARTED_DATA, app_id="app1", secret=SECRET, event_id=event_id, **kwargs
        )
    )


@contextmanager
def receiver_logs() -> Iterator[list[logging.LogRecord]]:
    """Every record of the callbacks' logger (DEBUG and up, from any thread) while inside."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log = logging.getLogger("rtc_startrecord.callbacks")
    handler, level = Collect(logging.DEBUG), log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def case_ok_and_duplicate(r: Receiving) -> None:
    got: list[cb.Event] = []
    app = r.make(got.append, secret=SECRET)
    body = fresh_body()
    status, headers, out = r.call(app, body)
    assert status.startswith("200")
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(out))
    assert json.loads(out) == {"ok": True}
    assert len(got) == 1
    assert isinstance(got[0].data, cb.RecordStarted)
    # The same delivery again, and a re-signed delivery with the same EventId.
    for again in (body, fresh_body()):
        status, _, out = r.call(app, again)
        assert status.startswith("200")
        assert json.loads(out) == {"ok": True, "duplicate": True}
    assert len(got) == 1
    assert "evt-w1" in app.dedupe


def case_shared_deduplicator(r: Receiving) -> None:
    dedupe = cb.Deduplicator(max_size=5)
    calls: list[str] = []
    app = r.make(lambda e: calls.append(e.event_id), secret=SECRET, dedupe=dedupe)
    assert app.dedupe is dedupe
    dedupe.add("pre-seen")
    status, _, _ = r.call(app, fresh_body("pre-seen"))
    assert status.startswith("200")
    assert calls == []


def case_bad_signature_401(r: Receiving) -> None:
    got: list[cb.Event] = []
    app = r.make(got.append, secret=SECRET)
    body = cb.build_callback_body("RecordStarted", STARTED_DATA, app_id="app1", secret="other")
    status, _, out = r.call(app, as_bytes(body))
    assert status.startswith("401")
    assert json.loads(out)["error"] == "SignatureMismatch"
    assert got == []


def case_unexpected_app_id_403(r: Receiving) -> None:
    got: list[cb.Event] = []
    app = r.make(got.append, secret=SECRET, app_ids={"someone-else"})
    status, _, out = r.call(app, fresh_body())
    assert status.startswith("403")
    assert json.loads(out)["error"] == "UnexpectedAppId"
    assert got == []


def case_400(r: Receiving, body: bytes, error: str) -> None:
    got: list[cb.Event] = []
    app = r.make(got.append, secret=SECRET)
    status, _, out = r.call(app, body)
    assert status.startswith("400")
    answer = json.loads(out)
    assert answer["ok"] is False
    assert answer["error"] == error
    assert answer["message"]
    assert SECRET not in out.decode()
    assert got == []


def case_405(r: Receiving, method: str) -> None:
    app = r.make(lambda e: None, secret=SECRET)
    status, headers, out = r.call(app, method=method)
    assert status.startswith("405")
    assert headers["Allow"] == "POST"
    if method != "HEAD":
        assert json.loads(out)["error"] == "MethodNotAllowed"


def case_too_large_413(r: Receiving) -> None:
    got: list[cb.Event] = []
    app = r.make(got.append, secret=SECRET, max_body=100)
    status, _, out = r.call(app, fresh_body())
    assert status.startswith("413")
    assert json.loads(out)["error"] == "TooLarge"
    big = r.make(got.append, secret=SECRET)
    status, _, _ = r.call(big, b"", content_length=str(2 * 1024 * 1024))
    assert status.startswith("413")
    assert got == []


def case_content_length_problems(r: Receiving) -> None:
    app = r.make(lambda e: None, secret=SECRET)
    assert r.call(app, b"{}", content_length="")[0].startswith("411")
    for length in ("abc", "-5", "1_0", "+2", "١٢", "9" * 40, " 2 x"):
        assert r.call(app, b"{}", content_length=length)[0].startswith("400"), length
    status, _, out = r.call(app, b"{}", content_length="10")  # short body
    assert status.startswith("400")
    assert json.loads(out)["error"] == "BadRequest"


def case_handler_failure_then_retry(r: Receiving) -> None:
    calls: list[str] = []
    fail = [True]

    def handler(event: cb.Event) -> None:
        calls.append(event.event_id)
        if fail[0]:
            raise RuntimeError("database down")

    app = r.make(handler, secret=SECRET)
    body = fresh_body("evt-retry")
    status, _, out = r.call(app, body)
    assert status.startswith("500")
    assert json.loads(out)["error"] == "HandlerFailed"
    assert b"database down" not in out
    assert "evt-retry" not in app.dedupe
    fail[0] = False
    status, _, _ = r.call(app, body)
    assert status.startswith("200")
    assert calls == ["evt-retry", "evt-retry"]
    status, _, _ = r.call(app, body)
    assert status.startswith("200")
    assert calls == ["evt-retry", "evt-retry"]


class FlakyStore(cb.Deduplicator):
    """A `Deduplicator` whose backend fails on demand (``fail_contains``: claim; ``fail_add``:
    complete)."""

    fail_contains = True
    fail_add = False

    def __contains__(self, event_id: object) -> bool:
        if self.fail_contains:
            raise ConnectionError("redis down")
        return super().__contains__(event_id)

    def add(self, event_id: str) -> None:
        if self.fail_add:
            raise ConnectionError("redis down")
        super().add(event_id)


def case_failing_deduplicator(r: Receiving) -> None:
    dedupe = FlakyStore()
    calls: list[str] = []
    app = r.make(lambda e: calls.append(e.event_id), secret=SECRET, dedupe=dedupe)
    status, headers, out = r.call(app, fresh_body())
    assert status.startswith("503")
    assert headers["Retry-After"] == "1"
    assert json.loads(out)["error"] == "DedupeUnavailable"
    assert calls == []
    dedupe.fail_contains, dedupe.fail_add = False, True
    assert r.call(app, fresh_body())[0].startswith("200")  # processed; recording it failed
    dedupe.fail_add = False
    assert r.call(app, fresh_body())[0].startswith("200")  # not stuck "in progress" (409)
    assert calls == ["evt-w1", "evt-w1"]


def case_concurrent_duplicates_call_handler_once(r: Receiving) -> None:
    calls: list[str] = []
    lock = threading.Lock()
    release = threading.Event()

    def handler(event: cb.Event) -> None:
        with lock:
            calls.append(event.event_id)
        release.wait(5)

    app = r.make(handler, secret=SECRET)
    body = fresh_body("evt-conc")
    statuses: list[str] = []

    def deliver() -> None:
        status, _, _ = r.call(app, body)
        with lock:
            statuses.append(status)

    first = threading.Thread(target=deliver)
    first.start()
    deadline = time.monotonic() + 5
    while not calls:  # wait until the first delivery is inside the handler
        assert time.monotonic() < deadline
        time.sleep(0.01)
    status, headers, out = r.call(app, body)  # arrives while the first is in flight
    assert status.startswith("409")
    assert headers["Retry-After"] == "1"
    assert json.loads(out)["error"] == "InProgress"
    release.set()
    first.join()
    assert statuses[0].startswith("200")
    assert r.call(app, body)[0].startswith("200")
    assert calls == ["evt-conc"]


def case_configuration(r: Receiving) -> None:
    with pytest.raises(ValueError, match="AppId"):
        r.make(lambda e: None, secret=SECRET, app_ids={"my app"})
    with pytest.raises(ValueError, match="max_body"):
        r.make(lambda e: None, secret=SECRET, max_body=0)
    with pytest.raises(ValueError, match="max_age"):
        r.make(lambda e: None, secret=SECRET, max_age=-1)
    with pytest.raises(ValueError, match="empty"):
        r.make(lambda e: None, secret="")
    app = r.make(lambda e: None, secret=SECRET, app_ids=("a", "b"))
    assert app.app_ids == frozenset({"a", "b"})
    assert SECRET not in repr(app)


HOSTILE_BODIES = [
    b"",
    b"\xff\xfe\x00junk",
    b"[" * 100000,
    b"1" * 5000,
    b'{"a": NaN}',
    b'{"EventType": 1}',
    as_bytes(make_body(event_data="nope")),
    json.dumps({**make_body(), "EventId": "e\udfff"}).encode(),  # a lone surrogate
    as_bytes(make_body(event_id="evt 1")),  # correctly signed, not the ID format
]


def case_no_body_gets_a_5xx(r: Receiving) -> None:
    app = r.make(lambda e: None, secret=SECRET, max_age=None, max_future=None)
    with receiver_logs() as records:
        for body in HOSTILE_BODIES:
            status, _, out = r.call(app, body)
            assert status[:3] in ("400", "401", "403", "413"), (status, body[:40])
            assert json.loads(out)["ok"] is False
            assert SECRET not in out.decode()
    assert [r.getMessage() for r in records if r.levelno >= logging.ERROR] == []


def case_secret_never_leaks(r: Receiving) -> None:
    texts: list[str] = []
    with receiver_logs() as records:

        def boom(event: cb.Event) -> None:
            raise RuntimeError("handler failed")

        app = r.make(boom, secret=SECRET)
        texts.append(repr(app))
        for body in (
            fresh_body(),
            as_bytes(make_body(secret="other")),
            b"junk",
            fresh_body(event_time=datetime(2000, 1, 1, tzinfo=UTC)),
        ):
            texts.append(r.call(app, body)[2].decode())
        ok = r.make(lambda e: None, secret=SECRET)
        texts.append(r.call(ok, fresh_body("x1"))[2].decode())
        texts.append(r.call(ok, fresh_body("x1"))[2].decode())
    texts += [rec.getMessage() for rec in records]
    texts += [logging.Formatter().format(rec) for rec in records]  # tracebacks included
    assert records  # something was logged
    for text in texts:
        assert SECRET not in text


RECEIVER_CASES = [
    pytest.param(case_ok_and_duplicate, id="ok_and_duplicate"),
    pytest.param(case_shared_deduplicator, id="shared_deduplicator"),
    pytest.param(case_bad_signature_401, id="bad_signature_401"),
    pytest.param(case_unexpected_app_id_403, id="unexpected_app_id_403"),
    *(
        pytest.param(partial(case_400, body=body, error=error), id=f"400-{name}")
        for name, body, error in [
            ("not_json", b"not json", "MalformedCallback"),
            ("empty_object", b"{}", "MalformedCallback"),
            ("lone_surrogate", HOSTILE_BODIES[7], "MalformedCallback"),
            ("old", fresh_body(event_time=datetime.now(UTC) - timedelta(hours=1)), "StaleEvent"),
            ("future", fresh_body(event_time=datetime.now(UTC) + timedelta(hours=1)), "StaleEvent"),
        ]
    ),
    *(
        pytest.param(partial(case_405, method=method), id=f"405-{method}")
        for method in ["GET", "PUT", "DELETE", "HEAD"]
    ),
    pytest.param(case_too_large_413, id="too_large_413"),
    pytest.param(case_content_length_problems, id="content_length_problems"),
    pytest.param(case_handler_failure_then_retry, id="handler_failure_then_retry"),
    pytest.param(case_failing_deduplicator, id="failing_deduplicator"),
    pytest.param(case_concurrent_duplicates_call_handler_once, id="concurrent_duplicates"),
    pytest.param(case_configuration, id="configuration"),
    pytest.param(case_no_body_gets_a_5xx, id="no_body_gets_a_5xx"),
    pytest.param(case_secret_never_leaks, id="secret_never_leaks"),
]
"""The receiver cases: each a function of a `Receiving` (tests/test_callbacks_asgi.py runs them
against the ASGI app behind uvicorn)."""


@pytest.mark.parametrize("case", RECEIVER_CASES)
def test_wsgi_receiver(case: Callable[[Receiving], None]) -> None:
    case(Wsgi())


def test_wsgi_reads_a_terminated_body_without_content_length() -> None:
    app = cb.make_wsgi_app(lambda e: None, secret=SECRET)
    terminated = {"wsgi.input_terminated": True}
    status, _, out = call_app(app, fresh_body(), content_length="", environ=terminated)
    assert status == "200 OK", out


# --------------------------------------------------------------------------------------------
# The secret never leaks


def test_secret_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="rtc_startrecord.callbacks"):
        event = cb.parse(make_body(), secret=SECRET, now=NOW_TS)
        texts += [repr(event), str(event), repr(event.data), json.dumps(event.to_json_dict())]
        bad_inputs: list[Any] = [
            make_body(secret="other"),
            make_body(event_time="2000-01-01T00:00:00Z"),
            make_body(event_data="nope"),
            make_body(event_time="bad"),
            b"junk",
            {"EventType": "x"},
        ]
        for bad in bad_inputs:
            with pytest.raises(cb.CallbackError) as info:
                cb.parse(bad, secret=SECRET, now=NOW_TS)
            texts += [str(info.value), repr(info.value)]
    texts.append(caplog.text)
    texts += [r.getMessage() for r in caplog.records]
    for text in texts:
        assert SECRET not in text
    # ... nor in a receiver's answers and logs: RECEIVER_CASES' secret_never_leaks.
