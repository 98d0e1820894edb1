"""The asyncio shell of a call's attempts: an httpx connection pool, the limiter wait, the sleeps.

Why httpx: it is the well-kept asyncio HTTP client with a urllib3-like model (a pooled client,
keep-alive, per-phase timeouts, proxies, no event-loop framework of its own to adopt), it is what
openai-python's async client uses, and its streaming API lets this shell read the body raw and
bound it. The retry rules are `attempts.attempt_steps`, the same generator the sync shell drives;
this module performs its steps with `await`.

Two things httpx does not bound, done here:
- Decoding. httpx's `aiter_bytes()` hands out a gzip bomb's first decoded chunk whole (67 MB was
  seen); the body is read with `aiter_raw()` and inflated with zlib's `max_length`, so at most
  `max_response_bytes` + 1 bytes are ever held.
- Time. A per-read timeout lets a body trickle in forever; `asyncio.timeout` puts the attempt
  (connect, send, every read) inside the call's one deadline.

Two httpcore costs (1.0.9) that this shell steps around, measured on loopback (issue 18):
- The pool. `AsyncConnectionPool` hands an idle HTTP/1.1 connection to every request queued in
  the same pass (the connection stays IDLE until the winner sends), the losers fail with
  `ConnectionNotAvailable` and re-queue, and every pass probes every connection (`has_expired`:
  a poll plus getpeername/getsockname). 200 concurrent calls over 50 connections made ~1,100
  passes and ~700 retries, 3-4 ms of CPU a call. So the pool here is `pool_maxsize`
  single-connection httpx transports handed out LIFO (the warmest connection first, as urllib3
  does): a transport never has two requests, and the pool timeout is the wait for one.
- sniffio. httpcore imports sniffio each time it sets up a lock, event or shield (4 a
  request); anyio >= 4.11 no longer installs it, and a failed import searches sys.path every
  time (~0.1 ms each, encode/httpcore#1103). The `[async]` extra therefore installs sniffio,
  so the import is a dictionary lookup.
Requests go straight to the transport (no `AsyncClient`: no cookie jar, auth or redirect
layers, one URL parse), with the headers `AsyncClient` adds by default.
"""

from __future__ import annotations

import asyncio
import random
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import urllib3

from .attempts import (
    DEFAULT_MAX_RESPONSE_BYTES,
    Acquire,
    Answer,
    Exchange,
    Failure,
    Outcome,
    RetryPolicy,
    Send,
    TooLarge,
    attempt_steps,
    encode_query,
)
from .errors import RtcError
from .ratelimit_async import AsyncLimiter, AsyncRateLimiter
from .transport import Signer, attempt_timeout

if TYPE_CHECKING:
    import httpx

__all__ = ["AsyncTransport", "BoundedDecoder", "import_httpx"]


def import_httpx() -> Any:
    """httpx, or an error that says how to get it (it is the `async` extra)."""
    try:
        import httpx
    except ImportError:
        raise ImportError(
            "AsyncRtcClient needs httpx: pip install 'rtc-startrecord[async]'"
        ) from None
    return httpx


