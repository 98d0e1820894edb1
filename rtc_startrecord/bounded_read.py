"""Reading an HTTP answer within a size and a deadline, whatever the server does.

A per-read timeout alone bounds nothing: a server can keep every read just in time while the
status line, the headers, an endless run of `100 Continue` heads or the body come a byte at a
time. The client's transport, the simulator's callback deliverer and the `sim` admin client
all read answers from servers they do not control, so the tools live here, below all of them:

- `set_read_deadline(when)` before a request, and a pool whose connections create
  `DeadlineHTTPResponse` (`deadline_reads(pool)`, or `http_fast`'s classes, built on it): every
  receive of the head and the body is then bounded by `when`;
- `read_capped(resp, deadline, max_bytes)`: the body of a `preload_content=False` answer,
  chunk by chunk, at most `max_bytes` (decoded), by the deadline.
"""

from __future__ import annotations

import http.client
import io
import threading
import time
from typing import Any, TypeVar

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = [
    "READ_CHUNK",
    "AnswerTooLarge",
    "DeadlineHTTPResponse",
    "deadline_reads",
    "read_capped",
    "set_read_deadline",
]

#: The most one read of the body asks for.
READ_CHUNK = 64 << 10

_DEADLINE = threading.local()


def set_read_deadline(when: float | None) -> None:
    """The `time.monotonic()` by which the answer of this thread's next request must be read
    (None: only the per-read timeout). The sync transport sets it around each attempt."""
    _DEADLINE.when = when


class _DeadlineSocketReader(io.RawIOBase):
    """The stdlib's socket reader (`socket.SocketIO`), every receive bounded by a deadline.

    A per-read timeout alone lets a server keep the status line, the headers or an endless
    series of `100 Continue` heads coming a byte at a time, each read in time, for ever. The
    stdlib's reader is kept (not the bare socket): it holds the reference that keeps the socket
    open after `http.client` closes a `Connection: close` connection under its response."""

    def __init__(self, raw: Any, sock: Any, deadline: float) -> None:
        self._raw = raw
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the call's deadline passed while reading the answer")
        current = self._sock.gettimeout()
        self._sock.settimeout(remaining if current is None else min(current, remaining))
        read: int = self._raw.readinto(buffer)
        return read

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class DeadlineHTTPResponse(http.client.HTTPResponse):
    """`http.client.HTTPResponse` that reads the socket within the deadline `set_read_deadline`
    gave this thread, when one is set (else exactly the stdlib's)."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        deadline: float | None = getattr(_DEADLINE, "when", None)
        if deadline is not None:
            raw = self.fp.detach()  # nothing is buffered yet: keep its socket reader
            self.fp = io.BufferedReader(_DeadlineSocketReader(raw, sock, deadline))


class DeadlineHTTPConnection(HTTPConnection):
    """urllib3's `HTTPConnection` with `DeadlineHTTPResponse`."""

    response_class = DeadlineHTTPResponse


class DeadlineHTTPSConnection(DeadlineHTTPConnection, HTTPSConnection):
    """urllib3's `HTTPSConnection` with `DeadlineHTTPResponse`."""


_T = TypeVar("_T", bound=HTTPConnectionPool)


def deadline_reads(pool: _T) -> _T:
    """Make ``pool`` create the deadline-reading connections from now on (a pool with another
    connection class than urllib3's stock one is left alone). Returns ``pool``."""
    if isinstance(pool, HTTPSConnectionPool):
        if pool.ConnectionCls is HTTPSConnection:
            pool.ConnectionCls = DeadlineHTTPSConnection
    elif pool.ConnectionCls is HTTPConnection:
        pool.ConnectionCls = DeadlineHTTPConnection
    return pool


class AnswerTooLarge(Exception):
    """The answer passed the size cap of `read_capped` (the transport turns it into
    ResponseTooLarge)."""


def read_capped(resp: urllib3.BaseHTTPResponse, deadline: float, max_bytes: int) -> bytes:
    """The decoded body, read in chunks: at most `max_bytes` (urllib3 >= 2.6 bounds the
    decompression of each read too, else AnswerTooLarge), and each read bounded by `deadline`
    (`time.monotonic()`; a per-read timeout alone lets a body trickle in a byte at a time
    forever, TimeoutError)."""
    chunks: list[bytes] = []
    size = 0
    # An unencoded answer of known length is done when its last byte is in: no second read
    # to see the end (an encoded one may still sit in urllib3's decoder).
    plain = "content-encoding" not in resp.headers
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the call's deadline passed while reading the answer")
        sock = getattr(getattr(resp, "connection", None), "sock", None)
        if sock is not None:
            current = sock.gettimeout()
            sock.settimeout(remaining if current is None else min(current, remaining))
        chunk = resp.read1(READ_CHUNK)  # one socket read at most: the deadline is seen
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            resp.close()  # the rest is never read; the connection is not reused
            raise AnswerTooLarge
        chunks.append(chunk)
        if plain and resp.length_remaining == 0:
            return chunk if len(chunks) == 1 else b"".join(chunks)
