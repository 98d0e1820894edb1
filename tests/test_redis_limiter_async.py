"""AsyncRedisRateLimiter against a real redis-server on loopback: one window shared by concurrent
tasks (and a sync RedisRateLimiter on the same key), deadlines, and each failure mode when Redis
is stopped (SIGSTOP) or killed. Async tests run on anyio's pytest plugin (asyncio backend)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aioredis
from redis_server import RedisServer

from rtc_startrecord.errors import TransportError
from rtc_startrecord.ratelimit import RateLimitTimeout
from rtc_startrecord.ratelimit_async import AsyncLimiter, AsyncRateLimiter
from rtc_startrecord.ratelimit_redis import RedisRateLimiter, RedisUnavailable
from rtc_startrecord.ratelimit_redis_async import AsyncRedisRateLimiter


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as s:
        yield s


@pytest.fixture
def live(server: RedisServer) -> RedisServer:
    """The module's server, running and answering (a test before may have stopped it)."""
    if server.proc is not None and server.proc.poll() is None:
        server.resume()
    server.start()
    return server


def key() -> str:
    return f"test:qps:{uuid.uuid4().hex}"


def max_in_window(stamps: list[float], width: float) -> int:
    stamps = sorted(stamps)
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - width:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.mark.anyio
async def test_it_satisfies_the_protocol_and_shares_the_sync_decisions(live: RedisServer) -> None:
    limiter = AsyncRedisRateLimiter(live.url, key=key())
    assert isinstance(limiter, AsyncLimiter)
    assert isinstance(limiter._fallback, AsyncRateLimiter)
    assert "password" not in repr(AsyncRedisRateLimiter("redis://:password@127.0.0.1:1/0", key="k"))
    # one set of decisions: the sync limiter's own functions, awaited here
    assert AsyncRedisRateLimiter._acquire is RedisRateLimiter._acquire
    assert AsyncRedisRateLimiter._try_acquire is RedisRateLimiter._try_acquire
    assert await limiter.try_acquire()
    await limiter.aclose()


