"""RtcClient end to end against real HTTP servers on 127.0.0.1 (issue 3).

Every test runs a small hand-written WSGI app under `WSGIServer`: the app verifies the V4
signature with `rtc_startrecord.signing.verify`, records what arrived, and answers with an RTC
envelope chosen by the test. Backoffs and timeouts are tiny so the file stays fast.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import pickle
import socket
import threading
import time
import uuid
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl

import pytest
import urllib3
from anyio.from_thread import BlockingPortal, start_blocking_portal

import rtc_startrecord as rs
from rtc_startrecord import signing
from rtc_startrecord.ratelimit import RateLimiter
from rtc_startrecord.simulator.server import WSGIServer

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

AK = "AKLTclientTestKey0001"
SK = "sk-Sup3rSecretValue-never-to-be-seen"
TOKEN = "session-token-Secret-value-42"
REGION = "cn-north-1"

START: Any = {"AppId": "app1", "RoomId": "room1", "TaskId": "task1"}
STOP: Any = {"AppId": "app1", "RoomId": "room1", "TaskId": "task1"}
GET: Any = {"AppId": "app1", "RoomId": "room1", "TaskId": "task1"}


# ------------------------------------------------------------------------------ the fake service


@dataclass
class Hit:
    """One request as the server saw it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic() on arrival at the app
    remote_port: str
    verify_error: str | None  # None: the signature verified

    @property
    def action(self) -> str:
        return dict(self.query).get("Action", "")


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict[str, Any] | None = None  # None: the success envelope
    headers: list[tuple[str, str]] = field(default_factory=list)
    sleep: float = 0.0  # after recording the hit, before answering (interruptible)


def envelope(
    action: str = "StartRecord",
    *,
    error: tuple[str, int | None, str] | None = None,
    result: Any = "ok",
    request_id: str | None = None,
) -> Any:
    meta: dict[str, Any] = {
        "RequestId": request_id or uuid.uuid4().hex,
        "Action": action,
        "Version": "2020-12-01",
        "Service": "rtc",
        "Region": REGION,
    }
    out: dict[str, Any] = {"ResponseMetadata": meta}
    if error is not None:
        code, code_n, message = error
        err: dict[str, Any] = {"Code": code, "Message": message}
        if code_n is not None:
            err["CodeN"] = code_n
        meta["Error"] = err
    else:
        out["Result"] = result
    return out


Handler = Callable[[Hit, int], Reply]


