"""RedisRateLimiter against a real redis-server on loopback: the shared sliding window, deadlines,
and each failure mode when Redis is stopped (SIGSTOP) or killed."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from redis_server import RedisServer

from rtc_startrecord.errors import TransportError
from rtc_startrecord.ratelimit import Limiter, RateLimiter, RateLimitTimeout
from rtc_startrecord.ratelimit_redis import RedisRateLimiter, RedisUnavailable
from rtc_startrecord.transport import RetryPolicy, Transport


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


def test_both_limiters_satisfy_the_protocol(live: RedisServer) -> None:
    shared = RedisRateLimiter(live.url, key=key())
    assert isinstance(shared, Limiter)
    assert isinstance(RateLimiter(60), Limiter)
    assert "password" not in repr(shared)
    shared.close()


def test_threads_of_two_limiters_share_one_window(live: RedisServer) -> None:
    k = key()
    limiters = [RedisRateLimiter(live.url, key=k, rate=10, per=0.5) for _ in range(2)]
    stamps: list[float] = []
    lock = threading.Lock()

    def run(limiter: RedisRateLimiter) -> None:
        for _ in range(10):
            limiter.acquire(timeout=10)
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=run, args=(limiters[i % 2],)) for i in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert len(stamps) == 40
    assert max_in_window(stamps, 0.5) <= 10
    # 40 admissions, 10 per (0.5 + 0.1) s: the fourth batch starts after 3 windows
    assert 3 * 0.6 - 0.05 <= elapsed < 3 * 0.6 + 1.0
    for limiter in limiters:
        limiter.close()


def test_a_slot_beyond_the_timeout_fails_at_once(live: RedisServer) -> None:
    limiter = RedisRateLimiter(live.url, key=key(), rate=3, per=5.0)
    for _ in range(3):
        assert limiter.acquire(timeout=1) < 0.5
    assert not limiter.try_acquire()
    t0 = time.monotonic()
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(timeout=1.0)
    assert time.monotonic() - t0 < 0.1  # no sleeping in vain
    limiter.close()


def test_an_external_client_is_used_and_left_open(live: RedisServer) -> None:
    client = redis.Redis.from_url(live.url, socket_connect_timeout=0.5)
    k = key()
    limiter = RedisRateLimiter(client, key=k, rate=2)
    limiter.acquire(timeout=1)
    assert client.zcard(k) == 1
    limiter.close()
    assert client.ping()
    client.close()


def test_a_rate_below_one(live: RedisServer) -> None:
    limiter = RedisRateLimiter(live.url, key=key(), rate=0.5, per=0.1, margin=0.0)
    limiter.acquire(timeout=1)
    assert limiter.acquire(timeout=1) == pytest.approx(0.2, abs=0.05)
    limiter.close()


@pytest.mark.parametrize(
    "kw",
    [{"rate": 0}, {"rate": float("inf")}, {"per": 0}, {"margin": -1}, {"on_redis_error": "x"}],
)
def test_bad_configuration(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RedisRateLimiter("redis://127.0.0.1:1/0", key="k", **kw)  # type: ignore[arg-type]


def test_not_a_client() -> None:
    with pytest.raises(TypeError):
        RedisRateLimiter(42, key="k")  # type: ignore[arg-type]


# -- failure modes ----------------------------------------------------------------------------


def test_stopped_redis_fails_closed_within_the_redis_timeout(live: RedisServer) -> None:
    limiter = RedisRateLimiter(live.url, key=key(), on_redis_error="closed", redis_timeout=0.2)
    limiter.acquire(timeout=1)
    live.pause()
    try:
        t0 = time.monotonic()
        with pytest.raises(RedisUnavailable) as err:
            limiter.acquire(timeout=30)
        assert time.monotonic() - t0 < 0.5  # not redis-py's ~59 s
        assert isinstance(err.value, TransportError)
        assert limiter.degraded
    finally:
        live.resume()
    limiter.close()


def test_stopped_redis_never_blocks_past_the_deadline(live: RedisServer) -> None:
    limiter = RedisRateLimiter(live.url, key=key(), redis_timeout=5.0)
    limiter.acquire(timeout=1)
    live.pause()
    try:
        t0 = time.monotonic()
        with pytest.raises(RateLimitTimeout):
            limiter.acquire(timeout=0.1)
        assert time.monotonic() - t0 < 0.2
        assert not limiter.degraded  # the deadline ran out, not Redis's time
    finally:
        live.resume()
    limiter.close()


def test_stopped_redis_fails_open_with_a_warning(
    live: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RedisRateLimiter(
        live.url, key=key(), rate=2, on_redis_error="open", redis_timeout=0.1
    )
    limiter.acquire(timeout=1)
    live.pause()
    try:
        with caplog.at_level(logging.WARNING, logger="rtc_startrecord"):
            t0 = time.monotonic()
            for _ in range(20):  # unlimited; only the first call pays the timeout
                limiter.acquire(timeout=5)
            assert time.monotonic() - t0 < 0.3
        warnings = [r for r in caplog.records if "Redis failed" in r.getMessage()]
        assert len(warnings) == 1  # once per outage
        assert limiter.outages == 1
    finally:
        live.resume()
    limiter.close()


def test_killed_redis_falls_back_to_the_local_limiter_then_recovers(
    live: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    k = key()
    limiter = RedisRateLimiter(live.url, key=k, rate=5, per=0.5, retry_interval=0.2)
    limiter.acquire(timeout=1)
    live.kill()
    stamps: list[float] = []
    with caplog.at_level(logging.WARNING, logger="rtc_startrecord"):
        t0 = time.monotonic()
        for _ in range(10):  # the default, "local": paced by a per-process RateLimiter(5, 0.5)
            limiter.acquire(timeout=5)
            stamps.append(time.monotonic())
        assert limiter.degraded
        assert max_in_window(stamps, 0.5) <= 5
        assert time.monotonic() - t0 < 2.0
        live.start()  # an empty Redis on the same port: the script is loaded again
        time.sleep(0.25)
        limiter.acquire(timeout=1)
        assert not limiter.degraded
    assert redis.Redis.from_url(live.url).zcard(k) == 1
    assert any("answers again" in r.getMessage() for r in caplog.records)
    limiter.close()


def test_transport_reports_a_closed_limiter_as_not_sent(live: RedisServer) -> None:
    limiter = RedisRateLimiter(live.url, key=key(), on_redis_error="closed", redis_timeout=0.1)
    transport = Transport("http://127.0.0.1:9", timeout=1.0, qps=60, limiter=limiter)
    assert transport.limiter is limiter  # the given limiter replaces qps
    live.kill()
    sent: list[str] = []

    def signer(*args: object) -> dict[str, str]:
        sent.append("signed")
        return {}

    with pytest.raises(RedisUnavailable) as err:
        transport.exchange(
            "POST", "/", [("Action", "StartRecord")], {}, b"{}", signer=signer,
            policy=RetryPolicy(max_attempts=1, total_timeout=5),
        )  # fmt: skip
    assert err.value.attempts == 0 and not err.value.ambiguous
    assert sent == []
    live.start()
    limiter.close()


def test_transport_turns_a_limiter_wait_past_the_deadline_into_deadline_exceeded(
    live: RedisServer,
) -> None:
    from rtc_startrecord.errors import DeadlineExceeded

    limiter = RedisRateLimiter(live.url, key=key(), rate=1, per=30)
    limiter.acquire(timeout=1)
    transport = Transport("http://127.0.0.1:9", timeout=1.0, qps=None, limiter=limiter)
    with pytest.raises(DeadlineExceeded) as err:
        transport.exchange(
            "POST", "/", [], {}, b"{}", signer=lambda *a: {},
            policy=RetryPolicy(max_attempts=1, total_timeout=0.5),
        )  # fmt: skip
    assert err.value.waiting_for == "the rate limiter"
    limiter.close()


def test_transport_refuses_a_limiter_without_acquire() -> None:
    with pytest.raises(TypeError):
        Transport("http://127.0.0.1:9", timeout=1.0, qps=None, limiter=object())  # type: ignore[arg-type]
