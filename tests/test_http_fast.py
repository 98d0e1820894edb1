"""`rtc_startrecord.http_fast`: the fast header parsing gives what the stdlib's gives.

Every case is read twice through urllib3 from a real server on 127.0.0.1 (a raw socket thread
writing chosen bytes, whole, split over many TCP packets, or trickled): once with urllib3's stock
connection (`http.client.HTTPResponse`), once with `use_fast_headers`; the outcomes (status,
`msg.items()`, the message's defects and unparsed rest, urllib3's headers, the body, urllib3's
"Failed to parse headers" warning, or the exception) must be the same. A hypothesis property
compares `parse_headers` and `begin()` with the stdlib's on random header blocks.
"""

from __future__ import annotations

import email.message
import http.client
import io
import logging
import queue
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ProtocolError

from rtc_startrecord import http_fast
from rtc_startrecord.http_fast import (
    FastHTTPConnection,
    FastHTTPResponse,
    FastHTTPSConnection,
    use_fast_headers,
)

# -- the server --------------------------------------------------------------------------------


@dataclass
class Script:
    """One answer: its bytes, how they are written, and whether the connection then closes."""

    data: bytes
    pieces: int = 1  # written in this many sendall calls (TCP_NODELAY, a pause between them)
    pause: float = 0.0
    close: bool = True


@dataclass
class RawServer:
    """Reads each request (head and Content-Length body) and answers the next queued Script."""

    context: ssl.SSLContext | None = None
    scripts: queue.Queue[Script] = field(default_factory=queue.Queue)
    requests: list[tuple[int, bytes]] = field(default_factory=list)  # (connection no., bytes)
    _sock: socket.socket = field(init=False)
    _conns: int = 0

    def start(self) -> int:
        self._sock = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()
        return int(self._sock.getsockname()[1])

    def stop(self) -> None:
        self._sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns += 1
            threading.Thread(target=self._serve, args=(conn, self._conns), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                chunked = b"transfer-encoding: chunked" in head.lower()
                while len(buf) < length or (chunked and b"0\r\n\r\n" not in buf):
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                if chunked:
                    end = buf.index(b"0\r\n\r\n") + 5
                    body, buf = buf[:end], buf[end:]
                else:
                    body, buf = buf[:length], buf[length:]
                self.requests.append((number, head + b"\r\n\r\n" + body))
                script = self.scripts.get(timeout=10)
                size = max(1, -(-len(script.data) // script.pieces))
                for start in range(0, len(script.data), size):
                    conn.sendall(script.data[start : start + size])
                    if script.pause:
                        time.sleep(script.pause)
                if script.close:
                    return
        except OSError:
            return
        finally:
            conn.close()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[RawServer, int]]:
    srv = RawServer()
    port = srv.start()
    yield srv, port
    srv.stop()


# -- one exchange, its outcome -----------------------------------------------------------------


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().split(" (url=")[0])


def _message_state(msg: email.message.Message) -> Any:
    """What a reader of the message can see: headers, unparsed rest (or parts), defects."""
    payload = msg.get_payload()
    if isinstance(payload, list):
        payload = [
            _message_state(part) for part in payload if isinstance(part, email.message.Message)
        ]
    return (
        msg.items(),
        payload,
        [(type(d).__name__, str(d)) for d in msg.defects],
        msg.get_unixfrom(),
        msg.preamble,
        msg.epilogue,
        msg.get_default_type(),
    )


def _make_pool(port: int, fast: bool) -> urllib3.HTTPConnectionPool:
    pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, retries=False)
    return use_fast_headers(pool) if fast else pool


def outcome(srv: RawServer, port: int, script: Script, *, fast: bool, method: str = "GET") -> Any:
    pool = _make_pool(port, fast)
    srv.scripts.put(script)
    warnings = _Warnings()
    logger = logging.getLogger("urllib3.connection")
    logger.addHandler(warnings)
    try:
        resp = pool.urlopen(method, "/x", preload_content=False, timeout=10)
    except ProtocolError as exc:
        inner = exc.args[1] if len(exc.args) > 1 else None
        return ("raised", type(exc).__name__, type(inner).__name__, str(inner))
    finally:
        logger.removeHandler(warnings)
        pool.close()
    assert isinstance(resp, urllib3.HTTPResponse)
    original = resp._original_response
    assert isinstance(original, http.client.HTTPResponse)
    assert isinstance(original, FastHTTPResponse) is fast
    assert isinstance(original.msg, http.client.HTTPMessage)
    result = (
        resp.status,
        resp.reason,
        resp.version,
        original.will_close,
        original.chunked,
        _message_state(original.msg),
        list(resp.headers.items()),
        original.msg.get("content-length"),
        original.msg.get_all("set-cookie"),
        resp.read(),
        warnings.messages,
    )
    resp.release_conn()
    return result


