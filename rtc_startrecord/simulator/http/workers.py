"""Worker threads: reading a request body, running the application, writing the answer.

A worker serves one connection from a complete request head on, for as long as the
client keeps sending requests at once, then hands the connection back to the event loop
(see :mod:`.connection`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final, Literal

from .environ import STATUS_RE, AppError, DropConnection, build_environ, run_app
from .parsing import HTTPError, Request, read_chunked, take_head
from .responses import ErrorBody, error_bytes, render_response

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

    from .connection import Conn

logger = logging.getLogger("rtc_startrecord.simulator")

Action = Literal["keep", "close", "drop"]

RECV_BYTES: Final = 65536
_WORKER_IDLE_SECONDS: Final = 10.0  # an idle worker thread exits after this long
# A worker waits this long for the next request on a kept-alive connection before handing
# it back to the event loop: a client in a loop is then served without two thread switches.
_KEEPALIVE_GRACE_SECONDS: Final = 0.002


class Workers:
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


class BodyReader:
    """Blocking reads of a request body, bounded by an inactivity and a total timeout."""

    def __init__(self, conn: Conn, idle: float, total: float) -> None:
        self.sock = conn.sock
        self.buf = conn.buf
        self.idle = idle
        self.total = total
        self.deadline = time.monotonic() + total

    def _late(self) -> HTTPError:
        return HTTPError(408, f"the request body did not arrive within {self.total:g} s")

    def _fill(self, where: str) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._late()
        self.sock.settimeout(min(self.idle, remaining))
        try:
            data = self.sock.recv(4 * RECV_BYTES)
        except TimeoutError:
            if time.monotonic() >= self.deadline:
                raise self._late() from None
            raise HTTPError(
                408, f"the request body stalled: nothing arrived for {self.idle:g} s"
            ) from None
        if not data:
            raise HTTPError(400, f"the connection ended in the middle of the body ({where})")
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


class Exchanger:
    """Serves the requests of one connection in a worker: body, application, answer."""

    def __init__(
        self,
        app: WSGIApplication,
        *,
        max_body: int,
        timeout: float,
        body_timeout: float,
        error_body: ErrorBody | None,
        stopping: threading.Event,
        server_name: str,
        server_port: int,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.timeout = timeout
        self.body_timeout = body_timeout
        self.error_body = error_body
        self.stopping = stopping
        self.server_name = server_name
        self.server_port = server_port

    def serve(self, conn: Conn, req: Request) -> Action:
        """Serve ``req`` and what follows at once; what to do with the connection next."""
        action: Action = "drop"
        try:
            while True:
                conn.sock.settimeout(self.timeout)
                action = self._exchange(conn, req)
                if action != "keep" or self.stopping.is_set():
                    break
                conn.served += 1
                try:
                    following = self._next_request(conn)
                except HTTPError as err:
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
        return action

    def _next_request(self, conn: Conn) -> Request | Literal["eof"] | None:
        """The next request on a kept-alive connection if it comes at once, else ``None``.

        A client that sends its next request right after reading a response is served by
        the same worker; anything slower goes back to the event loop, so a worker waits
        at most ``_KEEPALIVE_GRACE_SECONDS`` for it.
        """
        req = take_head(conn, self.max_body)
        if req is not None or conn.buf:
            return req
        conn.sock.settimeout(_KEEPALIVE_GRACE_SECONDS)
        try:
            data = conn.sock.recv(RECV_BYTES)
        except TimeoutError:
            return None
        if not data:
            return "eof"
        conn.buf += data
        return take_head(conn, self.max_body)

    def _send_error(self, conn: Conn, err: HTTPError) -> None:
        logger.debug("%s - answered %d: %s", conn.host, err.status, err.message)
        conn.sock.settimeout(self.timeout)
        data = error_bytes(self.error_body, err.status, err.message, err.target, err.method)
        conn.sock.sendall(data)

    def _exchange(self, conn: Conn, req: Request) -> Action:
        """Read the body, run the application, and answer."""
        try:
            body = self._read_body(conn, req)
        except HTTPError as err:
            err.target, err.method = req.target, req.method
            self._send_error(conn, err)
            return "close"

        environ = build_environ(
            req,
            body,
            server_name=self.server_name,
            server_port=self.server_port,
            remote=conn.addr,
            stopping=self.stopping,
        )
        try:
            status, headers, payload = run_app(self.app, environ)
        except DropConnection:
            return "drop"
        except AppError as exc:
            logger.error(
                "WSGI application failed on %s %s",
                req.method,
                req.raw_path,
                exc_info=exc.__cause__ or exc,
            )
            body500 = json.dumps({"error": "internal server error"}).encode()
            headers = [("Content-Type", "application/json")]
            return self._respond(conn, req, 500, "Internal Server Error", headers, body500)
        match = STATUS_RE.fullmatch(status)
        assert match is not None  # validated by start_response
        code, reason = int(match.group(1)), match.group(2)
        return self._respond(conn, req, code, reason, headers, payload, from_app=True)

    def _respond(
        self,
        conn: Conn,
        req: Request,
        code: int,
        reason: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        *,
        from_app: bool = False,
    ) -> Action:
        data, close, sent, size = render_response(
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

    def _read_body(self, conn: Conn, req: Request) -> bytes:
        if req.length == 0:
            return b""
        reader = BodyReader(conn, self.timeout, self.body_timeout)
        if req.expect_continue:
            conn.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if req.length > 0:
            return reader.read(req.length)
        return read_chunked(reader, self.max_body)