class FakeRtc:
    """A WSGI app: verify, record, answer what `handler(hit, n)` says (n counts from 1)."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler: Handler = handler or (lambda hit, n: Reply())
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # wakes sleeping handlers at teardown

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        at = time.monotonic()
        body = environ["wsgi.input"].read()
        headers = {
            k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        raw_path = environ["rtc.raw_path"]
        query = environ["QUERY_STRING"]
        try:
            signing.verify(
                environ["REQUEST_METHOD"], raw_path, query, headers, body,
                lookup_secret={AK: SK}.get, region=REGION, service="rtc",
            )  # fmt: skip
            error = None
        except signing.SignatureError as exc:
            error = f"{exc}"
        hit = Hit(
            method=environ["REQUEST_METHOD"], path=raw_path,
            query=parse_qsl(query, keep_blank_values=True), headers=headers, body=body, at=at,
            remote_port=environ["REMOTE_PORT"], verify_error=error,
        )  # fmt: skip
        with self.lock:
            self.hits.append(hit)
            n = len(self.hits)
        if error is not None:
            reply = Reply(403, envelope(hit.action, error=("SignatureDoesNotMatch", 100010, error)))
        else:
            reply = self.handler(hit, n)
        if reply.sleep:
            self.release.wait(reply.sleep)
        payload = reply.body if reply.body is not None else envelope(hit.action)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        ctype = "text/html" if isinstance(payload, bytes) else "application/json"
        start_response(f"{reply.status} X", [("Content-Type", ctype), *reply.headers])
        return [data]


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[FakeRtc, WSGIServer]]]:
    started: list[tuple[FakeRtc, WSGIServer]] = []

    def start(handler: Handler | None = None) -> tuple[FakeRtc, WSGIServer]:
        app = FakeRtc(handler)
        server = WSGIServer(app).start()
        started.append((app, server))
        return app, server

    yield start
    for app, server in started:
        app.release.set()
        server.stop()


def make_sync_client(url: str, **kw: Any) -> rs.RtcClient:
    options: dict[str, Any] = {
        "region": REGION, "timeout": 2.0, "backoff_base": 0.01, "backoff_cap": 0.05, "qps": None,
    }  # fmt: skip
    options.update(kw)
    creds = options.pop("credentials", None) or rs.Credentials(AK, SK)
    # the constructor's overloads (one per `version`) give Any for `**options`: check the class
    made = rs.RtcClient(creds, endpoint=url, **options)
    assert isinstance(made, rs.RtcClient)
    return made


class Blocking:
    """An `AsyncRtcClient` driven from a test's thread through an anyio blocking portal (one
    event loop for the client's life), so one test body checks both clients' behaviour."""

    def __init__(self, client: rs.AsyncRtcClient, portal: BlockingPortal) -> None:
        self._client = client
        self._portal = portal
        self._transport = client._transport
        self._policy = client._policy

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if not inspect.iscoroutinefunction(value):
            return value
        return lambda *args, **kw: self._portal.call(partial(value, *args, **kw))

    def __repr__(self) -> str:
        return repr(self._client)

    def with_options(self, **kw: Any) -> Blocking:
        return Blocking(self._client.with_options(**kw), self._portal)

    def close(self) -> None:
        self._portal.call(self._client.aclose)

    def __enter__(self) -> Blocking:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# The client under test, typed as the sync client (the async one behind `Blocking` answers alike).
MakeClient = Callable[..., rs.RtcClient]


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest) -> Iterator[MakeClient]:
    """Builds the client under test: the sync one, or the async one behind `Blocking`."""
    if request.param == "sync":
        yield make_sync_client
        return
    with start_blocking_portal("asyncio") as portal:

        def make(url: str, **kw: Any) -> Any:
            options: dict[str, Any] = {
                "region": REGION, "timeout": 2.0, "backoff_base": 0.01, "backoff_cap": 0.05,
                "qps": None,
            }  # fmt: skip
            options.update(kw)
            creds = options.pop("credentials", None) or rs.Credentials(AK, SK)
            client = portal.call(partial(_build_async, creds, url, options))
            return Blocking(client, portal)

        yield make


async def _build_async(creds: rs.Credentials, url: str, options: dict[str, Any]) -> Any:
    return rs.AsyncRtcClient(creds, endpoint=url, **options)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_all_verified(app: FakeRtc) -> None:
    assert app.hits, "the server saw no request"
    for hit in app.hits:
        assert hit.verify_error is None, hit.verify_error


# ------------------------------------------------------------------------------ success


def test_start_record_success_is_typed_and_well_formed(serve: Any, make_client: MakeClient) -> None:
    app, server = serve()
    with make_client(server.url) as client:
        resp = client.start_record(cast(Any, dict(START, RecordMode=0)))
    assert isinstance(resp, rs.StartRecordResponse)
    assert resp.result == "ok"
    assert resp.response_metadata.action == "StartRecord"
    assert resp.response_metadata.error is None
    assert len(app.hits) == 1
    hit = app.hits[0]
    assert hit.verify_error is None
    assert hit.method == "POST"
    assert hit.path == "/"
    assert hit.query == [("Action", "StartRecord"), ("Version", "2020-12-01")]
    assert hit.headers["content-type"] == "application/json"
    assert json.loads(hit.body) == dict(START, RecordMode=0)
    assert hit.headers["host"] == f"127.0.0.1:{server.port}"
    assert hit.headers["authorization"].startswith(f"HMAC-SHA256 Credential={AK}/")
    assert "x-date" in hit.headers and "x-content-sha256" in hit.headers


def test_model_request_is_sent_like_the_dict(serve: Any, make_client: MakeClient) -> None:
    app, server = serve()
    model = rs.from_wire(rs.StartRecordRequest, dict(START, RecordMode=1))
    with make_client(server.url) as client:
        assert client.start_record(model).result == "ok"
    assert json.loads(app.hits[0].body) == dict(START, RecordMode=1)
    assert_all_verified(app)


def test_stop_and_update_share_the_path(serve: Any, make_client: MakeClient) -> None:
    app, server = serve()
    with make_client(server.url) as client:
        stop = client.stop_record(STOP)
        update = client.update_record(
            cast(Any, dict(STOP, TargetStreams={"StreamList": [{"UserId": "u"}]}))
        )
    assert isinstance(stop, rs.StopRecordResponse) and stop.result == "ok"
    assert isinstance(update, rs.UpdateRecordResponse) and update.result == "ok"
    assert [h.action for h in app.hits] == ["StopRecord", "UpdateRecord"]
    assert all(h.method == "POST" for h in app.hits)
    assert_all_verified(app)


def test_get_record_task_is_a_signed_get_without_body(serve: Any, make_client: MakeClient) -> None:
    golden = envelope("GetRecordTask", result={"RecordTask": {"StartTime": 1, "Status": 2}})
    app, server = serve(lambda hit, n: Reply(body=golden))
    with make_client(server.url) as client:
        resp = client.get_record_task(GET)
    assert isinstance(resp, rs.GetRecordTaskResponse)
    assert resp.result is not None
    assert resp.result.record_task.status == rs.RecordTaskStatus.RUNNING
    hit = app.hits[0]
    assert hit.verify_error is None
    assert hit.method == "GET"
    assert dict(hit.query) == {
        "Action": "GetRecordTask", "Version": "2020-12-01", **GET,
    }  # fmt: skip
    assert hit.body == b""
    assert "content-type" not in hit.headers
    assert "content-length" not in hit.headers or hit.headers["content-length"] == "0"


def test_unknown_enum_value_and_extra_keys_in_responses_are_kept(
    serve: Any, make_client: MakeClient
) -> None:
    body = envelope(
        "GetRecordTask",
        result={
            "RecordTask": {
                "StartTime": 1606815000000, "EndTime": 0, "Status": 7, "StopReason": "",
                "NewField": {"x": 1},
                "RecordFileList": [{
                    "StartTime": 1606815000000, "Vid": "v1", "Brand": "new",
                    "StreamList": [{"UserId": "u1", "Index": 0, "Extra": True}],
                }],
            },
            "Other": [1, 2],
        },
    )  # fmt: skip
    body["ResponseMetadata"]["Extra"] = "x"
    body["TopLevelExtra"] = 1
    _app, server = serve(lambda hit, n: Reply(body=body))
    with make_client(server.url) as client:
        task = client.get_record_task(GET).result.record_task  # type: ignore[union-attr]
    assert task.status == 7
    assert type(task.status) is int  # no IntEnum member 7: kept as the plain int
    assert task.record_file_list is not None
    assert task.record_file_list[0].vid == "v1"
    assert task.record_file_list[0].stream_list[0].user_id == "u1"  # type: ignore[index]


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("status", "code", "code_n"),
    [
        (200, "InvalidParameter.AppIdNotExist", None),
        (400, "InvalidParameter", 100001),
        (403, "AccessDenied", 100013),
        (409, "InvalidParameter.TaskAlreadyExists", None),
    ],
)
def test_error_envelope_raises_rtc_api_error(
    serve: Any, status: int, code: str, code_n: int | None, make_client: MakeClient
) -> None:
    body = envelope(error=(code, code_n, "it went wrong"), request_id="req-123")
    app, server = serve(lambda hit, n: Reply(status, body))
    with make_client(server.url) as client, pytest.raises(rs.RtcApiError) as info:
        client.start_record(START)
    err = info.value
    assert type(err) is rs.RtcApiError  # not TaskMayAlreadyExist: no earlier ambiguity
    assert err.code == code
    assert err.code_n == code_n
    assert err.message == "it went wrong"
    assert err.request_id == "req-123"
    assert err.http_status == status
    assert err.action == "StartRecord"
    assert isinstance(err, rs.RtcError)
    assert len(app.hits) == 1  # a 4xx (or a 200 error) is final: no retry


def test_500_then_success_is_retried(serve: Any, make_client: MakeClient) -> None:
    def handler(hit: Hit, n: int) -> Reply:
        if n == 1:
            return Reply(500, envelope(error=("InternalError", 100014, "boom")))
        return Reply()

    app, server = serve(handler)
    with make_client(server.url) as client:
        assert client.start_record(START).result == "ok"
    assert len(app.hits) == 2
    assert_all_verified(app)


def test_500_until_attempts_run_out_raises_the_last_envelope(
    serve: Any, make_client: MakeClient
) -> None:
    body = envelope(error=("InternalError", 100014, "boom"))
    app, server = serve(lambda hit, n: Reply(500, body))
    with make_client(server.url, max_attempts=3) as client, pytest.raises(rs.RtcApiError) as info:
        client.start_record(START)
    assert info.value.code == "InternalError"
    assert info.value.http_status == 500
    assert len(app.hits) == 3


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(seconds)

    def install(self, client: Any, monkeypatch: pytest.MonkeyPatch) -> SleepRecorder:
        """Record the transport's sleeps (a blocking or an async one, as the client has)."""
        is_async = inspect.iscoroutinefunction(client._transport._sleep)
        monkeypatch.setattr(client._transport, "_sleep", self.asleep if is_async else self)
        return self


