"""The WSGI adapter: the environ of a request, ``start_response`` and running the app."""

from __future__ import annotations

import io
import logging
import re
import threading
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from .parsing import Request, values
from .responses import SERVER_VERSION

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication, WSGIEnvironment

    from _typeshed import OptExcInfo

logger = logging.getLogger("rtc_startrecord.simulator")

# environ key: a threading.Event set once the server is stopping (for a middleware that
# waits, so that it can give up at once).
STOPPING_KEY: Final = "simulator.stopping"

TOKEN_RE: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
STATUS_RE: Final = re.compile(r"([0-9]{3}) ([^\r\n\x00]*)")
BAD_VALUE_RE: Final = re.compile(r"[\r\n\x00]")


class DropConnection(Exception):
    """Raised by the application (or a middleware): close the connection, answer nothing."""


class AppError(Exception):
    """The application misbehaved (raised, or broke the WSGI protocol)."""


class ErrorStream(io.TextIOBase):
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


class StartResponse:
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
        if not isinstance(status, str) or not STATUS_RE.fullmatch(status):
            raise ValueError(f"invalid WSGI status line {status!r}")
        checked: list[tuple[str, str]] = []
        for item in headers:
            name, value = item
            if not isinstance(name, str) or not TOKEN_RE.fullmatch(name):
                raise ValueError(f"invalid header name {name!r}")
            if not isinstance(value, str) or BAD_VALUE_RE.search(value):
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


def run_app(
    app: WSGIApplication, environ: WSGIEnvironment
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run ``app`` to completion and return ``(status, headers, body)``.

    Any misbehaviour of the application is reported as :class:`AppError`;
    :class:`DropConnection` passes through.
    """
    start_response = StartResponse()
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
    except DropConnection:
        raise
    except Exception as exc:
        raise AppError(str(exc)) from exc
    return start_response.status, start_response.headers, b"".join(start_response.written)


def build_environ(
    req: Request,
    body: bytes,
    *,
    server_name: str,
    server_port: int,
    remote: tuple[str, int],
    stopping: threading.Event,
) -> WSGIEnvironment:
    """The WSGI environ of ``req``; ``rtc.raw_path`` holds the undecoded path."""
    path_info = urllib.parse.unquote_to_bytes(req.raw_path.encode("latin-1")).decode("latin-1")
    content_type = values(req, "content-type")
    environ: WSGIEnvironment = {
        "REQUEST_METHOD": req.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path_info,
        "QUERY_STRING": req.query,
        "CONTENT_TYPE": content_type[0] if content_type else "",
        "CONTENT_LENGTH": str(len(body)) if req.framed else "",
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": req.version,
        "SERVER_SOFTWARE": SERVER_VERSION,
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REMOTE_ADDR": str(remote[0]),
        "REMOTE_PORT": str(remote[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": ErrorStream(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "rtc.raw_path": req.raw_path,
        STOPPING_KEY: stopping,
    }
    for name, value in req.headers:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue
        key = "HTTP_" + key
        existing = environ.get(key)
        environ[key] = value if existing is None else f"{existing},{value}"
    return environ
