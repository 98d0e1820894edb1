"""`make_wsgi_app`: a WSGI receiver of RTC callbacks (re-exported by `rtc_startrecord.callbacks`).

No request body, whatever its bytes, gets a 5xx: it is read (400, 411 or 413 when it cannot be),
then `parse` refuses it with a `CallbackError` (401, 403 or 400) or accepts it. A 5xx means the
receiver's own side failed after accepting an event: 500 when your handler raised, 503 when the
deduplicator did; the event is then not marked as seen, so the service's retry is processed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from .dedupe import Claim, DedupeStore, Deduplicator
from .envelope import expected_app_ids
from .errors import CallbackError, SignatureMismatch, UnexpectedAppId
from .parse import parse
from .payloads import Event
from .signature import check_secret
from .time import DEFAULT_MAX_AGE, DEFAULT_MAX_FUTURE, check_limit

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["DEFAULT_MAX_BODY", "CallbackApp", "make_wsgi_app"]

logger = logging.getLogger("rtc_startrecord.callbacks")

DEFAULT_MAX_BODY: Final = 1024 * 1024
"""Largest request body `make_wsgi_app` reads; larger ones get 413."""

_STATUS: Final = {
    200: "200 OK",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    403: "403 Forbidden",
    405: "405 Method Not Allowed",
    409: "409 Conflict",
    411: "411 Length Required",
    413: "413 Content Too Large",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}
_LENGTH: Final = re.compile(r"[0-9]{1,18}", re.ASCII)

_Answer = tuple[int, dict[str, Any], list[tuple[str, str]]]


def _err(error: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": error, "message": message}


class CallbackApp:
    """The WSGI app `make_wsgi_app` returns (see there). ``dedupe`` is its `DedupeStore` (a
    `Deduplicator` unless given), ``app_ids`` the frozenset of expected AppIds (None: any)."""

    def __init__(
        self,
        handler: Callable[[Event], object],
        *,
        secret: str,
        max_age: float | None,
        max_future: float | None,
        dedupe: DedupeStore,
        max_body: int,
        app_ids: Iterable[str] | None = None,
    ) -> None:
        check_secret(secret)
        check_limit("max_age", max_age)
        check_limit("max_future", max_future)
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1:
            raise ValueError("max_body must be a positive integer")
        self.handler = handler
        self.dedupe = dedupe
        self.max_age = max_age
        self.max_future = max_future
        self.max_body = max_body
        self.app_ids = expected_app_ids(app_ids)
        self.__secret = secret

    def __repr__(self) -> str:
        return (
            f"CallbackApp(handler={self.handler!r}, max_age={self.max_age!r}, "
            f"max_future={self.max_future!r}, dedupe={self.dedupe!r}, app_ids={self.app_ids!r})"
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, payload, extra = self._respond(environ)
        except Exception as exc:  # a bug of ours after the body was accepted; never its text
            logger.error("callback receiver: unexpected %s", type(exc).__name__)
            status, payload, extra = 500, _err("InternalError", "the receiver failed"), []
        data = json.dumps(payload).encode("utf-8")
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            *extra,
        ]
        start_response(_STATUS[status], headers)
        return [data]

    def _respond(self, environ: WSGIEnvironment) -> _Answer:
        method = environ.get("REQUEST_METHOD", "GET")
        if method != "POST":
            return (
                405,
                _err("MethodNotAllowed", f"method {str(method)[:16]!r} not allowed; use POST"),
                [("Allow", "POST")],
            )
        body = self._read_body(environ)
        if isinstance(body, tuple):
            return body[0], body[1], []
        try:
            event = parse(
                body,
                secret=self.__secret,
                max_age=self.max_age,
                max_future=self.max_future,
                app_ids=self.app_ids,
            )
        except SignatureMismatch as exc:
            logger.warning("callback refused (401): %s", exc)
            return 401, _err(type(exc).__name__, str(exc)), []
        except UnexpectedAppId as exc:
            logger.warning("callback refused (403): %s", exc)
            return 403, _err(type(exc).__name__, str(exc)), []
        except CallbackError as exc:
            logger.warning("callback refused (400): %s", exc)
            return 400, _err(type(exc).__name__, str(exc)), []
        return self._process(event)

    def _process(self, event: Event) -> _Answer:
        eid = event.event_id
        try:
            claim = self.dedupe.claim(eid)
        except Exception as exc:
            logger.error("callback %r: the deduplicator failed (%s)", eid, type(exc).__name__)
            return (
                503,
                _err("DedupeUnavailable", "the deduplicator failed; retry later"),
                [("Retry-After", "1")],
            )
        if claim is Claim.DUPLICATE:
            logger.info("callback %r %r: duplicate, already processed", event.event_type, eid)
            return 200, {"ok": True, "duplicate": True}, []
        if claim is not Claim.NEW:
            logger.info("callback %r %r: already being processed", event.event_type, eid)
            return (
                409,
                _err("InProgress", f"event {eid} is being processed; retry later"),
                [("Retry-After", "1")],
            )
        try:
            self.handler(event)
        except Exception:
            logger.exception("callback %r %r: handler failed", event.event_type, eid)
            try:
                self.dedupe.release(eid)
            except Exception as exc:  # the lease then expires on its own (RedisDeduplicator)
                logger.error(
                    "callback %r: the deduplicator failed to release it (%s)",
                    eid,
                    type(exc).__name__,
                )
            return 500, _err("HandlerFailed", "the callback handler failed"), []
        try:
            self.dedupe.complete(eid)
        except Exception as exc:  # processed all the same: a retry would process it twice
            logger.error(
                "callback %r: processed, but the deduplicator failed to record it (%s)",
                eid,
                type(exc).__name__,
            )
        logger.info("callback %r %r: processed", event.event_type, eid)
        return 200, {"ok": True}, []

    def _read_body(self, environ: WSGIEnvironment) -> bytes | tuple[int, dict[str, Any]]:
        raw_length = environ.get("CONTENT_LENGTH") or ""
        raw_length = raw_length.strip() if isinstance(raw_length, str) else "?"
        if raw_length:
            if _LENGTH.fullmatch(raw_length) is None:
                return 400, _err("BadRequest", "invalid Content-Length")
            length = int(raw_length)
            if length > self.max_body:
                logger.warning("callback refused (413): body of %d bytes", length)
                return 413, _err("TooLarge", f"body larger than {self.max_body} bytes")
        elif environ.get("wsgi.input_terminated"):
            length = self.max_body + 1
        else:
            return 411, _err("LengthRequired", "Content-Length required")
        chunks: list[bytes] = []
        got = 0
        try:
            stream = environ.get("wsgi.input")
            while stream is not None and got < length:
                chunk = stream.read(length - got)
                if not chunk:
                    break
                if not isinstance(chunk, bytes):
                    return 400, _err("BadRequest", "the request body is not bytes")
                chunks.append(chunk)
                got += len(chunk)
        except Exception as exc:  # the client went away, or a broken server stream
            logger.warning(
                "callback refused (400): reading the body failed (%s)", type(exc).__name__
            )
            return 400, _err("BadRequest", "the request body could not be read")
        if got > self.max_body:
            return 413, _err("TooLarge", f"body larger than {self.max_body} bytes")
        if raw_length and got < length:
            return 400, _err("BadRequest", "body shorter than Content-Length")
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