def test_429_is_retried_with_backoff(
    serve: Any, monkeypatch: pytest.MonkeyPatch, make_client: MakeClient
) -> None:
    app, server = serve()
    server.faults.throttle(count=2)  # HTTP 429 + FlowLimitExceeded.QPSOverLimit envelope
    with make_client(server.url, max_attempts=3, backoff_base=0.01, backoff_cap=1.0) as client:
        sleeps = SleepRecorder().install(client, monkeypatch)
        assert client.start_record(START).result == "ok"
    assert [k for k, _ in server.faults.history] == ["throttle", "throttle"]
    assert len(app.hits) == 1  # the two throttled requests never reached the app
    # Full jitter: the k-th wait (k from 0) lies in [0, base * 2**k].
    assert len(sleeps.delays) == 2
    assert 0 <= sleeps.delays[0] <= 0.01
    assert 0 <= sleeps.delays[1] <= 0.02


def test_429_honours_retry_after(
    serve: Any, monkeypatch: pytest.MonkeyPatch, make_client: MakeClient
) -> None:
    def handler(hit: Hit, n: int) -> Reply:
        if n == 1:
            body = envelope(error=("FlowLimitExceeded.QPSOverLimit", 100018, "slow down"))
            return Reply(429, body, headers=[("Retry-After", "0.05")])
        return Reply()

    app, server = serve(handler)
    with make_client(server.url) as client:
        sleeps = SleepRecorder().install(client, monkeypatch)
        assert client.start_record(START).result == "ok"
    assert sleeps.delays and sleeps.delays[0] >= 0.05
    assert len(app.hits) == 2


