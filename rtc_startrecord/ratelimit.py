"""Client-side request pacing and retry backoff.

`RateLimiter` keeps a sliding-window log of admission times, so it guarantees at most
``floor(rate)`` admissions in ANY half-open window ``[t, t + per)``, not merely on average (a token
bucket of capacity C refilling at r per second admits C + r in one second). A rate below 1 per
``per`` means one admission per ``per / rate`` seconds.

`Limiter` is the small protocol the transport needs: `RateLimiter` (one process) and
`rtc_startrecord.ratelimit_redis.RedisRateLimiter` (every process sharing a Redis key) both
satisfy it, and so may a limiter of your own.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .errors import RtcError

__all__ = ["Limiter", "RateLimitTimeout", "RateLimiter", "backoff_delay"]


class RateLimitTimeout(RtcError, TimeoutError):
    """`RateLimiter.acquire` could not admit the request within its timeout."""

    def __init__(self, timeout: float, needed: float) -> None:
        self.timeout = timeout
        self.needed = needed
        super().__init__(
            f"rate limiter: the next slot is {needed:.3f} s away, beyond the {timeout:g} s timeout"
        )


@runtime_checkable
class Limiter(Protocol):
    """What a transport needs of a rate limiter (thread-safe, like `RateLimiter`).

    ``acquire(timeout)`` blocks until one request may go and returns the seconds waited; with a
    ``timeout`` it never blocks past it: when no slot can be had in time it raises
    `RateLimitTimeout` (at once, when it can tell the slot lies beyond). It may raise another
    `RtcError` when it cannot decide at all (`RedisRateLimiter` failing closed).
    """

    def acquire(self, timeout: float | None = None) -> float: ...


class RateLimiter:
    """Thread-safe limiter: at most ``floor(rate)`` acquisitions in any window of ``per`` seconds.

    ``rate=math.inf`` disables limiting. ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        rate: float,
        per: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        if not (per > 0 and math.isfinite(per)):
            raise ValueError(f"per must be a positive finite number, got {per!r}")
        self.rate = rate
        self.per = per
        self._unlimited = math.isinf(rate)
        if self._unlimited:
            self._capacity, self._window = 0, 0.0
        elif rate >= 1:
            self._capacity, self._window = math.floor(rate), per
        else:
            self._capacity, self._window = 1, per / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._log: deque[float] = deque()

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate!r}, per={self.per!r})"

    def _try(self) -> tuple[float, float]:
        """Under the lock: admit now (-> (now, 0.0)) or say how long to wait (-> (now, wait))."""
        with self._lock:
            now = self._clock()
            log = self._log
            window = self._window
            while log and log[0] + window <= now:
                log.popleft()
            if len(log) < self._capacity:
                log.append(now)
                return now, 0.0
            return now, max(log[0] + window - now, 0.0)

    def try_acquire(self) -> bool:
        """Admit one request if a slot is free now; never blocks."""
        if self._unlimited:
            return True
        return self._try()[1] == 0.0

    def acquire(self, timeout: float | None = None) -> float:
        """Block until one request may go; return the seconds waited.

        With a ``timeout``, fail fast: when the next free slot lies beyond the deadline, raise
        `RateLimitTimeout` at once rather than sleep in vain (``timeout=0`` never sleeps).
        """
        if self._unlimited:
            return 0.0
        start = self._clock()
        deadline = None if timeout is None else start + timeout
        while True:
            now, wait = self._try()
            if wait == 0.0:
                return now - start
            if deadline is not None and now + wait > deadline:
                raise RateLimitTimeout(deadline - start, now + wait - start)
            self._sleep(wait)


def backoff_delay(
    attempt: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with full jitter: ``uniform(0, min(cap, base * 2**attempt))``.

    ``attempt`` counts from 0 (the delay before the first retry).
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    if base < 0 or cap < 0:
        raise ValueError("base and cap must be >= 0")
    ceiling = cap if attempt >= 1024 else min(cap, base * math.ldexp(1.0, attempt))
    return (rng or random).uniform(0.0, ceiling)
