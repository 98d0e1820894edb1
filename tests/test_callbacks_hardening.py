"""Hardening of rtc_startrecord.callbacks: lone surrogates and the secret, field-shifting forgery
(format checks, ``app_ids``), any input at all (hypothesis), and a WSGI receiver that never
answers a request body with a 5xx."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtc_startrecord import callbacks as cb
from rtc_startrecord.spec import API_VERSIONS

# Sorts after every other value of the bodies below (but before EventData's "{"), so the values
# next to each other in the signed concatenation are all public: what a forger needs.
SECRET = "zzTopSecret-4f1c9e"
NOW_TS = datetime(2026, 11, 25, 3, 30, 0, tzinfo=UTC).timestamp()
DATA = {"AppId": "myapp", "RoomId": "room1", "TaskId": "task1", "Code": 0}

SIGNED_KEYS = ("EventType", "EventData", "EventTime", "EventId", "AppId", "Version", "Nonce")


def signature(body: Mapping[str, str], secret: str = SECRET) -> str:
    """§9 written out independently; ``surrogatepass`` so it can sign anything at all."""
    nonce = body["Nonce"] if "Nonce" in body else body["Noce"]
    values = [*(body[k] for k in SIGNED_KEYS[:-1]), nonce, secret]
    joined = "".join(sorted(values)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(joined).hexdigest()


def signed(**fields: str) -> dict[str, str]:
    body = {
        "EventType": "RecordStarted",
        "EventData": json.dumps(DATA),
        "EventTime": "2026-11-25T03:30:00Z",
        "EventId": "evt-0001",
        "AppId": "myapp",
        "Version": "2020-12-01",
        "Nonce": "4821",
    }
    body.update(fields)
    body["Signature"] = signature(body)
    return body


def concatenation(body: Mapping[str, str], secret: str = SECRET) -> str:
    return "".join(sorted([*(body[k] for k in SIGNED_KEYS), secret]))


def forge(body: Mapping[str, str], **changes: str) -> dict[str, str]:
    """``body`` with fields changed and its Signature kept; asserts the signature still holds."""
    forged = {**body, **changes}
    assert concatenation(forged) == concatenation(body)  # the premise: same signed string
    assert cb.compute_signature(forged, SECRET) == body["Signature"]
    return forged


def chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [e.__cause__, e.__context__]


def texts(exc: BaseException) -> list[str]:
    """Everything an exception (and what it chains) shows or carries, as text."""
    out = ["".join(traceback.format_exception(exc))]
    for e in chain(exc):
        out += [str(e), repr(e), repr(e.args), repr(vars(e))]
        for attr in ("object", "doc", "msg", "reason"):  # UnicodeError / JSONDecodeError
            out.append(repr(getattr(e, attr, None)))
    return out


def assert_no_secret(exc: BaseException, secret: str = SECRET) -> None:
    for text in texts(exc):
        assert secret not in text
    assert exc.__cause__ is None
    assert exc.__context__ is None


def raised_by_parse(body: Any, **kw: Any) -> cb.CallbackError:
    with pytest.raises(cb.CallbackError) as info:
        cb.parse(body, secret=SECRET, now=NOW_TS, **kw)
    return info.value


# --------------------------------------------------------------------------------------------
# Lone surrogates and the secret


@pytest.mark.parametrize("field", [*SIGNED_KEYS, "Noce", "Signature"])
@pytest.mark.parametrize("form", ["bytes", "str", "mapping"])
def test_lone_surrogate_is_refused_and_the_secret_is_not_in_the_error(
    field: str, form: str
) -> None:
    body: dict[str, str] = signed()
    if field == "Noce":
        body["Noce"] = body.pop("Nonce")
    body[field] = "\ud800" if field != "EventData" else '{"A": "\ud800"}'
    text = json.dumps(body)  # ensure_ascii: the JSON holds the escape \ud800
    assert "\\ud800" in text
    value: Any = {"bytes": text.encode(), "str": text, "mapping": json.loads(text)}[form]
    assert cb.verify(value, secret=SECRET) is False
    exc = raised_by_parse(value)
    assert_no_secret(exc)
    if field != "Signature":
        assert isinstance(exc, cb.MalformedCallback)
        assert "surrogate" in str(exc)


def test_lone_surrogate_through_compute_signature_and_wsgi() -> None:
    body = signed(EventId="e\udfff")
    with pytest.raises(cb.MalformedCallback) as info:
        cb.compute_signature(body, SECRET)
    assert_no_secret(info.value)
    status, out = post(cb.make_wsgi_app(lambda e: None, secret=SECRET), json.dumps(body).encode())
    assert status.startswith("400")
    assert SECRET not in out


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"\xff\xfe", b'{"a": NaN}', b"[" * 100000, b"1" * 5000, b'{"a":1,"a":2}'],
)
def test_errors_are_not_chained(raw: bytes) -> None:
    # `raise ... from None` would still keep __context__ (a JSONDecodeError holds the whole body).
    exc = raised_by_parse(raw)
    assert isinstance(exc, cb.MalformedCallback)
    assert_no_secret(exc)


def test_mapping_whose_code_raises_is_malformed() -> None:
    class Hostile(Mapping[str, str]):
        def __getitem__(self, key: str) -> str:
            raise RuntimeError(SECRET)  # even if it carried a secret, it does not travel

        def __iter__(self) -> Iterator[str]:
            return iter(["EventType"])

        def __len__(self) -> int:
            return 1

    assert cb.verify(Hostile(), secret=SECRET) is False
    assert_no_secret(raised_by_parse(Hostile()))


# --------------------------------------------------------------------------------------------
# Field-shifting forgery


def test_forgery_moving_a_digit_into_the_nonce_is_refused_by_its_format() -> None:
    # Sorted: 2020-12-01 | 2026-...Z | 4821 | 99c0ffee | RecordStarted | myapp | <secret> | {...}
    body = signed(EventId="99c0ffee")
    cb.parse(body, secret=SECRET, now=NOW_TS)
    forged = forge(body, Nonce="48219", EventId="9c0ffee")  # a new EventId: dedupe misses it
    assert cb.verify(forged, secret=SECRET) is False
    exc = raised_by_parse(forged)
    assert isinstance(exc, cb.MalformedCallback)
    assert "Nonce" in str(exc) and "signature matched" in str(exc)


def test_forgery_moving_the_nonce_into_event_time_is_refused_by_its_format() -> None:
    body = signed()
    forged = forge(body, EventTime="2026-11-25T03:30:00Z4", Nonce="821")
    assert cb.verify(forged, secret=SECRET) is False
    assert "EventTime" in str(raised_by_parse(forged))


def test_forgery_between_event_id_and_app_id_is_refused_by_app_ids() -> None:
    # The example: the first character of AppId moved to the end of EventId.
    body = signed()
    forged = forge(body, EventId="evt-0001m", AppId="yapp")
    # Both values keep the ID format, so only app_ids can tell (the documented limit).
    assert cb.parse(forged, secret=SECRET, now=NOW_TS).event_id == "evt-0001m"
    assert cb.verify(forged, secret=SECRET, app_ids={"myapp"}) is False
    exc = raised_by_parse(forged, app_ids={"myapp"})
    assert isinstance(exc, cb.UnexpectedAppId)
    assert cb.parse(body, secret=SECRET, now=NOW_TS, app_ids=["myapp"]).app_id == "myapp"
    # ... and through the receiver: 403, the handler not called.
    got: list[cb.Event] = []
    app = cb.make_wsgi_app(got.append, secret=SECRET, app_ids={"myapp"}, max_age=None)
    assert post(app, json.dumps(forged).encode())[0].startswith("403")
    assert got == []


def test_forgery_into_an_unknown_event_type_is_not_a_typed_payload() -> None:
    # Not preventable by formats (a new EventType is allowed): the handler sees no RecordStarted.
    body = signed(EventId="Rz9")
    forged = forge(body, EventType="RecordStarte", EventId="dRz9")
    event = cb.parse(forged, secret=SECRET, now=NOW_TS)
    assert isinstance(event.data, cb.GenericEventData)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("EventType", "recordStarted"),
        ("EventType", "Record Started"),
        ("EventType", "R" * 65),
        ("EventId", ""),
        ("EventId", "evt 1"),
        ("EventId", "e" * 129),
        ("EventId", "evt-1\n"),
        ("AppId", "my/app"),
        ("AppId", "ａpp"),  # a fullwidth letter
        ("Version", "2020-12-01x"),
        ("Version", "2020-02-30"),
        ("Version", "v1"),
        ("Nonce", ""),
        ("Nonce", "12345"),
        ("Nonce", "12a"),
        ("Nonce", "١٢"),  # Arabic-Indic digits
        ("EventTime", "2026-11-25T03:30:00"),
    ],
)
def test_each_field_format_is_checked(field: str, value: str) -> None:
    body = signed(**{field: value})
    assert cb.verify(body, secret=SECRET) is False
    exc = raised_by_parse(body, max_age=None, max_future=None)
    assert isinstance(exc, cb.MalformedCallback)
    assert field in str(exc)
    assert_no_secret(exc)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *(("Version", v) for v in API_VERSIONS),
        ("Version", "2031-02-28"),
        ("Nonce", "7"),
        ("Nonce", "0042"),
        ("EventId", "e" * 128),
        ("EventId", "a.b@c_d-E9"),
        ("EventType", "SomeFutureEvent"),
        *(("EventType", t) for t in sorted(cb.KNOWN_EVENT_TYPES)),
    ],
)
def test_documented_formats_are_accepted(field: str, value: str) -> None:
    body = signed(**{field: value})
    assert cb.verify(body, secret=SECRET) is True
    cb.parse(body, secret=SECRET, now=NOW_TS)


def test_noce_has_the_nonce_format() -> None:
    body = signed()
    body["Noce"] = body.pop("Nonce") + "0"
    body["Signature"] = signature(body)
    assert "Noce" in str(raised_by_parse(body))


def test_duplicate_keys_and_nan_are_refused() -> None:
    text = json.dumps(signed())
    twice = text[:-1] + ', "AppId": "other"}'
    assert cb.verify(twice, secret=SECRET) is False
    assert "duplicate" in str(raised_by_parse(twice))
    body = signed(EventData='{"Code": NaN}', EventType="Other")
    assert "NaN" in str(raised_by_parse(body))


def test_app_ids_configuration() -> None:
    with pytest.raises(TypeError):
        cb.verify(b"{}", secret=SECRET, app_ids="myapp")
    with pytest.raises(ValueError, match="empty"):
        cb.parse(b"{}", secret=SECRET, app_ids=[])
    with pytest.raises(ValueError, match="AppId"):
        cb.make_wsgi_app(lambda e: None, secret=SECRET, app_ids={"my app"})
    app = cb.make_wsgi_app(lambda e: None, secret=SECRET, app_ids=("a", "b"))
    assert app.app_ids == frozenset({"a", "b"})
    assert SECRET not in repr(app)


def test_build_refuses_what_parse_would() -> None:
    build = cb.build_callback_body
    with pytest.raises(ValueError, match="AppId"):
        build("RecordStarted", DATA, app_id="my app", secret=SECRET)
    with pytest.raises(ValueError, match="EventId"):
        build("RecordStarted", DATA, app_id="a", secret=SECRET, event_id="")
    with pytest.raises(ValueError, match="Nonce"):
        build("RecordStarted", DATA, app_id="a", secret=SECRET, nonce="12345")
    with pytest.raises(ValueError, match="Version"):
        build("RecordStarted", DATA, app_id="a", secret=SECRET, version="1")
    with pytest.raises(ValueError):
        cb.build_callback_body("recordStarted", DATA, app_id="a", secret=SECRET)
    with pytest.raises(ValueError):
        cb.build_callback_body("RecordStarted", {"X": "\ud800"}, app_id="a", secret=SECRET)
    with pytest.raises(ValueError):
        cb.build_callback_body("RecordStarted", {"X": float("nan")}, app_id="a", secret=SECRET)


# --------------------------------------------------------------------------------------------
# Any input at all (hypothesis)

# Any code point, lone surrogates included (and often: a uniform draw would rarely pick one).
ANY_CHAR = st.characters(exclude_categories=()) | st.sampled_from(["\ud800", "\udbff", "\udfff"])
ANY_TEXT = st.lists(ANY_CHAR, max_size=40).map("".join)  # st.text would merge the alphabet
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**80), max_value=10**80)
    | st.floats(allow_nan=False)
    | ANY_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)
FIELD_VALUES = st.one_of(
    ANY_TEXT,
    st.sampled_from(["RecordStarted", "2020-12-01", "2026-11-25T03:30:00Z", "4821", "myapp"]),
    JSON_VALUES,
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def no_internal_errors() -> Iterator[None]:
    """The defensive catch-alls of verify/parse/the receiver log an ERROR when they fire: they
    must never have to (every input is refused on purpose)."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(logging.ERROR)
    log = logging.getLogger("rtc_startrecord.callbacks")
    log.addHandler(handler)
    try:
        yield
    finally:
        log.removeHandler(handler)
    assert [r.getMessage() for r in records] == []


