"""A small threaded HTTP/1.1 server for serving any WSGI application on loopback.

:mod:`wsgiref.simple_server` speaks HTTP/1.0, handles one request per connection and
one connection at a time.  The simulator needs persistent (keep-alive) connections,
concurrency, fault injection and an answer to every malformed request, so this module is
its own HTTP/1.1 front end, built on the standard library only.

Example::

    with WSGIServer(app) as server:
        urllib3.request("GET", server.url + "/?Action=StartRecord")
        server.faults.throttle(count=2)   # the next two requests get HTTP 429

How it works:

* One event-loop thread accepts connections and reads request heads without blocking;
  waiting for a head (a new connection, an idle keep-alive one, a slow client) costs a
  socket and a buffer, never a thread.  A complete, valid head goes to a worker thread,
  which reads the body (``Content-Length`` or ``Transfer-Encoding: chunked``) completely,
  calls the application and sends its buffered response, always with a
  ``Content-Length``; the connection then goes back to the event loop.
* Every malformed request is answered (400, 408, 413, 414, 431, ...) with the body the
  ``error_body`` hook renders, then the connection is closed gracefully (half-close, then
  the rest of the client's data is drained for a moment so that the answer is not lost to
  a reset).  Up to a few empty lines before a request line are ignored (RFC 9112 section
  2.2), as is a lone LF line ending.
* At most ``max_connections`` connections are open at once.  At the cap, the oldest idle
  keep-alive connection is closed to make room; when there is none, the new connection is
  answered ``503`` with ``Retry-After`` at once and closed.  Idle connections close after
  ``timeout`` seconds, a request head must arrive within ``header_timeout`` seconds of its
  first byte and a body within ``body_timeout`` seconds (``408`` otherwise), so slow
  clients hold neither threads nor slots for long.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import http
import io
import json
import logging
import re
import selectors
import socket
import threading
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate
from types import TracebackType
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication, WSGIEnvironment

    from _typeshed import OptExcInfo

__all__ = ["FaultInjector", "FaultKind", "LoopbackServer", "WSGIServer"]

logger = logging.getLogger("rtc_startrecord.simulator")

FaultKind = Literal["delay", "drop", "error", "throttle"]
# (HTTP status, message, raw request target) -> the body of an error the HTTP layer answers.
ErrorBody = Callable[[int, str, str], bytes]

SERVER_VERSION: Final = "rtc-startrecord-simulator/1.0"

_DEFAULT_CONN_TIMEOUT: Final = 5.0  # idle keep-alive, and any single read or write
_DEFAULT_HEADER_TIMEOUT: Final = 10.0  # a whole request head, from its first byte
_DEFAULT_BODY_TIMEOUT: Final = 30.0  # a whole request body
_DEFAULT_MAX_CONNECTIONS: Final = 256

_MAX_REQUEST_LINE: Final = 65536  # bytes, without the line ending -> 414
_MAX_HEADER_BYTES: Final = 65536  # the header field lines, line endings included -> 431
_MAX_HEADERS: Final = 100  # header field lines -> 431
_MAX_HEAD: Final = _MAX_REQUEST_LINE + 2 + _MAX_HEADER_BYTES + 2
_MAX_LEADING_EMPTY_LINES: Final = 8  # ignored before a request line; more is a 400
_MAX_CHUNK_LINE: Final = 1024
_MAX_TRAILER_LINES: Final = 100
_MAX_TRAILER_BYTES: Final = 65536

_LINGER_SECONDS: Final = 2.0
_LINGER_MAX_BYTES: Final = 64 << 20
_STOP_JOIN_SECONDS: Final = 1.0
_WORKER_IDLE_SECONDS: Final = 10.0
# A worker waits this long for the next request on a kept-alive connection before handing
# it back to the event loop: a client in a loop is then served without two thread switches.
_KEEPALIVE_GRACE_SECONDS: Final = 0.002  # an idle worker thread exits after this long
_TICK_SECONDS: Final = 0.05  # how often the event loop checks deadlines
_ACCEPT_BATCH: Final = 64
_ACCEPT_PAUSE_SECONDS: Final = 0.1  # after EMFILE and the like
_LISTEN_BACKLOG: Final = 1024
_RECV_BYTES: Final = 65536
_RETRY_AFTER_SECONDS: Final = 1

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
_TOKEN_BYTES_RE: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_STATUS_RE: Final = re.compile(r"([0-9]{3}) ([^\r\n\x00]*)")
_DIGITS_RE: Final = re.compile(r"[0-9]+")
_CHUNK_SIZE_RE: Final = re.compile(rb"[0-9A-Fa-f]+")
_BAD_VALUE_RE: Final = re.compile(r"[\r\n\x00]")
_HEAD_END_RE: Final = re.compile(rb"\n\r?\n")
_VERSION_RE: Final = re.compile(rb"HTTP/([0-9])\.([0-9])")
# What a request line may hold: visible ASCII, SP and HTAB.
_REQUEST_LINE_BAD_RE: Final = re.compile(rb"[^\x21-\x7e \t]")
# Field values: visible ASCII, obs-text, SP and HTAB; no other control character.
_FIELD_VALUE_BAD_RE: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

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

    Requests rejected by the HTTP layer itself (malformed, oversized, too slow, or
    beyond the connection cap) do not consume faults.  Each applied fault is recorded in
    :attr:`history` as ``(kind, path)``, where ``path`` is the raw (undecoded) request
    path without the query string.
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


# --------------------------------------------------------------------------- parsing


class _HTTPError(Exception):
    """A request the HTTP layer answers itself (4xx), with ``status`` and ``message``."""

    def __init__(self, status: int, message: str, target: str = "", method: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.target = target
        self.method = method


@dataclass
class _Request:
    method: str
    target: str
    version: str  # "HTTP/1.0" or "HTTP/1.1"
    raw_path: str
    query: str
    headers: list[tuple[str, str]]
    keep_alive: bool
    length: int  # the body's Content-Length; -1 when chunked
    framed: bool  # a Content-Length or a Transfer-Encoding was given
    expect_continue: bool
    requestline: str


def _split_target(target: str) -> tuple[str, str] | None:
    """``(raw_path, query)`` of a request target, or ``None`` when it is not one."""
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


def _target_hint(data: bytes | bytearray) -> str:
    """The request target of a (possibly partial) request head, if it shows one."""
    words = bytes(data[: min(len(data), _MAX_REQUEST_LINE)]).split(b"\n", 1)[0].split()
    return words[1].decode("latin-1") if len(words) >= 2 else ""


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 40 else f"{value[:20]!r}... ({len(value)} characters)"


def _parse_head(block: bytes, max_body: int) -> _Request:
    """Parse a request head (its lines, without the empty line that ends it).

    Raises :class:`_HTTPError` for anything malformed, unsupported or too large.
    """
    lines = [line[:-1] if line.endswith(b"\r") else line for line in block.split(b"\n")]
    first = lines[0]
    words = first.split()
    target = words[1].decode("latin-1") if len(words) >= 2 else ""
    method = words[0].decode("latin-1") if words else ""
    try:
        if len(first) > _MAX_REQUEST_LINE:
            raise _HTTPError(414, f"the request line is longer than {_MAX_REQUEST_LINE} bytes")
        if _REQUEST_LINE_BAD_RE.search(first):
            raise _HTTPError(
                400, "the request line holds bytes other than visible ASCII, SP and HTAB"
            )
        if len(words) == 2:
            raise _HTTPError(400, "an HTTP/0.9 request line (no HTTP version) is not supported")
        if len(words) != 3:
            raise _HTTPError(
                400,
                f"the request line has {len(words)} parts, not 3 (method, target, HTTP version)",
            )
        if not _TOKEN_BYTES_RE.fullmatch(words[0]):
            raise _HTTPError(400, f"invalid method {_shown(method)}")
        version_text = words[2].decode("ascii")
        match = _VERSION_RE.fullmatch(words[2])
        if match is None:
            raise _HTTPError(400, f"invalid HTTP version {_shown(version_text)}")
        if match.group(1) != b"1":
            # RFC 9110 would answer 505; a 4xx says "your request", which it is.
            raise _HTTPError(400, f"{version_text} is not supported: this server speaks HTTP/1.1")
        # A higher minor version is served as the highest one known (RFC 9110 section 2.5).
        version = "HTTP/1.0" if match.group(2) == b"0" else "HTTP/1.1"
        split = _split_target(target)
        if split is None:
            raise _HTTPError(400, f"invalid request target {_shown(target)}")
        raw_path, query = split
        headers = _parse_fields(lines[1:], len(block) - len(first))
        return _frame(
            _Request(
                method=method,
                target=target,
                version=version,
                raw_path=raw_path,
                query=query,
                headers=headers,
                keep_alive=version == "HTTP/1.1",
                length=0,
                framed=False,
                expect_continue=False,
                requestline=first.decode("ascii"),
            ),
            max_body,
        )
    except _HTTPError as err:
        err.target, err.method = target, method
        raise


def _parse_fields(lines: list[bytes], size: int) -> list[tuple[str, str]]:
    if len(lines) > _MAX_HEADERS:
        raise _HTTPError(431, f"more than {_MAX_HEADERS} header fields")
    if size > _MAX_HEADER_BYTES:
        raise _HTTPError(431, f"the header fields are larger than {_MAX_HEADER_BYTES} bytes")
    fields: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            raise _HTTPError(400, "obsolete line folding (a header line starting with whitespace)")
        name, colon, value = line.partition(b":")
        shown = _shown(line.decode("latin-1"))
        if not colon:
            raise _HTTPError(400, f"a header line without a colon: {shown}")
        if not _TOKEN_BYTES_RE.fullmatch(name):
            raise _HTTPError(400, f"invalid header field name in {shown}")
        value = value.strip(b" \t")
        if _FIELD_VALUE_BAD_RE.search(value):
            raise _HTTPError(400, f"control characters in the value of {name.decode('ascii')}")
        fields.append((name.decode("ascii"), value.decode("latin-1")))
    return fields


def _values(req: _Request, name: str) -> list[str]:
    return [v for n, v in req.headers if n.lower() == name]


def _frame(req: _Request, max_body: int) -> _Request:
    """Check the fields that decide how the request is read, and record them on ``req``."""
    if len(_values(req, "host")) > 1:
        raise _HTTPError(400, "more than one Host header")
    connection = {t.strip().lower() for v in _values(req, "connection") for t in v.split(",")}
    if "close" in connection:
        req.keep_alive = False
    transfer = _values(req, "transfer-encoding")
    lengths = _values(req, "content-length")
    if transfer:
        if lengths:
            raise _HTTPError(400, "both Content-Length and Transfer-Encoding were given")
        if req.version == "HTTP/1.0":
            raise _HTTPError(400, "Transfer-Encoding in an HTTP/1.0 request")
        codings = [c.strip().lower() for v in transfer for c in v.split(",") if c.strip()]
        if codings != ["chunked"]:
            raise _HTTPError(
                400,
                f"unsupported Transfer-Encoding {_shown(', '.join(codings))}: "
                "only chunked is accepted, or send a Content-Length",
            )
        req.length, req.framed = -1, True
    elif lengths:
        req.length, req.framed = _content_length(lengths, max_body), True
    if req.length and req.version == "HTTP/1.1":
        req.expect_continue = any(v.lower() == "100-continue" for v in _values(req, "expect"))
    return req


def _content_length(values: list[str], max_body: int) -> int:
    items = [item.strip(" \t") for value in values for item in value.split(",")]
    for item in items:
        if not _DIGITS_RE.fullmatch(item):
            raise _HTTPError(400, f"invalid Content-Length {_shown(item)}: not a decimal number")
    # Identical repeats ("5, 5" or two fields) are one length (RFC 9110 section 8.6).
    distinct = {item.lstrip("0") or "0" for item in items}
    if len(distinct) > 1:
        raise _HTTPError(400, "conflicting Content-Length values")
    digits = distinct.pop()
    # Never int() a huge string: CPython refuses more than 4300 digits.
    if len(digits) > len(str(max_body)) or int(digits) > max_body:
        size = digits if len(digits) <= 30 else f"a {len(digits)}-digit number of"
        raise _HTTPError(
            413, f"request body too large: {size} bytes exceeds the limit of {max_body} bytes"
        )
    return int(digits)


# --------------------------------------------------------------------------- responses


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _render_response(
    code: int,
    reason: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    method: str,
    close: bool,
    from_app: bool = False,
) -> tuple[bytes, bool, int, int]:
    """``(bytes to send, close after it, status sent, body size)`` of one response."""
    out: list[tuple[str, str]] = []
    app_length: str | None = None
    seen: set[str] = set()
    for name, value in headers:
        lname = name.lower()
        if lname == "connection":
            if "close" in (t.strip().lower() for t in value.split(",")):
                close = True
            continue
        if lname in _HOP_BY_HOP:
            continue
        if lname == "content-length":
            app_length = value.strip()
            continue
        seen.add(lname)
        out.append((name, value))
    if "server" not in seen:
        out.insert(0, ("Server", SERVER_VERSION))
    if "date" not in seen:
        out.insert(1, ("Date", formatdate(usegmt=True)))

    is_head = method == "HEAD"
    if code in (204, 304) or 100 <= code < 200:
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
    if close:
        out.append(("Connection", "close"))

    lines = [f"HTTP/1.1 {code} {reason}\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in out)
    lines.append("\r\n")
    try:
        head = "".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        logger.error("response headers are not latin-1 encodable: %r", out)
        body = b'{"error": "internal server error"}'
        head = (
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode("ascii")
        return (head if is_head else head + body), True, 500, len(body)
    return (head if is_head else head + body), close, code, len(body)


def _throttle_body(query: str) -> bytes:
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
    return json.dumps(envelope).encode()


# --------------------------------------------------------------------------- connections

_ConnState = Literal["head", "busy", "write", "linger", "closed"]
_Action = Literal["keep", "close", "drop"]

_LISTENER: Final = object()
_WAKE: Final = object()


class _Conn:
    """One client connection.  The event loop owns it except while a worker serves it."""

    __slots__ = (
        "addr",
        "buf",
        "deadline",
        "drained",
        "empty_lines",
        "out",
        "scanned",
        "served",
        "sock",
        "started",
        "state",
    )

    def __init__(self, sock: socket.socket, addr: tuple[str, int]) -> None:
        self.sock = sock
        self.addr = addr
        self.buf = bytearray()  # received, not yet consumed
        self.state: _ConnState = "head"
        self.deadline = 0.0
        self.started: float | None = None  # when the first byte of this head arrived
        self.scanned = 0  # how much of buf is known to hold no end of head
        self.empty_lines = 0
        self.served = 0
        self.out = b""
        self.drained = 0

    @property
    def host(self) -> str:
        return str(self.addr[0])


def _take_head(conn: _Conn, max_body: int) -> _Request | None:
    """Take the next request head out of ``conn.buf``; ``None`` while it is incomplete.

    Skips up to ``_MAX_LEADING_EMPTY_LINES`` empty lines (CRLF or LF) before it and
    raises :class:`_HTTPError` for a malformed or oversized head.
    """
    buf = conn.buf
    skip, size = 0, len(buf)
    while skip < size:
        if buf[skip] == 0x0A:
            skip += 1
        elif buf[skip] == 0x0D and skip + 1 < size and buf[skip + 1] == 0x0A:
            skip += 2
        else:
            break
        conn.empty_lines += 1
        if conn.empty_lines > _MAX_LEADING_EMPTY_LINES:
            message = f"more than {_MAX_LEADING_EMPTY_LINES} empty lines before a request line"
            raise _HTTPError(400, message)
    if skip:
        del buf[:skip]
        conn.scanned = 0
    if not buf or buf == b"\r":
        return None
    end = _HEAD_END_RE.search(buf, max(0, conn.scanned - 2))
    if end is None:
        conn.scanned = len(buf)
        if len(buf) > _MAX_REQUEST_LINE + 2 and buf.find(b"\n", 0, _MAX_REQUEST_LINE + 2) < 0:
            message = f"the request line is longer than {_MAX_REQUEST_LINE} bytes"
            raise _HTTPError(414, message, _target_hint(buf))
        if len(buf) > _MAX_HEAD:
            message = f"the header fields are larger than {_MAX_HEADER_BYTES} bytes"
            raise _HTTPError(431, message, _target_hint(buf))
        return None
    block = bytes(buf[: end.start()])
    del buf[: end.end()]
    conn.scanned = 0
    conn.empty_lines = 0
    return _parse_head(block, max_body)


class _BodyReader:
    """Blocking reads of a request body, bounded by an inactivity and a total timeout."""

    def __init__(self, conn: _Conn, idle: float, total: float) -> None:
        self.sock = conn.sock
        self.buf = conn.buf
        self.idle = idle
        self.total = total
        self.deadline = time.monotonic() + total

    def _late(self) -> _HTTPError:
        return _HTTPError(408, f"the request body did not arrive within {self.total:g} s")

    def _fill(self, where: str) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._late()
        self.sock.settimeout(min(self.idle, remaining))
        try:
            data = self.sock.recv(4 * _RECV_BYTES)
        except TimeoutError:
            if time.monotonic() >= self.deadline:
                raise self._late() from None
            raise _HTTPError(
                408, f"the request body stalled: nothing arrived for {self.idle:g} s"
            ) from None
        if not data:
            raise _HTTPError(400, f"the connection ended in the middle of the body ({where})")
        self.buf += data

    def read(self, size: int) -> bytes:
        while len(self.buf) < size:
            self._fill(f"{len(self.buf)} of {size} bytes received")
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def readline(self, limit: int, where: str) -> bytes | None:
        """A line with its LF; ``None`` when it is longer than ``limit``."""
        if time.monotonic() >= self.deadline:  # also bounds a flood of tiny chunks
            raise self._late()
        start = 0
        while True:
            end = self.buf.find(b"\n", start)
            if end >= 0:
                if end >= limit:
                    return None
                line = bytes(self.buf[: end + 1])
                del self.buf[: end + 1]
                return line
            if len(self.buf) > limit:
                return None
            start = len(self.buf)
            self._fill(where)


class _Workers:
    """Daemon worker threads started on demand, at most ``limit``; idle ones exit."""

    def __init__(self, limit: int, name: str) -> None:
        self._limit = limit
        self._name = name
        self._cond = threading.Condition(threading.Lock())
        self._jobs: deque[Callable[[], None]] = deque()
        self._threads: set[threading.Thread] = set()
        self._idle = 0
        self._closed = False
        self._counter = 0

    def submit(self, job: Callable[[], None]) -> None:
        with self._cond:
            self._jobs.append(job)
            if self._idle >= len(self._jobs) or len(self._threads) >= self._limit:
                self._cond.notify()
                return
            self._counter += 1
            thread = threading.Thread(
                target=self._run, name=f"{self._name}-{self._counter}", daemon=True
            )
            self._threads.add(thread)
        try:
            thread.start()
        except RuntimeError:  # the interpreter or the OS refuses a thread
            logger.exception("cannot start a worker thread")
            with self._cond:
                self._threads.discard(thread)
                self._cond.notify()

    def _run(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                deadline = time.monotonic() + _WORKER_IDLE_SECONDS
                while not self._jobs:
                    remaining = deadline - time.monotonic()
                    if self._closed or remaining <= 0:
                        self._threads.discard(me)
                        return
                    self._idle += 1
                    try:
                        self._cond.wait(remaining)
                    finally:
                        self._idle -= 1
                job = self._jobs.popleft()
            try:
                job()
            except Exception:  # jobs handle their own errors; this is a last resort
                logger.exception("unexpected error in a worker thread")

    def close(self, timeout: float) -> None:
        """Let the workers finish and exit; wait up to ``timeout`` seconds for them."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if thread is not threading.current_thread():
                thread.join(remaining)


