"""The simulator's keep-alive throughput: the full front (dashboard, router, request log, faults)
against the bare API app on the same HTTP server, side by side in one run.

    python benchmarks/simulator_throughput.py [--seconds S]

One client (`rs.RtcClient`, limiter off) sends GetRecordTask calls back to back over one
keep-alive connection for S seconds per stack, alternating the stacks for three rounds; prints
the median calls per second of each and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rtc_startrecord as rs  # noqa: E402
from rtc_startrecord.simulator import Simulator  # noqa: E402
from rtc_startrecord.simulator.http import WSGIServer  # noqa: E402

IDS: rs.GetRecordTaskRequestDict = {"AppId": "app1", "RoomId": "room1", "TaskId": "t1"}


def calls_per_second(url: str, sim: Simulator, seconds: float) -> float:
    with rs.RtcClient(sim.credentials, endpoint=url, region=sim.region, qps=None) as client:
        client.get_record_task(IDS)  # connect and warm up
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            client.get_record_task(IDS)
            done += 1
        return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    with Simulator(qps=None) as sim:
        bare = WSGIServer(sim.app, max_body=1 << 20)
        bare.start()
        try:
            sim.publish("app1", "room1", "u1")
            with rs.RtcClient(sim.credentials, endpoint=sim.url, region=sim.region) as client:
                client.start_record(
                    {"AppId": "app1", "RoomId": "room1", "TaskId": "t1",
                     "Vod": {"AccountId": "1", "Space": "s"}}
                )  # fmt: skip
            full: list[float] = []
            plain: list[float] = []
            for round_no in range(3):
                print(f"round {round_no + 1}/3 ...", file=sys.stderr)
                full.append(calls_per_second(sim.url, sim, args.seconds))
                plain.append(calls_per_second(bare.url, sim, args.seconds))
        finally:
            bare.stop()
    f, p = statistics.median(full), statistics.median(plain)
    print("| stack | calls/s (median of 3) |")
    print("|---|---|")
    print(f"| bare API app | {p:,.0f} |")
    print(f"| full front (dashboard, router, log, faults) | {f:,.0f} |")
    print(f"| full / bare | {f / p:.2f}x |")


if __name__ == "__main__":
    main()