class BoundedDecoder:
    """Inflates a gzip or deflate body (or passes an identity one) holding at most `limit` + 1
    decoded bytes in all: `feed` returns False once the body is over the limit."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.chunks: list[bytes] = []
        coding = encoding.strip().lower()
        self._inflate: Any = None
        self._deflate = coding == "deflate"
        if coding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self._deflate:
            self._inflate = zlib.decompressobj()

    def _keep(self, data: bytes) -> bool:
        self.size += len(data)
        if self.size > self.limit:
            return False
        if data:
            self.chunks.append(data)
        return True

    def feed(self, raw: bytes) -> bool:
        if self._inflate is None:
            return self._keep(raw)
        data = raw
        while data:
            try:
                out = self._inflate.decompress(data, self.limit - self.size + 1)
            except zlib.error:
                if not self._deflate or self.size:
                    raise
                # "deflate" sent raw, without the zlib header (as some servers do)
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                self._deflate = False
                continue
            if not self._keep(out):
                return False
            data = self._inflate.unconsumed_tail
            if not out and data:  # no progress: a corrupt stream
                raise zlib.error("the compressed answer makes no progress")
        return True

    def body(self) -> bytes:
        return b"".join(self.chunks)


class AsyncTransport:
    """One httpx pool for one endpoint, shared by an async client and its `with_options` copies.

    The limiter is an `AsyncLimiter` (an `AsyncRateLimiter` of ``qps`` by default, or e.g. an
    async Redis limiter shared by a fleet); it is awaited before every attempt.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        timeout: float | urllib3.Timeout,
        qps: float | None,
        proxy: str | None = None,
        pool_maxsize: int = 10,
        rng: random.Random | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        limiter: AsyncLimiter | None = None,
    ) -> None:
        lib = import_httpx()
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be at least 1")
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "endpoint must be an http(s) URL such as https://rtc.volcengineapi.com, "
                f"got {endpoint!r}"
            )
        self.endpoint = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.netloc
        self.max_response_bytes = max_response_bytes
        self.timeout = attempt_timeout(timeout)
        self.closed = False
        if limiter is not None and not callable(getattr(limiter, "acquire", None)):
            raise TypeError(
                f"limiter must have an async acquire(timeout) method, got {type(limiter).__name__}"
            )
        self.limiter: AsyncLimiter | None = (
            limiter if limiter is not None else AsyncRateLimiter(qps) if qps else None
        )
        self._rng = rng or random.Random()
        self._sleep = asyncio.sleep
        self._httpx = lib
        # trust_env=False: like the sync client, no proxy or certificate settings from the
        # environment; a proxy is what `proxy=` says. One TLS context for every connection, the
        # one `AsyncClient(trust_env=False)` would make.
        self._ssl_context = lib.create_ssl_context(trust_env=False)
        self._proxy = proxy
        self._pool_maxsize = pool_maxsize
        self._connections: list[httpx.AsyncHTTPTransport] = []  # every one made, to close
        self._idle: asyncio.LifoQueue[httpx.AsyncHTTPTransport] = asyncio.LifoQueue()

    async def aclose(self) -> None:
        """Close every pooled connection; later calls raise ClientClosed and send nothing."""
        self.closed = True
        for connection in self._connections:
            await connection.aclose()

    async def exchange(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        *,
        signer: Signer,
        policy: RetryPolicy,
        timeout: urllib3.Timeout | None = None,
        action: str = "",
    ) -> Exchange:
        """Send with retries; return the final enveloped answer or raise TransportError.

        The same steps as the sync `Transport.exchange`, awaited."""
        target = f"{path}?{encode_query(tuple(query))}"
        per_attempt = attempt_timeout(timeout) if timeout is not None else self.timeout
        steps = attempt_steps(
            sign=lambda: signer(method, self.host, path, query, headers, body),
            policy=policy,
            limited=self.limiter is not None,
            is_closed=lambda: self.closed,
            endpoint=self.endpoint,
            max_response_bytes=self.max_response_bytes,
            rng=self._rng,
            action=action or method,
        )
        step = next(steps)
        try:
            while True:
                if isinstance(step, Send):
                    outcome = await self._attempt(method, target, body, step, per_attempt)
                    step = steps.send(outcome)
                elif isinstance(step, Acquire):
                    assert self.limiter is not None
                    try:
                        await self.limiter.acquire(timeout=step.timeout)
                    except RtcError as exc:  # refused: the steps turn it into the call's error
                        step = steps.throw(exc)
                    else:
                        step = steps.send(None)
                else:
                    await self._sleep(step.seconds)
                    step = steps.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _connection(self) -> httpx.AsyncHTTPTransport:
        """A new pool member: an httpx transport that keeps at most one connection."""
        made: httpx.AsyncHTTPTransport = self._httpx.AsyncHTTPTransport(
            verify=self._ssl_context,
            trust_env=False,
            proxy=self._proxy,
            limits=self._httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self._connections.append(made)
        return made

    async def _checkout(self, wait: float | None) -> httpx.AsyncHTTPTransport:
        """The most recently returned idle connection, a new one while the pool is not full,
        or the first one returned within `wait` seconds (httpx.PoolTimeout after that)."""
        try:
            return self._idle.get_nowait()
        except asyncio.QueueEmpty:
            if len(self._connections) < self._pool_maxsize:
                return self._connection()
        try:
            async with asyncio.timeout(wait):
                return await self._idle.get()
        except TimeoutError:
            raise self._httpx.PoolTimeout(
                f"no pooled connection came free within {wait} s"
            ) from None

    async def _attempt(
        self,
        method: str,
        target: str,
        body: bytes,
        step: Send,
        timeout: urllib3.Timeout,
    ) -> Outcome:
        """One HTTP exchange within the call's deadline, its body read raw and decoded within
        the cap; httpx's exceptions told apart by whether the request can have run."""
        httpx = self._httpx
        connect, read = timeout.connect_timeout, timeout.read_timeout
        connect_s = connect if isinstance(connect, (int, float)) else None
        read_s = read if isinstance(read, (int, float)) else None
        per_phase = {"connect": connect_s, "read": read_s, "write": read_s, "pool": connect_s}
        # AsyncClient's default headers, then the call's (case-insensitively, the call's win)
        headers = httpx.Headers(_DEFAULT_HEADERS)
        headers.update(step.headers)
        request = httpx.Request(
            method,
            self.endpoint + target,
            content=body or None,
            headers=headers,
            extensions={"timeout": per_phase},
        )
        try:
            async with asyncio.timeout(step.remaining):
                connection = await self._checkout(connect_s)
                try:
                    response = await connection.handle_async_request(request)
                    response.request = request
                    try:
                        decoder = BoundedDecoder(
                            response.headers.get("content-encoding", ""),
                            self.max_response_bytes,
                        )
                        async for raw in response.aiter_raw():
                            if not decoder.feed(raw):
                                return TooLarge()
                    finally:
                        await response.aclose()
                finally:
                    self._idle.put_nowait(connection)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return Failure(sent=False, reason=str(exc) or type(exc).__name__)
        except TimeoutError:
            return Failure(sent=True, reason="the call's deadline passed before the answer")
        except (httpx.HTTPError, zlib.error, OSError) as exc:
            return Failure(sent=True, reason=str(exc) or type(exc).__name__)
        return Answer(response.status_code, response.headers, decoder.body())


# What httpx.AsyncClient sends unless told otherwise (Accept-Encoding: what BoundedDecoder
# inflates); the signed headers and User-Agent come with each call.
_DEFAULT_HEADERS = (
    ("Accept", "*/*"),
    ("Accept-Encoding", "gzip, deflate"),
    ("Connection", "keep-alive"),
)