class _Core:
    """The listening socket, the event loop and the workers of one running server."""

    def __init__(
        self,
        app: WSGIApplication,
        address: tuple[str, int],
        *,
        max_body: int,
        faults: FaultInjector,
        timeout: float,
        header_timeout: float,
        body_timeout: float,
        max_connections: int,
        error_body: ErrorBody | None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.faults = faults
        self.timeout = timeout
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_connections = max_connections
        self.error_body = error_body
        self.stopping = threading.Event()

        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            if hasattr(socket, "SO_REUSEADDR"):
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
            listener.listen(_LISTEN_BACKLOG)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        host, port = listener.getsockname()[:2]
        self.server_name = str(host)
        self.server_port = int(port)

        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(listener, selectors.EVENT_READ, _LISTENER)
        self._sel.register(self._wake_r, selectors.EVENT_READ, _WAKE)
        self._accept_paused_until = 0.0
        self._cap_warned_at = -1e9
        self._next_tick = 0.0

        # Owned by the event-loop thread; workers only append to _returned.
        self._head: dict[_Conn, None] = {}  # waiting for a request head (insertion-ordered)
        self._idle: dict[_Conn, None] = {}  # the keep-alive ones of those with nothing yet
        self._busy: set[_Conn] = set()  # with a worker
        self._closing: set[_Conn] = set()  # writing a last answer, then draining
        self._returned: deque[tuple[_Conn, _Action]] = deque()
        self._max_closing = 2 * max_connections + 64
        self.workers = _Workers(max_connections, f"rtc-sim-{self.server_port}-worker")

    # -- event loop -----------------------------------------------------------------

    def serve(self) -> None:
        try:
            while not self.stopping.is_set():
                events = self._sel.select(_TICK_SECONDS)
                now = time.monotonic()
                for key, _mask in events:
                    if key.data is _LISTENER:
                        self._accept(now)
                    elif key.data is _WAKE:
                        with contextlib.suppress(OSError):
                            while self._wake_r.recv(4096):
                                pass
                    else:
                        self._on_ready(key.data, now)
                self._take_returned(now)
                if now >= self._next_tick:
                    self._expire(now)
                    self._next_tick = now + _TICK_SECONDS
        except Exception:  # pragma: no cover - a bug; do not leave sockets behind
            logger.exception("the simulator's event loop failed")
        finally:
            self._close_all()

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _set_events(self, conn: _Conn, events: int) -> None:
        try:
            self._sel.modify(conn.sock, events, conn)
        except KeyError:
            self._sel.register(conn.sock, events, conn)

    def _close(self, conn: _Conn) -> None:
        if conn.state == "closed":
            return
        if conn.state != "busy":
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._sel.unregister(conn.sock)
        self._head.pop(conn, None)
        self._idle.pop(conn, None)
        self._closing.discard(conn)
        conn.state = "closed"
        with contextlib.suppress(OSError):
            conn.sock.close()

    def _close_all(self) -> None:
        for conn in [*self._head, *self._closing]:
            self._close(conn)
        while self._returned:
            with contextlib.suppress(OSError):
                self._returned.popleft()[0].sock.close()
        for conn in list(self._busy):  # interrupts the workers' blocking reads and writes
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        for sock in (self._listener, self._wake_r, self._wake_w):
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._sel.unregister(sock)
            sock.close()
        self._sel.close()

    # -- accepting ------------------------------------------------------------------

    def _accept(self, now: float) -> None:
        for _ in range(_ACCEPT_BATCH):
            try:
                sock, addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    logger.warning(
                        "cannot accept connections (%s); pausing for %g s",
                        exc.strerror,
                        _ACCEPT_PAUSE_SECONDS,
                    )
                    self._sel.unregister(self._listener)
                    self._accept_paused_until = now + _ACCEPT_PAUSE_SECONDS
                    return
                logger.debug("accept() failed: %r", exc)
                continue
            self._admit(sock, addr, now)

    def _admit(self, sock: socket.socket, addr: tuple[str, int], now: float) -> None:
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            sock.close()
            return
        conn = _Conn(sock, addr)
        if len(self._head) + len(self._busy) + len(self._returned) >= self.max_connections:
            if self._idle:
                # Like nginx: an idle keep-alive connection makes room for a new one.
                oldest = next(iter(self._idle))
                logger.debug("at the connection cap: closing idle %s", oldest.host)
                self._close(oldest)
            else:
                if now - self._cap_warned_at >= 10.0:
                    self._cap_warned_at = now
                    logger.warning(
                        "%d connections open, the cap: answering 503 to new ones",
                        self.max_connections,
                    )
                message = (
                    f"the server is at its limit of {self.max_connections} connections; retry later"
                )
                retry = [("Retry-After", str(_RETRY_AFTER_SECONDS))]
                self._start_closing(conn, self._error_bytes(503, message, "", "", retry), now)
                return
        conn.deadline = now + self.timeout
        self._head[conn] = None
        self._sel.register(sock, selectors.EVENT_READ, conn)

    # -- request heads --------------------------------------------------------------

    def _on_ready(self, conn: _Conn, now: float) -> None:
        try:
            if conn.state == "head":
                self._read_head(conn, now)
            elif conn.state == "write":
                self._flush(conn, now)
            elif conn.state == "linger":
                self._drain(conn)
        except Exception:
            logger.exception("unexpected error on a connection from %s", conn.host)
            self._close(conn)

    def _read_head(self, conn: _Conn, now: float) -> None:
        try:
            data = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            logger.debug("connection from %s failed: %r", conn.host, exc)
            self._close(conn)
            return
        if not data:
            if conn.buf.strip(b"\r\n"):
                self._answer(
                    conn,
                    _HTTPError(
                        400,
                        "the connection ended before the request head was complete",
                        _target_hint(conn.buf),
                    ),
                    now,
                )
            else:
                self._close(conn)
            return
        self._idle.pop(conn, None)
        if conn.started is None:
            conn.started = now
            conn.deadline = now + self.header_timeout
        conn.buf += data
        self._advance(conn, now)

    def _advance(self, conn: _Conn, now: float) -> None:
        """Act on what ``conn.buf`` holds: wait for more, answer an error, or dispatch."""
        try:
            req = _take_head(conn, self.max_body)
        except _HTTPError as err:
            self._answer(conn, err, now)
            return
        if req is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(conn.sock)
        self._head.pop(conn, None)
        conn.state = "busy"
        self._busy.add(conn)
        self.workers.submit(functools.partial(self._serve_conn, conn, req))

    def _expire(self, now: float) -> None:
        if self._accept_paused_until and now >= self._accept_paused_until:
            self._accept_paused_until = 0.0
            self._sel.register(self._listener, selectors.EVENT_READ, _LISTENER)
        for conn in [c for c in self._head if now >= c.deadline]:
            if conn.buf:
                message = f"the request head did not arrive within {self.header_timeout:g} s"
                self._answer(conn, _HTTPError(408, message, _target_hint(conn.buf)), now)
            else:
                self._close(conn)  # idle for `timeout`
        for conn in [c for c in self._closing if now >= c.deadline]:
            self._close(conn)

    # -- closing gracefully ---------------------------------------------------------

    def _error_bytes(
        self,
        status: int,
        message: str,
        target: str,
        method: str,
        headers: Iterable[tuple[str, str]] = (),
    ) -> bytes:
        body = b""
        if self.error_body is not None:
            try:
                body = self.error_body(status, message, target)
            except Exception:  # a broken renderer must not take the connection down
                logger.exception("error_body failed")
        if not body:
            body = json.dumps({"error": message}).encode()
        all_headers = [("Content-Type", "application/json"), *headers]
        data, _, _, _ = _render_response(
            status, _phrase(status), all_headers, body, method=method, close=True
        )
        return data

    def _answer(self, conn: _Conn, err: _HTTPError, now: float) -> None:
        logger.debug("%s - answered %d: %s", conn.host, err.status, err.message)
        data = self._error_bytes(err.status, err.message, err.target, err.method)
        self._start_closing(conn, data, now)

    def _start_closing(self, conn: _Conn, data: bytes, now: float) -> None:
        """Send ``data`` (without blocking), half-close, drain the client for a moment."""
        self._head.pop(conn, None)
        self._idle.pop(conn, None)
        if len(self._closing) >= self._max_closing:
            with contextlib.suppress(OSError):
                conn.sock.send(data)
            self._close(conn)
            return
        conn.state = "write"
        conn.out = data
        conn.deadline = now + self.timeout
        self._closing.add(conn)
        self._set_events(conn, selectors.EVENT_WRITE)
        self._flush(conn, now)

    def _flush(self, conn: _Conn, now: float) -> None:
        try:
            while conn.out:
                sent = conn.sock.send(conn.out)
                conn.out = conn.out[sent:]
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)
            return
        # Closing with unread data would send a reset, which can destroy the answer
        # before the client reads it: half-close, then read and discard for a moment.
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_WR)
        conn.state = "linger"
        conn.deadline = now + _LINGER_SECONDS
        conn.buf.clear()
        self._set_events(conn, selectors.EVENT_READ)

    def _drain(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        conn.drained += len(data)
        if not data or conn.drained > _LINGER_MAX_BYTES:
            self._close(conn)

    # -- workers --------------------------------------------------------------------

    def _take_returned(self, now: float) -> None:
        while self._returned:
            conn, action = self._returned.popleft()
            self._busy.discard(conn)
            if action == "drop" or self.stopping.is_set() or conn.sock.fileno() < 0:
                conn.state = "closed"  # the worker closed the socket, or will
                with contextlib.suppress(OSError):
                    conn.sock.close()
                continue
            try:
                if action == "close":
                    conn.state = "write"
                    self._start_closing(conn, b"", now)
                    continue
                conn.state = "head"
                conn.started = None
                conn.deadline = now + self.timeout
                self._head[conn] = None
                self._sel.register(conn.sock, selectors.EVENT_READ, conn)
                if conn.buf:  # pipelined: the next request is already (partly) here
                    conn.started = now
                    conn.deadline = now + self.header_timeout
                    self._advance(conn, now)
                else:
                    self._idle[conn] = None
            except Exception:
                logger.exception("unexpected error on a connection from %s", conn.host)
                self._close(conn)

    def _give_back(self, conn: _Conn, action: _Action) -> None:
        """Worker side: hand the connection back to the event loop."""
        if action != "drop" and not self.stopping.is_set():
            try:
                conn.sock.setblocking(False)
            except OSError:
                action = "drop"
        else:
            action = "drop"
        if action == "drop":
            with contextlib.suppress(OSError):
                conn.sock.close()
        self._returned.append((conn, action))
        self.wake()
        if self.stopping.is_set():  # the event loop may be gone already
            with contextlib.suppress(OSError):
                conn.sock.close()

    def _serve_conn(self, conn: _Conn, req: _Request) -> None:
        action: _Action = "drop"
        try:
            while True:
                conn.sock.settimeout(self.timeout)
                action = self._exchange(conn, req)
                if action != "keep" or self.stopping.is_set():
                    break
                conn.served += 1
                try:
                    following = self._next_request(conn)
                except _HTTPError as err:
                    self._send_error(conn, err)
                    action = "close"
                    break
                if following is None or following == "eof":
                    action = "drop" if following == "eof" else "keep"
                    break
                req = following
        except OSError as exc:
            logger.debug("connection from %s closed: %r", conn.host, exc)
            action = "drop"
        except Exception:
            logger.exception("internal error while serving %r", req.requestline)
            action = "drop"
        finally:
            self._give_back(conn, action)

    def _next_request(self, conn: _Conn) -> _Request | Literal["eof"] | None:
        """The next request on a kept-alive connection if it comes at once, else ``None``.

        A client that sends its next request right after reading a response is served by
        the same worker; anything slower goes back to the event loop, so a worker waits
        at most ``_KEEPALIVE_GRACE_SECONDS`` for it.
        """
        req = _take_head(conn, self.max_body)
        if req is not None or conn.buf:
            return req
        conn.sock.settimeout(_KEEPALIVE_GRACE_SECONDS)
        try:
            data = conn.sock.recv(_RECV_BYTES)
        except TimeoutError:
            return None
        if not data:
            return "eof"
        conn.buf += data
        return _take_head(conn, self.max_body)

    def _send_error(self, conn: _Conn, err: _HTTPError) -> None:
        logger.debug("%s - answered %d: %s", conn.host, err.status, err.message)
        conn.sock.settimeout(self.timeout)
        conn.sock.sendall(self._error_bytes(err.status, err.message, err.target, err.method))

    def _exchange(self, conn: _Conn, req: _Request) -> _Action:
        """Read the body, apply a fault or run the application, and answer."""
        try:
            body = self._read_body(conn, req)
        except _HTTPError as err:
            err.target, err.method = req.target, req.method
            self._send_error(conn, err)
            return "close"

        fault = self.faults._take(req.raw_path)
        if fault is not None:
            logger.debug("fault %s applied to %s %s", fault.kind, req.method, req.raw_path)
            if fault.kind == "delay":
                if self.stopping.wait(fault.seconds):
                    return "drop"
            elif fault.kind == "drop":
                return "drop"
            elif fault.kind == "error":
                headers = [("Content-Type", fault.content_type)]
                return self._respond(
                    conn, req, fault.status, _phrase(fault.status), headers, fault.body
                )
            else:
                headers = [("Content-Type", "application/json")]
                return self._respond(
                    conn, req, 429, "Too Many Requests", headers, _throttle_body(req.query)
                )

        environ = self._environ(conn, req, body)
        try:
            status, headers, payload = _run_app(self.app, environ)
        except _AppError as exc:
            logger.error(
                "WSGI application failed on %s %s",
                req.method,
                req.raw_path,
                exc_info=exc.__cause__ or exc,
            )
            body500 = json.dumps({"error": "internal server error"}).encode()
            headers = [("Content-Type", "application/json")]
            return self._respond(conn, req, 500, "Internal Server Error", headers, body500)
        match = _STATUS_RE.fullmatch(status)
        assert match is not None  # validated by start_response
        code, reason = int(match.group(1)), match.group(2)
        return self._respond(conn, req, code, reason, headers, payload, from_app=True)

    def _respond(
        self,
        conn: _Conn,
        req: _Request,
        code: int,
        reason: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        *,
        from_app: bool = False,
    ) -> _Action:
        data, close, sent, size = _render_response(
            code,
            reason,
            headers,
            body,
            method=req.method,
            close=not req.keep_alive,
            from_app=from_app,
        )
        conn.sock.settimeout(self.timeout)
        conn.sock.sendall(data)
        logger.debug('%s - "%s" %d %d', conn.host, req.requestline, sent, size)
        return "close" if close else "keep"

    def _read_body(self, conn: _Conn, req: _Request) -> bytes:
        if req.length == 0:
            return b""
        reader = _BodyReader(conn, self.timeout, self.body_timeout)
        if req.expect_continue:
            conn.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if req.length > 0:
            return reader.read(req.length)
        return self._read_chunked(reader)

    def _read_chunked(self, reader: _BodyReader) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = reader.readline(_MAX_CHUNK_LINE, "in a chunk-size line")
            if line is None:
                raise _HTTPError(400, "malformed chunked body: a chunk-size line is too long")
            line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
            size_field, _, extension = line.partition(b";")
            size_field = size_field.strip(b" \t")
            if not _CHUNK_SIZE_RE.fullmatch(size_field) or _FIELD_VALUE_BAD_RE.search(extension):
                shown = _shown(line.decode("latin-1"))
                raise _HTTPError(400, f"malformed chunked body: bad chunk-size line {shown}")
            digits = size_field.lstrip(b"0") or b"0"
            size = int(digits, 16) if len(digits) <= 16 else self.max_body + 1
            if size == 0:
                break
            total += size
            if total > self.max_body:
                raise _HTTPError(
                    413,
                    f"request body too large: {total} bytes exceeds the limit of "
                    f"{self.max_body} bytes",
                )
            chunks.append(reader.read(size))
            ending = reader.read(1)
            if ending == b"\r":
                ending = reader.read(1)
            if ending != b"\n":
                raise _HTTPError(400, "malformed chunked body: chunk data not followed by CRLF")
        trailer = 0
        for _ in range(_MAX_TRAILER_LINES + 1):
            line = reader.readline(_MAX_TRAILER_BYTES, "in the trailer")
            if line is None:
                break
            if line in (b"\r\n", b"\n"):
                return b"".join(chunks)
            trailer += len(line)
            if trailer > _MAX_TRAILER_BYTES:
                break
            name, colon, _ = line.partition(b":")
            if not colon or not _TOKEN_BYTES_RE.fullmatch(name):
                raise _HTTPError(400, "malformed chunked body: bad trailer field")
        raise _HTTPError(
            400,
            f"the trailer is larger than {_MAX_TRAILER_BYTES} bytes or {_MAX_TRAILER_LINES} fields",
        )

    def _environ(self, conn: _Conn, req: _Request, body: bytes) -> WSGIEnvironment:
        path_info = urllib.parse.unquote_to_bytes(req.raw_path.encode("latin-1")).decode("latin-1")
        content_type = _values(req, "content-type")
        environ: WSGIEnvironment = {
            "REQUEST_METHOD": req.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path_info,
            "QUERY_STRING": req.query,
            "CONTENT_TYPE": content_type[0] if content_type else "",
            "CONTENT_LENGTH": str(len(body)) if req.framed else "",
            "SERVER_NAME": self.server_name,
            "SERVER_PORT": str(self.server_port),
            "SERVER_PROTOCOL": req.version,
            "SERVER_SOFTWARE": SERVER_VERSION,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REMOTE_ADDR": conn.host,
            "REMOTE_PORT": str(conn.addr[1]),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": _ErrorStream(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "rtc.raw_path": req.raw_path,
        }
        for name, value in req.headers:
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH", "TRANSFER_ENCODING"):
                continue
            key = "HTTP_" + key
            existing = environ.get(key)
            environ[key] = value if existing is None else f"{existing},{value}"
        return environ


# --------------------------------------------------------------------------- public server


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


class WSGIServer:
    """Serve a WSGI application over HTTP/1.1 with keep-alive, on loopback.

    ``start()`` binds and starts serving in daemon threads; ``stop()`` stops accepting,
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
        max_connections: int = _DEFAULT_MAX_CONNECTIONS,
        header_timeout: float = _DEFAULT_HEADER_TIMEOUT,
        body_timeout: float = _DEFAULT_BODY_TIMEOUT,
    ) -> None:
        """`error_body(status, message, request_target)` renders the body of the errors the
        HTTP layer answers itself (4xx for malformed, slow or oversized requests, 503 at the
        connection cap), e.g. as an API's error envelope.

        `timeout` closes an idle keep-alive connection and bounds any single read or write;
        `header_timeout` bounds a whole request head (from its first byte) and
        `body_timeout` a whole body (408 when exceeded).  At most `max_connections`
        connections are open at once; beyond that, new ones get a 503 with Retry-After."""
        if max_body < 0:
            raise ValueError("max_body must be >= 0")
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or max_connections < 1
        ):
            raise ValueError(f"max_connections must be a positive integer, got {max_connections!r}")
        self.app = app
        self.max_body = max_body
        self.faults = faults if faults is not None else FaultInjector()
        self.timeout = _positive("timeout", timeout)
        self.header_timeout = _positive("header_timeout", header_timeout)
        self.body_timeout = _positive("body_timeout", body_timeout)
        self.max_connections = max_connections
        self.error_body = error_body
        self._host = host
        self._port = port
        self._core: _Core | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The bound port (the real one once started, even if ``port=0`` was asked)."""
        if self._core is None and self._port == 0:
            raise RuntimeError("server not started; the port is chosen by start()")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._core is not None

    def start(self) -> WSGIServer:
        """Bind, listen and serve in a daemon thread; returns once listening."""
        with self._lock:
            if self._core is not None:
                raise RuntimeError("server already started")
            core = _Core(
                self.app,
                (self._host, self._port),
                max_body=self.max_body,
                faults=self.faults,
                timeout=self.timeout,
                header_timeout=self.header_timeout,
                body_timeout=self.body_timeout,
                max_connections=self.max_connections,
                error_body=self.error_body,
            )
            self._port = core.server_port
            thread = threading.Thread(target=core.serve, name=f"rtc-sim-{self._port}", daemon=True)
            thread.start()
            self._core = core
            self._thread = thread
            logger.debug("simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close every connection.  Idempotent."""
        with self._lock:
            core, thread = self._core, self._thread
            self._core = self._thread = None
            if core is None:
                return
            core.stopping.set()
            core.wake()
            if thread is not None:
                thread.join()
            core.workers.close(_STOP_JOIN_SECONDS)
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
