"""A small threaded HTTP/1.1 server for serving any WSGI application on loopback.

:mod:`wsgiref.simple_server` speaks HTTP/1.0, handles one request per connection and
one connection at a time.  The simulator needs persistent (keep-alive) connections,
concurrency and fault injection, so this module builds a proper HTTP/1.1 front end on
:class:`http.server.ThreadingHTTPServer` using only the standard library.

Example::

    with WSGIServer(app) as server:
        urllib3.request("GET", server.url + "/?Action=StartRecord")
        server.faults.throttle(count=2)   # the next two requests get HTTP 429

Request bodies are read completely before the application is called (``Content-Length``
or ``Transfer-Encoding: chunked``), and responses are buffered and always sent with a
``Content-Length``.
"""

from __future__ import annotations

import contextlib
import http
import io
import json
import logging
import re
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, cast

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication, WSGIEnvironment

    from _typeshed import OptExcInfo

__all__ = ["FaultInjector", "FaultKind", "LoopbackServer", "WSGIServer"]

logger = logging.getLogger("rtc_startrecord.simulator")

FaultKind = Literal["delay", "drop", "error", "throttle"]
# (HTTP status, message, raw request target) -> the body of an error the HTTP layer answers.
ErrorBody = Callable[[int, str, str], bytes]

_RequestType = socket.socket | tuple[bytes, socket.socket]

_DEFAULT_CONN_TIMEOUT: Final = 5.0
_MAX_REQUEST_LINE: Final = 65536
_MAX_CHUNK_LINE: Final = 1024
_MAX_TRAILER_LINES: Final = 100
_LINGER_SECONDS: Final = 2.0
_LINGER_MAX_BYTES: Final = 64 << 20
_STOP_JOIN_SECONDS: Final = 1.0

_HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_TOKEN_RE: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_STATUS_RE: Final = re.compile(r"([0-9]{3}) ([^\r\n\x00]*)")
_DIGITS_RE: Final = re.compile(r"[0-9]+")
_CHUNK_SIZE_RE: Final = re.compile(rb"[0-9A-Fa-f]{1,16}")
_BAD_VALUE_RE: Final = re.compile(r"[\r\n\x00]")

_THROTTLE_CODE: Final = "FlowLimitExceeded.QPSOverLimit"
_THROTTLE_MESSAGE: Final = "The request rate exceeds the QPS limit of the API. Retry later."


# --------------------------------------------------------------------------- faults


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int
    seconds: float = 0.0
    status: int = 500
    body: bytes = b""
    content_type: str = "text/html"


@dataclass(frozen=True)
class _AppliedFault:
    kind: FaultKind
    seconds: float
    status: int
    body: bytes
    content_type: str


