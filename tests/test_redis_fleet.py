"""Issue 20's acceptance: 8 processes, each with its own client (one attempt, no retries), share
one RedisRateLimiter and race 600 StartRecord calls at the simulator, whose own limit of 60 per
second per account is on. No call may be refused, and the simulator's arrival log never holds
more than 60 in any one-second window. Then: Redis killed mid-run gives the documented fallback.

Needs ``RtcClient(limiter=...)`` (the client passes it to its Transport)."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from redis_server import RedisServer

import rtc_startrecord as rs
from rtc_startrecord.ratelimit_redis import RedisRateLimiter
from rtc_startrecord.simulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, SimulatorApp
from rtc_startrecord.simulator.server import WSGIServer
from rtc_startrecord.simulator.state import State

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PROCESSES = 8
CALLS = 600
LIMIT = 60
REGION = "cn-north-1"


class ArrivalLog:
    """WSGI middleware in front of the simulator: when each StartRecord arrived (monotonic)."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.times: list[float] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if "Action=StartRecord" in environ.get("QUERY_STRING", ""):
            now = time.monotonic()
            with self.lock:
                self.times.append(now)
        return self.app(environ, start_response)


def max_in_window(stamps: list[float], width: float) -> int:
    stamps = sorted(stamps)
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - width:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as s:
        yield s


@pytest.fixture
def simulator() -> Iterator[tuple[str, ArrivalLog]]:
    """The simulator's app (its 60/s per-account limit on) behind an arrival log, on loopback."""
    app = SimulatorApp(State(), secrets={TEST_ACCESS_KEY_ID: TEST_SECRET_ACCESS_KEY}, qps=LIMIT)
    arrivals = ArrivalLog(app)
    with WSGIServer(arrivals) as server:
        yield server.url, arrivals


def body(task: str) -> Any:  # a wire dict, as json.load gives it
    return {
        "AppId": "661e00000000000543cf",
        "RoomId": "fleet-room",
        "TaskId": task,
        "RecordMode": 0,
        "Vod": {"AccountId": "200000000", "Space": "my-vod-space"},
    }


def make_client(sim_url: str, limiter: RedisRateLimiter) -> rs.RtcClient:
    client = rs.RtcClient(
        rs.Credentials(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY),
        endpoint=sim_url,
        region=REGION,
        limiter=limiter,
        max_attempts=1,  # no retries: a refusal would show
        total_timeout=30.0,
        timeout=10.0,
    )
    assert isinstance(client, rs.RtcClient)
    return client


def outcome(exc: BaseException) -> str:
    return exc.code if isinstance(exc, rs.RtcApiError) else type(exc).__name__


def worker(
    redis_url: str,
    key: str,
    sim_url: str,
    worker_id: int,
    calls: int,
    barrier: Any,
    results: Any,
) -> None:
    """One process of the fleet (spawned): its own limiter and client, `calls` StartRecords."""
    limiter = RedisRateLimiter(redis_url, key=key, rate=LIMIT)
    outcomes: list[str] = []
    with make_client(sim_url, limiter) as client:
        barrier.wait(timeout=60)
        for i in range(calls):
            try:
                client.start_record(body(f"w{worker_id}-{i}"))
                outcomes.append("ok")
            except Exception as exc:
                outcomes.append(outcome(exc))
    limiter.close()
    results.put((worker_id, time.monotonic(), outcomes))


def test_eight_processes_share_sixty_per_second(
    redis_server: RedisServer, simulator: tuple[str, ArrivalLog]
) -> None:
    sim_url, arrivals = simulator
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES + 1)
    results = ctx.Queue()
    key = f"test:qps:{uuid.uuid4().hex}"
    per = CALLS // PROCESSES
    procs = [
        ctx.Process(target=worker, args=(redis_server.url, key, sim_url, i, per, barrier, results))
        for i in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=60)  # every process has its client: the race starts now
        started = time.monotonic()
        done = [results.get(timeout=60) for _ in procs]
        elapsed = max(t for _, t, _ in done) - started
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    outcomes = [o for _, _, per_worker in done for o in per_worker]
    refused = [o for o in outcomes if o != "ok"]
    peak = max_in_window(arrivals.times, 1.0)
    print(f"\n600 calls, 8 processes: {elapsed:.2f} s ({CALLS / elapsed:.1f}/s), peak {peak}/s")
    assert len(outcomes) == CALLS
    assert refused == [], f"{len(refused)} calls failed: {sorted(set(refused))}, peak {peak}"
    assert len(arrivals.times) == CALLS
    assert peak <= LIMIT
    assert elapsed <= 12.5


def test_killing_redis_mid_run_falls_back_without_hanging(
    redis_server: RedisServer,
    simulator: tuple[str, ArrivalLog],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim_url, _ = simulator
    limiter = RedisRateLimiter(redis_server.url, key=f"test:qps:{uuid.uuid4().hex}", rate=LIMIT)
    outcomes: list[str] = []
    latencies: list[float] = []
    with (
        caplog.at_level(logging.WARNING, logger="rtc_startrecord"),
        make_client(sim_url, limiter) as client,
    ):
        for i in range(150):
            if i == 40:
                redis_server.kill()
            t0 = time.monotonic()
            try:
                client.start_record(body(f"kill-{i}"))
                outcomes.append("ok")
            except Exception as exc:
                outcomes.append(outcome(exc))
            latencies.append(time.monotonic() - t0)
        assert limiter.degraded
    limiter.close()
    # The default fallback, "local": a per-process RateLimiter of 60/s keeps pacing the calls.
    # Its log starts empty, so right after the switch the service may see more than 60 in a
    # second and refuse some (this client makes one attempt; a retrying one would retry them).
    # Nothing else: no crash, no hang, and the calls go on.
    assert outcomes[:40] == ["ok"] * 40
    assert set(outcomes) <= {"ok", "FlowLimitExceeded.QPSOverLimit"}, set(outcomes)
    assert outcomes[-20:] == ["ok"] * 20
    assert max(latencies) < 2.0
    assert sum(latencies) < 6.0
    assert sum(1 for r in caplog.records if "Redis failed" in r.getMessage()) == 1
