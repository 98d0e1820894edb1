"""Hardening of the loopback HTTP/1.1 server: every malformed request is answered (4xx,
with the ``error_body`` envelope), empty lines before a request line are ignored, slow
clients are timed out and the number of connections (and threads) is capped.

Real sockets on 127.0.0.1 only; every wait is bounded by a socket timeout or a deadline.
"""

from __future__ import annotations

import json
import logging
import resource
import selectors
import socket
import statistics
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
import urllib3

from rtc_startrecord.simulator import Simulator
from rtc_startrecord.simulator.server import WSGIServer

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

START = b"/?Action=StartRecord&Version=2020-12-01"


class RecordingApp:
    """Answers 200 with the path and body it saw, and counts its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = environ["wsgi.input"].read()
        with self.lock:
            self.calls.append(environ["PATH_INFO"])
        payload = {
            "path": environ["PATH_INFO"],
            "body": body.decode("latin-1"),
            "protocol": environ["SERVER_PROTOCOL"],
        }
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(payload).encode()]


@pytest.fixture
def app() -> RecordingApp:
    return RecordingApp()


@pytest.fixture
def envelope_server(app: RecordingApp) -> Iterator[WSGIServer]:
    """The recording app behind the simulator's own ``error_body`` hook (its envelope)."""
    sim = Simulator(qps=None)  # never started: only its error renderer is used
    with WSGIServer(app, max_body=1024, error_body=sim.app.http_error_body) as srv:
        yield srv