def test_flow_limit_envelope_with_200_is_retried(serve: Any, make_client: MakeClient) -> None:
    def handler(hit: Hit, n: int) -> Reply:
        if n == 1:
            return Reply(200, envelope(error=("FlowLimitExceeded.QPSOverLimit", None, "qps")))
        return Reply()

    app, server = serve(handler)
    with make_client(server.url) as client:
        assert client.start_record(START).result == "ok"
    assert len(app.hits) == 2


def test_throttled_until_attempts_run_out(serve: Any, make_client: MakeClient) -> None:
    app, server = serve()
    server.faults.throttle(count=5)
    with make_client(server.url, max_attempts=2) as client, pytest.raises(rs.RtcApiError) as info:
        client.start_record(START)
    assert info.value.code == "FlowLimitExceeded.QPSOverLimit"
    assert info.value.http_status == 429
    assert len(server.faults.history) == 2
    assert not app.hits


def test_connection_refused_is_a_transport_error_after_bounded_attempts(
    make_client: MakeClient,
) -> None:
    client = make_client(f"http://127.0.0.1:{closed_port()}", max_attempts=3)
    started = time.monotonic()
    with client, pytest.raises(rs.TransportError) as info:
        client.start_record(START)
    elapsed = time.monotonic() - started
    assert type(info.value) is rs.TransportError
    assert info.value.attempts == 3
    assert info.value.ambiguous is False  # never connected: the request cannot have run
    assert elapsed < 2.0


def test_read_timeout_is_a_transport_error_after_bounded_attempts(
    serve: Any, make_client: MakeClient
) -> None:
    app, server = serve(lambda hit, n: Reply(sleep=5.0))
    client = make_client(server.url, timeout=0.2, max_attempts=2)
    started = time.monotonic()
    with client, pytest.raises(rs.TransportError) as info:
        client.start_record(START)
    elapsed = time.monotonic() - started
    assert info.value.attempts == 2
    assert info.value.ambiguous is True  # written, then no answer: it may have run
    assert len(app.hits) == 2
    assert 0.4 <= elapsed < 1.5


def test_total_timeout_bounds_all_attempts(serve: Any, make_client: MakeClient) -> None:
    app, server = serve(lambda hit, n: Reply(sleep=5.0))
    # The per-attempt read timeout (1 s) is longer than the whole budget (0.5 s): the budget wins.
    client = make_client(server.url, timeout=1.0, max_attempts=10, total_timeout=0.5)
    started = time.monotonic()
    with client, pytest.raises(rs.TransportError) as info:
        client.start_record(START)
    elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 0.2, f"total_timeout 0.5 s, yet the call took {elapsed:.2f} s"
    assert info.value.ambiguous is True
    assert len(app.hits) == info.value.attempts < 10


# ------------------------------------------------------------------------------ ambiguity


