"""The shared part of the Redis limiters: `_RedisLimiterCore`, written once for
`ratelimit_redis.RedisRateLimiter` (sync) and `ratelimit_redis_async.AsyncRedisRateLimiter`.

It holds the Lua script (`_ACQUIRE`), the reading of its answer, the deadlines, the outage
bookkeeping and its warnings, the fallback choice, and the defaults and errors both limiters
share; each limiter's module only brings its I/O (a bounded Redis connection, sleep, the local
fallback), blocking or awaited. The helpers the two bounded connections (`BoundedRedis`,
`AsyncBoundedRedis`) share live here too. See `rtc_startrecord.ratelimit_redis` for how the
limiter behaves.
"""

from __future__ import annotations

import inspect
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Final, Literal, Protocol, TypeVar

from .errors import TransportError
from .ratelimit import RateLimitTimeout, SlidingLog

__all__ = [
    "DEFAULT_MARGIN",
    "DEFAULT_REDIS_TIMEOUT",
    "DEFAULT_RETRY_INTERVAL",
    "OnRedisError",
    "RedisUnavailable",
]

log = logging.getLogger("rtc_startrecord")

OnRedisError = Literal["local", "open", "closed"]
DEFAULT_MARGIN: Final = 0.1
"""Seconds added to the window for admission-to-arrival lag (4x the 25 ms measured)."""
DEFAULT_REDIS_TIMEOUT: Final = 0.25
"""Seconds one Redis command (connect, or send and read) may take before it counts as failed."""
DEFAULT_RETRY_INTERVAL: Final = 1.0
_WAKE_SLACK: Final = 0.0002  # sleep this much past the slot: no extra round trip for rounding

# KEYS[1] the log; ARGV: capacity, window (microseconds), a unique member for this admission.
# -> {1, 0} admitted, or {0, microseconds until the oldest stamp leaves the window}.
_ACQUIRE: Final = """
local cap = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < cap then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, math.max(tonumber(oldest[2]) + window - now, 1)}
"""


class RedisUnavailable(TransportError):
    """Redis could not be reached (or failed) and the limiter fails closed; nothing was sent."""


class _DeadlineCut(Exception):
    """The caller's deadline, not Redis, ended a command (it is a RateLimitTimeout)."""


def _redis_module() -> Any:
    try:
        import redis
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the Redis limiter and deduplicator need the redis package: "
            "pip install 'rtc-startrecord[redis]'"
        ) from None
    return redis


def _bound(timeout: float, deadline: float | None) -> float:
    """Seconds one command may take: ``min(timeout, deadline - now)``; `_DeadlineCut` when the
    deadline has passed."""
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _DeadlineCut
    return min(timeout, remaining)


def _cut(limit: float, timeout: float, deadline: float | None) -> bool:
    """After a command bounded by ``limit`` failed: did the deadline, not Redis, end it?"""
    return limit < timeout and deadline is not None and time.monotonic() >= deadline


def _url_options(timeout: float, retry: Any) -> dict[str, Any]:
    """What a client built from a URL is given: bounded connects and reads, no retries."""
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": retry,
        "retry_on_timeout": False,
        "health_check_interval": 0,
    }


def _where(client: Any) -> str:
    """host:port (or the socket path) of a client's pool, never its password."""
    kw = client.connection_pool.connection_kwargs
    return str(kw.get("path") or f"{kw.get('host', '?')}:{kw.get('port', '?')}")


def _not_a_client(expected: str, got: object) -> TypeError:
    return TypeError(f"expected a {expected} client or a redis:// URL, got {type(got).__name__}")


class _Store(Protocol):
    """`BoundedRedis` or `AsyncBoundedRedis`: ``script`` returns the answer or an awaitable."""

    errors: tuple[type[BaseException], ...]

    def script(self, deadline: float | None, source: str, keys: list[str], *args: Any) -> Any: ...


class _Local(Protocol):
    """The ``"local"`` fallback: a `RateLimiter` (sync) or an `AsyncRateLimiter`."""

    def try_acquire(self) -> bool: ...
    def acquire(self, timeout: float | None = None) -> Any: ...


_T = TypeVar("_T")


async def _settle(value: Any) -> Any:
    """The result of a piece of I/O: awaited when it is awaitable (async I/O), else as it is."""
    return await value if inspect.isawaitable(value) else value


