"""What the dashboard costs: the request recorder per API request, and rendering the page.

    python benchmarks/dashboard_overhead.py [--quick]

In process, no HTTP: (1) a WSGI call of a tiny app answering an RTC error envelope, bare and
through `RequestRecorder` (which reads the body for secrets and parses the answer); (2) one
render of the page and of its live part with 50 tasks (custom layouts drawn) and 200 requests
kept. Prints medians.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rtc_startrecord.simulator import Simulator  # noqa: E402
from rtc_startrecord.simulator.dashboard import RequestRecorder, render_live, render_page  # noqa: E402

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

GOLDEN = ROOT / "contract_tests/golden/2020-12-01/StartRecord.request.custom_layout.json"
ANSWER = json.dumps(
    {
        "ResponseMetadata": {
            "RequestId": "20250101000000ABCDEF",
            "Action": "StartRecord",
            "Version": "2020-12-01",
            "Error": {
                "Code": "InvalidParameter",
                "Message": "1 invalid parameter(s): $.Layout.CustomLayout.Regions[0]: R16: "
                "LocationX + Width = 700 px passes the canvas' right edge (640 px)",
            },
        }
    }
).encode()


def _app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("400 Bad Request", [("Content-Length", str(len(ANSWER)))])
    return [ANSWER]


def _start(status: str, headers: Any, exc_info: Any = None) -> Any:
    return lambda data: None


def _median_us(fn: Callable[[], object], n: int) -> float:
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 500 if args.quick else 5000
    body = GOLDEN.read_bytes()

    def call(app: Any) -> Callable[[], object]:
        def once() -> object:
            environ = {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/",
                "QUERY_STRING": "Action=StartRecord&Version=2020-12-01",
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": io.BytesIO(body),
            }
            return b"".join(app(environ, _start))

        return once

    recorder = RequestRecorder(_app)
    bare = _median_us(call(_app), n)
    recorded = _median_us(call(recorder), n)
    print(f"WSGI call, bare:             {bare:8.1f} us")
    print(f"WSGI call, recorded:         {recorded:8.1f} us  (+{recorded - bare:.1f} us a request)")

    sim = Simulator()
    try:
        template = json.loads(GOLDEN.read_text())
        for i in range(50):
            sim.state.start(template | {"RoomId": f"room_{i}", "TaskId": f"task_{i}"})
        for _ in range(200):
            call(recorder)()
        pages = 5 if args.quick else 20
        page = _median_us(lambda: render_page(sim, recorder, token="t", nonce="n"), pages)
        live = _median_us(lambda: render_live(sim, recorder), pages)
        print(
            f"page, 50 tasks + 200 requests: {page / 1000:6.1f} ms; live part {live / 1000:.1f} ms"
        )
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
