"""The client against hostile or broken servers: a raw loopback socket server misbehaving in
each way the hardening issue observed, plus the secrets and the closed client."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
import urllib3

import rtc_startrecord as rs
from rtc_startrecord import signing
from rtc_startrecord.simulator import Simulator
from rtc_startrecord.transport import RETRY_AFTER_CAP, retry_after_seconds

START: Any = {
    "AppId": "app1",
    "RoomId": "room1",
    "TaskId": "task1",
    "Vod": {"AccountId": "2000", "Space": "space"},
}
Handler = Callable[[socket.socket, int], None]


def envelope(error: tuple[str, int] | None = None) -> bytes:
    meta: dict[str, Any] = {"RequestId": "rid", "Action": "StartRecord", "Version": "2020-12-01",
                            "Service": "rtc", "Region": "cn-north-1"}  # fmt: skip
    body: dict[str, Any] = {"ResponseMetadata": meta}
    if error:
        meta["Error"] = {"Code": error[0], "Message": "no"}
    else:
        body["Result"] = "ok"
    return json.dumps(body).encode()


def answer(conn: socket.socket, status: int, body: bytes, headers: str = "") -> None:
    head = (f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n")  # fmt: skip
    conn.sendall(head.encode() + body)


def read_request(conn: socket.socket) -> bytes:
    """One whole request (headers and a Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return data


class RawServer:
    """A loopback server handing each connection's requests to `handler(conn, n)` (n counts
    requests from 1). It stops by itself when the test ends."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(30)
            try:
                while not self.stop.is_set():
                    if not read_request(conn):
                        return
                    self.requests += 1
                    self.handler(conn, self.requests)
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Handler) -> RawServer:
        servers.append(RawServer(handler))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def client(url: str, **kw: Any) -> rs.RtcClient:
    options: dict[str, Any] = {"qps": None, "backoff_base": 0.01, "backoff_cap": 0.05} | kw
    made = rs.RtcClient(rs.Credentials("AKTEST", "SKTEST"), endpoint=url, **options)
    assert isinstance(made, rs.RtcClient)
    return made


def peak_traced(fn: Callable[[], None]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_300_mb_answer_is_cut_at_the_cap_with_flat_memory(
    serve: Callable[[Handler], RawServer],
) -> None:
    size = 300 << 20

    def huge(conn: socket.socket, n: int) -> None:
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
        block = b"x" * (1 << 20)
        for _ in range(300):
            conn.sendall(block)

    server = serve(huge)

    def call() -> None:
        with client(server.url, max_attempts=1) as c, pytest.raises(rs.ResponseTooLarge) as info:
            c.start_record(START)
        assert info.value.limit == 8 << 20 and info.value.ambiguous

    assert peak_traced(call) < 100 << 20


def test_a_1_gib_gzip_bomb_is_cut_at_the_cap_with_flat_memory(
    serve: Callable[[Handler], RawServer],
) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = packer.compress(bytes(1 << 20)) + packer.flush()  # 1 MiB of zeros, gzipped
    bomb = member * 1024  # gzip members concatenate: 1 GiB decoded, about 1 MB sent

    def gzipped(conn: socket.socket, n: int) -> None:
        answer(conn, 200, bomb, "Content-Encoding: gzip\r\n")

    server = serve(gzipped)

    def call() -> None:
        with client(server.url, max_attempts=1) as c, pytest.raises(rs.ResponseTooLarge):
            c.start_record(START)

    assert peak_traced(call) < 100 << 20


def test_a_small_gzipped_answer_still_works(serve: Callable[[Handler], RawServer]) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    body = packer.compress(envelope()) + packer.flush()
    server = serve(lambda conn, n: answer(conn, 200, body, "Content-Encoding: gzip\r\n"))
    with client(server.url) as c:
        assert c.start_record(START).result == "ok"


def test_the_size_cap_is_configurable(serve: Callable[[Handler], RawServer]) -> None:
    server = serve(lambda conn, n: answer(conn, 200, envelope()))
    with (
        client(server.url, max_response_bytes=64, max_attempts=1) as c,
        pytest.raises(rs.ResponseTooLarge),
    ):
        c.start_record(START)
    with pytest.raises(ValueError, match="max_response_bytes"):
        client(server.url, max_response_bytes=0)


def test_a_trickling_body_ends_within_the_total_timeout(
    serve: Callable[[Handler], RawServer],
) -> None:
    def trickle(conn: socket.socket, n: int) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3000000000\r\n\r\n")
        for _ in range(60):  # a byte every half second, for at most 30 s
            conn.sendall(b"{")
            time.sleep(0.5)

    server = serve(trickle)
    t0 = time.monotonic()
    with (
        client(server.url, timeout=2.0, total_timeout=5.0) as c,
        pytest.raises(rs.DeadlineExceeded) as info,
    ):
        c.start_record(START)
    elapsed = time.monotonic() - t0
    assert elapsed < 5.0 + 2.0, elapsed
    assert info.value.waiting_for == "the answer" and info.value.ambiguous


def _trickle_status(conn: socket.socket) -> None:
    for _ in range(60):  # the status line a byte every half second, each read in time
        conn.sendall(b"H")
        time.sleep(0.5)


def _trickle_headers(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
    for _ in range(60):
        conn.sendall(b"X-Slow: 1\r\n")
        time.sleep(0.5)


def _endless_continue(conn: socket.socket) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # http.client skips every 100 head, for ever
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" * 200)
        time.sleep(0.01)


@pytest.mark.parametrize(
    "head", [_trickle_status, _trickle_headers, _endless_continue], ids=lambda f: f.__name__
)
def test_a_head_that_never_ends_ends_within_the_total_timeout(
    serve: Callable[[Handler], RawServer], head: Callable[[socket.socket], None]
) -> None:
    server = serve(lambda conn, n: head(conn))
    t0 = time.monotonic()
    with (
        client(server.url, timeout=2.0, total_timeout=3.0) as c,
        pytest.raises(rs.DeadlineExceeded) as info,
    ):
        c.start_record(START)
    elapsed = time.monotonic() - t0
    assert elapsed < 3.0 + 1.5, elapsed
    assert info.value.waiting_for == "the answer" and info.value.ambiguous
    # the deadline was this call's: the next call on the same client starts afresh
    ok = serve(lambda conn, n: answer(conn, 200, envelope()))
    with client(ok.url, timeout=2.0, total_timeout=3.0) as c:
        c.start_record(START)


@pytest.mark.parametrize("framing", ["length", "until-close"])
def test_an_answer_that_closes_the_connection_is_read_whole(
    serve: Callable[[Handler], RawServer], framing: str
) -> None:
    """`Connection: close`: http.client closes the connection under its response, whose reader
    must still hold the socket (the deadline-bounded reader keeps the stdlib's)."""

    def close_after(conn: socket.socket, n: int) -> None:
        body = envelope()
        length = f"Content-Length: {len(body)}\r\n" if framing == "length" else ""
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close"
                     b"\r\n" + length.encode() + b"\r\n" + body)  # fmt: skip
        conn.shutdown(socket.SHUT_WR)

    server = serve(close_after)
    with client(server.url, timeout=2.0, total_timeout=5.0) as c:
        for _ in range(3):  # and a new connection each time
            assert c.start_record(START).result == "ok"


def test_the_limiter_wait_is_bounded_by_the_deadline(serve: Callable[[Handler], RawServer]) -> None:
    server = serve(lambda conn, n: answer(conn, 200, envelope()))
    with client(server.url, qps=1, total_timeout=0.3) as c:
        c.start_record(START)
        t0 = time.monotonic()
        with pytest.raises(rs.DeadlineExceeded) as info:
            c.start_record(START)
    assert info.value.waiting_for == "the rate limiter"
    assert time.monotonic() - t0 < 0.3 and not info.value.ambiguous
    assert server.requests == 1


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()


def test_reset_then_429_is_an_ambiguous_error(serve: Callable[[Handler], RawServer]) -> None:
    def handler(conn: socket.socket, n: int) -> None:
        if n == 1:
            _reset(conn)  # read, then reset: the start may have run
        else:
            answer(conn, 429, envelope(("FlowLimitExceeded.QPSOverLimit", 0)))

    server = serve(handler)
    with client(server.url) as c, pytest.raises(rs.RtcApiError) as info:
        c.start_record(START)
    assert info.value.code == "FlowLimitExceeded.QPSOverLimit"
    assert info.value.ambiguous is True
    assert server.requests == 3


def test_500_then_401_is_an_ambiguous_error(serve: Callable[[Handler], RawServer]) -> None:
    def handler(conn: socket.socket, n: int) -> None:
        if n == 1:
            answer(conn, 500, envelope(("InternalError", 100014)))
        else:
            answer(conn, 401, envelope(("InvalidAccessKey", 100009)))

    server = serve(handler)
    with client(server.url) as c, pytest.raises(rs.RtcApiError) as info:
        c.start_record(START)
    assert (info.value.code, info.value.ambiguous) == ("InvalidAccessKey", True)


def test_a_plain_refusal_is_not_ambiguous(serve: Callable[[Handler], RawServer]) -> None:
    server = serve(lambda conn, n: answer(conn, 400, envelope(("InvalidParameter", 0))))
    with client(server.url) as c, pytest.raises(rs.RtcApiError) as info:
        c.start_record(START)
    assert info.value.ambiguous is False
    with pytest.raises(rs.RequestInvalid) as invalid:
        c.start_record(cast(Any, {"AppId": "a"}))
    assert invalid.value.ambiguous is False


@pytest.mark.parametrize("value", ["nan", "NaN", "-5", "inf", "1e400", "soon", "", "9" * 40])
def test_a_nonsense_retry_after_is_ignored(
    serve: Callable[[Handler], RawServer], value: str
) -> None:
    def handler(conn: socket.socket, n: int) -> None:
        if n == 1:
            answer(conn, 429, envelope(("FlowLimitExceeded", 0)), f"Retry-After: {value}\r\n")
        else:
            answer(conn, 200, envelope())

    server = serve(handler)
    with client(server.url) as c:
        assert c.start_record(START).result == "ok"
    assert retry_after_seconds(value) == 0.0


def test_retry_after_takes_seconds_and_http_dates() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("100000") == RETRY_AFTER_CAP
    now = 1_700_000_000.0
    assert retry_after_seconds("Tue, 14 Nov 2023 22:13:25 GMT", now=now) == pytest.approx(5.0)
    assert retry_after_seconds("Tue, 14 Nov 2023 22:13:10 GMT", now=now) == 0.0  # in the past


def test_a_closed_client_sends_nothing(serve: Callable[[Handler], RawServer]) -> None:
    server = serve(lambda conn, n: answer(conn, 200, envelope()))
    c = client(server.url)
    copy = c.with_options(max_attempts=1)
    c.close()
    for closed in (c, copy):
        with pytest.raises(rs.ClientClosed, match="closed"):
            closed.start_record(START)
    assert server.requests == 0


def test_the_session_token_is_redacted_in_every_repr() -> None:
    token = "STS-SESSION-TOKEN-VALUE"
    c = rs.RtcClient(rs.Credentials("AKTEST", "SKTEST", token))
    prepared = c.prepare("StartRecord", START)
    assert prepared.headers["X-Security-Token"] == token  # it is sent
    details = signing.sign_details(
        "POST", "rtc.volcengineapi.com", "/", [("Action", "StartRecord")], {}, b"{}",
        access_key_id="AKTEST", secret_access_key="SKTEST", region="cn-north-1",
        service="rtc", x_date="20261201T000000Z", session_token=token,
    )  # fmt: skip
    assert token in details.canonical_request
    for text in (repr(prepared), str(prepared), repr(details), repr(c)):
        assert token not in text and "SKTEST" not in text


def test_the_signing_key_cache_holds_no_secret_and_is_bounded() -> None:
    secret = "A-VERY-SECRET-ACCESS-KEY"
    for day in range(40):
        x_date = f"2026{day // 28 + 11:02d}{day % 28 + 1:02d}T000000Z"
        signing.sign("GET", "h", "/", [], {}, b"", access_key_id="AK", secret_access_key=secret,
                     region="r", service="rtc", x_date=x_date)  # fmt: skip
    cache = signing._KEY_CACHE
    assert len(cache._entries) <= cache._maxsize
    for key in cache._entries:
        assert isinstance(key, bytes) and secret.encode() not in key
    assert secret not in repr(cache)


def test_validate_refuses_what_encoding_would_refuse_and_so_does_the_simulator() -> None:
    raw = ('{"AppId":"a","RoomId":"r","TaskId":"t",'
           '"Vod":{"AccountId":"\\ud800","Space":"\\udfff x"}}')  # fmt: skip
    body = json.loads(raw)
    problems = rs.validate(body)
    assert {(p.path, p.rule) for p in problems if p.severity == "error"} == {
        ("$.Vod.AccountId", "encoding.utf8"),
        ("$.Vod.Space", "encoding.utf8"),
    }
    with pytest.raises(rs.RequestInvalid) as info:
        rs.RtcClient(rs.Credentials("a", "b")).prepare("StartRecord", body)
    assert {p.path for p in info.value.problems} == {"$.Vod.AccountId", "$.Vod.Space"}
    with Simulator(qps=None) as sim:
        import urllib3

        headers = signing.sign(
            "POST", sim.url.split("//")[1], "/", [("Action", "StartRecord"),
            ("Version", "2020-12-01")], {"Content-Type": "application/json"}, raw.encode(),
            access_key_id=sim.credentials.access_key_id,
            secret_access_key=sim.credentials.secret_access_key,
            region=sim.region, service="rtc", x_date=signing.x_date_now(),
        )  # fmt: skip
        r = urllib3.PoolManager().request(
            "POST", f"{sim.url}/?Action=StartRecord&Version=2020-12-01", body=raw.encode(),
            headers=headers,
        )  # fmt: skip
    assert r.status == 400 and b"encoding.utf8" in r.data


def test_nan_anywhere_is_a_validation_error() -> None:
    orientation = {"Forward": [float("nan"), 0, 0]}
    body = {**START, "Control": {"SpatialConfig": {"AudienceSpatialOrientation": orientation}}}
    problems = rs.validate(body)
    assert ("$.Control.SpatialConfig.AudienceSpatialOrientation.Forward[0]", "encoding.finite") in {
        (p.path, p.rule) for p in problems
    }
    with pytest.raises(rs.RequestInvalid):
        rs.RtcClient(rs.Credentials("a", "b")).prepare("StartRecord", body)


def _admin_answer(kind: str) -> Handler:
    def handler(conn: socket.socket, n: int) -> None:
        if kind == "deep":
            answer(conn, 200, b"[" * 100_000 + b"]" * 100_000)
        elif kind == "endless":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
            with contextlib.suppress(OSError):
                for _ in range(2000):  # 128 MiB at most, or until the client stops reading
                    conn.sendall(b" " * 65536)
        else:  # the headers a line every half second
            _trickle_headers(conn)

    return handler


@pytest.mark.parametrize("kind", ["deep", "endless", "trickle"])
def test_the_admin_client_is_bounded_against_a_wrong_endpoint(
    serve: Callable[[Handler], RawServer], kind: str
) -> None:
    from rtc_startrecord.simulator.admin_client import AdminClient

    server = serve(_admin_answer(kind))
    t0 = time.monotonic()
    expected: type[Exception] = ValueError if kind != "trickle" else urllib3.exceptions.HTTPError
    with AdminClient(server.url, timeout=2.0) as admin, pytest.raises(expected) as info:
        admin.tasks()
    assert time.monotonic() - t0 < 2.0 + 1.5
    if kind == "endless":
        assert "passed 16 MiB" in str(info.value)
    if kind == "deep":
        assert "no JSON answer" in str(info.value)


@pytest.mark.parametrize("kind", ["endless", "trickle"])
def test_callback_delivery_is_bounded_against_a_hostile_receiver(
    serve: Callable[[Handler], RawServer], kind: str
) -> None:
    """The simulator's deliverer reads a receiver's answer within its timeout and 64 KiB, and
    records the attempt as failed (it used to read an endless answer into memory)."""
    server = serve(_admin_answer(kind))
    with Simulator(callback_url=server.url + "/cb", callback_secret="s", callback_timeout=1.0,
                   callback_retry_delay=60.0) as sim:  # fmt: skip
        t0 = time.monotonic()
        rs.RtcClient(sim.credentials, endpoint=sim.url, qps=None).start_record(START)
        while not sim.deliveries and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        assert sim.deliveries, "no attempt recorded"
        first = sim.deliveries[0]
        assert not first.ok
        assert first.seconds < 1.0 + 1.0
        assert first.error is not None
        if kind == "endless":
            assert "passed 64 KiB" in first.error
        else:  # the head's deadline passed: urllib3's read timeout
            assert "timed out" in first.error
