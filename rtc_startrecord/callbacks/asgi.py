"""`make_asgi_app`: an ASGI receiver of RTC callbacks (re-exported by `rtc_startrecord.callbacks`).

The same receiver as `make_wsgi_app`, over ASGI 3: every check, answer (status, JSON body,
headers), log line and the body size cap come from `.receiver`, shared by both; this module only
reads the body from ``receive``, runs the blocking parts off the event loop and sends the answer.
Mount it in any ASGI framework, or serve it directly::

    app.mount("/rtc/callbacks", make_asgi_app(handle, secret=SECRET))  # FastAPI / Starlette
    uvicorn.run(make_asgi_app(handle, secret=SECRET), port=8080)

No third-party package is needed: the ASGI types below are local Protocols, and the threads are
asyncio's (`asyncio.to_thread`, the loop's default executor).

The handler may be sync or async. An async one (a coroutine function, or any callable whose
result is awaitable) is awaited on the loop; a sync one runs in a worker thread through
`asyncio.to_thread` (with the request's contextvars), so a slow handler never blocks the loop; if
what it returns is awaitable, that is awaited too. The handler's thread is not cancelled (Python
cannot): a handler still running when the server gives up on a request keeps its claim until it
returns.

The deduplicator: the `DedupeStore` protocol stays the one, sync, interface (there is no async
variant to keep in step with it): `RedisDeduplicator` (sync redis-py, every command bounded by its
``redis_timeout``) and any store of your own are called in a worker thread by `asyncio.to_thread`,
as a WSGI server's thread would call them; only the in-memory `Deduplicator` itself (not a
subclass), whose calls never wait on I/O, is called directly on the loop. One store instance may
serve a WSGI and an ASGI app at once (the protocol asks for thread safety).

Differences that come from the protocol, not from the receiver: an ASGI server always delimits a
body (chunked, or HTTP/2 frames), so a POST with ``Transfer-Encoding`` or over HTTP/2 and no
Content-Length is read up to ``max_body`` + 1 bytes (as a WSGI server setting
``wsgi.input_terminated``); an HTTP/1.1 POST with neither header still gets 411. A client that
disconnects while its body is read gets (the server drops) 400. Like the WSGI app, this one sets
no time limit of its own on a slow body: that is the server's (uvicorn bounds idle keep-alive
connections only, so put a proxy with a body timeout in front of it when that matters).

Scopes: ``lifespan`` is answered (startup and shutdown complete, nothing to set up); a
``websocket`` connection is refused (closed before it is accepted: servers answer 403); any other
scope type raises ValueError, as the ASGI spec asks of an app that does not know it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, Protocol

from .dedupe import DedupeStore, Deduplicator
from .payloads import Event
from .receiver import (
    DEFAULT_MAX_BODY,
    Answer,
    BodyNotBytes,
    CallbackReceiver,
    DedupeCall,
    ReadBody,
    Step,
    arun,
)
from .time import DEFAULT_MAX_AGE, DEFAULT_MAX_FUTURE

__all__ = ["AsgiCallbackApp", "make_asgi_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class Receive(Protocol):
    def __call__(self) -> Awaitable[Message]: ...


class Send(Protocol):
    def __call__(self, message: Message, /) -> Awaitable[None]: ...


class ClientDisconnected(OSError):
    """The client went away while its body was read (``http.disconnect``)."""


def _is_async(handler: object) -> bool:
    call = getattr(handler, "__call__", None)  # noqa: B004 - an object with an async __call__
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(call)


def _header(scope: Scope, name: bytes) -> str | None:
    """The header's value (repeated ones joined by ", ", as a WSGI server would), or None."""
    values = [v for k, v in scope.get("headers") or () if bytes(k).lower() == name]
    if not values:
        return None
    return ", ".join(bytes(v).decode("latin-1") for v in values)


class AsgiCallbackApp(CallbackReceiver):
    """The ASGI app `make_asgi_app` returns (see there). ``dedupe`` is its `DedupeStore` (a
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
        super().__init__(
            handler,
            secret=secret,
            max_age=max_age,
            max_future=max_future,
            dedupe=dedupe,
            max_body=max_body,
            app_ids=app_ids,
        )
        self._async_handler = _is_async(handler)
        self._inline_dedupe = type(dedupe) is Deduplicator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "websocket":
            message = await receive()
            if message.get("type") == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008})
        else:
            raise ValueError(f"the callback receiver serves HTTP only, not {str(kind)[:32]!r}")

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        terminated = _header(scope, b"transfer-encoding") is not None or str(
            scope.get("http_version", "1.1")
        ) not in ("1.0", "1.1")
        exchange = self._exchange(
            scope.get("method", "GET"),
            _header(scope, b"content-length"),
            terminated=terminated,
        )

        async def perform(step: Step) -> object:
            return await self._perform(receive, step)

        await _send_answer(send, await arun(exchange, perform))

    async def _perform(self, receive: Receive, step: Step) -> object:
        if isinstance(step, ReadBody):
            return await _read_body(receive, step.limit)
        if isinstance(step, DedupeCall):
            if self._inline_dedupe:
                return self._call_dedupe(step)
            return await asyncio.to_thread(self._call_dedupe, step)
        if self._async_handler:
            result = self.handler(step.event)
        else:
            result = await asyncio.to_thread(self.handler, step.event)
        if inspect.isawaitable(result):
            result = await result
        return result


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    while got < limit:
        message = await receive()
        kind = message.get("type")
        if kind == "http.disconnect":
            raise ClientDisconnected
        if kind != "http.request":
            raise ValueError(f"unexpected ASGI message {str(kind)[:32]!r}")
        chunk = message.get("body", b"")
        if not isinstance(chunk, bytes):
            raise BodyNotBytes
        chunks.append(chunk)
        got += len(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send_answer(send: Send, answer: Answer) -> None:
    data, headers = answer.render()
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": data, "more_body": False})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def make_asgi_app(
    handler: Callable[[Event], object],
    *,
    secret: str,
    max_age: float | None = DEFAULT_MAX_AGE,
    max_future: float | None = DEFAULT_MAX_FUTURE,
    dedupe: DedupeStore | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    app_ids: Iterable[str] | None = None,
) -> AsgiCallbackApp:
    """An ASGI app receiving RTC callbacks; ``handler`` (sync or async) is called once per
    verified, fresh event. Arguments and answers are `make_wsgi_app`'s, status for status and
    byte for byte; see the module's docstring for how the handler and ``dedupe`` are run."""
    return AsgiCallbackApp(
        handler,
        secret=secret,
        max_age=max_age,
        max_future=max_future,
        dedupe=Deduplicator() if dedupe is None else dedupe,
        max_body=max_body,
        app_ids=app_ids,
    )
