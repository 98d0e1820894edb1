"""The simulator's WSGI front: admin calls first, then the request log, the faults, the API."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .admin import ADMIN_PREFIX, REQUEST_LOGGER, AdminApp
from .app import first_values
from .http import DropConnection, FaultMiddleware

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from .server import FaultInjector

__all__ = ["Router"]

request_log = logging.getLogger(REQUEST_LOGGER)


class Router:
    """The simulator's WSGI front: ``/_simulator/...`` goes to `admin`; everything else is logged
    (one line per request on the ``rtc_startrecord.simulator.requests`` logger, INFO) and goes
    through the fault injector to `api`. The HTTP server's own fault middleware is gated shut
    (`FaultInjector.apply_inside_only`), so admin calls never consume a fault."""

    def __init__(self, api: WSGIApplication, admin: AdminApp, faults: FaultInjector) -> None:
        self.admin = admin
        self.faults = faults
        self._faulted = FaultMiddleware(api, faults)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "")
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return self.admin(environ, start_response)
        t0 = time.perf_counter()
        seen: list[str] = []

        def recording(status: str, headers: Any, exc_info: Any = None) -> Any:
            seen[:] = [status]
            return start_response(status, headers, exc_info)

        try:
            with self.faults.applying():
                chunks = list(self._faulted(environ, recording))
        except DropConnection:
            self._log(environ, "dropped", b"", t0)
            raise
        self._log(environ, seen[0].split(" ")[0] if seen else "-", chunks, t0)
        return chunks

    @staticmethod
    def _log(environ: WSGIEnvironment, status: str, body: Any, t0: float) -> None:
        if not request_log.isEnabledFor(logging.INFO):
            return
        ms = (time.perf_counter() - t0) * 1000
        query = first_values(str(environ.get("QUERY_STRING") or ""))
        request_id = "-"
        try:
            meta = json.loads(b"".join(body)).get("ResponseMetadata", {})
            request_id = str(meta.get("RequestId") or "-")
        except (ValueError, AttributeError, TypeError):
            pass
        request_log.info(
            "%s %s %s -> %s RequestId %s %.1f ms",
            environ.get("REQUEST_METHOD", "-"),
            _printable(query.get("Action")) or "-",
            _printable(query.get("Version")) or "-",
            status,
            _printable(request_id),
            ms,
        )


def _printable(text: str | None) -> str:
    """A query value for one log line: printable, at most 64 characters."""
    if not text:
        return ""
    clean = "".join(c if c.isprintable() and not c.isspace() else "?" for c in text)
    return clean if len(clean) <= 64 else clean[:61] + "..."