def exchange(port: int, data: bytes, timeout: float = 5.0, *, half_close: bool = True) -> bytes:
    """Send ``data`` (then half-close), read until the server closes; bounded by ``timeout``."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-cased names) and body of the first response in ``raw``."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep, f"no complete response: {raw[:200]!r}"
    status_line, *lines = head.decode("latin-1").split("\r\n")
    assert status_line.startswith("HTTP/1.1 "), status_line
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    return int(status_line.split(" ", 2)[1]), headers, rest[:length]


def error_of(body: bytes) -> dict[str, Any]:
    """The ``ResponseMetadata`` of an error envelope (asserting it is one)."""
    meta: dict[str, Any] = json.loads(body)["ResponseMetadata"]
    assert meta["RequestId"]
    assert meta["Service"] == "rtc"
    assert meta["Error"]["Code"] and meta["Error"]["Message"]
    return meta


def still_serves(port: int) -> None:
    raw = exchange(port, b"GET /alive HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, _, body = parse(raw)
    assert status == 200 and json.loads(body)["path"] == "/alive"


# --------------------------------------------------------------------------- the observations


def test_a_5000_digit_content_length_gets_a_413_envelope(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """It used to drop the connection, logging ``Exceeds the limit (4300 digits)``."""
    request = b"POST " + START + b" HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"9" * 5000
    with caplog.at_level(logging.DEBUG, logger="rtc_startrecord.simulator"), Simulator() as sim:
        port = int(sim.url.rsplit(":", 1)[1])
        status, headers, body = parse(exchange(port, request + b"\r\n\r\n"))
        assert status == 413
        assert headers["connection"] == "close"
        meta = error_of(body)
        assert (meta["Action"], meta["Version"]) == ("StartRecord", "2020-12-01")
        assert meta["Error"]["Code"] == "InvalidParameter.BodyTooLarge"
        assert "5000-digit" in meta["Error"]["Message"]
    assert "4300" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "prefix",
    [b"\r\n", b"\n", b"\r\n\r\n\r\n", b"\n\r\n\n", b"\r\n" * 8],
    ids=["CRLF", "LF", "3xCRLF", "mixed", "8xCRLF"],
)
def test_empty_lines_before_the_request_line_are_ignored(
    app: RecordingApp, envelope_server: WSGIServer, prefix: bytes
) -> None:
    """RFC 9112 section 2.2; it used to drop the connection without an answer."""
    request = prefix + b"GET /after-blank HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    status, _, body = parse(exchange(envelope_server.port, request))
    assert status == 200
    assert json.loads(body)["path"] == "/after-blank"
    assert app.calls == ["/after-blank"]


def test_empty_lines_before_the_request_line_reach_the_simulator() -> None:
    with Simulator() as sim:
        port = int(sim.url.rsplit(":", 1)[1])
        request = b"\r\nGET " + START + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        status, _, body = parse(exchange(port, request))
    # The app answered: the unsigned request is refused by the gateway, not by the HTTP layer.
    assert status == 405  # StartRecord takes POST
    assert error_of(body)["Error"]["Code"] == "MethodNotAllowed"


def test_a_crlf_after_a_body_on_a_kept_alive_connection_is_ignored(
    app: RecordingApp, envelope_server: WSGIServer
) -> None:
    request = (
        b"POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc\r\n"
        b"GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    raw = exchange(envelope_server.port, request)
    assert raw.count(b"HTTP/1.1 200 OK") == 2
    assert app.calls == ["/one", "/two"]


def test_too_many_empty_lines_are_a_400(app: RecordingApp, envelope_server: WSGIServer) -> None:
    request = b"\r\n" * 9 + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    status, _, body = parse(exchange(envelope_server.port, request))
    assert status == 400
    assert "empty lines" in error_of(body)["Error"]["Message"]
    assert app.calls == []


def test_only_empty_lines_then_close_is_closed_quietly(envelope_server: WSGIServer) -> None:
    assert exchange(envelope_server.port, b"\r\n\r\n") == b""


# --------------------------------------------------------------------------- malformed requests

_GET = b"GET / HTTP/1.1\r\nHost: x\r\n"
_POST = b"POST " + START + b" HTTP/1.1\r\nHost: x\r\n"

MALFORMED: list[tuple[str, bytes, int]] = [
    # Content-Length
    ("cl-5000-digits", _POST + b"Content-Length: " + b"1" * 5000 + b"\r\n\r\n", 413),
    ("cl-20-digits", _POST + b"Content-Length: 99999999999999999999\r\n\r\n", 413),
    ("cl-over-limit", _POST + b"Content-Length: 1025\r\n\r\n", 413),
    ("cl-negative", _POST + b"Content-Length: -1\r\n\r\n", 400),
    ("cl-plus-sign", _POST + b"Content-Length: +5\r\n\r\nabcde", 400),
    ("cl-float", _POST + b"Content-Length: 1e3\r\n\r\n", 400),
    ("cl-hex", _POST + b"Content-Length: 0x10\r\n\r\n", 400),
    ("cl-words", _POST + b"Content-Length: ten\r\n\r\n", 400),
    ("cl-empty", _POST + b"Content-Length: \r\n\r\n", 400),
    ("cl-inner-space", _POST + b"Content-Length: 1 0\r\n\r\n", 400),
    ("cl-two-conflicting", _POST + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    ("cl-list-conflicting", _POST + b"Content-Length: 3, 4\r\n\r\nabcd", 400),
    ("cl-non-ascii", _POST + b"Content-Length: \xd9\xa3\r\n\r\n", 400),  # Arabic-Indic 3
    # Transfer-Encoding
    ("cl-and-te", _POST + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    ("te-gzip", _POST + b"Transfer-Encoding: gzip\r\n\r\nabc", 400),
    ("te-chunked-not-last", _POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n", 400),
    (
        "te-twice-chunked",
        _POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    ),
    ("te-in-http10", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    # chunked bodies
    ("chunk-size-not-hex", _POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ("chunk-size-0x", _POST + b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400),
    (
        "chunk-size-negative",
        _POST + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    ("chunk-size-empty", _POST + b"Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk-size-huge", _POST + b"Transfer-Encoding: chunked\r\n\r\n" + b"f" * 40 + b"\r\n", 413),
    (
        "chunk-line-too-long",
        _POST + b"Transfer-Encoding: chunked\r\n\r\n1;" + b"x" * 2000 + b"\r\n",
        400,
    ),
    (
        "chunk-no-crlf-after-data",
        _POST + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n",
        400,
    ),
    ("chunk-truncated", _POST + b"Transfer-Encoding: chunked\r\n\r\n10\r\nabc", 400),
    ("chunk-no-last-chunk", _POST + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", 400),
    ("chunk-bad-trailer", _POST + b"Transfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n\r\n", 400),
    (
        "chunk-too-large",
        _POST + b"Transfer-Encoding: chunked\r\n\r\n401\r\n" + b"x" * 0x401 + b"\r\n0\r\n\r\n",
        413,
    ),
    ("body-truncated", _POST + b"Content-Length: 10\r\n\r\nabc", 400),
    # sizes
    ("request-line-70k", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("request-line-70k-no-end", b"GET /" + b"a" * 70000, 414),
    ("header-70k", _GET + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n", 431),
    ("headers-200", _GET + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n", 431),
    ("headers-10000", _GET + b"".join(b"X-H%d: v\r\n" % i for i in range(10000)) + b"\r\n", 431),
    # request lines
    ("http09", b"GET /\r\n\r\n", 400),
    ("http09-version", b"GET / HTTP/0.9\r\n\r\n", 400),
    ("http2-version", b"GET / HTTP/2.0\r\n\r\n", 400),
    ("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),
    ("version-no-minor", b"GET / HTTP/1\r\nHost: x\r\n\r\n", 400),
    ("version-lowercase", b"GET / http/1.1\r\nHost: x\r\n\r\n", 400),
    ("version-junk", b"GET / NOTHTTP\r\n\r\n", 400),
    ("one-word", b"GARBAGE\r\n\r\n", 400),
    ("four-words", b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400),
    ("space-in-target", b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("bad-method", b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("bad-target", b"GET abc HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("bad-scheme", b"GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("bare-cr", b"GET / HTTP/1.1\rHost: x\r\n\r\n", 400),
    ("non-ascii-target", b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("nul-in-line", b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("binary-junk", b"\x00\xff\xfe\x16\x03\x01 binary junk\r\n\r\n", 400),
    ("tls-hello", bytes.fromhex("160301020001000200030300") + bytes(range(256)), 400),
    # header fields
    ("obs-fold", _GET + b"X-A: a\r\n b\r\n\r\n", 400),
    ("space-before-colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("no-colon", _GET + b"NoColonHere\r\n\r\n", 400),
    ("empty-name", _GET + b": value\r\n\r\n", 400),
    ("non-ascii-name", _GET + b"X-Caf\xc3\xa9: v\r\n\r\n", 400),
    ("control-in-value", _GET + b"X-Date: \x01\r\n\r\n", 400),
    ("nul-in-value", _GET + b"X-A: a\x00b\r\n\r\n", 400),
    ("two-hosts", _GET + b"Host: y\r\n\r\n", 400),
    ("head-incomplete", _GET + b"X-Half: ", 400),
]


@pytest.mark.parametrize(
    ("data", "status"),
    [pytest.param(data, status, id=name) for name, data, status in MALFORMED],
)
def test_malformed_requests_get_a_4xx_envelope(
    app: RecordingApp, envelope_server: WSGIServer, data: bytes, status: int
) -> None:
    started = time.monotonic()
    raw = exchange(envelope_server.port, data)
    elapsed = time.monotonic() - started
    assert raw, "no answer"
    got, headers, body = parse(raw)
    assert got == status, body
    assert headers["connection"] == "close"
    assert headers["content-type"] == "application/json"
    meta = error_of(body)
    expected = "InvalidParameter.BodyTooLarge" if status == 413 else "InvalidRequest"
    assert meta["Error"]["Code"] == expected
    if data.startswith(_POST) and status == 413:  # the envelope names the action
        assert (meta["Action"], meta["Version"]) == ("StartRecord", "2020-12-01")
    assert app.calls == []
    assert elapsed < 3.0
    still_serves(envelope_server.port)


def test_malformed_requests_are_answered_before_the_client_closes(
    envelope_server: WSGIServer,
) -> None:
    """The answer comes at once, not when the client gives up (no half-close here)."""
    for data in (b"GET / HTTP/2.0\r\n\r\n", _POST + b"Content-Length: -1\r\n\r\n"):
        started = time.monotonic()
        raw = exchange(envelope_server.port, data, timeout=3.0, half_close=False)
        assert parse(raw)[0] == 400
        assert time.monotonic() - started < 1.0


def test_the_simulator_answers_malformed_requests_with_its_envelope() -> None:
    with Simulator() as sim:
        port = int(sim.url.rsplit(":", 1)[1])
        for name, data, status in MALFORMED[::3]:
            if "limit" in name or "too-large" in name:
                continue  # the simulator's body limit is larger
            got, _, body = parse(exchange(port, data))
            assert got == status
            error_of(body)


@pytest.mark.parametrize(
    ("data", "body"),
    [
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", "abc"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", "abc"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 003\r\n\r\nabc", "abc"),
        (b"POST / HTTP/1.1\nHost: x\nContent-Length: 2\n\nab", "ab"),  # LF line endings
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n2\nab\n0\n\n", "ab"),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"002\r\nab\r\n0\r\n\r\n",
            "ab",
        ),
        (b"GET / HTTP/1.2\r\nHost: x\r\n\r\n", ""),  # a later minor version is served as 1.1
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Latin: caf\xe9\r\n\r\n", ""),  # obs-text is allowed
    ],
    ids=[
        "cl-repeated",
        "cl-list-repeated",
        "cl-leading-zeros",
        "lf-only",
        "chunked-lf",
        "chunk-zeros",
        "http-1.2",
        "obs-text",
    ],
)
def test_lenient_but_valid_requests_are_served(
    envelope_server: WSGIServer, data: bytes, body: str
) -> None:
    with socket.create_connection(("127.0.0.1", envelope_server.port), timeout=5) as sock:
        sock.sendall(data)
        raw = b""
        while b"\r\n\r\n" not in raw or not raw.endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    status, _, payload = parse(raw)
    assert status == 200, payload
    assert json.loads(payload)["body"] == body


def test_expect_100_continue_with_too_large_a_body_gets_413_without_100(
    envelope_server: WSGIServer,
) -> None:
    request = _POST + b"Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n"
    with socket.create_connection(("127.0.0.1", envelope_server.port), timeout=5) as sock:
        sock.sendall(request)
        first = sock.recv(65536)
    assert first.startswith(b"HTTP/1.1 413 ")


# --------------------------------------------------------------------------- slow clients


def test_a_header_trickle_gets_408_at_the_header_deadline(app: RecordingApp) -> None:
    """Slowloris: a byte every 0.1 s never trips the 5 s idle timeout, but the head deadline."""
    with WSGIServer(app, header_timeout=1.0, error_body=Simulator().app.http_error_body) as srv:
        trickle = b"Host: x\r\nX-Slow: " + b"a" * 100
        answer = b""
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", srv.port), timeout=0.1) as sock:
            sock.sendall(b"GET " + START + b" HTTP/1.1\r\n")
            for byte in trickle:  # 10 s of trickle at most; the server cuts it at ~1 s
                try:
                    sock.sendall(bytes([byte]))
                    answer += sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if answer:
                    break
            elapsed = time.monotonic() - started
            sock.settimeout(2.0)
            while b"}" not in answer and (chunk := sock.recv(65536)):
                answer += chunk
    status, _, body = parse(answer)
    assert status == 408
    meta = error_of(body)
    assert (meta["Action"], meta["Version"]) == ("StartRecord", "2020-12-01")
    assert 0.9 <= elapsed < 2.0
    assert app.calls == []


def test_a_body_trickle_gets_408_at_the_body_deadline(app: RecordingApp) -> None:
    with WSGIServer(app, body_timeout=1.0) as srv:
        answer = b""
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", srv.port), timeout=0.1) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
            for _ in range(100):
                try:
                    sock.sendall(b"x")
                    answer += sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if answer:
                    break
            elapsed = time.monotonic() - started
            sock.settimeout(2.0)
            while b"}" not in answer and (chunk := sock.recv(65536)):
                answer += chunk
    assert parse(answer)[0] == 408
    assert 0.9 <= elapsed < 2.0
    assert app.calls == []


def test_a_stalled_body_gets_408_after_the_idle_timeout(app: RecordingApp) -> None:
    with WSGIServer(app, timeout=0.5) as srv:
        started = time.monotonic()
        raw = exchange(
            srv.port,
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
            half_close=False,
        )
        elapsed = time.monotonic() - started
    assert parse(raw)[0] == 408
    assert 0.4 <= elapsed < 2.0


def test_an_idle_connection_is_closed_after_the_timeout(app: RecordingApp) -> None:
    with WSGIServer(app, timeout=0.5) as srv:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", srv.port), timeout=3) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        assert parse(raw)[0] == 200
        assert 0.4 <= time.monotonic() - started < 2.0


# --------------------------------------------------------------------------- the connection cap


def _threads() -> int:
    return threading.active_count()


def _fd_room(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            pytest.skip(f"needs {needed} file descriptors, the limit is {hard}")


def _open_slow(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that each send half a request head and then nothing."""
    socks = []
    for i in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /slow%d HTTP/1.1\r\nHost: x\r\nX-Slow: " % i)
        socks.append(sock)
    return socks


