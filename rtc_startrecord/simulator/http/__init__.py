"""A small threaded HTTP/1.1 server for serving any WSGI application on loopback.

:mod:`wsgiref.simple_server` speaks HTTP/1.0, handles one request per connection and
one connection at a time.  The simulator needs persistent (keep-alive) connections,
concurrency, fault injection and an answer to every malformed request, so this package is
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

Modules: :mod:`.parsing` (request line, fields, body framing; pure), :mod:`.connection`
(the event loop, accepting, the cap, deadlines), :mod:`.workers` (worker threads, bodies,
running the app, answers), :mod:`.environ` (the WSGI adapter), :mod:`.responses`
(rendering, hop-by-hop), :mod:`.faults` (the fault injector, a WSGI middleware) and
:mod:`.server` (:class:`WSGIServer`).
"""

from __future__ import annotations

from .environ import STOPPING_KEY, DropConnection
from .faults import FaultInjector, FaultKind, FaultMiddleware
from .responses import SERVER_VERSION, ErrorBody
from .server import WSGIServer

__all__ = [
    "SERVER_VERSION",
    "STOPPING_KEY",
    "DropConnection",
    "ErrorBody",
    "FaultInjector",
    "FaultKind",
    "FaultMiddleware",
    "LoopbackServer",
    "WSGIServer",
]

LoopbackServer = WSGIServer