# -- the table ---------------------------------------------------------------------------------

LONG_OK = b"X-Long: " + b"a" * (65536 - 10) + b"\r\n"  # exactly 65536 bytes: allowed
LONG_BAD = b"X-Long: " + b"a" * (65537 - 10) + b"\r\n"  # 65537 bytes: LineTooLong
assert len(LONG_OK) == 65536
assert len(LONG_BAD) == 65537


def many(n: int) -> bytes:
    return b"".join(b"X-H%d: %d\r\n" % (i, i) for i in range(n))


BLOCKS: dict[str, bytes] = {
    "normal": b"Content-Type: application/json\r\nX-Tt-Logid: 2026abc\r\n",
    "duplicates": b"Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2\r\nX-A: 1\r\nx-a: 2\r\n",
    "case-insensitive": b"content-TYPE: text/plain\r\nCONTENT-LENGTH: 4\r\n",
    "obs-fold": b"X-Fold: a\r\n  b\r\n\tc\r\nX-After: d\r\n",
    "obs-fold first line": b" leading\r\nX-A: 1\r\n",
    "line of 65536 bytes": LONG_OK,
    "line of 65537 bytes": LONG_BAD,
    "98 headers": many(98),
    "99 headers": many(99),
    "100 headers": many(100),
    "101 headers": many(101),
    "no headers": b"",
    "no colon": b"X-A: 1\r\nNoColonHere\r\nX-B: 2\r\n",
    "space in name": b"Bad Name: 1\r\nX-B: 2\r\n",
    "space before colon": b"X-A : 1\r\n",
    "empty name": b": 1\r\nX-B: 2\r\n",
    "empty value": b"X-Empty:\r\nX-Blank: \r\nX-Tab:\t\r\n",
    "latin-1 bytes": b"X-Latin: caf\xe9 \xff\xa0\x85\r\nX-\xe9: 1\r\n",
    "control bytes": b"X-Ctl: a\x00b\x0bc\x0cd\x1c\x7f\r\n",
    "spaces kept at the end": b"X-A:   \t a b \t \r\n",
    "colon in value": b"X-A: b: c:d\r\n",
    "bare LF": b"X-A: 1\nX-B: 2\n",
    "mixed CRLF and LF": b"X-A: 1\r\nX-B: 2\n",
    "bare CR inside": b"X-A: 1\rX-B: 2\r\n",
    "CR before CRLF": b"X-A: 1\r\r\nX-B: 2\r\n",
    "unix from": b"From someone\r\nX-A: 1\r\n",
    "multipart": b"Content-Type: multipart/mixed; boundary=zz\r\n",
    "message/rfc822": b"Content-Type: message/rfc822\r\n",
    "message word elsewhere": b"X-Message: multipart words\r\nContent-Type: text/plain\r\n",
    "content-length": b"Content-Length: 4\r\nConnection: keep-alive\r\n",
    "connection close": b"Connection: close\r\nContent-Length: 4\r\n",
    "chunked": b"Transfer-Encoding: chunked\r\n",
}


def answer(block: bytes, *, status: bytes = b"HTTP/1.1 200 OK", end: bytes = b"\r\n") -> bytes:
    body = b"4\r\nBODY\r\n0\r\n\r\n" if b"chunked" in block else b"BODY"
    return status + b"\r\n" + block + end + body


EXTRA: dict[str, bytes] = {
    "LF-only blank line": answer(b"X-A: 1\n", end=b"\n"),
    "EOF inside the headers": b"HTTP/1.1 200 OK\r\nX-A: 1\r\nX-B: 2",
    "EOF after a header line": b"HTTP/1.1 200 OK\r\nX-A: 1\r\n",
    "100 continue first": b"HTTP/1.1 100 Continue\r\nX-Skip: 1\r\n\r\n" + answer(b"X-A: 1\r\n"),
    "HTTP/1.0": answer(b"X-A: 1\r\n", status=b"HTTP/1.0 404 Not Found"),
    "204": b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
    "bad status line": b"HTTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n",
    "HTTP/2 status": b"HTTP/2.0 200 OK\r\nX-A: 1\r\n\r\n",
}

ANSWERS = {name: answer(block) for name, block in BLOCKS.items()} | EXTRA


