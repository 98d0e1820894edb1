"""What only the async client has: the limiter under concurrent coroutines, the pytest plugin's
`rtc_async_client`, a bounded gzip answer. Its behaviour on retries, ambiguity, errors and waits
is checked by tests/test_client.py's cases, which run against both clients."""

from __future__ import annotations

import gzip
import time
import zlib
from bisect import bisect_left
from typing import Any, cast

import pytest

import rtc_startrecord as rs
from rtc_startrecord.simulator import Simulator
from rtc_startrecord.transport_async import BoundedDecoder

pytestmark = pytest.mark.anyio

BODY: Any = {"AppId": "app1", "RoomId": "room1"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _max_in_any_window(times: list[float], width: float) -> int:
    times = sorted(times)
    return max(bisect_left(times, t + width) - i for i, t in enumerate(times))


async def test_100_concurrent_starts_are_admitted_at_most_60_in_any_second() -> None:
    import asyncio

    # The admission stamps are the limiter's own clock readings: in one event loop nothing runs
    # between a coroutine's admitting reading and its return from acquire.
    last: list[float] = [0.0]

    def clock() -> float:
        last[0] = time.monotonic()
        return last[0]

    limiter = rs.AsyncRateLimiter(60.0, clock=clock)
    admitted: list[float] = []
    acquire = limiter.acquire

    async def recording(timeout: float | None = None) -> float:
        waited = await acquire(timeout)
        admitted.append(last[0])
        return waited

    limiter.acquire = recording  # type: ignore[method-assign]
    with Simulator(qps=None) as sim:
        async with rs.AsyncRtcClient(
            sim.credentials, endpoint=sim.url, region=sim.region, limiter=limiter,
            pool_maxsize=20,
        ) as client:  # fmt: skip
            started = time.monotonic()
            answers = await asyncio.gather(
                *(client.start_record(cast(Any, dict(BODY, TaskId=f"t{i}"))) for i in range(100))
            )
            elapsed = time.monotonic() - started
        assert len(sim.tasks) == 100
    assert all(a.result == "ok" for a in answers)
    assert len(admitted) == 100
    assert _max_in_any_window(admitted, 1.0) <= 60
    assert elapsed >= 0.98  # 100 calls at 60/s cannot fit in one second


async def test_rtc_async_client_fixture_talks_to_the_simulator(
    rtc_async_client: rs.AsyncRtcClient, rtc_simulator: Simulator
) -> None:
    body: Any = dict(BODY, TaskId="fixture")
    await rtc_async_client.start_record(body)
    assert ("app1", "room1", "fixture") in rtc_simulator.tasks
    raw = await rtc_async_client.call_raw("GetRecordTask", body)
    assert raw.status == 200 and raw.request_id and raw.attempts == 1
    assert "RecordTask" in raw.envelope["Result"]
    assert raw.parsed.result.record_task.status is not None


async def test_async_wait_hands_each_raw_answer_before_its_model(
    rtc_async_client: rs.AsyncRtcClient, rtc_simulator: Simulator
) -> None:
    body: Any = dict(BODY, TaskId="waited")
    await rtc_async_client.start_record(body)
    seen: list[tuple[str, Any]] = []
    task = await rtc_async_client.wait_for_task(
        "app1", "room1", "waited", status=2, timeout=5,
        on_raw_progress=lambda raw: seen.append(("raw", raw)),
        on_progress=lambda response: seen.append(("model", response)),
    )  # fmt: skip
    assert task.status == rs.RecordTaskStatus.RUNNING
    assert [kind for kind, _ in seen] == ["raw", "model"]
    raw = seen[0][1]
    assert isinstance(raw, rs.RawResponse) and raw.parsed is seen[1][1] and raw.request_id
    assert raw.envelope["Result"]["RecordTask"]["Status"] == 2


async def test_a_sync_limiter_is_refused_by_the_async_client() -> None:
    with pytest.raises(TypeError, match="async acquire"):
        rs.AsyncRtcClient(rs.Credentials("ak", "sk"), limiter=rs.RateLimiter(5))


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_bounded_decoder_stops_a_bomb_at_the_cap(encoding: str) -> None:
    payload = b"\0" * (64 << 20)
    if encoding == "gzip":
        data, header = gzip.compress(payload), "gzip"
    elif encoding == "deflate":
        data, header = zlib.compress(payload), "deflate"
    else:
        raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        data, header = raw.compress(payload) + raw.flush(), "deflate"
    decoder = BoundedDecoder(header, limit=1 << 20)
    ok = True
    for i in range(0, len(data), 4096):
        ok = decoder.feed(data[i : i + 4096])
        if not ok:
            break
    assert not ok
    assert decoder.size <= (1 << 20) + 1 + (1 << 20)  # never much past the cap


def test_bounded_decoder_passes_a_small_answer() -> None:
    decoder = BoundedDecoder("gzip", limit=1000)
    assert decoder.feed(gzip.compress(b'{"ok": 1}'))
    assert decoder.body() == b'{"ok": 1}'