class TaskStore:
    """Stateful start/stop: what a real service would remember."""

    def __init__(self, first: Reply | None = None) -> None:
        self.tasks: set[str] = set()
        self.first = first

    def __call__(self, hit: Hit, n: int) -> Reply:
        key = json.loads(hit.body)["TaskId"]
        if hit.action == "StartRecord":
            if key in self.tasks:
                return Reply(409, envelope(
                    error=("InvalidParameter.TaskAlreadyExists", None, "task exists")))  # fmt: skip
            self.tasks.add(key)
        elif hit.action == "StopRecord":
            if key not in self.tasks:
                return Reply(404, envelope("StopRecord", error=(
                    "InvalidParameter.ErrorActiveTaskNotFound", None, "no such task")))  # fmt: skip
            self.tasks.discard(key)
        if n == 1 and self.first is not None:
            return self.first  # the work is done, but the answer goes astray
        return Reply()


def test_read_timeout_then_task_already_exists_is_task_may_already_exist(
    serve: Any, make_client: MakeClient
) -> None:
    store = TaskStore(first=Reply(sleep=5.0))
    app, server = serve(store)
    with (
        make_client(server.url, timeout=0.2) as client,
        pytest.raises(rs.TaskMayAlreadyExist) as info,
    ):
        client.start_record(START)
    assert isinstance(info.value, rs.RtcApiError)
    assert info.value.code == "InvalidParameter.TaskAlreadyExists"
    assert info.value.http_status == 409
    assert len(app.hits) == 2
    assert store.tasks == {"task1"}


def test_dropped_connection_then_task_already_exists_is_task_may_already_exist(
    serve: Any, make_client: MakeClient
) -> None:
    # The drop fault closes the connection after the request was read, before the app: the
    # store is seeded with the task, as if the dropped request had been carried out.
    store = TaskStore()
    store.tasks.add("task1")
    app, server = serve(store)
    server.faults.drop()
    with make_client(server.url) as client, pytest.raises(rs.TaskMayAlreadyExist):
        client.start_record(START)
    assert [k for k, _ in server.faults.history] == ["drop"]
    assert len(app.hits) == 1


def test_html_502_then_task_already_exists_is_task_may_already_exist(
    serve: Any, make_client: MakeClient
) -> None:
    store = TaskStore()
    store.tasks.add("task1")
    _app, server = serve(store)
    server.faults.error(502)
    with make_client(server.url) as client, pytest.raises(rs.TaskMayAlreadyExist):
        client.start_record(START)


def test_stop_timeout_then_not_found_is_stop_may_have_succeeded(
    serve: Any, make_client: MakeClient
) -> None:
    store = TaskStore(first=Reply(sleep=5.0))
    store.tasks.add("task1")
    app, server = serve(store)
    with (
        make_client(server.url, timeout=0.2) as client,
        pytest.raises(rs.StopMayHaveSucceeded) as info,
    ):
        client.stop_record(STOP)
    assert info.value.code == "InvalidParameter.ErrorActiveTaskNotFound"
    assert info.value.http_status == 404
    assert info.value.action == "StopRecord"
    assert store.tasks == set()
    assert len(app.hits) == 2


def test_plain_task_already_exists_is_not_the_ambiguous_subclass(
    serve: Any, make_client: MakeClient
) -> None:
    store = TaskStore()
    store.tasks.add("task1")
    _app, server = serve(store)
    with make_client(server.url) as client, pytest.raises(rs.RtcApiError) as info:
        client.start_record(START)
    assert type(info.value) is rs.RtcApiError
    assert info.value.code == "InvalidParameter.TaskAlreadyExists"


def test_throttle_then_task_already_exists_is_not_ambiguous(
    serve: Any, make_client: MakeClient
) -> None:
    # A 429 envelope is an answer: the request did not run, so no ambiguity.
    store = TaskStore()
    store.tasks.add("task1")
    _app, server = serve(store)
    server.faults.throttle()
    with make_client(server.url) as client, pytest.raises(rs.RtcApiError) as info:
        client.start_record(START)
    assert type(info.value) is rs.RtcApiError


def test_stop_not_found_without_ambiguity_is_plain(serve: Any, make_client: MakeClient) -> None:
    _app, server = serve(TaskStore())
    with make_client(server.url) as client, pytest.raises(rs.RtcApiError) as info:
        client.stop_record(STOP)
    assert type(info.value) is rs.RtcApiError
    assert info.value.code == "InvalidParameter.ErrorActiveTaskNotFound"


# ------------------------------------------------------------------------------ non-envelopes