@pytest.mark.parametrize("name", list(ANSWERS))
@pytest.mark.parametrize("delivery", ["whole", "many packets"])
def test_same_outcome_as_stdlib(server: tuple[RawServer, int], name: str, delivery: str) -> None:
    srv, port = server
    data = ANSWERS[name]
    pieces, pause = (1, 0.0) if delivery == "whole" else (min(len(data), 40), 0.0005)
    stock = outcome(srv, port, Script(data, pieces, pause), fast=False)
    fast = outcome(srv, port, Script(data, pieces, pause), fast=True)
    assert fast == stock


@pytest.mark.parametrize("name", ["normal", "duplicates", "obs-fold", "no colon", "100 headers"])
def test_slow_trickle(server: tuple[RawServer, int], name: str) -> None:
    """One byte at a time, a pause after each: the same outcome, and no early return."""
    srv, port = server
    data = ANSWERS[name]
    pause = 0.0005 if len(data) > 300 else 0.002
    stock = outcome(srv, port, Script(data, len(data), pause), fast=False)
    fast = outcome(srv, port, Script(data, len(data), pause), fast=True)
    assert fast == stock


def test_expected_outcomes(server: tuple[RawServer, int]) -> None:
    """A few outcomes spelled out, so that "the same as the stdlib" is also the right thing."""
    srv, port = server
    assert outcome(srv, port, Script(ANSWERS["line of 65537 bytes"]), fast=True)[:3] == (
        "raised",
        "ProtocolError",
        "LineTooLong",
    )
    assert outcome(srv, port, Script(ANSWERS["100 headers"]), fast=True) == (
        "raised",
        "ProtocolError",
        "HTTPException",
        "got more than 100 headers",
    )
    dup = outcome(srv, port, Script(ANSWERS["duplicates"]), fast=True)
    assert dup[8] == ["a=1; Path=/", "b=2"]
    assert dup[5][0] == [
        ("Set-Cookie", "a=1; Path=/"),
        ("Set-Cookie", "b=2"),
        ("X-A", "1"),
        ("x-a", "2"),
    ]
    latin = outcome(srv, port, Script(ANSWERS["latin-1 bytes"]), fast=True)
    assert latin[5][0][0] == ("X-Latin", "caf\xe9 \xff\xa0\x85")
    folded = outcome(srv, port, Script(ANSWERS["obs-fold"]), fast=True)
    assert dict(folded[6])["X-Fold"] == "a b c"  # urllib3 unfolds what the stdlib kept
    no_colon = outcome(srv, port, Script(ANSWERS["no colon"]), fast=True)
    assert no_colon[5][0] == [("X-A", "1")]  # the rest is the message's unparsed payload
    assert no_colon[10] == ["Failed to parse headers"]
    case = outcome(srv, port, Script(ANSWERS["case-insensitive"]), fast=True)
    assert case[7] == "4"


def test_keep_alive_reuse(server: tuple[RawServer, int]) -> None:
    """Two answers on one connection, the first read to its end: the second reuses the socket."""
    srv, port = server
    pool = _make_pool(port, fast=True)
    before = len(srv.requests)
    try:
        for i in range(3):
            data = answer(b"Content-Length: 4\r\nX-N: %d\r\n" % i)
            srv.scripts.put(Script(data, pieces=3, pause=0.001, close=False))
            resp = pool.urlopen("GET", "/x", preload_content=False, timeout=10)
            assert resp.headers["X-N"] == str(i)
            assert resp.read() == b"BODY"
            resp.release_conn()
        assert pool.num_connections == 1
        assert len({number for number, _ in srv.requests[before:]}) == 1
        assert type(pool.pool.get()) is FastHTTPConnection  # type: ignore[union-attr]
    finally:
        pool.close()


# -- sending -----------------------------------------------------------------------------------


class _CountingSocket:
    """Wraps a connection's socket and counts its sendall calls."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.sends: list[int] = []

    def sendall(self, data: bytes) -> None:
        self.sends.append(len(data))
        self._sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _sent(
    srv: RawServer, port: int, fast: bool, body: Any, chunked: bool = False
) -> tuple[bytes, list[int]]:
    """The request bytes the server got, and the sizes of the client's sendall calls."""
    pool = _make_pool(port, fast)
    try:
        srv.scripts.put(Script(answer(b"Content-Length: 4\r\n"), close=False))
        pool.urlopen("GET", "/warm", timeout=10).read()  # connect first
        conn = pool.pool.get()  # type: ignore[union-attr]
        assert conn is not None and conn.sock is not None
        counting = _CountingSocket(conn.sock)
        conn.sock = counting
        pool.pool.put(conn)  # type: ignore[union-attr]
        srv.scripts.put(Script(answer(b"Content-Length: 4\r\n"), close=False))
        before = len(srv.requests)
        resp = pool.urlopen(
            "POST",
            "/x",
            body=body,
            headers={"X-Test": "1"},
            chunked=chunked,
            timeout=10,
        )
        assert resp.data == b"BODY"
        return srv.requests[before][1], counting.sends
    finally:
        pool.close()