def _default_error_body(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    title = f"{status} {phrase}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode("ascii")


def _check_count(count: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")


class FaultInjector:
    """Thread-safe FIFO queue of faults applied by :class:`WSGIServer`.

    Every queued fault applies to the next ``count`` requests, in arrival order, after
    the faults queued before it are used up.  A request consumes at most one fault.
    Faults are taken once the request (including its body) has been read, before the
    application is called:

    * ``delay``: sleep, then hand the request to the application as usual;
    * ``drop``: close the connection without sending any response;
    * ``error``: answer a non-envelope body (HTML by default), like a proxy would;
    * ``throttle``: answer HTTP 429 with an RTC ``FlowLimitExceeded.QPSOverLimit``
      error envelope.

    Requests rejected by the HTTP layer itself (malformed, 411, 413) do not consume
    faults.  Each applied fault is recorded in :attr:`history` as ``(kind, path)``,
    where ``path`` is the raw (undecoded) request path without the query string.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[_Fault] = deque()
        self._history: list[tuple[FaultKind, str]] = []

    def delay(self, seconds: float, count: int = 1) -> None:
        """Delay each of the next ``count`` requests by ``seconds`` before the app runs."""
        _check_count(count)
        if not seconds >= 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        self._push(_Fault("delay", count, seconds=float(seconds)))

    def drop(self, count: int = 1) -> None:
        """Close the connection of the next ``count`` requests without answering."""
        _check_count(count)
        self._push(_Fault("drop", count))

    def error(
        self,
        status: int = 500,
        count: int = 1,
        body: bytes | None = None,
        content_type: str = "text/html",
    ) -> None:
        """Answer the next ``count`` requests with ``status`` and a non-envelope body.

        ``body`` defaults to an nginx-style HTML error page for ``status``.
        """
        _check_count(count)
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError(f"status must be an integer in 200..599, got {status!r}")
        if _BAD_VALUE_RE.search(content_type):
            raise ValueError("content_type must not contain CR, LF or NUL")
        payload = _default_error_body(status) if body is None else bytes(body)
        self._push(_Fault("error", count, status=status, body=payload, content_type=content_type))

    def throttle(self, count: int = 1) -> None:
        """Answer the next ``count`` requests with HTTP 429 and an RTC error envelope."""
        _check_count(count)
        self._push(_Fault("throttle", count, status=429))

    def clear(self) -> None:
        """Drop every pending fault and forget the history."""
        with self._lock:
            self._queue.clear()
            self._history.clear()

    @property
    def pending(self) -> int:
        """Number of upcoming requests that will still get a fault."""
        with self._lock:
            return sum(f.remaining for f in self._queue)

    @property
    def history(self) -> list[tuple[FaultKind, str]]:
        """Snapshot of applied faults, oldest first, as ``(kind, raw_path)``."""
        with self._lock:
            return list(self._history)

    def _push(self, fault: _Fault) -> None:
        with self._lock:
            self._queue.append(fault)

    def _take(self, path: str) -> _AppliedFault | None:
        with self._lock:
            if not self._queue:
                return None
            head = self._queue[0]
            head.remaining -= 1
            if head.remaining <= 0:
                self._queue.popleft()
            self._history.append((head.kind, path))
            return _AppliedFault(head.kind, head.seconds, head.status, head.body, head.content_type)


# --------------------------------------------------------------------------- WSGI glue


class _ErrorStream(io.TextIOBase):
    """``wsgi.errors``: forwards what the application writes to the logger."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = ""

    def writable(self) -> bool:
        return True

    def write(self, s: str, /) -> int:
        self._buffer += s
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            if line:
                logger.warning("wsgi.errors: %s", line)
        return len(s)

    def flush(self) -> None:
        if self._buffer:
            logger.warning("wsgi.errors: %s", self._buffer)
            self._buffer = ""


class _AppError(Exception):
    """The application misbehaved (raised, or broke the WSGI protocol)."""


class _StartResponse:
    def __init__(self) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.written: list[bytes] = []

    def __call__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: OptExcInfo | None = None,
        /,
    ) -> Callable[[bytes], object]:
        if exc_info is not None and exc_info[0] is not None:
            # Nothing has been sent yet (responses are buffered), so the new status
            # and headers simply replace the previous ones.
            pass
        elif self.status is not None:
            raise RuntimeError("start_response() called twice without exc_info")
        if not isinstance(status, str) or not _STATUS_RE.fullmatch(status):
            raise ValueError(f"invalid WSGI status line {status!r}")
        checked: list[tuple[str, str]] = []
        for item in headers:
            name, value = item
            if not isinstance(name, str) or not _TOKEN_RE.fullmatch(name):
                raise ValueError(f"invalid header name {name!r}")
            if not isinstance(value, str) or _BAD_VALUE_RE.search(value):
                raise ValueError(f"invalid value for header {name!r}: {value!r}")
            checked.append((name, value))
        self.status = status
        self.headers = checked
        return self._write

    def _write(self, data: bytes) -> None:
        if self.status is None:
            raise RuntimeError("write() called before start_response()")
        if not isinstance(data, bytes | bytearray):
            raise TypeError(f"write() requires bytes, got {type(data).__name__}")
        self.written.append(bytes(data))


def _run_app(
    app: WSGIApplication, environ: WSGIEnvironment
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run ``app`` to completion and return ``(status, headers, body)``.

    Any misbehaviour of the application is reported as :class:`_AppError`.
    """
    start_response = _StartResponse()
    try:
        result = app(environ, start_response)
        try:
            for data in result:
                if not isinstance(data, bytes | bytearray):
                    raise TypeError(f"application yielded {type(data).__name__}, not bytes")
                if data:
                    # Same list as write(), so both kinds of output stay in order.
                    start_response.written.append(bytes(data))
        finally:
            close = getattr(result, "close", None)
            if callable(close):
                close()
        if start_response.status is None:
            raise RuntimeError("application returned without calling start_response()")
    except Exception as exc:
        raise _AppError(str(exc)) from exc
    return start_response.status, start_response.headers, b"".join(start_response.written)


# --------------------------------------------------------------------------- HTTP layer


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        app: WSGIApplication,
        *,
        max_body: int,
        faults: FaultInjector,
        conn_timeout: float,
        error_body: ErrorBody | None = None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.max_body = max_body
        self.error_body = error_body
        self.faults = faults
        self.conn_timeout = conn_timeout
        self.stopping = threading.Event()
        self._conn_lock = threading.Lock()
        self._conns: dict[socket.socket, threading.Thread] = {}
        self._conn_counter = 0
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() calls socket.getfqdn(), which may block on DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.socket.getsockname()[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: _RequestType, client_address: Any) -> None:
        if self.stopping.is_set() or not isinstance(request, socket.socket):
            self.shutdown_request(request)
            return
        with self._conn_lock:
            self._conn_counter += 1
            thread = threading.Thread(
                target=self.process_request_thread,
                args=(request, client_address),
                name=f"rtc-sim-conn-{self._conn_counter}",
                daemon=True,
            )
            self._conns[request] = thread
        thread.start()

    def shutdown_request(self, request: _RequestType) -> None:
        if isinstance(request, socket.socket):
            with self._conn_lock:
                self._conns.pop(request, None)
        super().shutdown_request(request)

    def handle_error(self, request: _RequestType, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            logger.debug("connection error from %s: %r", client_address, exc)
        else:
            logger.exception("unexpected error while handling a connection from %s", client_address)

    def close_connections(self, timeout: float) -> None:
        """Close every open client connection and wait up to ``timeout`` for handlers."""
        with self._conn_lock:
            conns = list(self._conns.items())
        for sock, _ in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for _, thread in conns:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if thread is not threading.current_thread():
                thread.join(remaining)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rtc-startrecord-simulator/1.0"
    sys_version = ""
    disable_nagle_algorithm = True

    _expect_continue: bool = False

    @property
    def _srv(self) -> _HTTPServer:
        return cast(_HTTPServer, self.server)

    # -- plumbing -----------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self._srv.conn_timeout)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    def address_string(self) -> str:
        return str(self.client_address[0])

    def version_string(self) -> str:
        return self.server_version

    def handle_expect_100(self) -> bool:
        # Defer "100 Continue" until the body size has been checked.
        self._expect_continue = True
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        try:
            phrase = http.HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        self.close_connection = True
        renderer = self._srv.error_body
        body = b""
        if renderer is not None:
            try:
                body = renderer(code, message or phrase, getattr(self, "path", "") or "")
            except Exception:  # a broken renderer must not take the connection down
                logger.exception("error_body failed")
        if not body:
            body = json.dumps({"error": message or phrase}).encode()
        self._send(code, phrase, [("Content-Type", "application/json")], body)

    def handle_one_request(self) -> None:
        self._expect_continue = False
        try:
            raw = self.rfile.readline(_MAX_REQUEST_LINE + 1)
            self.raw_requestline = raw
            if len(raw) > _MAX_REQUEST_LINE:
                self.requestline = ""
                self.request_version = "HTTP/1.1"
                self.command = ""
                self.send_error(http.HTTPStatus.REQUEST_URI_TOO_LONG, "request line too long")
                return
            if not raw:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self._serve()
        except TimeoutError:
            self.close_connection = True
        except OSError as exc:
            logger.debug("connection from %s closed: %r", self.address_string(), exc)
            self.close_connection = True
        except Exception:
            logger.exception("internal error while serving %r", getattr(self, "requestline", ""))
            self.close_connection = True

    # -- request processing -------------------------------------------------------

    def _serve(self) -> None:
        if self.request_version == "HTTP/0.9":
            self.send_error(http.HTTPStatus.BAD_REQUEST, "HTTP/0.9 is not supported")
            return
        if self.request_version != "HTTP/1.1":
            self.close_connection = True
        words = self.requestline.split()
        target = words[1] if len(words) == 3 else self.path
        split = self._split_target(target)
        if split is None:
            self.send_error(http.HTTPStatus.BAD_REQUEST, f"invalid request target {target!r}")
            return
        raw_path, query = split

        body = self._read_body()
        if body is None:
            return

        srv = self._srv
        fault = srv.faults._take(raw_path)
        if fault is not None:
            logger.debug("fault %s applied to %s %s", fault.kind, self.command, raw_path)
            if fault.kind == "delay":
                srv.stopping.wait(fault.seconds)
            elif fault.kind == "drop":
                self.close_connection = True
                return
            elif fault.kind == "error":
                phrase = _phrase(fault.status)
                headers = [("Content-Type", fault.content_type)]
                self._send(fault.status, phrase, headers, fault.body)
                return
            else:
                self._send_throttled(query)
                return

        environ = self._environ(raw_path, query, body)
        try:
            status, headers, payload = _run_app(srv.app, environ)
        except _AppError as exc:
            logger.error(
                "WSGI application failed on %s %s",
                self.command,
                raw_path,
                exc_info=exc.__cause__ or exc,
            )
            body500 = json.dumps({"error": "internal server error"}).encode()
            self._send(
                500, "Internal Server Error", [("Content-Type", "application/json")], body500
            )
            return
        match = _STATUS_RE.fullmatch(status)
        assert match is not None  # validated by start_response
        self._send(int(match.group(1)), match.group(2), headers, payload, from_app=True)

    @staticmethod
    def _split_target(target: str) -> tuple[str, str] | None:
        if target.startswith("/"):
            path, _, query = target.partition("?")
            path = path.partition("#")[0]
            return path, query.partition("#")[0]
        if target == "*":
            return "*", ""
        if "://" in target:
            try:
                parts = urllib.parse.urlsplit(target)
            except ValueError:
                return None
            if parts.scheme.lower() not in ("http", "https"):
                return None
            return parts.path or "/", parts.query
        return None

    def _read_body(self) -> bytes | None:
        """Read the request body; ``None`` means a response was sent or the peer left."""
        transfer = self.headers.get_all("Transfer-Encoding") or []
        lengths = self.headers.get_all("Content-Length") or []
        if transfer:
            if lengths:
                self.send_error(
                    http.HTTPStatus.BAD_REQUEST,
                    "both Content-Length and Transfer-Encoding were given",
                )
                return None
            codings = [c.strip().lower() for v in transfer for c in v.split(",") if c.strip()]
            if codings != ["chunked"]:
                self.send_error(
                    http.HTTPStatus.LENGTH_REQUIRED,
                    f"unsupported Transfer-Encoding {', '.join(codings)!r}; send a Content-Length",
                )
                return None
            self._continue()
            return self._read_chunked()
        if not lengths:
            return b""
        values = {v.strip() for v in lengths}
        value = values.pop()
        if values or not _DIGITS_RE.fullmatch(value):
            self.send_error(http.HTTPStatus.BAD_REQUEST, "invalid Content-Length")
            return None
        length = int(value)
        if length > self._srv.max_body:
            self._too_large(length)
            return None
        if length == 0:
            return b""
        self._continue()
        data = self.rfile.read(length)
        if len(data) < length:
            self.close_connection = True
            return None
        return data

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        max_body = self._srv.max_body
        while True:
            line = self.rfile.readline(_MAX_CHUNK_LINE + 1)
            if not line:
                self.close_connection = True
                return None
            size_field = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not _CHUNK_SIZE_RE.fullmatch(size_field):
                self.send_error(http.HTTPStatus.BAD_REQUEST, "malformed chunked body")
                return None
            size = int(size_field, 16)
            if size == 0:
                break
            total += size
            if total > max_body:
                self._too_large(total)
                return None
            data = self.rfile.read(size)
            crlf = self.rfile.read(2)
            if len(data) < size or len(crlf) < 2:
                self.close_connection = True
                return None
            if crlf != b"\r\n":
                self.send_error(http.HTTPStatus.BAD_REQUEST, "malformed chunked body")
                return None
            chunks.append(data)
        for _ in range(_MAX_TRAILER_LINES):
            line = self.rfile.readline(_MAX_REQUEST_LINE + 1)
            if not line:
                self.close_connection = True
                return None
            if line in (b"\r\n", b"\n"):
                return b"".join(chunks)
        self.send_error(http.HTTPStatus.BAD_REQUEST, "too many trailer fields")
        return None

    def _continue(self) -> None:
        if self._expect_continue:
            self._expect_continue = False
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _too_large(self, size: int) -> None:
        limit = self._srv.max_body
        self.send_error(
            http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"request body too large: {size} bytes exceeds the limit of {limit} bytes",
        )
        self._lingering_close()

    def _lingering_close(self) -> None:
        """Half-close and drain what the client is still sending.

        Closing a socket with unread data makes the kernel send RST, which can destroy
        the response before the client reads it; draining for a moment avoids that.
        """
        sock: socket.socket = self.connection
        try:
            self.wfile.flush()
            sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER_SECONDS
            drained = 0
            while drained < _LINGER_MAX_BYTES and not self._srv.stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                sock.settimeout(min(remaining, 0.25))
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                drained += len(data)
        except OSError:
            pass
        self.close_connection = True

    def _environ(self, raw_path: str, query: str, body: bytes) -> WSGIEnvironment:
        srv = self._srv
        path_info = urllib.parse.unquote_to_bytes(raw_path.encode("latin-1")).decode("latin-1")
        has_length = bool(self.headers.get_all("Content-Length")) or bool(
            self.headers.get_all("Transfer-Encoding")
        )
        environ: WSGIEnvironment = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": path_info,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)) if has_length else "",
            "SERVER_NAME": srv.server_name,
            "SERVER_PORT": str(srv.server_port),
            "SERVER_PROTOCOL": self.request_version,
            "SERVER_SOFTWARE": self.server_version,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REMOTE_ADDR": str(self.client_address[0]),
            "REMOTE_PORT": str(self.client_address[1]),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": _ErrorStream(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "rtc.raw_path": raw_path,
        }
        for name, value in self.headers.items():
            key = name.strip().upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH", "TRANSFER_ENCODING"):
                continue
            key = "HTTP_" + key
            value = value.strip()
            existing = environ.get(key)
            environ[key] = value if existing is None else f"{existing},{value}"
        return environ

    # -- responses ----------------------------------------------------------------

    def _send_throttled(self, query: str) -> None:
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        envelope = {
            "ResponseMetadata": {
                "RequestId": str(uuid.uuid4()),
                "Action": params.get("Action", [""])[0],
                "Version": params.get("Version", [""])[0],
                "Service": "rtc",
                "Region": "cn-north-1",
                "Error": {"Code": _THROTTLE_CODE, "Message": _THROTTLE_MESSAGE},
            }
        }
        body = json.dumps(envelope).encode()
        self._send(429, "Too Many Requests", [("Content-Type", "application/json")], body)

    def _send(
        self,
        code: int,
        reason: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        *,
        from_app: bool = False,
    ) -> None:
        out: list[tuple[str, str]] = []
        app_length: str | None = None
        seen: set[str] = set()
        for name, value in headers:
            lname = name.lower()
            if lname == "connection":
                if "close" in (t.strip().lower() for t in value.split(",")):
                    self.close_connection = True
                continue
            if lname in _HOP_BY_HOP:
                continue
            if lname == "content-length":
                app_length = value.strip()
                continue
            seen.add(lname)
            out.append((name, value))
        if "server" not in seen:
            out.insert(0, ("Server", self.server_version))
        if "date" not in seen:
            out.insert(1, ("Date", formatdate(usegmt=True)))

        is_head = self.command == "HEAD"
        no_body = code in (204, 304) or 100 <= code < 200
        if no_body:
            body = b""
        elif is_head and app_length is not None and _DIGITS_RE.fullmatch(app_length):
            out.append(("Content-Length", app_length))
        else:
            if from_app and app_length is not None and app_length != str(len(body)):
                logger.warning(
                    "application sent Content-Length %s for a %d-byte body; corrected",
                    app_length,
                    len(body),
                )
            out.append(("Content-Length", str(len(body))))
        if self.close_connection:
            out.append(("Connection", "close"))

        lines = [f"{self.protocol_version} {code} {reason}\r\n"]
        lines.extend(f"{name}: {value}\r\n" for name, value in out)
        lines.append("\r\n")
        try:
            head = "".join(lines).encode("latin-1")
        except UnicodeEncodeError:
            logger.error("response headers are not latin-1 encodable: %r", out)
            self.close_connection = True
            fallback = b'{"error": "internal server error"}'
            head = (
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(fallback)}\r\nConnection: close\r\n\r\n"
            ).encode("ascii")
            body = fallback
            code = 500
        self.wfile.write(head if is_head else head + body)
        self.log_request(code, len(body))


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


# --------------------------------------------------------------------------- public server


class WSGIServer:
    """Serve a WSGI application over threaded HTTP/1.1 with keep-alive, on loopback.

    ``start()`` binds and starts serving in a daemon thread; ``stop()`` stops accepting,
    closes every client connection (including idle keep-alive ones) and returns
    promptly.  Usable as a context manager.
    """

    def __init__(
        self,
        app: WSGIApplication,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_body: int = 1 << 20,
        faults: FaultInjector | None = None,
        timeout: float = _DEFAULT_CONN_TIMEOUT,
        error_body: ErrorBody | None = None,
    ) -> None:
        """`error_body(status, message, request_target)` renders the body of the errors the
        HTTP layer answers itself (413, malformed requests), e.g. as an API's error envelope."""
        if max_body < 0:
            raise ValueError("max_body must be >= 0")
        if timeout <= 0:
            raise ValueError("timeout must be > 0")
        self.app = app
        self.max_body = max_body
        self.faults = faults if faults is not None else FaultInjector()
        self.timeout = timeout
        self.error_body = error_body
        self._host = host
        self._port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The bound port (the real one once started, even if ``port=0`` was asked)."""
        if self._httpd is None and self._port == 0:
            raise RuntimeError("server not started; the port is chosen by start()")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> WSGIServer:
        """Bind, listen and serve in a daemon thread; returns once listening."""
        with self._lock:
            if self._httpd is not None:
                raise RuntimeError("server already started")
            httpd = _HTTPServer(
                (self._host, self._port),
                self.app,
                max_body=self.max_body,
                faults=self.faults,
                conn_timeout=self.timeout,
                error_body=self.error_body,
            )
            self._port = httpd.server_port
            started = threading.Event()

            def serve() -> None:
                started.set()
                httpd.serve_forever(poll_interval=0.05)

            thread = threading.Thread(target=serve, name=f"rtc-sim-{self._port}", daemon=True)
            thread.start()
            started.wait()
            self._httpd = httpd
            self._thread = thread
            logger.debug("simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close every connection.  Idempotent."""
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
            if httpd is None:
                return
            httpd.stopping.set()
            httpd.shutdown()
            if thread is not None:
                thread.join()
            httpd.close_connections(_STOP_JOIN_SECONDS)
            httpd.server_close()
            logger.debug("simulator on port %d stopped", self._port)

    def __enter__(self) -> WSGIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


LoopbackServer = WSGIServer
