"""The sans-I/O core of the callback receivers `make_wsgi_app` and `make_asgi_app`.

Everything a receiver decides lives here, once: the method and Content-Length checks, the body
size cap, `parse` (signature, formats, freshness, AppIds), the deduplication protocol (claim, then
complete or release) and the answer to each outcome (status, JSON body, extra headers, log line).
No byte is read or written here: `CallbackReceiver._exchange` is a generator that *yields* the
steps needing I/O and *receives* their results (or has their exception thrown into it):

- `ReadBody(limit)`: read the request body, at most ``limit`` bytes (fewer when it ends first);
  the result is the bytes read; raise `BodyNotBytes` for a chunk that is not bytes, anything else
  when reading fails;
- `DedupeCall(op, event_id)`: ``dedupe.claim`` / ``complete`` / ``release``; the result is what it
  returned;
- `HandlerCall(event)`: call the user's handler; the result is ignored.

Its return value is the `Answer`. `run` (sync) and `arun` (async) drive an exchange with a
``perform`` function of the WSGI or ASGI app; so the apps differ only in how they perform a
step (WSGI: blocking calls in the server's thread; ASGI: ``receive``, worker threads, ``await``)
and write the answer.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from .dedupe import Claim, DedupeStore
from .envelope import expected_app_ids
from .errors import CallbackError, SignatureMismatch, UnexpectedAppId
from .parse import parse
from .payloads import Event
from .signature import check_secret
from .time import check_limit

__all__ = [
    "DEFAULT_MAX_BODY",
    "Answer",
    "BodyNotBytes",
    "CallbackReceiver",
    "DedupeCall",
    "Exchange",
    "HandlerCall",
    "ReadBody",
    "Step",
    "arun",
    "run",
]

logger = logging.getLogger("rtc_startrecord.callbacks")

DEFAULT_MAX_BODY: Final = 1024 * 1024
"""Largest request body a receiver reads; larger ones get 413."""

STATUS_LINES: Final = {
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


@dataclass(frozen=True, slots=True)
class Answer:
    """A receiver's answer: the status, the JSON body, headers beyond the content ones."""

    status: int
    payload: Mapping[str, Any]
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def status_line(self) -> str:
        return STATUS_LINES[self.status]

    def render(self) -> tuple[bytes, list[tuple[str, str]]]:
        """The body's bytes and every header (Content-Type, Content-Length, then the extra)."""
        data = json.dumps(dict(self.payload)).encode("utf-8")
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            *self.headers,
        ]
        return data, headers


def _refuse(status: int, error: str, message: str, *headers: tuple[str, str]) -> Answer:
    return Answer(status, {"ok": False, "error": error, "message": message}, headers)


INTERNAL_ERROR: Final = _refuse(500, "InternalError", "the receiver failed")


class BodyNotBytes(Exception):
    """Raised by a driver whose server handed it a body chunk that is not bytes (answered 400)."""


@dataclass(frozen=True, slots=True)
class ReadBody:
    """Read the request body: at most ``limit`` bytes, fewer when it ends first."""

    limit: int


@dataclass(frozen=True, slots=True)
class DedupeCall:
    """Call ``dedupe.<op>(event_id)``; the result is what it returns."""

    op: Literal["claim", "complete", "release"]
    event_id: str


@dataclass(frozen=True, slots=True)
class HandlerCall:
    """Call the user's handler with ``event``."""

    event: Event


Step = ReadBody | DedupeCall | HandlerCall
Exchange = Generator[Step, object, Answer]