@pytest.mark.parametrize(
    ("body", "chunked", "fast_sends"),
    [
        (b'{"a":1}', False, 1),
        (b"x" * http_fast.JOIN_MAX, False, 1),
        (b"x" * (http_fast.JOIN_MAX + 1), False, 2),
        (b"", False, 1),
        (None, False, 1),
        ("text", False, 1),
        (b"abc", True, 2),  # the chunk frame joins the header block; the last chunk follows
    ],
)
def test_request_bytes_and_sends(
    server: tuple[RawServer, int], body: Any, chunked: bool, fast_sends: int
) -> None:
    """The same bytes on the wire; a small body goes in the header block's sendall."""
    srv, port = server
    stock_bytes, stock_sends = _sent(srv, port, False, body, chunked)
    fast_bytes, fast_sends_seen = _sent(srv, port, True, body, chunked)
    assert fast_bytes == stock_bytes
    assert sum(fast_sends_seen) == sum(stock_sends)
    assert len(fast_sends_seen) == fast_sends


def test_iterable_body(server: tuple[RawServer, int]) -> None:
    srv, port = server

    def body() -> Iterator[bytes]:
        yield b"ab"
        yield b"cd"

    stock_bytes, _ = _sent(srv, port, False, body(), True)
    fast_bytes, _ = _sent(srv, port, True, body(), True)
    assert fast_bytes == stock_bytes


def test_connection_refused_is_still_a_new_connection_error() -> None:
    """The first send connects: with the join it is still inside request(), so urllib3 still
    tells a refused connection (nothing sent) from a failed exchange."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pool = _make_pool(port, fast=True)
    with pytest.raises(urllib3.exceptions.NewConnectionError):
        pool.urlopen("POST", "/x", body=b"{}", timeout=2)


# -- TLS -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RawServer, int]]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl to make a certificate")
    folder: Path = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    srv = RawServer(context=context)
    port = srv.start()
    yield srv, port
    srv.stop()


def test_https(tls_server: tuple[RawServer, int]) -> None:
    srv, port = tls_server
    results = []
    for fast in (False, True):
        pool = urllib3.HTTPSConnectionPool(
            "127.0.0.1", port, maxsize=1, retries=False, cert_reqs="CERT_NONE"
        )
        if fast:
            assert use_fast_headers(pool) is pool
            assert pool.ConnectionCls is FastHTTPSConnection
        srv.scripts.put(Script(ANSWERS["duplicates"], pieces=5, pause=0.001))
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
            resp = pool.urlopen("POST", "/x", body=b"{}", preload_content=False, timeout=10)
        assert isinstance(resp, urllib3.HTTPResponse)
        original = resp._original_response
        assert isinstance(original, FastHTTPResponse) is fast
        assert isinstance(original, http.client.HTTPResponse)
        results.append((resp.status, _message_state(original.msg), resp.read()))
        pool.close()
    assert results[0] == results[1]


# -- the pieces ----------------------------------------------------------------------------------


def test_stdlib_untouched() -> None:
    assert http_fast.FAST_HEADERS  # CPython 3.11-3.13
    assert http.client.parse_headers is not http_fast.parse_headers
    assert http.client.parse_headers.__module__ == "http.client"
    assert http.client.HTTPResponse.begin is not FastHTTPResponse.begin
    assert http.client.HTTPResponse.begin.__globals__ is vars(http.client)
    assert FastHTTPResponse.begin.__code__ is http.client.HTTPResponse.begin.__code__
    assert HTTPConnection.response_class is http.client.HTTPResponse


def test_use_fast_headers() -> None:
    plain = urllib3.HTTPConnectionPool("127.0.0.1", 1)
    assert use_fast_headers(plain) is plain
    assert plain.ConnectionCls is FastHTTPConnection
    tls = urllib3.HTTPSConnectionPool("127.0.0.1", 1)
    assert use_fast_headers(tls).ConnectionCls is FastHTTPSConnection
    assert FastHTTPSConnection.default_port == 443
    assert FastHTTPConnection.default_port == 80
    assert issubclass(FastHTTPSConnection, HTTPSConnection)

    class Mine(HTTPConnection):
        pass

    own = urllib3.HTTPConnectionPool("127.0.0.1", 1)
    own.ConnectionCls = Mine
    assert use_fast_headers(own).ConnectionCls is Mine  # the caller's choice is kept
    # urllib3's PoolManager builds its direct pool as the transport does.
    manager = urllib3.PoolManager()
    direct = use_fast_headers(manager.connection_from_url("http://127.0.0.1:1"))
    assert direct.ConnectionCls is FastHTTPConnection


def test_limits_follow_http_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """A program that raises http.client's header limit raises ours too."""
    block = many(150) + b"\r\n"
    with pytest.raises(http.client.HTTPException, match="got more than 100 headers"):
        http_fast.parse_headers(io.BytesIO(block))
    monkeypatch.setattr(http.client, "_MAXHEADERS", 200)
    assert len(http_fast.parse_headers(io.BytesIO(block))) == 150
    assert len(http.client.parse_headers(io.BytesIO(block))) == 150