def test_html_502_is_retried_then_unexpected_response(serve: Any, make_client: MakeClient) -> None:
    app, server = serve()
    server.faults.error(502, count=3)
    with (
        make_client(server.url, max_attempts=3) as client,
        pytest.raises(rs.UnexpectedResponse) as info,
    ):
        client.start_record(START)
    err = info.value
    assert isinstance(err, rs.TransportError)
    assert err.http_status == 502
    assert err.body_start.startswith(b"<html>")
    assert err.attempts == 3
    assert err.ambiguous is True
    assert len(server.faults.history) == 3
    assert not app.hits  # the faults answered every attempt: the action never ran
    assert "502" in str(err)


def test_html_502_once_then_success(serve: Any, make_client: MakeClient) -> None:
    app, server = serve()
    server.faults.error(502)
    with make_client(server.url) as client:
        assert client.start_record(START).result == "ok"
    assert len(app.hits) == 1


def test_non_envelope_4xx_is_not_retried(serve: Any, make_client: MakeClient) -> None:
    _app, server = serve()
    server.faults.error(404, count=3)
    with make_client(server.url) as client, pytest.raises(rs.UnexpectedResponse) as info:
        client.start_record(START)
    assert info.value.http_status == 404
    assert info.value.attempts == 1
    assert len(server.faults.history) == 1


# ------------------------------------------------------------------------------ rate limit


def _max_in_any_window(times: list[float], width: float) -> int:
    times = sorted(times)
    return max(bisect_left(times, t + width) - i for i, t in enumerate(times))


def test_limiter_holds_a_threaded_burst_to_60_per_second(serve: Any) -> None:
    app, server = serve()
    # The admission stamps are the limiter's own clock readings (a reading taken after acquire
    # returns may be late by a thread switch): each thread's last reading is its admission.
    last_reading = threading.local()

    def clock() -> float:
        last_reading.value = time.monotonic()
        return float(last_reading.value)

    limiter = RateLimiter(60.0, clock=clock)
    client = make_sync_client(server.url, pool_maxsize=8, limiter=limiter)
    assert client._transport.limiter is limiter
    admitted: list[float] = []
    acquire = limiter.acquire

    def recording_acquire(timeout: float | None = None) -> float:
        waited = acquire(timeout)
        admitted.append(last_reading.value)
        return waited

    limiter.acquire = recording_acquire  # type: ignore[method-assign]
    errors: list[BaseException] = []

    def worker(count: int) -> None:
        try:
            for _ in range(count):
                client.start_record(START)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(20,)) for _ in range(6)]
    started = time.monotonic()
    with client:
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    elapsed = time.monotonic() - started
    assert not errors, errors
    arrivals = [h.at for h in app.hits]
    assert len(arrivals) == 120
    assert_all_verified(app)
    # Client side: the sliding window guarantees it exactly.
    assert _max_in_any_window(admitted, 1.0) <= 60
    # Server side: network and thread jitter may shift an arrival; allow 100 ms of it (without
    # the limiter, all 120 would arrive within a fraction of a second).
    assert _max_in_any_window(arrivals, 0.9) <= 60
    assert elapsed >= 0.98  # 120 calls at 60/s cannot all fit in one second


# ------------------------------------------------------------------------------ signing


def test_signature_is_recomputed_for_every_attempt(
    serve: Any, monkeypatch: pytest.MonkeyPatch, make_client: MakeClient
) -> None:
    now = time.time()
    dates = iter([signing.x_date_now(now - 20), signing.x_date_now(now - 10)])
    monkeypatch.setattr(signing, "x_date_now", lambda now=None: next(dates))

    def handler(hit: Hit, n: int) -> Reply:
        return Reply(503, envelope(error=("ServiceUnavailable", None, "x"))) if n == 1 else Reply()

    app, server = serve(handler)
    with make_client(server.url) as client:
        assert client.start_record(START).result == "ok"
    assert len(app.hits) == 2
    assert_all_verified(app)
    first, second = app.hits
    assert first.headers["x-date"] != second.headers["x-date"]
    assert first.headers["authorization"] != second.headers["authorization"]
    assert first.body == second.body


def test_session_token_is_sent_and_signed(serve: Any, make_client: MakeClient) -> None:
    app, server = serve()
    creds = rs.Credentials(AK, SK, TOKEN)
    with make_client(server.url, credentials=creds) as client:
        client.start_record(START)
    assert_all_verified(app)
    hit = app.hits[0]
    assert hit.headers["x-security-token"] == TOKEN
    assert "x-security-token" in hit.headers["authorization"]


