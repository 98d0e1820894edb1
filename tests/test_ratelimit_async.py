"""AsyncRateLimiter: the any-window guarantee (fake and real clock), the same decisions as
RateLimiter for the same clock readings, first-come-first-served waiting, fail-fast timeouts and
cancellation. Async tests run on anyio's pytest plugin (asyncio backend)."""

from __future__ import annotations

import asyncio
import inspect
import math
import random
import time
from bisect import bisect_left
from dataclasses import dataclass

import pytest

from rtc_startrecord.ratelimit import Limiter, RateLimiter, RateLimitTimeout, SlidingLog
from rtc_startrecord.ratelimit_async import AsyncLimiter, AsyncRateLimiter


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    """A clock that moves only when told to, or when the limiter sleeps (sync or awaited)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)


def max_in_any_window(times: list[float], width: float) -> int:
    """The most timestamps in any half-open window [t, t + width)."""
    times = sorted(times)
    return max(bisect_left(times, t + width) - i for i, t in enumerate(times))


@dataclass(frozen=True)
class Case:
    """One sequence of arrivals: ``gaps[i]`` seconds pass before the i-th `acquire`."""

    id: str
    rate: float
    per: float
    gaps: tuple[float, ...]

    @property
    def limit(self) -> tuple[int, float]:
        """At most this many admissions in any window of this width."""
        return (1, self.per / self.rate) if self.rate < 1 else (math.floor(self.rate), self.per)


_rng = random.Random(7)
CASES = [
    Case("burst_120_at_60", 60, 1.0, (0.0,) * 120),
    Case("spread_within_the_limit", 64, 1.0, (1 / 64,) * 300),
    Case("jittery", 10, 1.0, tuple(_rng.choice([0.0, 0.0, 0.01, 0.05, 0.3]) for _ in range(500))),
    Case("fractional_rate", 2.5, 0.5, tuple(_rng.choice([0.0, 0.1, 0.25]) for _ in range(200))),
    Case("rate_below_one", 0.5, 1.0, (0.0, 0.0, 1.0, 3.0, 0.5, 0.0)),
    Case("one_per_window", 1, 0.2, tuple(_rng.choice([0.0, 0.05, 0.2, 0.21]) for _ in range(100))),
]
CASE_PARAMS = [pytest.param(c, id=c.id) for c in CASES]


def run_sync(case: Case) -> list[tuple[float, float]]:
    clock = FakeClock()
    limiter = RateLimiter(case.rate, case.per, clock=clock, sleep=clock.sleep)
    out = []
    for gap in case.gaps:
        clock.now += gap
        out.append((limiter.acquire(), clock.now))
    return out


async def run_async(case: Case) -> list[tuple[float, float]]:
    clock = FakeClock()
    limiter = AsyncRateLimiter(case.rate, case.per, clock=clock, sleep=clock.asleep)
    out = []
    for gap in case.gaps:
        clock.now += gap
        out.append((await limiter.acquire(), clock.now))
    return out


@pytest.mark.parametrize("case", CASE_PARAMS)
@pytest.mark.anyio
async def test_sync_and_async_admit_identically(case: Case) -> None:
    """(seconds waited, admission time) of every acquire, both limiters, the same clock."""
    expected = run_sync(case)
    assert await run_async(case) == expected
    count, width = case.limit
    assert max_in_any_window([t for _, t in expected], width) <= count


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_sync_and_async_try_acquire_identically(case: Case) -> None:
    """The same clock readings, one try_acquire each: the same answers from both."""
    readings = [1000.0]
    for gap in case.gaps:
        readings.append(readings[-1] + gap / 3)  # faster than the gaps: some are refused
    answers = []
    for cls in (RateLimiter, AsyncRateLimiter):
        limiter = cls(case.rate, case.per, clock=iter(readings).__next__)
        answers.append([limiter.try_acquire() for _ in readings])
    assert answers[0] == answers[1]
    assert True in answers[0] and (False in answers[0] or case.id == "rate_below_one")
    count, width = case.limit
    admitted = [t for t, ok in zip(readings, answers[0], strict=True) if ok]
    assert max_in_any_window(admitted, width) <= count


def test_the_queue_estimate_is_the_slot_of_sequential_admission() -> None:
    """`SlidingLog.wait(now, ahead)` predicts when one more request goes once ``ahead`` go."""
    rng = random.Random(3)
    for _ in range(300):
        rate, per = rng.choice([(3, 1.0), (5, 0.5), (0.5, 1.0), (1, 0.25)])
        log, clock = SlidingLog(rate, per), FakeClock()
        for _ in range(rng.randrange(8)):
            clock.now += rng.choice([0.0, 0.1, 0.4])
            while log.admit(clock.now):
                clock.now += log.wait(clock.now)
        ahead = rng.randrange(12)
        start = clock.now
        predicted = log.wait(start, ahead)
        for _ in range(ahead + 1):  # the ones ahead, then this one
            while wait := log.admit(clock.now):
                clock.now += wait
        assert clock.now - start == pytest.approx(predicted, abs=1e-9)


@pytest.mark.anyio
async def test_burst_with_a_fake_clock() -> None:
    clock = FakeClock()
    limiter = AsyncRateLimiter(60, clock=clock, sleep=clock.asleep)
    waited = [await limiter.acquire() for _ in range(120)]
    assert waited[:60] == [0.0] * 60
    assert waited[60] == pytest.approx(1.0)
    assert clock.now - 1000.0 == pytest.approx(1.0)


@pytest.mark.anyio
async def test_100_concurrent_acquires_at_60_per_second_real_clock() -> None:
    last: dict[asyncio.Task[object] | None, float] = {}

    def clock() -> float:  # each task's last reading inside acquire() is its admission time
        now = time.monotonic()
        last[asyncio.current_task()] = now
        return now

    limiter = AsyncRateLimiter(60, clock=clock)
    admitted: list[float] = []
    returned: list[tuple[int, float]] = []

    async def one(i: int) -> None:
        await limiter.acquire(timeout=5)
        returned.append((i, time.monotonic()))
        admitted.append(last[asyncio.current_task()])

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(100)))
    elapsed = time.monotonic() - t0
    assert len(admitted) == 100
    assert max_in_any_window(admitted, 1.0) <= 60
    assert max_in_any_window([t for _, t in returned], 1.0) <= 60
    assert [i for i, _ in returned] == list(range(100))  # first come, first served
    assert 1.0 <= elapsed < 1.5
    assert limiter._queued == 0


@pytest.mark.anyio
async def test_timeout_fails_fast() -> None:
    clock = FakeClock()
    limiter = AsyncRateLimiter(2, clock=clock, sleep=clock.asleep)
    await limiter.acquire()
    await limiter.acquire()
    with pytest.raises(RateLimitTimeout) as info:
        await limiter.acquire(timeout=0.5)
    assert info.value.needed == pytest.approx(1.0)
    with pytest.raises(RateLimitTimeout):
        await limiter.acquire(timeout=0)
    assert clock.sleeps == []
    assert not limiter.try_acquire()
    assert await limiter.acquire(timeout=1.0) == pytest.approx(1.0)


@pytest.mark.anyio
async def test_a_queued_waiter_fails_fast_when_its_turn_lies_beyond_its_timeout() -> None:
    limiter = AsyncRateLimiter(1, per=0.2)
    await limiter.acquire()
    head = asyncio.create_task(limiter.acquire(timeout=1))  # its slot: +0.2 s
    await asyncio.sleep(0.01)
    t0 = time.monotonic()
    with pytest.raises(RateLimitTimeout) as info:  # its turn after the head: +0.4 s
        await limiter.acquire(timeout=0.3)
    assert time.monotonic() - t0 < 0.02
    assert info.value.needed == pytest.approx(0.39, abs=0.02)
    assert not limiter.try_acquire()  # a waiter is in line: no jumping it
    second = await limiter.acquire(timeout=0.5)
    assert await head == pytest.approx(0.19, abs=0.05)
    assert second == pytest.approx(0.39, abs=0.05)


@pytest.mark.parametrize("which", ["head", "queued"])
@pytest.mark.anyio
async def test_a_cancelled_waiter_takes_no_slot(which: str) -> None:
    limiter = AsyncRateLimiter(1, per=0.2)
    t0 = time.monotonic()
    await limiter.acquire()
    tasks = [asyncio.create_task(limiter.acquire(timeout=2)) for _ in range(3)]
    await asyncio.sleep(0.05)
    assert limiter._queued == 3
    cancelled = tasks.pop(0 if which == "head" else 1)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert limiter._queued == 2
    stamps = []
    for task in tasks:
        await task
        stamps.append(time.monotonic() - t0)
    # the two left take the next two slots (+0.2 s, +0.4 s), not +0.4 s and +0.6 s
    assert stamps == pytest.approx([0.2, 0.4], abs=0.08)
    assert limiter._queued == 0 and len(limiter._log) == 1


@pytest.mark.anyio
async def test_a_waiter_never_waits_past_its_timeout_in_line() -> None:
    limiter = AsyncRateLimiter(1, per=0.3)
    await limiter.acquire()

    async def slow_head_sleep(seconds: float) -> None:
        await asyncio.sleep(seconds + 0.5)  # a head late to wake (a busy loop)

    limiter._sleep = slow_head_sleep
    head = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0.01)
    t0 = time.monotonic()
    with pytest.raises(RateLimitTimeout):
        await limiter.acquire(timeout=0.7)  # its turn was due at +0.6 s, but the head is late
    assert 0.65 < time.monotonic() - t0 < 0.8
    await head


@pytest.mark.anyio
async def test_unlimited_and_rate_below_one() -> None:
    unlimited = AsyncRateLimiter(math.inf)
    assert [await unlimited.acquire(timeout=0) for _ in range(1000)] == [0.0] * 1000
    assert unlimited.try_acquire()
    clock = FakeClock()
    slow = AsyncRateLimiter(0.5, clock=clock, sleep=clock.asleep)
    await slow.acquire()
    assert await slow.acquire() == pytest.approx(2.0)
    with pytest.raises(RateLimitTimeout):
        await slow.acquire(timeout=1.9)


def test_bad_arguments_and_protocols() -> None:
    for rate in (0, -1, math.nan):
        with pytest.raises(ValueError, match="rate"):
            AsyncRateLimiter(rate)
    with pytest.raises(ValueError, match="per"):
        AsyncRateLimiter(1, per=0)
    limiter = AsyncRateLimiter(60)
    assert isinstance(limiter, AsyncLimiter)
    assert inspect.iscoroutinefunction(limiter.acquire)
    assert not inspect.iscoroutinefunction(RateLimiter(60).acquire)
    assert isinstance(RateLimiter(60), Limiter)
    assert repr(limiter) == "AsyncRateLimiter(rate=60, per=1.0)"


def test_one_limiter_on_two_event_loops_in_turn() -> None:
    limiter = AsyncRateLimiter(2, per=0.1)

    async def burst() -> None:
        await asyncio.gather(*(limiter.acquire(timeout=1) for _ in range(4)))

    asyncio.run(burst())
    asyncio.run(burst())  # the waiting line is rebuilt for the new loop
    assert limiter._queued == 0