# -- property ------------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [b"X-A", b"x-a", b"Set-Cookie", b"Content-Type", b"Content-Length", b"Transfer-Encoding",
     b"Connection", b":", b": ", b" ", b"\t", b"\r\n", b"\n", b"\r", b"\r\n ", b"\r\n\t", b"1",
     b"close", b"chunked", b"multipart/mixed", b"message/x", b"text/plain", b"From ", b";",
     b"\xe9", b"\xff", b"\x00", b"\x85", b"a b", b"=", b"\x7f", b"\x1c"]
)  # fmt: skip
_LINES = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from([b"X-A", b"Set-Cookie", b"Content-Type", b"Content-Length"]),
            st.binary(max_size=12),
        ).map(lambda nv: nv[0] + b": " + nv[1].replace(b"\n", b"") + b"\r\n"),
        st.lists(_PIECES, max_size=6).map(b"".join),
    ),
    max_size=8,
)


def _response_state(resp: http.client.HTTPResponse) -> Any:
    return (
        resp.status,
        resp.reason,
        resp.version,
        resp.chunked,
        resp.length,
        resp.will_close,
        _message_state(resp.msg),
    )


class _FakeSock:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self.data)


def _begin(cls: type[http.client.HTTPResponse], data: bytes) -> Any:
    resp = cls(_FakeSock(data), method="GET")  # type: ignore[arg-type]
    try:
        resp.begin()
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))
    return _response_state(resp)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_LINES, end=st.sampled_from([b"\r\n", b"\n", b"", b"\r"]))
def test_property_same_as_stdlib(lines: list[bytes], end: bytes) -> None:
    block = b"".join(lines) + end + b"rest"
    stock: Callable[[], Any] = lambda: _message_state(http.client.parse_headers(io.BytesIO(block)))  # noqa: E731
    fast: Callable[[], Any] = lambda: _message_state(http_fast.parse_headers(io.BytesIO(block)))  # noqa: E731
    assert fast() == stock()
    data = b"HTTP/1.1 200 OK\r\n" + block
    assert _begin(FastHTTPResponse, data) == _begin(http.client.HTTPResponse, data)


FAST_PATH = {
    "normal", "duplicates", "case-insensitive", "line of 65536 bytes", "98 headers",
    "99 headers", "no headers", "empty value", "control bytes", "spaces kept at the end",
    "colon in value", "bare LF", "mixed CRLF and LF", "message word elsewhere",
    "content-length", "connection close", "chunked",
}  # fmt: skip


@pytest.mark.parametrize("name", [n for n in BLOCKS if "101" not in n and "100" not in n])
def test_which_blocks_skip_the_email_parser(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The plain blocks never reach the email parser; every odd one goes to it."""
    calls: list[int] = []
    stdlib_parse = http_fast._stdlib_parse

    def counting(lines: list[bytes], _class: Any) -> Any:
        calls.append(1)
        return stdlib_parse(lines, _class)

    monkeypatch.setattr(http_fast, "_stdlib_parse", counting)
    block = BLOCKS[name] + b"\r\n"
    if name == "line of 65537 bytes":
        with pytest.raises(http.client.LineTooLong):
            http_fast.parse_headers(io.BytesIO(block))
        return
    http_fast.parse_headers(io.BytesIO(block))
    assert calls == ([] if name in FAST_PATH else [1])