# ------------------------------------------------------------------------------ secrets


def test_secrets_never_leak(
    serve: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    make_client: MakeClient,
) -> None:
    def handler(hit: Hit, n: int) -> Reply:
        if n == 1:
            return Reply(500, envelope(error=("InternalError", 100014, "boom")))
        if n == 2:
            return Reply()
        return Reply(400, envelope(error=("InvalidParameter", 100001, "bad")))

    _app, server = serve(handler)
    creds = rs.Credentials(AK, SK, TOKEN)
    caplog.set_level(logging.DEBUG, logger="rtc_startrecord")
    errors: list[BaseException] = []
    with make_client(server.url, credentials=creds) as client:
        client.start_record(START)  # 500, then ok
        with pytest.raises(rs.RtcApiError) as api:
            client.start_record(START)
        errors.append(api.value)
        with pytest.raises(rs.RequestInvalid) as invalid:
            client.start_record(
                cast(Any, {"AppId": "a b", "RoomId": "r", "TaskId": "t", "Encode": {"X": 1}})
            )
        errors.append(invalid.value)
        prepared = client.prepare("StartRecord", START)
        copy = client.with_options(max_attempts=1)
        texts = [repr(client), str(client), repr(creds), str(creds), repr(copy),
                 repr(prepared.redacted_headers())]  # fmt: skip
        with pytest.raises(TypeError):
            pickle.dumps(client)
        with pytest.raises(TypeError):
            pickle.dumps(client.with_options(timeout=1.0))
    dead = make_client(f"http://127.0.0.1:{closed_port()}", credentials=creds, max_attempts=2)
    with dead, pytest.raises(rs.TransportError) as transport:
        dead.start_record(START)
    errors.append(transport.value)
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    assert caplog.records, "expected debug logging of the attempts"
    texts.append(caplog.text)
    texts += [str(r.args) for r in caplog.records]
    for text in texts:
        assert SK not in text
        assert TOKEN not in text
    assert AK in repr(client)  # the key id is not a secret and helps debugging


# ------------------------------------------------------------------------------ options


def test_with_options_shares_the_pool_and_applies_overrides(
    serve: Any, make_client: MakeClient
) -> None:
    slow = threading.Event()

    def handler(hit: Hit, n: int) -> Reply:
        return Reply(sleep=0.4) if slow.is_set() else Reply()

    app, server = serve(handler)
    client = make_client(server.url, timeout=2.0, max_attempts=3)
    quick = client.with_options(timeout=0.1, max_attempts=1)
    assert quick is not client
    assert quick._transport is client._transport  # one pool, one limiter
    with client:
        client.start_record(START)
        quick.start_record(START)
        # Keep-alive over the shared pool: the copy reused the original's connection.
        assert app.hits[0].remote_port == app.hits[1].remote_port
        slow.set()
        started = time.monotonic()
        with pytest.raises(rs.TransportError) as info:
            quick.start_record(START)
        assert info.value.attempts == 1
        assert time.monotonic() - started < 0.35
        assert client.start_record(START).result == "ok"  # the original keeps its 2 s timeout
    assert len(app.hits) == 4
    assert client._policy.max_attempts == 3 and quick._policy.max_attempts == 1
    with pytest.raises(ValueError):
        client.with_options(max_attempts=0)


def test_client_is_a_context_manager_that_releases_the_pool(serve: Any) -> None:
    _app, server = serve()
    with make_sync_client(server.url) as client:
        assert isinstance(client, rs.RtcClient)
        client.start_record(START)
        assert len(client._transport._pool.pools) == 1
    assert len(client._transport._pool.pools) == 0


# ------------------------------------------------------------------------------ validation first