@pytest.mark.anyio
async def test_concurrent_tasks_and_a_sync_thread_share_one_window(live: RedisServer) -> None:
    k = key()
    limiters = [AsyncRedisRateLimiter(live.url, key=k, rate=10, per=0.5) for _ in range(2)]
    sync = RedisRateLimiter(live.url, key=k, rate=10, per=0.5)
    stamps: list[float] = []

    async def run(limiter: AsyncRedisRateLimiter) -> None:
        for _ in range(10):
            await limiter.acquire(timeout=10)
            stamps.append(time.monotonic())

    def run_sync() -> None:
        for _ in range(10):
            sync.acquire(timeout=10)
            stamps.append(time.monotonic())  # list.append is atomic

    started = time.monotonic()
    await asyncio.gather(
        *(run(limiters[i % 2]) for i in range(4)), asyncio.to_thread(run_sync)
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert len(stamps) == 50
    assert max_in_window(stamps, 0.5) <= 10
    # 50 admissions, 10 per (0.5 + 0.1) s: the fifth batch starts after 4 windows
    assert 4 * 0.6 - 0.05 <= elapsed < 4 * 0.6 + 1.0
    for limiter in limiters:
        await limiter.aclose()
    sync.close()


@pytest.mark.anyio
async def test_a_slot_beyond_the_timeout_fails_at_once(live: RedisServer) -> None:
    limiter = AsyncRedisRateLimiter(live.url, key=key(), rate=3, per=5.0)
    for _ in range(3):
        assert await limiter.acquire(timeout=1) < 0.5
    assert not await limiter.try_acquire()
    t0 = time.monotonic()
    with pytest.raises(RateLimitTimeout):
        await limiter.acquire(timeout=1.0)
    assert time.monotonic() - t0 < 0.1  # no sleeping in vain
    await limiter.aclose()


@pytest.mark.anyio
async def test_an_external_client_is_used_and_left_open(live: RedisServer) -> None:
    client = aioredis.Redis.from_url(live.url, socket_connect_timeout=0.5)
    k = key()
    limiter = AsyncRedisRateLimiter(client, key=k, rate=2)
    await limiter.acquire(timeout=1)
    assert await client.zcard(k) == 1
    await limiter.aclose()
    assert await client.ping()
    await client.aclose()


@pytest.mark.anyio
async def test_a_rate_below_one(live: RedisServer) -> None:
    limiter = AsyncRedisRateLimiter(live.url, key=key(), rate=0.5, per=0.1, margin=0.0)
    await limiter.acquire(timeout=1)
    assert await limiter.acquire(timeout=1) == pytest.approx(0.2, abs=0.05)
    await limiter.aclose()


@pytest.mark.parametrize(
    "kw",
    [{"rate": 0}, {"rate": float("inf")}, {"per": 0}, {"margin": -1}, {"on_redis_error": "x"}],
)
def test_bad_configuration(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        AsyncRedisRateLimiter("redis://127.0.0.1:1/0", key="k", **kw)  # type: ignore[arg-type]


def test_only_an_asyncio_client() -> None:
    with pytest.raises(TypeError, match=r"redis\.asyncio\.Redis"):
        AsyncRedisRateLimiter(redis.Redis(), key="k")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        AsyncRedisRateLimiter(42, key="k")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"redis\.Redis"):
        RedisRateLimiter(aioredis.Redis(), key="k")  # type: ignore[arg-type]


# -- failure modes ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_stopped_redis_fails_closed_within_the_redis_timeout(live: RedisServer) -> None:
    limiter = AsyncRedisRateLimiter(live.url, key=key(), on_redis_error="closed", redis_timeout=0.2)
    await limiter.acquire(timeout=1)
    live.pause()
    try:
        t0 = time.monotonic()
        with pytest.raises(RedisUnavailable) as err:
            await limiter.acquire(timeout=30)
        latency = time.monotonic() - t0
        assert 0.2 <= latency < 0.5  # the redis_timeout, not redis-py's ~59 s
        assert isinstance(err.value, TransportError) and err.value.attempts == 0
        assert limiter.degraded
        t0 = time.monotonic()
        with pytest.raises(RedisUnavailable):  # within retry_interval: no second timeout
            await limiter.acquire(timeout=30)
        assert time.monotonic() - t0 < 0.05
        print(f"fail-closed latency with a stopped Redis: {latency * 1000:.0f} ms")
    finally:
        live.resume()
    await limiter.aclose()


@pytest.mark.anyio
async def test_stopped_redis_never_blocks_past_the_deadline(live: RedisServer) -> None:
    limiter = AsyncRedisRateLimiter(live.url, key=key(), redis_timeout=5.0)
    await limiter.acquire(timeout=1)
    live.pause()
    try:
        t0 = time.monotonic()
        with pytest.raises(RateLimitTimeout):
            await limiter.acquire(timeout=0.1)
        assert time.monotonic() - t0 < 0.2
        assert not limiter.degraded  # the deadline ran out, not Redis's time
    finally:
        live.resume()
    assert await limiter.acquire(timeout=1) < 0.5  # the connection cut mid-read was dropped
    await limiter.aclose()


@pytest.mark.anyio
async def test_stopped_redis_fails_open_with_one_warning(
    live: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = AsyncRedisRateLimiter(
        live.url, key=key(), rate=2, on_redis_error="open", redis_timeout=0.1
    )
    await limiter.acquire(timeout=1)
    live.pause()
    try:
        with caplog.at_level(logging.WARNING, logger="rtc_startrecord"):
            t0 = time.monotonic()
            await asyncio.gather(*(limiter.acquire(timeout=5) for _ in range(20)))
            assert time.monotonic() - t0 < 0.3  # unlimited; the first calls pay the timeout once
        warnings = [r for r in caplog.records if "Redis failed" in r.getMessage()]
        assert len(warnings) == 1  # once per outage
        assert limiter.outages == 1
    finally:
        live.resume()
    await limiter.aclose()


@pytest.mark.anyio
async def test_killed_redis_falls_back_to_the_local_limiter_then_recovers(
    live: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    k = key()
    limiter = AsyncRedisRateLimiter(live.url, key=k, rate=5, per=0.5, retry_interval=0.2)
    await limiter.acquire(timeout=1)
    live.kill()
    stamps: list[float] = []

    async def task() -> None:
        for _ in range(3):  # "local": paced by a per-process AsyncRateLimiter(5, 0.5)
            await limiter.acquire(timeout=5)
            stamps.append(time.monotonic())

    with caplog.at_level(logging.WARNING, logger="rtc_startrecord"):
        t0 = time.monotonic()
        await asyncio.gather(*(task() for _ in range(4)))
        assert limiter.degraded
        assert len(stamps) == 12 and max_in_window(stamps, 0.5) <= 5
        assert time.monotonic() - t0 < 2.0
        live.start()  # an empty Redis on the same port: the script is sent again (NOSCRIPT)
        await asyncio.sleep(0.25)
        await limiter.acquire(timeout=1)
        assert not limiter.degraded
    failed = [r for r in caplog.records if "Redis failed" in r.getMessage()]
    assert len(failed) == 1 and "pacing each process locally" in failed[0].getMessage()
    assert any("answers again" in r.getMessage() for r in caplog.records)
    check = redis.Redis.from_url(live.url)
    assert check.zcard(k) == 1
    check.close()
    await limiter.aclose()


@pytest.mark.anyio
async def test_a_cancelled_acquire_leaves_the_limiter_usable(live: RedisServer) -> None:
    limiter = AsyncRedisRateLimiter(live.url, key=key(), rate=1, per=0.3, margin=0.0)
    await limiter.acquire(timeout=1)
    waiting = asyncio.create_task(limiter.acquire(timeout=5))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert 0.15 < await limiter.acquire(timeout=1) < 0.35  # the cancelled one took no slot
    await limiter.aclose()
