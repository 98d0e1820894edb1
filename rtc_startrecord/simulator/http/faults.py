"""Fault injection for the next N requests: delay, drop, error, throttle.

:class:`FaultInjector` is the queue a test fills; :class:`FaultMiddleware` applies it in
front of the application.  The one thing a middleware cannot do, closing the connection
without an answer, goes through the server's narrow hook: raising
:class:`~.environ.DropConnection`.
"""

from __future__ import annotations

import http
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .environ import BAD_VALUE_RE, STOPPING_KEY, DropConnection
from .responses import phrase

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger("rtc_startrecord.simulator")

FaultKind = Literal["delay", "drop", "error", "throttle"]


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int
    seconds: float = 0.0
    status: int = 500
    body: bytes = b""
    content_type: str = "text/html"


@dataclass(frozen=True)
class AppliedFault:
    kind: FaultKind
    seconds: float
    status: int
    body: bytes
    content_type: str


def _default_error_body(status: int) -> bytes:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    title = f"{status} {reason}"
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
    * ``throttle``: answer HTTP 429 with the body :meth:`render_throttle` renders.

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
        if BAD_VALUE_RE.search(content_type):
            raise ValueError("content_type must not contain CR, LF or NUL")
        payload = _default_error_body(status) if body is None else bytes(body)
        self._push(_Fault("error", count, status=status, body=payload, content_type=content_type))

    def throttle(self, count: int = 1) -> None:
        """Answer the next ``count`` requests with HTTP 429 (see :meth:`render_throttle`)."""
        _check_count(count)
        self._push(_Fault("throttle", count, status=429))

    def render_throttle(self, query: str) -> bytes:
        """The JSON body of a throttle answer to a request with ``query``; override it."""
        return json.dumps({"error": "too many requests"}).encode()

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

    def take(self, path: str) -> AppliedFault | None:
        """Consume the fault for the request on ``path`` (recorded in the history), if any."""
        with self._lock:
            if not self._queue:
                return None
            head = self._queue[0]
            head.remaining -= 1
            if head.remaining <= 0:
                self._queue.popleft()
            self._history.append((head.kind, path))
            return AppliedFault(head.kind, head.seconds, head.status, head.body, head.content_type)


class FaultMiddleware:
    """WSGI middleware applying ``faults`` to the requests that reach ``app``.

    The server runs it once a request and its body are read, so requests the HTTP layer
    rejects never consume a fault.  ``drop`` raises :class:`DropConnection`; a ``delay``
    gives up (and drops) as soon as the server is stopping.
    """

    def __init__(self, app: WSGIApplication, faults: FaultInjector) -> None:
        self.app = app
        self.faults = faults

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        raw_path = str(environ.get("rtc.raw_path") or environ.get("PATH_INFO") or "")
        fault = self.faults.take(raw_path)
        if fault is None:
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "")
        logger.debug("fault %s applied to %s %s", fault.kind, method, raw_path)
        if fault.kind == "delay":
            stopping = environ.get(STOPPING_KEY)
            if isinstance(stopping, threading.Event):
                if stopping.wait(fault.seconds):
                    raise DropConnection
            else:
                time.sleep(fault.seconds)
            return self.app(environ, start_response)
        if fault.kind == "drop":
            raise DropConnection
        if fault.kind == "error":
            status = f"{fault.status} {phrase(fault.status)}"
            start_response(status, [("Content-Type", fault.content_type)])
            return [fault.body]
        body = self.faults.render_throttle(str(environ.get("QUERY_STRING", "")))
        start_response("429 Too Many Requests", [("Content-Type", "application/json")])
        return [body]