class CallbackReceiver:
    """What the WSGI and ASGI receivers share: their configuration (validated here) and
    `_exchange`, the decisions of one request. ``dedupe`` is its `DedupeStore`, ``app_ids`` the
    frozenset of expected AppIds (None: any); the secret is kept out of every repr."""

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
            f"{type(self).__name__}(handler={self.handler!r}, max_age={self.max_age!r}, "
            f"max_future={self.max_future!r}, dedupe={self.dedupe!r}, app_ids={self.app_ids!r})"
        )

    def _call_dedupe(self, step: DedupeCall) -> object:
        """Perform a `DedupeCall` (blocking, as the `DedupeStore` protocol is)."""
        return getattr(self.dedupe, step.op)(step.event_id)

    def _exchange(self, method: object, content_length: object, *, terminated: bool) -> Exchange:
        """One request: ``method`` and ``content_length`` (the header's text; "" or None when
        absent) as the server gave them; ``terminated``: the server delimits a body sent without
        Content-Length (WSGI's ``wsgi.input_terminated``; always so for ASGI chunked or HTTP/2
        bodies), which is then read up to ``max_body`` + 1 bytes."""
        if method != "POST":
            return _refuse(
                405,
                "MethodNotAllowed",
                f"method {str(method)[:16]!r} not allowed; use POST",
                ("Allow", "POST"),
            )
        raw_length = content_length or ""
        raw_length = raw_length.strip() if isinstance(raw_length, str) else "?"
        if raw_length:
            if _LENGTH.fullmatch(raw_length) is None:
                return _refuse(400, "BadRequest", "invalid Content-Length")
            length = int(raw_length)
            if length > self.max_body:
                logger.warning("callback refused (413): body of %d bytes", length)
                return _refuse(413, "TooLarge", f"body larger than {self.max_body} bytes")
        elif terminated:
            length = self.max_body + 1
        else:
            return _refuse(411, "LengthRequired", "Content-Length required")
        try:
            body = yield ReadBody(length)
        except BodyNotBytes:
            return _refuse(400, "BadRequest", "the request body is not bytes")
        except Exception as exc:  # the client went away, or a broken server stream
            logger.warning(
                "callback refused (400): reading the body failed (%s)", type(exc).__name__
            )
            return _refuse(400, "BadRequest", "the request body could not be read")
        if not isinstance(body, bytes):  # a driver's bug, not the client's
            raise TypeError("ReadBody must give bytes")
        if len(body) > self.max_body:
            return _refuse(413, "TooLarge", f"body larger than {self.max_body} bytes")
        if raw_length and len(body) < length:
            return _refuse(400, "BadRequest", "body shorter than Content-Length")
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
            return _refuse(401, type(exc).__name__, str(exc))
        except UnexpectedAppId as exc:
            logger.warning("callback refused (403): %s", exc)
            return _refuse(403, type(exc).__name__, str(exc))
        except CallbackError as exc:
            logger.warning("callback refused (400): %s", exc)
            return _refuse(400, type(exc).__name__, str(exc))
        return (yield from self._process(event))

    def _process(self, event: Event) -> Exchange:
        eid = event.event_id
        try:
            claim = yield DedupeCall("claim", eid)
        except Exception as exc:
            logger.error("callback %r: the deduplicator failed (%s)", eid, type(exc).__name__)
            return _refuse(
                503,
                "DedupeUnavailable",
                "the deduplicator failed; retry later",
                ("Retry-After", "1"),
            )
        if claim is Claim.DUPLICATE:
            logger.info("callback %r %r: duplicate, already processed", event.event_type, eid)
            return Answer(200, {"ok": True, "duplicate": True})
        if claim is not Claim.NEW:
            logger.info("callback %r %r: already being processed", event.event_type, eid)
            return _refuse(
                409,
                "InProgress",
                f"event {eid} is being processed; retry later",
                ("Retry-After", "1"),
            )
        try:
            yield HandlerCall(event)
        except Exception:
            logger.exception("callback %r %r: handler failed", event.event_type, eid)
            try:
                yield DedupeCall("release", eid)
            except Exception as exc:  # the lease then expires on its own (RedisDeduplicator)
                logger.error(
                    "callback %r: the deduplicator failed to release it (%s)",
                    eid,
                    type(exc).__name__,
                )
            return _refuse(500, "HandlerFailed", "the callback handler failed")
        try:
            yield DedupeCall("complete", eid)
        except Exception as exc:  # processed all the same: a retry would process it twice
            logger.error(
                "callback %r: processed, but the deduplicator failed to record it (%s)",
                eid,
                type(exc).__name__,
            )
        logger.info("callback %r %r: processed", event.event_type, eid)
        return Answer(200, {"ok": True})


def _unexpected(exc: Exception) -> Answer:
    # a bug of ours after the body was accepted; never its text (it might quote the body)
    logger.error("callback receiver: unexpected %s", type(exc).__name__)
    return INTERNAL_ERROR


def run(exchange: Exchange, perform: Callable[[Step], object]) -> Answer:
    """Drive ``exchange`` to its `Answer`, performing each step with ``perform``: its result
    is sent back, its exception thrown in. An exception escaping the exchange is answered 500."""
    try:
        step = next(exchange)
        while True:
            try:
                result = perform(step)
            except Exception as exc:
                step = exchange.throw(exc)
            else:
                step = exchange.send(result)
    except StopIteration as stop:
        answer: Answer = stop.value
        return answer
    except Exception as exc:
        return _unexpected(exc)


async def arun(exchange: Exchange, perform: Callable[[Step], Awaitable[object]]) -> Answer:
    """`run` with an async ``perform``."""
    try:
        step = next(exchange)
        while True:
            try:
                result = await perform(step)
            except Exception as exc:
                step = exchange.throw(exc)
            else:
                step = exchange.send(result)
    except StopIteration as stop:
        answer: Answer = stop.value
        return answer
    except Exception as exc:
        return _unexpected(exc)
