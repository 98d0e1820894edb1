"""The public server: :class:`WSGIServer` binds, starts the event loop, stops it."""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self

from .connection import Core
from .faults import FaultInjector, FaultMiddleware
from .responses import ErrorBody

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

logger = logging.getLogger("rtc_startrecord.simulator")

_DEFAULT_CONN_TIMEOUT: Final = 5.0  # idle keep-alive, and any single read or write
_DEFAULT_HEADER_TIMEOUT: Final = 10.0  # a whole request head, from its first byte
_DEFAULT_BODY_TIMEOUT: Final = 30.0  # a whole request body
_DEFAULT_MAX_CONNECTIONS: Final = 256
_STOP_JOIN_SECONDS: Final = 1.0


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
        self.faults = faults if faults is not None else self.new_faults()
        self.timeout = _positive("timeout", timeout)
        self.header_timeout = _positive("header_timeout", header_timeout)
        self.body_timeout = _positive("body_timeout", body_timeout)
        self.max_connections = max_connections
        self.error_body = error_body
        self._host = host
        self._port = port
        self._core: Core | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def new_faults(self) -> FaultInjector:
        """The fault injector of a server not given one; a subclass may override it."""
        return FaultInjector()

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

    def start(self) -> Self:
        """Bind, listen and serve in a daemon thread; returns once listening."""
        with self._lock:
            if self._core is not None:
                raise RuntimeError("server already started")
            core = Core(
                FaultMiddleware(self.app, self.faults),
                (self._host, self._port),
                max_body=self.max_body,
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
