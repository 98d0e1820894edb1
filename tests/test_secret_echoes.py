"""Secrets in the less obvious places: a bucket credential given as a list or object, the reprs
of objects that keep a request body, the session token in every repr and header, and an
answer (service error or proxy page) that echoes the request body back."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import rtc_startrecord as rs
from rtc_startrecord import signing
from rtc_startrecord.redaction import Redactor, body_repr
from rtc_startrecord.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
LATER = ("2022-06-01", "2023-06-01", "2023-11-01")
MARK = "BUCKETMARKER789"
TOKEN = "TOKMARKER456"


def start_body(version: str, custom: dict[str, Any] | None = None) -> dict[str, Any]:
    """The version's documented custom-layout start, stored in an S3-compatible bucket."""
    golden = ROOT / "contract_tests" / "golden" / version / "StartRecord.request.custom_layout.json"
    body: dict[str, Any] = json.loads(golden.read_text(encoding="utf-8"))
    config = {"Vendor": 0, "Region": 0, "Bucket": "bkt", "AccessKey": f"{MARK}-ak",
              "SecretKey": f"{MARK}-sk"}  # fmt: skip
    body["StorageConfig"] = {"Type": 2, "CustomConfig": config | (custom or {})}
    return body


# -- a credential of the wrong type, quoted inside a parent object's message -------------------

WRONG_SHAPES: list[Any] = [
    ["a", f"{MARK}-list"],
    {"a": 1, "b": f"{MARK}-dict"},
    [[1, f"{MARK}-deep"], {"k": f"{MARK}-deeper"}],
    [f"{MARK}-x", 12345678],
]


@pytest.mark.parametrize("version", LATER)
@pytest.mark.parametrize("shape", WRONG_SHAPES, ids=["list", "dict", "nested", "mixed"])
def test_a_container_where_a_secret_belongs_is_hidden_in_every_message(
    version: str, shape: Any
) -> None:
    # In place, and with StorageConfig itself wrapped in a list so that the schema quotes the
    # whole serialized parent in its message.
    in_place = start_body(version, {"SecretKey": copy.deepcopy(shape)})
    wrapped = start_body(version)
    wrapped["StorageConfig"] = [{"CustomConfig": {"SecretKey": copy.deepcopy(shape)}}]
    for body in (in_place, wrapped):
        problems = rs.validate(body, version=version)
        assert problems, "a list or object is no string: the schema refuses it"
        text = " | ".join(str(p) for p in problems)
        assert MARK not in text
        assert "<redacted" in text
        c = rs.RtcClient(rs.Credentials("AK", "SK"), endpoint="http://127.0.0.1:9", version=version)
        with pytest.raises(rs.RequestInvalid) as caught:
            c.prepare("StartRecord", body)
        assert MARK not in str(caught.value) and MARK not in repr(caught.value)


def test_the_redactor_hides_a_container_value_before_its_member_strings() -> None:
    r = Redactor()
    r.learn({"SecretKey": [[1, "inner-secret"], {"k": "other-secret"}]}, "2023-11-01")
    quoted = '{"SecretKey":[[1,"inner-secret"],{"k":"other-secret"}]} is not of type "object"'
    assert r.text(quoted) == '{"SecretKey":"<redacted>"} is not of type "object"'
    # a bare number of a secret stays visible where the message is about something else
    r2 = Redactor()
    r2.learn({"SecretKey": 42}, "2023-11-01")
    assert r2.text("42 is not one of [1, 2]") == "42 is not one of [1, 2]"
    assert r2.text("42 is not of type", at_secret=True) == "<redacted> is not of type"


# -- reprs of objects that keep a body ---------------------------------------------------------


def test_body_repr_hides_every_secret_key() -> None:
    body = start_body("2023-11-01", {"SecurityToken": f"{MARK}-sts"})
    text = body_repr(body)
    assert MARK not in text
    assert text.count("<redacted>") == 3
    assert "'Bucket': 'bkt'" in text  # the rest is shown


def test_a_simulator_task_repr_hides_the_bucket_keys() -> None:
    with Simulator() as sim:
        client = rs.RtcClient(sim.credentials, endpoint=sim.url, version="2023-11-01", qps=None)
        client.call("StartRecord", start_body("2023-11-01", {"SecurityToken": f"{MARK}-sts"}))
        tasks = sim.tasks
        assert len(tasks) == 1
        task = next(iter(tasks.values()))
        assert task.request["StorageConfig"]["CustomConfig"]["SecretKey"] == f"{MARK}-sk"  # kept
        for text in (repr(task), str(task), repr(tasks)):
            assert MARK not in text
            assert "<redacted>" in text


def test_a_migration_repr_hides_the_bucket_keys() -> None:
    migration = rs.migrate(
        start_body("2022-06-01"), action="StartRecord", source="2022-06-01", target="2023-11-01"
    )
    assert migration.body["StorageConfig"]["CustomConfig"]["SecretKey"] == f"{MARK}-sk"
    assert MARK not in repr(migration)
    assert "<redacted>" in repr(migration)


