"""The event loop: accepting, the connection cap, reading request heads, deadlines.

One thread accepts connections and reads request heads without blocking; waiting for a
head costs a socket and a buffer, never a thread.  A complete head goes to a worker
(:mod:`.workers`), which hands the connection back when it is done with it.  Rejected
requests are answered here, then the connection is closed gracefully (half-close, then
the client's data is drained for a moment).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, Literal

from .parsing import HTTPError, Request, take_head, target_hint
from .responses import ErrorBody, error_bytes
from .workers import RECV_BYTES, Action, Exchanger, Workers

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

logger = logging.getLogger("rtc_startrecord.simulator")

_LINGER_SECONDS: Final = 2.0
_LINGER_MAX_BYTES: Final = 64 << 20
_TICK_SECONDS: Final = 0.05  # how often the event loop checks deadlines
_ACCEPT_BATCH: Final = 64
_ACCEPT_PAUSE_SECONDS: Final = 0.1  # after EMFILE and the like
_LISTEN_BACKLOG: Final = 1024
_RETRY_AFTER_SECONDS: Final = 1

ConnState = Literal["head", "busy", "write", "linger", "closed"]

_LISTENER: Final = object()
_WAKE: Final = object()


class Conn:
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
        self.state: ConnState = "head"
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


class Core:
    """The listening socket, the event loop and the workers of one running server."""

    def __init__(
        self,
        app: WSGIApplication,
        address: tuple[str, int],
        *,
        max_body: int,
        timeout: float,
        header_timeout: float,
        body_timeout: float,
        max_connections: int,
        error_body: ErrorBody | None,
    ) -> None:
        self.max_body = max_body
        self.timeout = timeout
        self.header_timeout = header_timeout
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
        self.exchanger = Exchanger(
            app,
            max_body=max_body,
            timeout=timeout,
            body_timeout=body_timeout,
            error_body=error_body,
            stopping=self.stopping,
            server_name=self.server_name,
            server_port=self.server_port,
        )

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
        self._head: dict[Conn, None] = {}  # waiting for a request head (insertion-ordered)
        self._idle: dict[Conn, None] = {}  # the keep-alive ones of those with nothing yet
        self._busy: set[Conn] = set()  # with a worker
        self._closing: set[Conn] = set()  # writing a last answer, then draining
        self._returned: deque[tuple[Conn, Action]] = deque()
        self._max_closing = 2 * max_connections + 64
        self.workers = Workers(max_connections, f"rtc-sim-{self.server_port}-worker")

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

    def _set_events(self, conn: Conn, events: int) -> None:
        try:
            self._sel.modify(conn.sock, events, conn)
        except KeyError:
            self._sel.register(conn.sock, events, conn)

    def _close(self, conn: Conn) -> None:
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
        conn = Conn(sock, addr)
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

    def _on_ready(self, conn: Conn, now: float) -> None:
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

    def _read_head(self, conn: Conn, now: float) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
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
                    HTTPError(
                        400,
                        "the connection ended before the request head was complete",
                        target_hint(conn.buf),
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

    def _advance(self, conn: Conn, now: float) -> None:
        """Act on what ``conn.buf`` holds: wait for more, answer an error, or dispatch."""
        try:
            req = take_head(conn, self.max_body)
        except HTTPError as err:
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
                self._answer(conn, HTTPError(408, message, target_hint(conn.buf)), now)
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
        return error_bytes(self.error_body, status, message, target, method, headers)

    def _answer(self, conn: Conn, err: HTTPError, now: float) -> None:
        logger.debug("%s - answered %d: %s", conn.host, err.status, err.message)
        data = self._error_bytes(err.status, err.message, err.target, err.method)
        self._start_closing(conn, data, now)

    def _start_closing(self, conn: Conn, data: bytes, now: float) -> None:
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

    def _flush(self, conn: Conn, now: float) -> None:
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

    def _drain(self, conn: Conn) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        conn.drained += len(data)
        if not data or conn.drained > _LINGER_MAX_BYTES:
            self._close(conn)

    # -- workers --------------------------------------------------------------------

    def _serve_conn(self, conn: Conn, req: Request) -> None:
        """Worker side: serve the connection, then hand it back."""
        action: Action = "drop"
        try:
            action = self.exchanger.serve(conn, req)
        finally:
            self._give_back(conn, action)

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

    def _give_back(self, conn: Conn, action: Action) -> None:
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
