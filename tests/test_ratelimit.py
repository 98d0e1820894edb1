"""Rate limiter (sliding window, fake clock) and backoff bounds."""

from __future__ import annotations

import math
import random
import threading
import time
from bisect import bisect_left

import pytest

from rtc_startrecord.ratelimit import RateLimiter, RateLimitTimeout, backoff_delay


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def _max_in_any_window(times: list[float], width: float) -> int:
    """The most timestamps in any half-open window [t, t + width)."""
    times = sorted(times)
    return max(bisect_left(times, t + width) - i for i, t in enumerate(times))


def test_burst_of_120_never_exceeds_60_in_any_second() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock, sleep=clock.sleep)
    times: list[float] = []
    waited: list[float] = []
    for _ in range(120):
        waited.append(limiter.acquire())
        times.append(clock.now)
    assert _max_in_any_window(times, 1.0) == 60
    assert waited[:60] == [0.0] * 60
    assert waited[60] == pytest.approx(1.0)
    assert times[-1] - times[0] == pytest.approx(1.0)


def test_spread_out_requests_within_the_limit_never_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(64, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(300):
        assert limiter.acquire() == 0.0
        times.append(clock.now)
        clock.now += 1 / 64  # exact in binary floating point
    assert _max_in_any_window(times, 1.0) == 64
    assert clock.sleeps == []


def test_jittery_arrivals_hold_the_window() -> None:
    clock = FakeClock()
    rng = random.Random(7)
    limiter = RateLimiter(10, per=1.0, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(500):
        clock.now += rng.choice([0.0, 0.0, 0.01, 0.05, 0.3])
        limiter.acquire()
        times.append(clock.now)
    assert _max_in_any_window(times, 1.0) <= 10


def test_fractional_rate_below_one() -> None:
    clock = FakeClock()
    limiter = RateLimiter(0.5, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    assert limiter.acquire() == pytest.approx(2.0)


def test_timeout_fails_fast() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.acquire()
    with pytest.raises(RateLimitTimeout) as info:
        limiter.acquire(timeout=0.5)
    assert info.value.needed == pytest.approx(1.0)
    assert clock.sleeps == []
    assert not limiter.try_acquire()
    assert limiter.acquire(timeout=1.0) == pytest.approx(1.0)


def test_unlimited() -> None:
    limiter = RateLimiter(math.inf)
    assert all(limiter.acquire() == 0.0 for _ in range(1000))


def test_bad_arguments() -> None:
    for rate in (0, -1, math.nan):
        with pytest.raises(ValueError, match="rate"):
            RateLimiter(rate)
    with pytest.raises(ValueError, match="per"):
        RateLimiter(1, per=0)


def test_thread_safety_with_real_clock() -> None:
    # Each thread's last clock reading inside acquire() is its admission time.
    last = threading.local()

    def clock() -> float:
        last.value = time.monotonic()
        return float(last.value)

    limiter = RateLimiter(50, per=0.2, clock=clock)
    times: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            limiter.acquire()
            with lock:
                times.append(last.value)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(times) == 160
    assert _max_in_any_window(times, 0.2) == 50


def test_backoff_bounds() -> None:
    rng = random.Random(1)
    for attempt in range(12):
        ceiling = min(8.0, 0.25 * 2**attempt)
        delays = [backoff_delay(attempt, base=0.25, cap=8.0, rng=rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # full jitter spreads over the whole range
    assert backoff_delay(5000, base=1.0, cap=3.0, rng=rng) <= 3.0
    assert 0.0 <= backoff_delay(0, base=0.5, cap=10.0) <= 0.5
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(-1, base=1.0, cap=1.0)


def test_transport_takes_any_limiter_in_place_of_qps() -> None:
    from rtc_startrecord.ratelimit import Limiter
    from rtc_startrecord.transport import Transport

    class Counting:
        def __init__(self) -> None:
            self.calls: list[float | None] = []

        def acquire(self, timeout: float | None = None) -> float:
            self.calls.append(timeout)
            return 0.0

    own = Counting()
    assert isinstance(own, Limiter)
    transport = Transport("http://127.0.0.1:9", timeout=1.0, qps=60, limiter=own)
    assert transport.limiter is own
    assert isinstance(Transport("http://127.0.0.1:9", timeout=1.0, qps=60).limiter, RateLimiter)
    assert Transport("http://127.0.0.1:9", timeout=1.0, qps=None).limiter is None