def check_any(body: Any) -> None:
    with no_internal_errors():
        assert cb.verify(body, secret=SECRET) in (True, False)
        try:
            event = cb.parse(body, secret=SECRET, now=NOW_TS)
        except cb.CallbackError as exc:
            assert_no_secret(exc)
        else:
            assert SECRET not in repr(event)


@PROPERTY
@given(st.binary(max_size=300))
def test_any_bytes(raw: bytes) -> None:
    check_any(raw)
    check_any(b'{"EventType": ' + raw + b"}")


@PROPERTY
@given(JSON_VALUES)
def test_any_json_value(value: Any) -> None:
    check_any(json.dumps(value))
    check_any(json.dumps(value).encode())
    check_any(value)


@PROPERTY
@given(st.dictionaries(st.sampled_from([*SIGNED_KEYS, "Noce", "Signature"]), FIELD_VALUES))
def test_any_fields_correctly_signed_or_not(fields: dict[str, Any]) -> None:
    check_any(fields)
    if all(isinstance(fields.get(k), str) for k in SIGNED_KEYS):
        fields["Signature"] = signature(fields)  # reaches the format and payload checks
        check_any(fields)
        check_any(json.dumps(fields))


@PROPERTY
@given(st.fixed_dictionaries({k: ANY_TEXT for k in SIGNED_KEYS}))
def test_any_strings_signed(fields: dict[str, str]) -> None:
    fields["Signature"] = signature(fields)
    check_any(fields)
    check_any(json.dumps(fields))


