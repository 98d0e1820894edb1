"""Client-side request pacing and retry backoff.

`RateLimiter` keeps a sliding-window log of admission times, so it guarantees at most
``floor(rate)`` admissions in ANY half-open window ``[t, t + per)``, not merely on average (a token
bucket of capacity C refilling at r per second admits C + r in one second). A rate below 1 per
``per`` means one admission per ``per / rate`` seconds.

`Limiter` is the small protocol the transport needs: `RateLimiter` (one process) and
`rtc_startrecord.ratelimit_redis.RedisRateLimiter` (every process sharing a Redis key) both
satisfy it, and so may a limiter of your own.

The asyncio twins, `AsyncRateLimiter` and `AsyncLimiter`, live in
`rtc_startrecord.ratelimit_async` (the same `SlidingLog` decides; only the waiting differs), so
that a sync program never loads asyncio: this module does not import it.
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

__all__ = [
    "Limiter",
    "RateLimitTimeout",
    "RateLimiter",
    "SlidingLog",
    "backoff_delay",
]


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


class SlidingLog:
    """The admission decision of `RateLimiter` and `ratelimit_async.AsyncRateLimiter`: no clock,
    lock or sleep.

    A log of admission stamps; at most ``capacity`` of them in any ``window`` seconds
    (``floor(rate)`` per ``per``, or 1 per ``per / rate`` when ``rate < 1``). The caller passes
    the time and serialises the calls.
    """

    __slots__ = ("_log", "capacity", "unlimited", "window")

    def __init__(self, rate: float, per: float = 1.0) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        if not (per > 0 and math.isfinite(per)):
            raise ValueError(f"per must be a positive finite number, got {per!r}")
        self.unlimited = math.isinf(rate)
        if self.unlimited:
            self.capacity, self.window = 0, 0.0
        elif rate >= 1:
            self.capacity, self.window = math.floor(rate), per
        else:
            self.capacity, self.window = 1, per / rate
        self._log: deque[float] = deque()

    def __len__(self) -> int:
        return len(self._log)

    def wait(self, now: float, ahead: int = 0) -> float:
        """Seconds from ``now`` until a slot, once ``ahead`` requests queued before this one are
        admitted as early as possible (0.0: a slot is free now). Admits nothing."""
        if self.unlimited:
            return 0.0
        log, window = self._log, self.window
        while log and log[0] + window <= now:
            log.popleft()
        laps, nth = divmod(ahead, self.capacity)
        i = len(log) + nth - self.capacity
        if i < 0 and not laps:
            return 0.0
        return max((now if i < 0 else log[i] + window) + laps * window - now, 0.0)

    def admit(self, now: float) -> float:
        """Admit one request at ``now`` (-> 0.0) or say how many seconds until a slot."""
        wait = self.wait(now)
        if wait == 0.0 and not self.unlimited:
            self._log.append(now)
        return wait

    def step(self, now: float, start: float, deadline: float | None) -> float:
        """`admit`, raising `RateLimitTimeout` when the slot lies beyond ``deadline``."""
        wait = self.admit(now)
        if wait and deadline is not None and now + wait > deadline:
            raise RateLimitTimeout(deadline - start, now + wait - start)
        return wait


class _Logged:
    """What `RateLimiter` and `ratelimit_async.AsyncRateLimiter` share: a `SlidingLog` and a
    clock."""

    def __init__(self, rate: float, per: float, clock: Callable[[], float]) -> None:
        self._log = SlidingLog(rate, per)
        self.rate = rate
        self.per = per
        self._clock = clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rate={self.rate!r}, per={self.per!r})"


class RateLimiter(_Logged):
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
        super().__init__(rate, per, clock)
        self._sleep = sleep
        self._lock = threading.Lock()

    def _step(self, start: float, deadline: float | None) -> tuple[float, float]:
        """Under the lock: admit now (-> (now, 0.0)) or say how long to wait (-> (now, wait))."""
        with self._lock:
            now = self._clock()
            return now, self._log.step(now, start, deadline)

    def try_acquire(self) -> bool:
        """Admit one request if a slot is free now; never blocks."""
        return self._log.unlimited or self._step(0.0, None)[1] == 0.0

    def acquire(self, timeout: float | None = None) -> float:
        """Block until one request may go; return the seconds waited.

        With a ``timeout``, fail fast: when the next free slot lies beyond the deadline, raise
        `RateLimitTimeout` at once rather than sleep in vain (``timeout=0`` never sleeps).
        """
        if self._log.unlimited:
            return 0.0
        start = self._clock()
        deadline = None if timeout is None else start + timeout
        while True:
            now, wait = self._step(start, deadline)
            if wait == 0.0:
                return now - start
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
