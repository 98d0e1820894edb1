"""`AsyncRedisRateLimiter`: `rtc_startrecord.ratelimit_redis.RedisRateLimiter` for asyncio.

The same Lua script over the same sorted-set log (sync and async processes may share one key),
the same ``margin``, deadlines, ``on_redis_error`` modes, warnings and errors: the decisions are
`ratelimit_redis_core._RedisLimiterCore`'s, written once. Only the I/O differs: Redis through
``redis.asyncio`` (each command bounded by ``asyncio.timeout(min(redis_timeout, what is left))``),
``await asyncio.sleep``, and an `AsyncRateLimiter` as the ``"local"`` fallback.

Build it on the event loop that uses it (redis.asyncio connections belong to one loop), one per
process; it is not picklable.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .ratelimit_async import AsyncRateLimiter
from .ratelimit_redis_core import (
    _T,
    DEFAULT_MARGIN,
    DEFAULT_REDIS_TIMEOUT,
    DEFAULT_RETRY_INTERVAL,
    OnRedisError,
    _bound,
    _cut,
    _DeadlineCut,
    _not_a_client,
    _redis_module,
    _RedisLimiterCore,
    _url_options,
    _where,
)

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["AsyncBoundedRedis", "AsyncRedisRateLimiter"]


class AsyncBoundedRedis:
    """`BoundedRedis` for ``redis.asyncio``: every command bounded in time, scripts by SHA.

    ``client_or_url``: a URL, for which a ``redis.asyncio.Redis`` is built with bounded connects
    and reads and no retries (closed by `aclose`), or a ``redis.asyncio.Redis``, used as it is
    (each command still bounded by ``asyncio.timeout``; not closed here).
    """

    def __init__(self, client_or_url: redis.asyncio.Redis | str, *, timeout: float) -> None:
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"redis_timeout must be a positive finite number, got {timeout!r}")
        mod = _redis_module()
        import redis.asyncio as aioredis

        self.timeout = timeout
        self.errors: tuple[type[BaseException], ...] = (mod.RedisError, OSError)
        self._no_script: type[BaseException] = mod.exceptions.NoScriptError
        self._timeout_error: type[Exception] = mod.exceptions.TimeoutError
        if isinstance(client_or_url, str):
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            self.client: redis.asyncio.Redis = aioredis.Redis.from_url(
                client_or_url, **_url_options(timeout, Retry(NoBackoff(), 0))
            )
            self._owned = True
        elif isinstance(client_or_url, aioredis.Redis):
            self.client = client_or_url
            self._owned = False
        else:
            raise _not_a_client("redis.asyncio.Redis", client_or_url)

    def __repr__(self) -> str:
        return f"AsyncBoundedRedis({_where(self.client)}, timeout={self.timeout:g})"

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()

    async def call(self, deadline: float | None, command: Callable[[], Awaitable[_T]]) -> _T:
        """Await ``command()`` within ``min(timeout, deadline - now)``: `_DeadlineCut` when the
        deadline ran out first, a ``redis.RedisError`` (or OSError) when Redis failed."""
        limit = _bound(self.timeout, deadline)
        try:
            async with asyncio.timeout(limit):
                return await command()
        except self._no_script:
            raise
        except self.errors as exc:  # OSError includes asyncio.timeout's TimeoutError
            if _cut(limit, self.timeout, deadline):
                raise _DeadlineCut from None
            if isinstance(exc, TimeoutError):
                raise self._timeout_error(f"no answer within {limit:g} s") from None
            raise

    async def script(self, deadline: float | None, source: str, keys: list[str], *args: Any) -> Any:
        """Run a Lua script by its SHA; when Redis lacks it (NOSCRIPT), by EVAL, which loads it."""
        sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        client = self.client
        try:
            return await self.call(deadline, lambda: client.evalsha(sha, len(keys), *keys, *args))
        except self._no_script:
            return await self.call(deadline, lambda: client.eval(source, len(keys), *keys, *args))


class AsyncRedisRateLimiter(_RedisLimiterCore):
    """`RedisRateLimiter` for asyncio: at most ``rate`` admissions per ``per`` seconds across
    every process (sync or async) sharing ``key``.

    ``redis_client_or_url``: a ``redis.asyncio.Redis`` or a ``redis://`` URL (see
    `AsyncBoundedRedis`; a sync ``redis.Redis`` is refused with TypeError). The keywords are
    `RedisRateLimiter`'s; ``sleep`` must be awaitable. The ``"local"`` fallback is an
    `AsyncRateLimiter` of ``fallback_rate`` per ``per``.
    """

    _redis: AsyncBoundedRedis

    def __init__(
        self,
        redis_client_or_url: redis.asyncio.Redis | str,
        *,
        key: str,
        rate: float = 60,
        per: float = 1.0,
        margin: float = DEFAULT_MARGIN,
        on_redis_error: OnRedisError = "local",
        fallback_rate: float | None = None,
        redis_timeout: float = DEFAULT_REDIS_TIMEOUT,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        super().__init__(key, rate, per, margin, on_redis_error, retry_interval)
        self._redis = AsyncBoundedRedis(redis_client_or_url, timeout=redis_timeout)
        self._fallback = AsyncRateLimiter(fallback_rate or rate, per)
        self._sleep = sleep

    async def aclose(self) -> None:
        """Close the Redis client it built from a URL (a client passed in is left open)."""
        await self._redis.aclose()

    async def acquire(self, timeout: float | None = None) -> float:
        """Wait until one request may go; return the seconds waited.

        With a ``timeout`` it never waits past it: `RateLimitTimeout` at once when the next
        slot lies beyond it, or when Redis has not answered by then. When Redis fails, see
        ``on_redis_error`` (`RedisUnavailable` when failing closed)."""
        return await self._acquire(timeout)

    async def try_acquire(self) -> bool:
        """Admit one request if a slot is free now: one Redis round trip (bounded by
        ``redis_timeout``), no sleeping. When Redis fails, ``on_redis_error`` applies."""
        return await self._try_acquire()