@PROPERTY
@given(JSON_VALUES, st.sampled_from([*sorted(cb.KNOWN_EVENT_TYPES), "Other"]), st.booleans())
def test_any_event_data_correctly_signed(data: Any, event_type: str, as_text: bool) -> None:
    body = signed(EventType=event_type, EventData=json.dumps(data))
    check_any(json.dumps(body) if as_text else body)


@PROPERTY
@given(
    st.binary(max_size=300)
    | JSON_VALUES.map(lambda v: json.dumps(v).encode())
    | st.fixed_dictionaries({k: ANY_TEXT for k in SIGNED_KEYS}).map(
        lambda d: json.dumps({**d, "Signature": signature(d)}).encode()
    )
)
def test_receiver_never_answers_a_body_with_5xx(raw: bytes) -> None:
    with no_internal_errors():
        status, out = post(cb.make_wsgi_app(lambda e: None, secret=SECRET), raw)
    assert status[:3] in ("400", "401", "403", "413"), status
    assert SECRET not in out


# --------------------------------------------------------------------------------------------
# The receiver


def post(
    app: Callable[..., Any], body: bytes, *, stream: Any = None, length: str | None = None
) -> tuple[str, str]:
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ["REQUEST_METHOD"] = "POST"
    environ["wsgi.input"] = io.BytesIO(body) if stream is None else stream
    environ["CONTENT_LENGTH"] = str(len(body)) if length is None else length
    statuses: list[str] = []
    out = b"".join(app(environ, lambda status, headers, exc=None: statuses.append(status)))
    return statuses[0], out.decode()


