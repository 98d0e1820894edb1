"""`AsyncRateLimiter`: `rtc_startrecord.ratelimit.RateLimiter` for asyncio, and `AsyncLimiter`,
the protocol an asyncio transport needs of a rate limiter.

The same `ratelimit.SlidingLog` decides (the same any-window guarantee, the same admissions for
the same clock readings); only the waiting differs: ``await asyncio.sleep``, and waiting
coroutines are admitted first come, first served. `AsyncLimiter` is `ratelimit.Limiter`'s
asyncio twin, satisfied by `AsyncRateLimiter` and
`rtc_startrecord.ratelimit_redis_async.AsyncRedisRateLimiter`. (They live apart from the sync
limiters so that a sync program never loads asyncio.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from .ratelimit import RateLimitTimeout, _Logged

__all__ = ["AsyncLimiter", "AsyncRateLimiter"]


@runtime_checkable
class AsyncLimiter(Protocol):
    """What an asyncio transport needs of a rate limiter: `ratelimit.Limiter`'s contract, awaited.

    ``await acquire(timeout)`` returns the seconds waited, never waits past ``timeout``, raises
    `RateLimitTimeout` (at once, when it can tell the slot lies beyond) or another `RtcError`
    when it cannot decide. (``isinstance`` checks only that ``acquire`` exists: a sync `Limiter`
    passes it too; tell them apart with ``inspect.iscoroutinefunction(limiter.acquire)``.)
    """

    async def acquire(self, timeout: float | None = None) -> float: ...


class AsyncRateLimiter(_Logged):
    """`ratelimit.RateLimiter` for asyncio: the same any-window guarantee, waiting with
    ``await sleep``.

    Waiting coroutines are admitted in the order they called `acquire` (a newcomer never takes
    the slot of one already waiting), and one that is cancelled while waiting takes no slot.
    With a ``timeout``, `acquire` fails at once when the slot it would get after those already
    waiting lies beyond it, and never waits past it. Safe across event loops (one at a time),
    not across threads. ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        rate: float,
        per: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        super().__init__(rate, per, clock)
        self._sleep = sleep
        self._queued = 0  # coroutines past the fast path, waiting in line or at its head
        self._line: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    def try_acquire(self) -> bool:
        """Admit one request if a slot is free now and no coroutine is waiting; never waits."""
        if self._log.unlimited:
            return True
        return not self._queued and self._log.admit(self._clock()) == 0.0

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._line is None or self._line[0] is not loop:
            self._line = (loop, asyncio.Lock())
        return self._line[1]

    async def acquire(self, timeout: float | None = None) -> float:
        """Wait until one request may go; return the seconds waited.

        With a ``timeout``, fail fast: when the slot lies beyond the deadline, raise
        `RateLimitTimeout` at once (``timeout=0`` never waits)."""
        log = self._log
        if log.unlimited:
            return 0.0
        start = self._clock()
        deadline = None if timeout is None else start + timeout
        if not self._queued:
            wait = log.admit(start)
            if wait == 0.0:
                return 0.0
        else:
            wait = log.wait(start, self._queued)
        if deadline is not None and start + wait > deadline:
            raise RateLimitTimeout(deadline - start, start + wait - start)
        lock = self._lock()
        self._queued += 1
        try:
            if deadline is None:
                await lock.acquire()
            else:
                try:
                    async with asyncio.timeout(deadline - self._clock()):
                        await lock.acquire()
                except TimeoutError:
                    raise RateLimitTimeout(deadline - start, self._clock() - start) from None
            try:
                while True:  # at the head of the line
                    now = self._clock()
                    wait = log.step(now, start, deadline)
                    if wait == 0.0:
                        return now - start
                    await self._sleep(wait)
            finally:
                lock.release()
        finally:
            self._queued -= 1
