"""The simulator's HTTP server: the HTTP/1.1 server of :mod:`.http`, with RTC's throttling.

The server itself knows HTTP only; this module adds what is RTC's: the ``throttle`` fault
answers HTTP 429 with an RTC ``FlowLimitExceeded.QPSOverLimit`` error envelope.  Every name
importable from here before the server became a package still is.

Example::

    with WSGIServer(app) as server:
        urllib3.request("GET", server.url + "/?Action=StartRecord")
        server.faults.throttle(count=2)   # the next two requests get HTTP 429
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from .http import SERVER_VERSION as SERVER_VERSION
from .http import ErrorBody as ErrorBody
from .http import FaultInjector as _HTTPFaultInjector
from .http import FaultKind
from .http import WSGIServer as _HTTPWSGIServer
from .http.faults import AppliedFault as _AppliedFault

__all__ = ["FaultInjector", "FaultKind", "LoopbackServer", "WSGIServer"]

logger = logging.getLogger("rtc_startrecord.simulator")

_THROTTLE_CODE: Final = "FlowLimitExceeded.QPSOverLimit"
_THROTTLE_MESSAGE: Final = "The request rate exceeds the QPS limit of the API. Retry later."


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


class FaultInjector(_HTTPFaultInjector):
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
        super().__init__()
        self._inside_only = False
        self._inside = threading.local()

    def render_throttle(self, query: str) -> bytes:
        """An RTC error envelope naming the request's ``Action`` and ``Version``."""
        return _throttle_body(query)

    def apply_inside_only(self) -> None:
        """From now on, faults apply only to requests taken within `applying` (the simulator's
        router opens it for API requests, so its admin calls never consume a fault)."""
        self._inside_only = True

    @contextmanager
    def applying(self) -> Iterator[None]:
        """Let the requests of this thread take faults while the block runs."""
        before = getattr(self._inside, "open", False)
        self._inside.open = True
        try:
            yield
        finally:
            self._inside.open = before

    def take(self, path: str) -> _AppliedFault | None:
        if self._inside_only and not getattr(self._inside, "open", False):
            return None
        return super().take(path)


class WSGIServer(_HTTPWSGIServer):
    """Serve a WSGI application over HTTP/1.1 with keep-alive, on loopback.

    ``start()`` binds and starts serving in daemon threads; ``stop()`` stops accepting,
    closes every client connection (including idle keep-alive ones) and returns
    promptly.  Usable as a context manager.  Without ``faults``, it gets this module's
    :class:`FaultInjector` (RTC's throttle envelope).
    """

    faults: FaultInjector

    def new_faults(self) -> FaultInjector:
        return FaultInjector()


LoopbackServer = WSGIServer