def fresh(event_id: str = "evt-r1") -> bytes:
    body = cb.build_callback_body(
        "RecordStarted", DATA, app_id="myapp", secret=SECRET, event_id=event_id
    )
    return json.dumps(body).encode()


def test_receiver_broken_stream_is_400() -> None:
    class Broken:
        def read(self, n: int = -1) -> bytes:
            raise OSError("connection reset")

    class Text:
        def read(self, n: int = -1) -> str:
            return "{}"

    app = cb.make_wsgi_app(lambda e: None, secret=SECRET)
    assert post(app, b"{}", stream=Broken())[0].startswith("400")
    assert post(app, b"{}", stream=Text())[0].startswith("400")
    for length in ("1_0", "+2", "١٢", "9" * 40, " 2 x"):
        assert post(app, b"{}", length=length)[0].startswith("400"), length


def test_receiver_handler_failure_is_the_only_500() -> None:
    def boom(event: cb.Event) -> None:
        raise RuntimeError("database down")

    app = cb.make_wsgi_app(boom, secret=SECRET)
    status, out = post(app, fresh())
    assert status.startswith("500")
    assert json.loads(out)["error"] == "HandlerFailed"


def test_receiver_failing_deduplicator() -> None:
    class Flaky(cb.Deduplicator):
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

    dedupe = Flaky()
    calls: list[str] = []
    app = cb.make_wsgi_app(lambda e: calls.append(e.event_id), secret=SECRET, dedupe=dedupe)
    status, _ = post(app, fresh())
    assert status.startswith("503")
    assert calls == []
    dedupe.fail_contains, dedupe.fail_add = False, True
    assert post(app, fresh())[0].startswith("200")  # processed; recording it failed
    dedupe.fail_add = False
    assert post(app, fresh())[0].startswith("200")  # not stuck "in progress" (409)
    assert calls == ["evt-r1", "evt-r1"]