def _timed_request(port: int, path: str = "/probe") -> tuple[int, float, dict[str, str], bytes]:
    started = time.monotonic()
    request = b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode()
    status, headers, body = parse(exchange(port, request))
    return status, time.monotonic() - started, headers, body


def _answers(
    socks: list[socket.socket], timeout: float
) -> dict[socket.socket, tuple[bytes, float]]:
    """What each socket receives within ``timeout`` and when its first byte came."""
    got: dict[socket.socket, tuple[bytes, float]] = {s: (b"", 0.0) for s in socks}
    open_ = set(socks)
    started = time.monotonic()
    with selectors.DefaultSelector() as sel:
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        deadline = started + timeout
        while open_ and (remaining := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(remaining):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                try:
                    chunk = ready.recv(65536)
                except OSError:
                    chunk = b""
                if chunk:
                    data, first = got[ready]
                    got[ready] = (data + chunk, first or time.monotonic() - started)
                else:
                    sel.unregister(ready)
                    open_.discard(ready)
    return got


@pytest.mark.parametrize(
    ("count", "kwargs"),
    [(250, {}), (600, {"max_connections": 1024})],
    ids=["250-default-cap", "600-cap-1024"],
)
def test_slow_connections_hold_no_threads_and_requests_are_served_meanwhile(
    app: RecordingApp, count: int, kwargs: dict[str, Any]
) -> None:
    """Half-sent heads: the old server spent a thread on each; now they cost none."""
    _fd_room(2 * count + 200)
    with WSGIServer(app, **kwargs) as srv:
        before = _threads()
        socks = _open_slow(srv.port, count)
        try:
            time.sleep(0.2)  # let the event loop accept and read them all
            held = _threads()
            timings = []
            for i in range(20):
                status, elapsed, _, body = _timed_request(srv.port, f"/probe{i}")
                assert status == 200
                assert json.loads(body)["path"] == f"/probe{i}"
                timings.append(elapsed)
            during = _threads()
            assert not any(data for data, _ in _answers(socks, 0.05).values())  # still waiting
        finally:
            for s in socks:
                s.close()
    assert held - before <= 1, (before, held)
    assert during - before <= 4, (before, during)
    assert max(timings) < 1.0, timings
    assert statistics.median(timings) < 0.1, timings
    assert [c for c in app.calls if c.startswith("/slow")] == []


def test_beyond_the_cap_new_connections_get_a_quick_503(app: RecordingApp) -> None:
    """400 slow connections against the default cap of 256: 144 quick 503s, no hang."""
    cap, extra = 256, 144
    _fd_room(2 * (cap + extra) + 200)
    sim = Simulator()
    with WSGIServer(app, error_body=sim.app.http_error_body) as srv:
        before = _threads()
        socks = _open_slow(srv.port, cap + extra)
        try:
            first = _answers(socks, 1.5)
            rejected = [s for s, (data, _) in first.items() if data]
            assert len(rejected) == extra
            for s in rejected:
                status, headers, body = parse(first[s][0])
                assert status == 503
                assert headers["retry-after"] == "1"
                assert headers["connection"] == "close"
                error_of(body)
            slowest_503 = max(first[s][1] for s in rejected)
            # A well-formed request at the cap: a quick, definite answer, not a hang.
            status, elapsed_503, headers, _ = _timed_request(srv.port)
            assert (status, headers["retry-after"]) == (503, "1")
            threads_at_cap = _threads()
            # Slow clients that go away free their slots: requests are served again.
            held = [s for s in socks if s not in rejected]
            for s in held[:50]:
                s.close()
            time.sleep(0.2)
            status, elapsed_200, _, _ = _timed_request(srv.port)
            assert status == 200
        finally:
            for s in socks:
                s.close()
    assert slowest_503 < 1.5
    assert elapsed_503 < 1.0
    assert elapsed_200 < 1.0
    assert threads_at_cap - before <= 2
    assert app.calls == ["/probe"]


def test_slow_heads_get_408_at_the_header_deadline_and_free_their_slots(
    app: RecordingApp,
) -> None:
    cap = 300
    _fd_room(2 * cap + 200)
    with WSGIServer(app, max_connections=cap, header_timeout=1.0) as srv:
        socks = _open_slow(srv.port, cap)
        try:
            assert _timed_request(srv.port)[0] == 503
            started = time.monotonic()
            answers = _answers(socks, 4.0)
            assert time.monotonic() - started < 3.0  # every slow connection was closed
            assert {parse(data)[0] for data, _ in answers.values()} == {408}
            assert _timed_request(srv.port)[0] == 200
        finally:
            for s in socks:
                s.close()


def test_at_the_cap_an_idle_keep_alive_connection_makes_room(app: RecordingApp) -> None:
    with WSGIServer(app, max_connections=2, timeout=30.0) as srv:
        pools = [
            urllib3.HTTPConnectionPool("127.0.0.1", srv.port, retries=False, timeout=5)
            for _ in range(3)
        ]
        try:
            for pool in pools[:2]:
                assert pool.request("GET", "/keep").status == 200  # now idle, kept alive
                time.sleep(0.05)
            # The third client is served: the oldest idle connection was closed for it.
            assert pools[2].request("GET", "/third").status == 200
        finally:
            for pool in pools:
                pool.close()


def test_at_the_cap_connections_in_progress_are_not_evicted(app: RecordingApp) -> None:
    with WSGIServer(app, max_connections=2) as srv:
        socks = _open_slow(srv.port, 2)
        try:
            time.sleep(0.1)
            status, elapsed, _, _ = _timed_request(srv.port)
            assert status == 503 and elapsed < 0.5
            for s in socks:
                s.sendall(b"1\r\nConnection: close\r\n\r\n")
            answers = _answers(socks, 3.0)
            assert [parse(data)[0] for data, _ in answers.values()] == [200, 200]
        finally:
            for s in socks:
                s.close()


def test_stop_is_prompt_with_many_slow_connections(app: RecordingApp) -> None:
    _fd_room(1000)
    srv = WSGIServer(app).start()
    port = srv.port
    socks = _open_slow(port, 300)
    try:
        time.sleep(0.1)
        started = time.monotonic()
        srv.stop()
        assert time.monotonic() - started < 2.0
        assert not [t for t in threading.enumerate() if t.name.startswith(f"rtc-sim-{port}")]
        answers = _answers(socks, 2.0)  # every connection was closed by the server
        assert all(not data or data.startswith(b"HTTP/1.1 503") for data, _ in answers.values())
    finally:
        for s in socks:
            s.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_connections": 0},
        {"max_connections": 1.5},
        {"max_connections": True},
        {"header_timeout": 0},
        {"body_timeout": -1},
        {"timeout": float("nan")},
    ],
)
def test_limits_are_validated(app: RecordingApp, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        WSGIServer(app, **kwargs)
