"""The shared limiter, measured: acquire cost of the local RateLimiter vs RedisRateLimiter (a
redis-server child on loopback), and issue 20's fleet scenario (8 processes, each its own client
with one attempt, sharing one Redis limiter, 600 StartRecord calls at the simulator with its own
60/s limit on): achieved rate against the 60/s ideal, peak arrivals in any one second, refusals.

    pip install -e '.[redis]' && python benchmarks/redis_limiter.py [--quick]

Needs ``redis-server`` (``bash .ci/redis-setup``). Prints one table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rtc_startrecord as rs  # noqa: E402
from rtc_startrecord.ratelimit import RateLimiter  # noqa: E402
from rtc_startrecord.ratelimit_redis import RedisRateLimiter  # noqa: E402
from rtc_startrecord.simulator import (  # noqa: E402
    TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
    SimulatorApp,
)
from rtc_startrecord.simulator.server import WSGIServer  # noqa: E402
from rtc_startrecord.simulator.state import State  # noqa: E402

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

LIMIT = 60


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is missing: run `bash .ci/redis-setup`")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        proc = subprocess.Popen(
            [binary, *args, "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            for _ in range(500):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2) as c:
                        c.sendall(b"PING\r\n")
                        if c.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.kill()
            proc.wait()


def per_call_us(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """Median and p99 of one call, microseconds."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


class ArrivalLog:
    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.times: list[float] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if "Action=StartRecord" in environ.get("QUERY_STRING", ""):
            with self.lock:
                self.times.append(time.monotonic())
        return self.app(environ, start_response)


def peak(stamps: list[float], width: float = 1.0) -> int:
    stamps = sorted(stamps)
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - width:
            j += 1
        best = max(best, i - j + 1)
    return best


def worker(
    redis_url: str, key: str, sim_url: str, wid: int, calls: int, barrier: Any, out: Any
) -> None:
    limiter = RedisRateLimiter(redis_url, key=key, rate=LIMIT)
    refused = 0
    client = rs.RtcClient(
        rs.Credentials(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY),
        endpoint=sim_url,
        region="cn-north-1",
        limiter=limiter,
        max_attempts=1,
        total_timeout=30.0,
    )
    body: Any = {
        "AppId": "661e00000000000543cf",
        "RoomId": "bench",
        "RecordMode": 0,
        "Vod": {"AccountId": "200000000", "Space": "bench"},
    }
    with client:
        barrier.wait(timeout=60)
        for i in range(calls):
            request: Any = {**body, "TaskId": f"w{wid}-{i}"}
            try:
                client.start_record(request)
            except rs.RtcError:
                refused += 1
    out.put((time.monotonic(), refused))


def fleet(redis_url: str, processes: int, calls: int) -> tuple[float, int, int]:
    """(seconds from the start signal to the last answer, peak arrivals/s, refused calls)."""
    app = SimulatorApp(State(), secrets={TEST_ACCESS_KEY_ID: TEST_SECRET_ACCESS_KEY}, qps=LIMIT)
    arrivals = ArrivalLog(app)
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(processes + 1), ctx.Queue()
    key = f"bench:{uuid.uuid4().hex}"
    with WSGIServer(arrivals) as server:
        each = calls // processes
        procs = [
            ctx.Process(target=worker, args=(redis_url, key, server.url, i, each, barrier, out))
            for i in range(processes)
        ]
        for p in procs:
            p.start()
        barrier.wait(timeout=60)
        start = time.monotonic()
        done = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join()
    return max(t for t, _ in done) - start, peak(arrivals.times), sum(r for _, r in done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, 240 fleet calls")
    opts = parser.parse_args()
    n = 2000 if opts.quick else 20000
    calls = 240 if opts.quick else 600
    rows: list[tuple[str, str]] = []
    with redis_server() as url:
        local = RateLimiter(1e12)
        shared = RedisRateLimiter(url, key=f"bench:{uuid.uuid4().hex}", rate=1e12)
        for name, limiter in (("local RateLimiter", local), ("RedisRateLimiter", shared)):
            med, p99 = per_call_us(limiter.acquire, n)
            rows.append((f"acquire, {name}", f"median {med:8.1f} us   p99 {p99:8.1f} us"))
        shared.close()
        elapsed, top, refused = fleet(url, 8, calls)
    ideal = (calls - LIMIT) / LIMIT  # the first 60 at once, then 60 per second
    rows += [
        (f"fleet: 8 processes, {calls} calls", f"{elapsed:6.2f} s (ideal {ideal:.2f} s)"),
        ("fleet: achieved rate", f"{calls / elapsed:6.1f}/s (ideal {LIMIT}/s at full load)"),
        ("fleet: peak arrivals in 1 s", f"{top} (limit {LIMIT})"),
        ("fleet: refused (FlowLimitExceeded)", str(refused)),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  result")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
