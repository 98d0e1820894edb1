"""Fuzz the recording-callback receiver: `callbacks.verify` and `callbacks.parse`.

Input: a JSON envelope ``{"secret": S, "sign": bool, "form": F, "fields": {...}, "data": ...}``.
``fields`` are the body's envelope fields; ``data``, when not null, is written as the EventData
JSON text, so the payload decoders see structural mutations too. With ``sign`` the harness
signs the (mutated) fields correctly with `callbacks.compute_signature`, so inputs get past the
signature check; ``form`` hands the body over as bytes, str or a mapping. An input that is not
such an envelope is passed on as the raw body bytes.

Asserts, for any body and a valid secret:
- `verify` returns a bool, and True whenever `parse` (freshness off) accepts the body;
- `parse` raises only `callbacks.CallbackError`, never chained (``__cause__``/``__context__``);
- the secret is never in ``str(exc)``, ``repr(exc)``, ``exc.args``, the Event's repr or a log
  record of ``rtc_startrecord.callbacks`` (checked when the body itself does not hold it);
- no "unexpected" error is logged: that is the defence-in-depth net catching a bug.

Run: ``python fuzz/fuzz_callbacks.py --seconds 30`` (``--help`` for more).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]

with atheris.instrument_imports(include=["rtc_startrecord"]):
    from rtc_startrecord import callbacks

import _common

DEFAULT_SECRET = "fuzz-callback-secret-5b1f0c"
FORMS = ["bytes", "str", "mapping", "bytearray", "ascii"]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


CAPTURE = _Capture()


def _secret_of(env: dict[str, Any]) -> str:
    secret = env.get("secret")
    if not isinstance(secret, str) or len(secret) < 8:
        return DEFAULT_SECRET
    try:
        callbacks.compute_signature({}, secret)
    except (TypeError, ValueError):  # an invalid secret is configuration, not input
        return DEFAULT_SECRET
    except callbacks.CallbackError:
        pass  # the fields are missing: the secret itself passed its checks
    return secret


def _body_of(env: dict[str, Any], secret: str) -> tuple[Any, str]:
    """The body in its form, and its text (to see whether it holds the secret itself)."""
    fields = env.get("fields")
    if not isinstance(fields, dict):
        fields = {"": fields}
    fields = dict(fields)
    data = env.get("data")
    if data is not None:
        fields["EventData"] = json.dumps(data, ensure_ascii=bool(env.get("ascii")))
    if env.get("sign") is True:
        try:
            sig = callbacks.compute_signature(fields, secret)
        except callbacks.CallbackError:
            pass
        else:
            fields["Signature"] = sig.upper() if env.get("upper") is True else sig
    form = env.get("form")
    text = json.dumps(fields, ensure_ascii=form == "ascii")
    if form == "mapping":
        return fields, text
    if form == "str":
        return text, text
    raw = text.encode("utf-8", "surrogatepass")
    return (bytearray(raw) if form == "bytearray" else raw), text


def _check_exc(exc: BaseException, secret: str, where: str) -> None:
    if not isinstance(exc, callbacks.CallbackError):
        raise AssertionError(f"{where} raised {type(exc).__name__}, not a CallbackError") from exc
    if exc.__cause__ is not None or exc.__context__ is not None:
        raise AssertionError(f"{where}: {type(exc).__name__} is chained") from exc
    for shown in (str(exc), repr(exc), *(repr(a) for a in exc.args), *map(str, exc.args)):
        if secret in shown:
            raise AssertionError(f"{where}: the secret is in {type(exc).__name__}") from None


def _check_logs(secret: str, check_secret: bool) -> None:
    records, CAPTURE.records = CAPTURE.records, []
    for r in records:
        msg = r.getMessage()
        if "unexpected" in msg and r.levelno >= logging.ERROR:
            raise AssertionError(f"the defence-in-depth net caught a bug: {msg}")
        if check_secret and secret in msg:
            raise AssertionError("the secret is in a log record")


def test_one_input(data: bytes) -> None:
    env = _common.loads(data)
    if isinstance(env, dict) and "fields" in env:
        secret = _secret_of(env)
        body, text = _body_of(env, secret)
    else:
        secret, body = DEFAULT_SECRET, data
        text = data.decode("utf-8", "replace")
    check_secret = secret not in text and secret not in data.decode("latin-1")
    CAPTURE.records = []

    ok = callbacks.verify(body, secret=secret)
    if not isinstance(ok, bool):
        raise AssertionError(f"verify returned {ok!r}")
    _check_logs(secret, check_secret)

    accepted = False
    for kwargs in ({}, {"max_age": None, "max_future": None}):
        try:
            event = callbacks.parse(body, secret=secret, **kwargs)
        except BaseException as exc:
            if check_secret:
                _check_exc(exc, secret, "parse")
            elif not isinstance(exc, callbacks.CallbackError):
                raise
        else:
            accepted = accepted or bool(kwargs)
            if check_secret and secret in repr(event):
                raise AssertionError("the secret is in the Event's repr")
        _check_logs(secret, check_secret)
    if accepted and not ok:
        raise AssertionError("parse accepted a body that verify refused")


def seeds() -> list[dict[str, Any]]:
    ids = {"AppId": "661e00000000000543cf", "RoomId": "room_1", "TaskId": "task_1"}
    f = {"Vid": "v0123", "Duration": 60000, "Size": 1024, "StartTime": 1700000000000}
    payloads: list[tuple[str, dict[str, Any]]] = [
        ("RecordStarted", ids | {"Code": 0}),
        ("RecordStarted", ids | {"BusinessId": "biz", "Code": 0}),
        (
            "RecordStopped",
            ids
            | {
                "StopReason": "IdleTimeOut",
                "StartTime": 1700000000000,
                "EndTime": 1700000060000,
                "RecordFileList": [f, {"ObjectKey": "a/b.mp4", "Duration": 1}],
            },
        ),
        ("RecordUploadDone", ids | {"File": f}),
        ("RecordUploadStarted", ids | {"File": f}),
        ("RecordUploadBackuped", ids | {"File": f}),
        ("SomethingNew", {"X": [1, 2]}),
    ]
    out = []
    when = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    for i, (event_type, data) in enumerate(payloads):
        for nonce_key in ("Nonce", "Noce"):
            fields = callbacks.build_callback_body(
                event_type,
                data,
                app_id=ids["AppId"],
                secret=DEFAULT_SECRET,
                event_id=f"event_{i}",
                event_time=when,
                nonce="0420",
                nonce_key=nonce_key,
            )
            del fields["EventData"]
            out.append(
                {
                    "secret": DEFAULT_SECRET,
                    "sign": True,
                    "form": FORMS[i % len(FORMS)],
                    "fields": fields,
                    "data": data,
                }
            )
    out.append({"secret": DEFAULT_SECRET, "sign": False, "form": "bytes", "fields": {}})
    return out


def main() -> None:
    logger = logging.getLogger("rtc_startrecord.callbacks")
    logger.addHandler(CAPTURE)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    docs = seeds()
    dictionary = _common.Dictionary()
    for d in docs:
        dictionary.harvest_document(d)
    for v in ("2020-12-01", "2023-11-01", "2024-02-30", "0000-00-00", "2024-05-01T12:00:00+08:00"):
        dictionary.values.append(v)
    mutator = _common.StructuralMutator(
        dictionary,
        docs,
        frozen={"form": FORMS, "sign": [True, True, True, False], "upper": [False, True]},
    )
    raw = [json.dumps(d["fields"]).encode() for d in docs[:2]]
    _common.run("callbacks", test_one_input, [*(_common.dumps(d) for d in docs), *raw], mutator)


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