# -- the session token -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token", [TOKEN, f"{TOKEN}a\\b", f"{TOKEN}'\"both", f"{TOKEN}\\t\\n"], ids=str.__len__
)
def test_the_session_token_is_hidden_in_signing_and_verify_reprs(token: str) -> None:
    x_date = signing.x_date_now()
    details = signing.sign_details(
        "POST", "h", "/", [], {}, b"{}", access_key_id="AKTEST", secret_access_key="SKTEST",
        region="cn-north-1", service="rtc", x_date=x_date, session_token=token,
    )  # fmt: skip
    assert details.headers["X-Security-Token"] == token
    assert TOKEN not in repr(details)
    verified = signing.verify(
        "POST", "/", "", details.headers, b"{}", lookup_secret={"AKTEST": "SKTEST"}.get,
        region="cn-north-1", service="rtc",
    )  # fmt: skip
    assert verified.session_token == token
    assert TOKEN not in repr(verified) and TOKEN not in str(verified)
    assert "session_token=<redacted>" in repr(verified)


@pytest.mark.parametrize("bad", ["\n", "\r\n", " ", "\t", "\x00", "\x7f", "é", "令"])
def test_a_token_or_key_id_that_cannot_be_a_header_is_refused_without_its_value(bad: str) -> None:
    for kwargs in (
        {"access_key_id": "AK", "secret_access_key": "SK", "session_token": f"{TOKEN}{bad}x"},
        {"access_key_id": f"{TOKEN}{bad}x", "secret_access_key": "SK"},
    ):
        with pytest.raises(ValueError, match="cannot go in an HTTP header at position 12") as e:
            rs.Credentials(**kwargs)
        assert TOKEN not in str(e.value)
    # the secret access key only enters HMAC: any non-empty string is taken
    assert rs.Credentials("AK", f"SK{bad}").secret_access_key == f"SK{bad}"


# -- answers that echo the request -------------------------------------------------------------


class EchoServer:
    """A loopback HTTP server answering every request with its own body echoed: inside the RTC
    error envelope (`/error`), or as a proxy's HTML page without an envelope (`/page`)."""

    def __init__(self, mode: str) -> None:
        outer = self
        self.mode = mode

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                sent = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if outer.mode == "error":
                    meta = {"RequestId": "rid-echo", "Action": "StartRecord",
                            "Version": "2023-11-01", "Service": "rtc", "Region": "cn-north-1",
                            "Error": {"Code": "InvalidParameter",
                                      "Message": f"bad body {sent.decode()}"}}  # fmt: skip
                    data, status, kind = json.dumps({"ResponseMetadata": meta}), 400, "json"
                else:
                    data, status, kind = f"<html>refused {sent.decode()[:150]}</html>", 403, "html"
                raw = data.encode()
                self.send_response(status)
                self.send_header("Content-Type", f"application/{kind}")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["error", "page"])
def echo(request: pytest.FixtureRequest) -> Iterator[EchoServer]:
    server = EchoServer(request.param)
    try:
        yield server
    finally:
        server.close()


def _body_with_short_secret() -> dict[str, Any]:
    # The secret first in CustomConfig, so that the proxy page's first 150 bytes hold it.
    body = start_body("2023-11-01")
    body["StorageConfig"] = {"Type": 2, "CustomConfig": {"SecretKey": f"{MARK}-sk", "Vendor": 0,
                             "Region": 0, "Bucket": "bkt", "AccessKey": "AKLTvisible"}}  # fmt: skip
    return {"StorageConfig": body.pop("StorageConfig"), **body}


def test_an_answer_echoing_the_body_is_hidden_in_the_error(
    echo: EchoServer, caplog: pytest.LogCaptureFixture
) -> None:
    body = _body_with_short_secret()
    expected = rs.RtcApiError if echo.mode == "error" else rs.UnexpectedResponse
    caplog.set_level(logging.DEBUG)
    c = rs.RtcClient(rs.Credentials("AK", "SK"), endpoint=echo.url, version="2023-11-01",
                     qps=None, max_attempts=1)  # fmt: skip
    for call in (lambda: c.call("StartRecord", body), lambda: c.call_raw("StartRecord", body)):
        with pytest.raises(expected) as caught:
            call()
        exc = caught.value
        texts = [str(exc), repr(exc), *(str(a) for a in exc.args)]
        if isinstance(exc, rs.RtcApiError):
            texts.append(exc.message)
            assert exc.code == "InvalidParameter" and exc.request_id == "rid-echo"
        if isinstance(exc, rs.UnexpectedResponse):
            texts.append(repr(exc.body_start))
        assert all(MARK not in t for t in texts), texts
        assert "<redacted>" in str(exc)
    assert MARK not in caplog.text

    async def run_async() -> BaseException:
        async with rs.AsyncRtcClient(
            rs.Credentials("AK", "SK"), endpoint=echo.url, version="2023-11-01", qps=None,
            max_attempts=1,
        ) as ac:  # fmt: skip
            try:
                await ac.call("StartRecord", body)
            except rs.RtcError as exc:
                return exc
        raise AssertionError("the echo server refuses every request")

    failure = asyncio.run(run_async())
    assert isinstance(failure, expected)
    assert MARK not in str(failure) and MARK not in repr(failure)
    assert "<redacted>" in str(failure)


def test_an_answer_without_secrets_in_the_body_is_left_as_is(echo: EchoServer) -> None:
    c = rs.RtcClient(rs.Credentials("AK", "SK"), endpoint=echo.url, qps=None, max_attempts=1)
    body: rs.StartRecordRequestDict = {"AppId": "app1", "RoomId": "room1", "TaskId": "task-plain",
                                       "Vod": {"AccountId": "2000", "Space": "space"}}  # fmt: skip
    with pytest.raises(rs.RtcError) as caught:
        c.start_record(body)
    assert "task-plain" in str(caught.value)
    assert "<redacted>" not in str(caught.value)