class _RedisLimiterCore:
    """Everything of the Redis limiters but the I/O objects: configuration, the outage state and
    its logging, and the decisions, `_acquire` and `_try_acquire`. They do their I/O through
    ``_redis``, ``_sleep`` and ``_fallback``, which a subclass sets: blocking ones (the
    coroutines then never suspend; see `_blocking`) or async ones (awaited)."""

    _redis: _Store
    _sleep: Callable[[float], object]
    _fallback: _Local

    def __init__(
        self,
        key: str,
        rate: float,
        per: float,
        margin: float,
        on_redis_error: OnRedisError,
        retry_interval: float,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise ValueError("key must be a non-empty string")
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive finite number, got {rate!r}")
        if not (margin >= 0 and math.isfinite(margin)):
            raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
        if on_redis_error not in ("local", "open", "closed"):
            raise ValueError(
                f"on_redis_error must be 'local', 'open' or 'closed', got {on_redis_error!r}"
            )
        if not (retry_interval >= 0 and math.isfinite(retry_interval)):
            raise ValueError(f"retry_interval must be a finite number >= 0, got {retry_interval!r}")
        shape = SlidingLog(rate, per)  # validates per; the same capacity and window
        self.key = key
        self.rate = rate
        self.per = per
        self.margin = margin
        self.on_redis_error: OnRedisError = on_redis_error
        self.retry_interval = retry_interval
        self._capacity = shape.capacity
        self._window_us = math.ceil((shape.window + margin) * 1_000_000)
        self._member_prefix = uuid.uuid4().hex
        self._counter = 0
        self._lock = threading.Lock()
        self._down_until: float | None = None  # monotonic; None while Redis answers
        self.outages = 0  # how many times Redis was found failing after answering

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(key={self.key!r}, rate={self.rate!r}, per={self.per!r}, "
            f"margin={self.margin!r}, on_redis_error={self.on_redis_error!r}, "
            f"redis={getattr(self, '_redis', None)!r})"
        )

    def __reduce__(self) -> Any:
        raise TypeError(f"a {type(self).__name__} holds a connection pool; build one per process")

    @property
    def degraded(self) -> bool:
        """True while Redis is considered down (the ``on_redis_error`` mode applies)."""
        return self._down_until is not None

    def _script(self, deadline: float | None) -> Any:
        """One admission attempt in Redis (see `_ACQUIRE`): the reply, or an awaitable of it."""
        with self._lock:
            self._counter += 1
            member = f"{self._member_prefix}:{self._counter}"
        return self._redis.script(
            deadline, _ACQUIRE, [self.key], self._capacity, self._window_us, member
        )

    def _redis_failed(self, exc: BaseException) -> None:
        with self._lock:
            first = self._down_until is None
            self._down_until = time.monotonic() + self.retry_interval
            if first:
                self.outages += 1
        if first:
            log.warning(
                "rate limiter %r: Redis failed (%s: %s); %s until it answers again",
                self.key,
                type(exc).__name__,
                str(exc)[:200],
                {
                    "local": "pacing each process locally",
                    "open": "admitting every request unlimited",
                    "closed": "refusing every request",
                }[self.on_redis_error],
            )

    def _answered(self, reply: Any) -> float:
        """Redis answered the script: end an outage; 0.0 when admitted, else seconds to wait."""
        if self._down_until is not None:
            with self._lock:
                was_down, self._down_until = self._down_until is not None, None
            if was_down:
                log.warning("rate limiter %r: Redis answers again; shared limit restored", self.key)
        admitted, wait_us = reply
        return 0.0 if int(admitted) == 1 else int(wait_us) / 1_000_000

    def _down(self) -> bool:
        down_until = self._down_until
        return down_until is not None and time.monotonic() < down_until

    def _refuse_if_closed(self) -> None:
        if self.on_redis_error == "closed":
            raise RedisUnavailable(
                f"rate limiter {self.key!r}: Redis is unavailable and the limiter fails closed "
                "(nothing was sent)",
                attempts=0,
            )

    async def _acquire(self, timeout: float | None) -> float:
        """`acquire`: the seconds waited."""
        start = time.monotonic()
        deadline = None if timeout is None else start + timeout
        while True:
            if self._down():
                self._refuse_if_closed()
                if self.on_redis_error == "local":
                    left = None if timeout is None else max(timeout - (time.monotonic() - start), 0)
                    await _settle(self._fallback.acquire(timeout=left))
                return time.monotonic() - start
            try:
                reply = await _settle(self._script(deadline))
            except _DeadlineCut:
                raise RateLimitTimeout(timeout or 0.0, time.monotonic() - start) from None
            except self._redis.errors as exc:
                self._redis_failed(exc)
                continue
            wait = self._answered(reply)
            if wait == 0.0:
                return time.monotonic() - start
            now = time.monotonic()
            if deadline is not None and now + wait > deadline:
                raise RateLimitTimeout(deadline - start, now + wait - start)
            await _settle(self._sleep(wait + _WAKE_SLACK))

    async def _try_acquire(self) -> bool:
        """`try_acquire`: one script, no sleeping."""
        if not self._down():
            try:
                reply = await _settle(self._script(None))
            except self._redis.errors as exc:
                self._redis_failed(exc)
            else:
                return self._answered(reply) == 0.0
        self._refuse_if_closed()
        return self.on_redis_error == "open" or self._fallback.try_acquire()
