"""`RedisRateLimiter`: one request-rate limit shared by every process that uses the same Redis key.

The service limits each account to 60 requests in any one-second window, counted where requests
ARRIVE. One `RateLimiter` per process keeps each process under 60, not the fleet. This limiter
keeps one sliding-window log per key in Redis, a sorted set of admission stamps, and admits in
one Lua script: drop the stamps older than the window, admit when fewer than ``rate`` remain,
else answer how long until the oldest leaves. Every stamp comes from Redis ``TIME``, the one
clock of the fleet, so the hosts' clocks never matter.

Admission is not arrival: a request admitted at ``t`` reaches the service at ``t + lag``, and
the lag varies (25 ms was measured under 8 processes on one two-core machine). Two requests
admitted ``per`` seconds apart can then arrive less than ``per`` apart. The limiter therefore
counts over a window of ``per + margin`` seconds (``margin`` 100 ms by default): as long as the
lags of any two requests differ by at most ``margin``, at most ``rate`` arrive in any ``per``
seconds. The cost is throughput: ``rate / (per + margin)`` per second at full load (54.5/s for
the defaults), rather than 60.

Deadlines: ``acquire(timeout)`` never blocks past ``timeout``. Every Redis command is sent on a
connection whose read is bounded by ``min(redis_timeout, what is left of the timeout)`` (default
``redis_timeout`` 0.25 s) and is never retried by redis-py, so a stopped (SIGSTOP) or unreachable
Redis costs at most that, never redis-py's defaults (5 s a try, 10 retries: about a minute).
Given a URL, the limiter builds its own client with those settings (connect timeout included).
Given a `redis.Redis` client, it uses that client's connection pool with the same bounded reads;
the pool's own ``socket_connect_timeout`` still bounds connecting (set it).

When Redis fails (a connection error, a timeout, an error reply), ``on_redis_error`` decides,
with a warning in the ``rtc_startrecord`` log once per outage:

- ``"local"`` (the default): fall back to a per-process `RateLimiter` of ``fallback_rate``
  (default ``rate``) per ``per``. Requests keep flowing, each process paced; the fleet may then
  pass the service's limit, whose ``FlowLimitExceeded`` answers the client retries.
- ``"open"``: admit at once, unlimited.
- ``"closed"``: raise `RedisUnavailable` (a `TransportError`; nothing was sent).

After a failure Redis is left alone for ``retry_interval`` seconds (default 1 s), so an outage
does not cost every call a timeout; then the next call tries it again, and a success ends the
outage (logged). Admissions made by the fallback are not in the Redis log.

`rtc_startrecord.ratelimit_redis_async.AsyncRedisRateLimiter` is the same limiter for asyncio
(``redis.asyncio``). Both run the decisions written once in `ratelimit_redis_core`
(`_RedisLimiterCore`: the script, reading its answer, the deadlines, the outage bookkeeping and
the fallback choice); this module brings the blocking I/O (`BoundedRedis`, sleep, the local
fallback), that one the awaited I/O.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from .ratelimit import RateLimiter
from .ratelimit_redis_core import (
    _T,
    DEFAULT_MARGIN,
    DEFAULT_REDIS_TIMEOUT,
    DEFAULT_RETRY_INTERVAL,
    OnRedisError,
    RedisUnavailable,
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
    import redis

__all__ = [
    "DEFAULT_MARGIN",
    "DEFAULT_REDIS_TIMEOUT",
    "BoundedRedis",
    "OnRedisError",
    "RedisRateLimiter",
    "RedisUnavailable",
]


class BoundedRedis:
    """Redis commands whose every wait is bounded: the connection piece shared by
    `RedisRateLimiter` and `rtc_startrecord.callbacks.RedisDeduplicator`.

    ``client_or_url``: a ``redis://`` (or ``rediss://``, ``unix://``) URL, for which a client is
    built with ``socket_timeout`` and ``socket_connect_timeout`` of ``timeout`` and no retries
    (closed by `close`); or a `redis.Redis`, whose pool is used as it is (not closed here).
    """

    def __init__(self, client_or_url: redis.Redis | str, *, timeout: float) -> None:
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"redis_timeout must be a positive finite number, got {timeout!r}")
        mod = _redis_module()
        self.timeout = timeout
        self.errors: tuple[type[BaseException], ...] = (mod.RedisError, OSError)
        self._no_script: type[BaseException] = mod.exceptions.NoScriptError
        if isinstance(client_or_url, str):
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            self.client: redis.Redis = mod.Redis.from_url(
                client_or_url, **_url_options(timeout, Retry(NoBackoff(), 0))
            )
            self._owned = True
        elif isinstance(client_or_url, mod.Redis):
            self.client = client_or_url
            self._owned = False
        else:
            raise _not_a_client("redis.Redis", client_or_url)
        self._shas: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"BoundedRedis({_where(self.client)}, timeout={self.timeout:g})"

    def close(self) -> None:
        if self._owned:
            self.client.close()

    def call(self, deadline: float | None, *args: Any) -> Any:
        """Send one command and read its answer within ``min(timeout, deadline - now)``.

        Raises `_DeadlineCut` when the deadline (not the timeout) ran out first, and a
        ``redis.RedisError`` (or OSError) when Redis failed."""
        limit = _bound(self.timeout, deadline)
        pool = self.client.connection_pool
        conn: Any = pool.get_connection()  # send_command and disconnect are untyped
        try:
            conn.send_command(*args)
            return conn.read_response(timeout=limit)
        except self._no_script:
            raise
        except self.errors:
            conn.disconnect()
            if _cut(limit, self.timeout, deadline):
                raise _DeadlineCut from None
            raise
        except BaseException:
            conn.disconnect()
            raise
        finally:
            pool.release(conn)

    def script(self, deadline: float | None, source: str, keys: list[str], *args: Any) -> Any:
        """Run a Lua script by its SHA, loading it first (and again after a Redis restart)."""
        sha = self._shas.get(source)
        if sha is not None:
            try:
                return self.call(deadline, "EVALSHA", sha, len(keys), *keys, *args)
            except self._no_script:
                pass
        loaded = self.call(deadline, "SCRIPT", "LOAD", source)
        sha = loaded.decode() if isinstance(loaded, bytes) else str(loaded)
        self._shas[source] = sha
        return self.call(deadline, "EVALSHA", sha, len(keys), *keys, *args)


def _blocking(run: Coroutine[Any, Any, _T]) -> _T:
    """Run one of `_RedisLimiterCore`'s coroutines for the sync limiter: its I/O blocks and
    returns values, so the coroutine finishes without ever suspending (no event loop)."""
    try:
        run.send(None)
    except StopIteration as stop:
        value: _T = stop.value
        return value
    run.close()
    raise RuntimeError("the sync Redis limiter's I/O returned something awaitable")


class RedisRateLimiter(_RedisLimiterCore):
    """At most ``rate`` admissions per ``per`` seconds across every process sharing ``key``.

    ``redis_client_or_url``: a `redis.Redis` or a ``redis://`` URL (see `BoundedRedis`).
    ``key`` names the shared log (one per limited account, e.g. ``"rtc:qps:" + access_key_id``).
    ``rate`` below 1 means one admission per ``per / rate`` seconds, as for `RateLimiter`.
    ``margin``, ``on_redis_error``, ``fallback_rate``, ``redis_timeout`` and ``retry_interval``:
    see the module's docstring. Thread-safe; build one per process (it is not picklable).
    """

    _redis: BoundedRedis

    def __init__(
        self,
        redis_client_or_url: redis.Redis | str,
        *,
        key: str,
        rate: float = 60,
        per: float = 1.0,
        margin: float = DEFAULT_MARGIN,
        on_redis_error: OnRedisError = "local",
        fallback_rate: float | None = None,
        redis_timeout: float = DEFAULT_REDIS_TIMEOUT,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        super().__init__(key, rate, per, margin, on_redis_error, retry_interval)
        self._redis = BoundedRedis(redis_client_or_url, timeout=redis_timeout)
        self._fallback = RateLimiter(fallback_rate or rate, per)
        self._sleep = sleep

    def close(self) -> None:
        """Close the Redis client it built from a URL (a client passed in is left open)."""
        self._redis.close()

    def acquire(self, timeout: float | None = None) -> float:
        """Block until one request may go; return the seconds waited.

        With a ``timeout`` it never blocks past it: `RateLimitTimeout` at once when the next
        slot lies beyond it, or when Redis has not answered by then. When Redis fails, see
        ``on_redis_error`` (`RedisUnavailable` when failing closed)."""
        return _blocking(self._acquire(timeout))

    def try_acquire(self) -> bool:
        """Admit one request if a slot is free now: one Redis round trip (bounded by
        ``redis_timeout``), no sleeping. When Redis fails, ``on_redis_error`` applies."""
        return _blocking(self._try_acquire())
