"""Tests for the loopback HTTP/1.1 WSGI server and its fault injector."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
import urllib3
from urllib3.exceptions import ProtocolError

from rtc_startrecord.simulator.server import FaultInjector, LoopbackServer, WSGIServer

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment


class EchoApp:
    """Echoes the request as JSON and records every environ it saw."""

    def __init__(self) -> None:
        self.calls: list[WSGIEnvironment] = []
        self.lock = threading.Lock()
        self.barrier: threading.Barrier | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with self.lock:
            self.calls.append(environ)
        if self.barrier is not None:
            self.barrier.wait()
        path = environ["PATH_INFO"]
        if path == "/raise":
            raise RuntimeError("boom")
        if path == "/write":
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            write(b"written,")
            return [b"returned"]
        body = environ["wsgi.input"].read()
        headers = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
        payload = {
            "method": environ["REQUEST_METHOD"],
            "path": path,
            "raw_path": environ["rtc.raw_path"],
            "query": environ["QUERY_STRING"],
            "body": body.decode("latin-1"),
            "content_type": environ["CONTENT_TYPE"],
            "content_length": environ["CONTENT_LENGTH"],
            "remote_port": environ["REMOTE_PORT"],
            "protocol": environ["SERVER_PROTOCOL"],
            "headers": headers,
        }
        data = json.dumps(payload).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("X-Echo", "1")])
        return [data]


@pytest.fixture
def app() -> EchoApp:
    return EchoApp()


@pytest.fixture
def server(app: EchoApp) -> Iterator[WSGIServer]:
    with WSGIServer(app, max_body=1024) as srv:
        yield srv


@pytest.fixture
def pool(server: WSGIServer) -> Iterator[urllib3.HTTPConnectionPool]:
    p = urllib3.HTTPConnectionPool(server.host, server.port, maxsize=1, retries=False, timeout=5)
    yield p
    p.close()


def raw_exchange(server: WSGIServer, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, then read until the server closes the connection."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def echo(resp: urllib3.BaseHTTPResponse) -> dict[str, Any]:
    assert resp.status == 200, resp.data
    result: dict[str, Any] = json.loads(resp.data)
    return result


# --------------------------------------------------------------------------- basics


def test_url_host_port(server: WSGIServer) -> None:
    assert server.host == "127.0.0.1"
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert LoopbackServer is WSGIServer


def test_port_unknown_before_start(app: EchoApp) -> None:
    srv = WSGIServer(app)
    with pytest.raises(RuntimeError):
        _ = srv.port
    srv.stop()  # stopping a never-started server is a no-op


def test_get_echo(pool: urllib3.HTTPConnectionPool) -> None:
    resp = pool.request("GET", "/a/b?x=1&y=2", headers={"X-Custom": "hello"})
    out = echo(resp)
    assert out["method"] == "GET"
    assert out["path"] == "/a/b"
    assert out["query"] == "x=1&y=2"
    assert out["body"] == ""
    assert out["content_length"] == ""
    assert out["protocol"] == "HTTP/1.1"
    assert out["headers"]["HTTP_X_CUSTOM"] == "hello"
    assert out["headers"]["HTTP_HOST"].startswith("127.0.0.1")
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["X-Echo"] == "1"
    assert resp.headers["Content-Length"] == str(len(resp.data))


def test_post_echo(pool: urllib3.HTTPConnectionPool, app: EchoApp) -> None:
    body = b'{"RoomId": "r1"}'
    resp = pool.request(
        "POST",
        "/?Action=StartRecord&Version=2023-11-01",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    out = echo(resp)
    assert out["method"] == "POST"
    assert out["body"] == body.decode()
    assert out["content_type"] == "application/json"
    assert out["content_length"] == str(len(body))
    assert "HTTP_CONTENT_TYPE" not in out["headers"]
    assert "HTTP_CONTENT_LENGTH" not in out["headers"]
    env = app.calls[-1]
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.multithread"] is True
    assert env["wsgi.multiprocess"] is False
    assert env["wsgi.run_once"] is False
    assert env["wsgi.version"] == (1, 0)
    assert env["SCRIPT_NAME"] == ""
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"] == str(pool.port)
    assert env["REMOTE_ADDR"] == "127.0.0.1"


def test_write_callable_and_iterable_are_concatenated(pool: urllib3.HTTPConnectionPool) -> None:
    resp = pool.request("GET", "/write")
    assert resp.status == 200
    assert resp.data == b"written,returned"


def test_head_has_length_but_no_body(server: WSGIServer) -> None:
    raw = raw_exchange(server, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Length: " in head
    assert rest == b""


def test_duplicate_headers_are_merged(server: WSGIServer) -> None:
    request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Dup: a\r\nX-Dup: b\r\nConnection: close\r\n\r\n"
    raw = raw_exchange(server, request)
    body = json.loads(raw.partition(b"\r\n\r\n")[2])
    assert body["headers"]["HTTP_X_DUP"] == "a,b"


def test_raw_path_and_query_are_undecoded(server: WSGIServer) -> None:
    request = (
        b"GET /v%201/a%2Fb?RoomId=room+1&x=%2F HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    raw = raw_exchange(server, request)
    body = json.loads(raw.partition(b"\r\n\r\n")[2])
    assert body["query"] == "RoomId=room+1&x=%2F"
    assert body["raw_path"] == "/v%201/a%2Fb"
    assert body["path"] == "/v 1/a/b"


def test_raw_path_and_query_via_urllib3(pool: urllib3.HTTPConnectionPool) -> None:
    out = echo(pool.request("GET", "/?RoomId=room+1&x=%2F"))
    assert out["query"] == "RoomId=room+1&x=%2F"
    assert out["raw_path"] == "/"
    assert out["path"] == "/"


def test_path_info_is_latin1_of_utf8_bytes(server: WSGIServer) -> None:
    request = b"GET /caf%C3%A9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    body = json.loads(raw_exchange(server, request).partition(b"\r\n\r\n")[2])
    assert body["path"] == "/caf\u00c3\u00a9"
    assert body["path"].encode("latin-1").decode("utf-8") == "/caf\u00e9"


def test_absolute_form_target(server: WSGIServer) -> None:
    request = (
        b"GET http://127.0.0.1/abs?q=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    body = json.loads(raw_exchange(server, request).partition(b"\r\n\r\n")[2])
    assert body["path"] == "/abs"
    assert body["query"] == "q=1"


def test_chunked_request_body(server: WSGIServer) -> None:
    request = (
        b"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n"
        b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
    )
    raw = raw_exchange(server, request)
    assert raw.startswith(b"HTTP/1.1 200 ")
    body = json.loads(raw.partition(b"\r\n\r\n")[2])
    assert body["body"] == "hello world"
    assert body["content_length"] == "11"
    assert "HTTP_TRANSFER_ENCODING" not in body["headers"]


def test_chunked_via_urllib3(pool: urllib3.HTTPConnectionPool) -> None:
    resp = pool.request("POST", "/", body=iter([b"ab", b"cd"]), chunked=True)
    assert echo(resp)["body"] == "abcd"


def test_unsupported_transfer_encoding_is_400(server: WSGIServer, app: EchoApp) -> None:
    # RFC 9112 section 6.3: chunked not the final coding -> 400, then close.
    request = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc"
    raw = raw_exchange(server, request)
    assert raw.startswith(b"HTTP/1.1 400 ")
    assert app.calls == []


def test_invalid_content_length_is_400(server: WSGIServer, app: EchoApp) -> None:
    raw = raw_exchange(server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 ")
    raw = raw_exchange(
        server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
    )
    assert raw.startswith(b"HTTP/1.1 400 ")
    assert app.calls == []


def test_expect_100_continue(server: WSGIServer) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n"
            b"Connection: close\r\n\r\n"
        )
        interim = sock.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"abc")
        data = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n") :]
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 ")
    assert json.loads(data.partition(b"\r\n\r\n")[2])["body"] == "abc"


# --------------------------------------------------------------------------- connections


def test_keep_alive_reuses_connection(pool: urllib3.HTTPConnectionPool) -> None:
    first = echo(pool.request("GET", "/one"))
    second = echo(pool.request("POST", "/two", body=b"x"))
    third = echo(pool.request("GET", "/three"))
    assert first["remote_port"] == second["remote_port"] == third["remote_port"]
    assert pool.num_connections == 1


def test_connection_close_is_honoured(server: WSGIServer) -> None:
    raw = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"\r\nConnection: close" in raw.partition(b"\r\n\r\n")[0]


def test_http10_closes_connection(server: WSGIServer) -> None:
    raw = raw_exchange(server, b"GET / HTTP/1.0\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nConnection: close" in head
    assert json.loads(body)["protocol"] == "HTTP/1.0"


def test_pipelined_requests(server: WSGIServer) -> None:
    request = (
        b"GET /p1 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /p2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    raw = raw_exchange(server, request)
    assert raw.count(b"HTTP/1.1 200 OK") == 2
    assert raw.index(b'"/p1"') < raw.index(b'"/p2"')


def test_concurrent_requests(server: WSGIServer, app: EchoApp) -> None:
    n = 32
    # Every request must be inside the app at the same time to pass the barrier.
    app.barrier = threading.Barrier(n, timeout=10)
    manager = urllib3.PoolManager(maxsize=n, block=False, retries=False, timeout=15)
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            resp = manager.request("GET", f"{server.url}/c{i}")
            with lock:
                results.append(resp.status)
        except BaseException as exc:  # pragma: no cover - reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    manager.clear()
    assert errors == []
    assert results == [200] * n
    assert len(app.calls) == n


# --------------------------------------------------------------------------- errors


def test_body_too_large_is_413_without_calling_app(
    pool: urllib3.HTTPConnectionPool, app: EchoApp
) -> None:
    resp = pool.request("POST", "/", body=b"x" * 4096)
    assert resp.status == 413
    assert "error" in json.loads(resp.data)
    assert resp.headers["Connection"] == "close"
    assert app.calls == []
    # The pool reconnects and the server keeps serving.
    assert echo(pool.request("POST", "/", body=b"y" * 1024))["body"] == "y" * 1024


def test_large_body_413_is_readable_while_client_still_sends(app: EchoApp) -> None:
    with WSGIServer(app, max_body=16) as srv:
        p = urllib3.HTTPConnectionPool(srv.host, srv.port, retries=False, timeout=5)
        resp = p.request("POST", "/", body=b"z" * (4 << 20))
        assert resp.status == 413
        p.close()
    assert app.calls == []


def test_chunked_body_too_large_is_413(server: WSGIServer, app: EchoApp) -> None:
    request = (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"800\r\n"
        + b"x" * 0x800
        + b"\r\n0\r\n\r\n"
    )
    raw = raw_exchange(server, request)
    assert raw.startswith(b"HTTP/1.1 413 ")
    assert app.calls == []


def test_app_exception_is_500_and_server_survives(
    pool: urllib3.HTTPConnectionPool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="rtc_startrecord.simulator"):
        resp = pool.request("GET", "/raise")
    assert resp.status == 500
    assert json.loads(resp.data) == {"error": "internal server error"}
    assert any(
        r.name == "rtc_startrecord.simulator" and r.exc_info is not None for r in caplog.records
    )
    assert "boom" in caplog.text
    assert echo(pool.request("GET", "/after"))["path"] == "/after"


def test_broken_wsgi_apps_are_500(app: EchoApp) -> None:
    def no_start_response(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        return [b"x"]

    def yields_str(environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        start_response("200 OK", [])
        return ["not bytes"]

    def bad_header(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("X-Bad", "a\r\nInjected: 1")])
        return [b"x"]

    def bad_status(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response("OK", [])
        return [b"x"]

    for broken in (no_start_response, yields_str, bad_header, bad_status):
        with WSGIServer(broken) as srv:
            resp = urllib3.request("GET", srv.url + "/", retries=False, timeout=5)
            assert resp.status == 500, broken.__name__


def test_exc_info_replaces_status(app: EchoApp) -> None:
    def handler(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("late failure")
        except ValueError:
            import sys

            start_response("503 Service Unavailable", [("X-Why", "late")], sys.exc_info())
        return [b"sorry"]

    with WSGIServer(handler) as srv:
        resp = urllib3.request("GET", srv.url, retries=False, timeout=5)
    assert resp.status == 503
    assert resp.headers["X-Why"] == "late"
    assert resp.data == b"sorry"


def test_app_content_length_and_hop_by_hop_headers(app: EchoApp) -> None:
    def handler(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response(
            "201 Created",
            [("Content-Length", "999"), ("Transfer-Encoding", "chunked"), ("X-Ok", "1")],
        )
        return [b"abc"]

    with WSGIServer(handler) as srv:
        resp = urllib3.request("GET", srv.url, retries=False, timeout=5)
    assert resp.status == 201
    assert resp.headers["Content-Length"] == "3"
    assert "Transfer-Encoding" not in resp.headers
    assert resp.data == b"abc"


@pytest.mark.parametrize(
    "garbage",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET / NOTHTTP\r\n\r\n",
        b"\x00\xff\xfe\x16\x03\x01 binary junk\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET " + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_requests_do_not_break_the_server(
    server: WSGIServer, pool: urllib3.HTTPConnectionPool, garbage: bytes
) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        try:
            sock.sendall(garbage)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        except OSError:
            pass
    assert echo(pool.request("GET", "/still-alive"))["path"] == "/still-alive"


def test_client_disconnect_mid_body(server: WSGIServer, pool: urllib3.HTTPConnectionPool) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-a-bit")
    assert echo(pool.request("GET", "/ok"))["path"] == "/ok"


# --------------------------------------------------------------------------- stop


def test_stop_is_prompt_with_idle_keep_alive_client(app: EchoApp) -> None:
    srv = WSGIServer(app).start()
    sock = socket.create_connection((srv.host, srv.port), timeout=5)
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        idle_pool = urllib3.HTTPConnectionPool(srv.host, srv.port, maxsize=1, retries=False)
        echo(idle_pool.request("GET", "/"))
        started = time.monotonic()
        srv.stop()
        assert time.monotonic() - started < 2.0
        # The idle connection was closed by the server.
        assert sock.recv(65536) == b""
        idle_pool.close()
    finally:
        sock.close()
    srv.stop()  # idempotent


def test_stop_with_connected_but_silent_client(app: EchoApp) -> None:
    srv = WSGIServer(app).start()
    with socket.create_connection((srv.host, srv.port), timeout=5):
        time.sleep(0.05)
        started = time.monotonic()
        srv.stop()
        assert time.monotonic() - started < 2.0


def test_stop_interrupts_pending_delay(app: EchoApp) -> None:
    srv = WSGIServer(app).start()
    srv.faults.delay(30)
    sock = socket.create_connection((srv.host, srv.port), timeout=5)
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        started = time.monotonic()
        srv.stop()
        assert time.monotonic() - started < 2.0
    finally:
        sock.close()


def test_restart_after_stop(app: EchoApp) -> None:
    srv = WSGIServer(app)
    srv.start()
    with pytest.raises(RuntimeError):
        srv.start()
    srv.stop()
    srv.start()
    try:
        assert urllib3.request("GET", srv.url, retries=False, timeout=5).status == 200
    finally:
        srv.stop()


# --------------------------------------------------------------------------- faults


def test_delay_fault(server: WSGIServer, pool: urllib3.HTTPConnectionPool, app: EchoApp) -> None:
    server.faults.delay(0.3)
    started = time.monotonic()
    out = echo(pool.request("GET", "/slow"))
    assert time.monotonic() - started >= 0.3
    assert out["path"] == "/slow"
    assert len(app.calls) == 1
    started = time.monotonic()
    echo(pool.request("GET", "/fast"))
    assert time.monotonic() - started < 0.3
    assert server.faults.history == [("delay", "/slow")]


def test_drop_fault(server: WSGIServer, pool: urllib3.HTTPConnectionPool, app: EchoApp) -> None:
    server.faults.drop()
    with pytest.raises(ProtocolError):
        pool.request("POST", "/dropped", body=b"abc")
    assert app.calls == []
    assert echo(pool.request("GET", "/next"))["path"] == "/next"
    assert server.faults.history == [("drop", "/dropped")]


def test_drop_fault_raw_socket_gets_nothing(server: WSGIServer) -> None:
    server.faults.drop()
    assert raw_exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == b""


def test_error_fault(server: WSGIServer, pool: urllib3.HTTPConnectionPool, app: EchoApp) -> None:
    server.faults.error(502)
    resp = pool.request("GET", "/proxy")
    assert resp.status == 502
    assert resp.headers["Content-Type"] == "text/html"
    assert resp.data.startswith(b"<html>")
    assert b"502 Bad Gateway" in resp.data
    assert app.calls == []
    # The connection stays usable after an error fault.
    assert echo(pool.request("GET", "/")) is not None
    assert pool.num_connections == 1


def test_error_fault_custom_body(server: WSGIServer, pool: urllib3.HTTPConnectionPool) -> None:
    server.faults.error(200, body=b"not json", content_type="text/plain")
    resp = pool.request("GET", "/")
    assert (resp.status, resp.data, resp.headers["Content-Type"]) == (
        200,
        b"not json",
        "text/plain",
    )


def test_throttle_fault(server: WSGIServer, pool: urllib3.HTTPConnectionPool, app: EchoApp) -> None:
    server.faults.throttle()
    resp = pool.request("POST", "/?Action=StartRecord&Version=2023-11-01", body=b"{}")
    assert resp.status == 429
    assert resp.headers["Content-Type"] == "application/json"
    meta = json.loads(resp.data)["ResponseMetadata"]
    uuid.UUID(meta["RequestId"])
    assert meta["Action"] == "StartRecord"
    assert meta["Version"] == "2023-11-01"
    assert meta["Service"] == "rtc"
    assert meta["Region"] == "cn-north-1"
    assert meta["Error"]["Code"] == "FlowLimitExceeded.QPSOverLimit"
    assert meta["Error"]["Message"]
    assert "CodeN" not in meta["Error"]
    assert app.calls == []
    server.faults.throttle()
    meta = json.loads(pool.request("GET", "/").data)["ResponseMetadata"]
    assert (meta["Action"], meta["Version"]) == ("", "")


def test_faults_apply_to_exactly_next_n_requests(
    server: WSGIServer, pool: urllib3.HTTPConnectionPool
) -> None:
    faults = server.faults
    faults.error(503, count=2)
    faults.throttle(count=1)
    faults.delay(0.0, count=2)
    assert faults.pending == 5
    statuses = [pool.request("GET", f"/r{i}").status for i in range(7)]
    assert statuses == [503, 503, 429, 200, 200, 200, 200]
    assert faults.pending == 0
    assert faults.history == [
        ("error", "/r0"),
        ("error", "/r1"),
        ("throttle", "/r2"),
        ("delay", "/r3"),
        ("delay", "/r4"),
    ]


def test_fault_clear(server: WSGIServer, pool: urllib3.HTTPConnectionPool) -> None:
    server.faults.throttle(count=3)
    assert pool.request("GET", "/").status == 429
    server.faults.clear()
    assert server.faults.pending == 0
    assert server.faults.history == []
    assert pool.request("GET", "/").status == 200


def test_http_layer_rejections_do_not_consume_faults(
    server: WSGIServer, pool: urllib3.HTTPConnectionPool
) -> None:
    server.faults.throttle()
    assert pool.request("POST", "/", body=b"x" * 4096).status == 413
    assert server.faults.pending == 1
    assert pool.request("GET", "/").status == 429


def test_shared_fault_injector(app: EchoApp) -> None:
    faults = FaultInjector()
    faults.error(500)
    with WSGIServer(app, faults=faults) as srv:
        assert srv.faults is faults
        assert urllib3.request("GET", srv.url, retries=False, timeout=5).status == 500


def test_faults_under_concurrency(server: WSGIServer) -> None:
    server.faults.throttle(count=10)
    manager = urllib3.PoolManager(maxsize=16, block=False, retries=False, timeout=10)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        status = manager.request("GET", server.url + "/").status
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    manager.clear()
    assert sorted(statuses) == [200] * 15 + [429] * 10
    assert server.faults.pending == 0
    assert len(server.faults.history) == 10


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.delay(-1),
        lambda f: f.delay(1, count=0),
        lambda f: f.drop(0),
        lambda f: f.error(99),
        lambda f: f.error(600),
        lambda f: f.error(500, content_type="a\r\nb"),
        lambda f: f.throttle(-2),
    ],
)
def test_fault_validation(call: Any) -> None:
    faults = FaultInjector()
    with pytest.raises(ValueError):
        call(faults)
    assert faults.pending == 0
