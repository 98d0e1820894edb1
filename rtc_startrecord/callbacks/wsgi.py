"""`make_wsgi_app`: a WSGI receiver of RTC callbacks (re-exported by `rtc_startrecord.callbacks`).

No request body, whatever its bytes, gets a 5xx: it is read (400, 411 or 413 when it cannot be),
then `parse` refuses it with a `CallbackError` (401, 403 or 400) or accepts it. A 5xx means the
receiver's own side failed after accepting an event: 500 when your handler raised, 503 when the
deduplicator did; the event is then not marked as seen, so the service's retry is processed.

The decisions are `.receiver`'s (shared with the ASGI app, `.asgi`); this module only reads the
body from ``wsgi.input``, calls the store and the handler in the server's thread, and writes the
answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .dedupe import DedupeStore, Deduplicator
from .payloads import Event
from .receiver import (
    DEFAULT_MAX_BODY,
    BodyNotBytes,
    CallbackReceiver,
    DedupeCall,
    ReadBody,
    Step,
    run,
)
from .time import DEFAULT_MAX_AGE, DEFAULT_MAX_FUTURE

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["DEFAULT_MAX_BODY", "CallbackApp", "make_wsgi_app"]


class CallbackApp(CallbackReceiver):
    """The WSGI app `make_wsgi_app` returns (see there). ``dedupe`` is its `DedupeStore` (a
    `Deduplicator` unless given), ``app_ids`` the frozenset of expected AppIds (None: any)."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        exchange = self._exchange(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("CONTENT_LENGTH"),
            terminated=bool(environ.get("wsgi.input_terminated")),
        )
        answer = run(exchange, lambda step: self._perform(environ, step))
        data, headers = answer.render()
        start_response(answer.status_line, headers)
        return [data]

    def _perform(self, environ: WSGIEnvironment, step: Step) -> object:
        if isinstance(step, ReadBody):
            return _read_body(environ, step.limit)
        if isinstance(step, DedupeCall):
            return self._call_dedupe(step)
        return self.handler(step.event)


def _read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    stream = environ.get("wsgi.input")
    while stream is not None and got < limit:
        chunk = stream.read(limit - got)
        if not chunk:
            break
        if not isinstance(chunk, bytes):
            raise BodyNotBytes
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def make_wsgi_app(
    handler: Callable[[Event], object],
    *,
    secret: str,
    max_age: float | None = DEFAULT_MAX_AGE,
    max_future: float | None = DEFAULT_MAX_FUTURE,
    dedupe: DedupeStore | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    app_ids: Iterable[str] | None = None,
) -> CallbackApp:
    """A WSGI app receiving RTC callbacks; ``handler`` is called once per verified, fresh event.

    Answers (JSON bodies ``{"ok": ..., "error": ..., "message": ...}``; never the secret):
    405 with ``Allow: POST`` for other methods; 411 without Content-Length (unless the server
    sets ``wsgi.input_terminated``); 413 for bodies over ``max_body`` bytes (1 MiB); 400 when the
    body cannot be read; 401 on `SignatureMismatch`; 403 on `UnexpectedAppId` (a correctly
    signed event for an AppId outside ``app_ids``, when given: a policy refusal, told apart from
    malformed input); 400 on any other `CallbackError` (`MalformedCallback`, `StaleEvent`);
    200 without calling the handler for an EventId already processed; 409 with ``Retry-After``
    while the same EventId is being handled by another request; 200 after ``handler`` returns.

    A request body never causes a 5xx. 500 means ``handler`` raised, 503 (``Retry-After``) that
    ``dedupe`` raised: the event is then not marked as seen, so the service's retry is processed.
    ``dedupe`` defaults to a new `Deduplicator` (10000 ids), reachable as ``app.dedupe``; any
    `DedupeStore` will do, such as a `RedisDeduplicator` shared by several replicas (a duplicate
    arriving at one replica while another handles the event gets 409, and no handler call).
    The same answers over ASGI: `make_asgi_app`.
    """
    return CallbackApp(
        handler,
        secret=secret,
        max_age=max_age,
        max_future=max_future,
        dedupe=Deduplicator() if dedupe is None else dedupe,
        max_body=max_body,
        app_ids=app_ids,
    )