def test_invalid_request_is_rejected_before_any_socket(
    serve: Any, monkeypatch: pytest.MonkeyPatch, make_client: MakeClient
) -> None:
    app, server = serve()
    calls: list[Any] = []

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        pytest.fail("a request was sent although the body is invalid")

    monkeypatch.setattr(urllib3.PoolManager, "request", forbidden)
    monkeypatch.setattr(urllib3.PoolManager, "urlopen", forbidden)
    monkeypatch.setattr(urllib3.HTTPConnectionPool, "urlopen", forbidden)
    body = {
        "AppId": "app1", "RoomId": "room1", "TaskId": "task1",
        "RecordMode": 1,
        "TargetStreams": {"StreamList": [{"UserId": f"user{i}", "Index": i} for i in range(18)]},
        "ExcludeStreams": {"StreamList": [
            {"UserId": "user3"},  # also a target (R3)
            {"UserId": "sharer", "StreamType": 1},  # a screen stream (R4)
        ]},
        "Layout": {"LayoutMode": 0},  # single-stream mode takes no Layout (R7)
    }  # fmt: skip
    with make_client(server.url) as client, pytest.raises(rs.RequestInvalid) as info:
        client.start_record(cast(Any, body))
    problems = info.value.problems
    assert sorted(p.rule for p in problems) == ["R1", "R3", "R4", "R7"], problems
    by_rule = {p.rule: p.path for p in problems}
    assert by_rule["R1"] == "$.TargetStreams.StreamList"
    assert by_rule["R3"] == "$.ExcludeStreams.StreamList[0]"
    assert by_rule["R4"].startswith("$.ExcludeStreams.StreamList[1]")
    assert by_rule["R7"] == "$.Layout"
    assert all(p.severity == "error" for p in problems)
    assert isinstance(info.value, rs.RtcError) and isinstance(info.value, ValueError)
    assert not calls and not app.hits


def test_warnings_do_not_block_and_are_logged(
    serve: Any, caplog: pytest.LogCaptureFixture, make_client: MakeClient
) -> None:
    app, server = serve()
    caplog.set_level(logging.WARNING, logger="rtc_startrecord")
    with make_client(server.url) as client:
        client.start_record(cast(Any, dict(START, Control={"TalkVolume": 3})))
    assert len(app.hits) == 1
    assert "R27" in caplog.text


def test_wrong_input_types_are_type_errors(serve: Any, make_client: MakeClient) -> None:
    app, server = serve()
    with make_client(server.url) as client:
        # wrong on purpose: mypy rejects these arguments, the client must too at run time
        with pytest.raises(TypeError):
            client.start_record(["not", "a", "dict"])  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            client.start_record(rs.from_wire(rs.StopRecordRequest, STOP))  # type: ignore[arg-type]
    assert not app.hits


# ------------------------------------------------------------------------------ wait_for_task


def _task_reply(task: dict[str, Any]) -> Reply:
    return Reply(body=envelope("GetRecordTask", result={"RecordTask": task}))


def test_wait_for_task_polls_until_the_status(serve: Any, make_client: MakeClient) -> None:
    statuses = [1, 1, 2]
    app, server = serve(lambda hit, n: _task_reply({"Status": statuses[min(n, 3) - 1]}))
    with make_client(server.url) as client:
        task = client.wait_for_task("app1", "room1", "task1", status=2, timeout=2.0,
                                    interval=0.01)  # fmt: skip
    assert task.status == rs.RecordTaskStatus.RUNNING
    assert len(app.hits) == 3
    assert all(h.method == "GET" for h in app.hits)


def test_wait_for_task_sees_an_early_end(serve: Any, make_client: MakeClient) -> None:
    _app, server = serve(lambda hit, n: _task_reply({"Status": 3, "StopReason": "IdleTimeOut"}))
    with make_client(server.url) as client, pytest.raises(rs.TaskEndedEarly, match="IdleTimeOut"):
        client.wait_for_task("app1", "room1", "task1", status=2, timeout=1.0, interval=0.01)


def test_wait_for_task_times_out_even_without_a_status(serve: Any, make_client: MakeClient) -> None:
    # Status is optional in RecordTask: a missing one used to crash the message with int(None).
    _app, server = serve(lambda hit, n: _task_reply({"StartTime": 1}))
    with make_client(server.url) as client, pytest.raises(rs.WaitTimeout, match="none"):
        client.wait_for_task("app1", "room1", "task1", status=2, timeout=0.1, interval=0.02)


# ------------------------------------------------------------------------------ endpoint


def test_rtc_endpoint_points_a_client_without_an_endpoint(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, server = serve()
    monkeypatch.setenv("RTC_ENDPOINT", server.url)
    with rs.RtcClient(rs.Credentials(AK, SK), region=REGION, qps=None) as client:
        assert client.endpoint == server.url
        assert client.start_record(START).result == "ok"
    assert len(app.hits) == 1
    # an explicit endpoint wins over the variable; without either, the public host
    explicit = rs.RtcClient(rs.Credentials(AK, SK), endpoint="http://127.0.0.1:9")
    assert explicit.endpoint == "http://127.0.0.1:9"
    monkeypatch.delenv("RTC_ENDPOINT")
    assert rs.RtcClient(rs.Credentials(AK, SK)).endpoint == rs.DEFAULT_ENDPOINT
