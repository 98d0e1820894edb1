"""Issue 18's benchmark: 200 concurrent `get_record_task` calls against the simulator, limiter
off, through one `AsyncRtcClient` (asyncio.gather) against a thread pool sharing one sync
`RtcClient`: wall time and peak traced memory, side by side, rounds interleaved, medians.

    pip install -e '.[async]' && python benchmarks/async_concurrency.py [--quick]

The simulator runs in its own process (its own GIL), with its QPS limit off. Both clients get
the same pool size (`--pool`, 50 by default); the thread pool has that many workers.

Each round times an untraced run and takes the memory peak from a second, traced one:
tracemalloc hooks every allocation, and timed under it the async client's round took about 4x
as long (6.0 s against 1.4 s once) and the threads' under 2x, which measured tracemalloc.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rtc_startrecord as rs  # noqa: E402
from rtc_startrecord.simulator import Simulator  # noqa: E402

CALLS = 200
IDS: Any = {"AppId": "bench0000000000000001", "RoomId": "room", "TaskId": "task"}


def serve(ready: Any, stop: Any) -> None:
    with Simulator(qps=None) as sim:
        sim.state.start(dict(IDS))  # one task to query
        ready.send((sim.url, sim.region))
        stop.wait()


def run_async(url: str, region: str, pool: int) -> float:
    async def main() -> float:
        async with rs.AsyncRtcClient(
            rs.Credentials(*_keys()), endpoint=url, region=region, qps=None, pool_maxsize=pool
        ) as client:
            await client.get_record_task(IDS)  # warm: one connection open
            started = time.perf_counter()
            await asyncio.gather(*(client.get_record_task(IDS) for _ in range(CALLS)))
            return time.perf_counter() - started

    return asyncio.run(main())


def run_threads(url: str, region: str, pool: int) -> float:
    with rs.RtcClient(
        rs.Credentials(*_keys()), endpoint=url, region=region, qps=None, pool_maxsize=pool
    ) as client, ThreadPoolExecutor(max_workers=pool) as workers:  # fmt: skip
        client.get_record_task(IDS)
        started = time.perf_counter()
        list(workers.map(lambda _: client.get_record_task(IDS), range(CALLS)))
        return time.perf_counter() - started


def _keys() -> tuple[str, str]:
    from rtc_startrecord.simulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY

    return TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY


def measure(
    fn: Callable[[str, str, int], float], url: str, region: str, pool: int
) -> tuple[float, float]:
    """(wall seconds, peak traced MiB) of one round: the wall time of an untraced run, the peak
    of a traced run after it (tracemalloc's per-allocation hook would be timed otherwise)."""
    wall = fn(url, region, pool)
    tracemalloc.start()
    try:
        fn(url, region, pool)
        peak = tracemalloc.get_traced_memory()[1] / (1 << 20)
    finally:
        tracemalloc.stop()
    return wall, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--pool", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else args.rounds
    ctx = multiprocessing.get_context("spawn")
    ready_recv, ready_send = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    server = ctx.Process(target=serve, args=(ready_send, stop), daemon=True)
    server.start()
    url, region = ready_recv.recv()
    candidates = {"async (one AsyncRtcClient, gather)": run_async,
                  f"threads ({args.pool} workers, one RtcClient)": run_threads}  # fmt: skip
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in candidates}
    try:
        for n in range(rounds):
            for name, fn in candidates.items():  # interleaved: both see the same machine
                results[name].append(measure(fn, url, region, args.pool))
            print(f"round {n + 1}/{rounds} done", file=sys.stderr)
    finally:
        stop.set()
        server.join(10)
    print(f"\n{CALLS} concurrent get_record_task, pool {args.pool}, medians of {rounds} rounds\n")
    print("| client | wall (ms) | calls/s | peak traced memory (MiB) |")
    print("|---|---:|---:|---:|")
    for name, rows in results.items():
        wall = statistics.median(w for w, _ in rows)
        peak = statistics.median(p for _, p in rows)
        print(f"| {name} | {wall * 1000:.0f} | {CALLS / wall:.0f} | {peak:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
