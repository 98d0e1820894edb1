"""Side-by-side benchmarks: rtc_startrecord vs the official Volcengine Python SDK vs the floor.

    pip install -e '.[bench]' && python benchmarks/bench.py [--quick]

Measured in one run on one machine, with the client's rate limiter off (the official SDK has
none):
- prepare: validate + serialize + sign a small (documented) and a maximal body (17 streams, 17
  regions, full Encode and Control), for dict and model input; the official path is
  `json.dumps` + `SignerV4.sign` (no validation); the floor is the fastest JSON encoding plus the
  HMAC-SHA256 key chain and the two SHA-256 hashes, validating nothing;
- end to end: calls per second over keep-alive against one local server (its own process,
  answering the success envelope), our RtcClient vs the official SDK's RtcService;
- import time and peak memory (tracemalloc) of importing each package, in fresh interpreters.
Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rtc_startrecord as rs  # noqa: E402
from contract_tests.support import maximal_start_body  # noqa: E402

try:
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]  # optional: the floor falls back to json

# volcengine ships neither type hints nor stubs
try:
    from volcengine.auth.SignerV4 import SignerV4  # type: ignore[import-untyped]
    from volcengine.base.Request import Request as VolcRequest  # type: ignore[import-untyped]
    from volcengine.Credentials import Credentials as VolcCredentials  # type: ignore[import-untyped]
except ImportError:
    sys.exit("the official SDK is missing: pip install -e '.[bench]'")

AK, SK = "AKLTbenchmarkAccessKey", "benchmark-secret-key"
SMALL = json.loads(
    (ROOT / "contract_tests/golden/2020-12-01/StartRecord.request.custom_layout.json").read_text()
)
MAXIMAL = maximal_start_body()


def timeit(fns: dict[str, Callable[[], Any]], *, rounds: int, number: int) -> dict[str, float]:
    """Median seconds per call of each function, over `rounds` rounds of `number` calls.

    The candidates take turns within every round, so that a slow moment of the machine (a VM,
    two cores) falls on all of them alike: the ratios are what this measures.
    """
    for fn in fns.values():
        for _ in range(max(number // 10, 1)):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - t0) / number)
    return {name: statistics.median(values) for name, values in samples.items()}


# -- prepare -------------------------------------------------------------------------------


def ours_prepare(client: rs.RtcClient, body: Any) -> Callable[[], Any]:
    return lambda: client.prepare("StartRecord", body)


def official_prepare(body: dict[str, Any]) -> Callable[[], Any]:
    creds = VolcCredentials(AK, SK, "rtc", "cn-north-1")

    def run() -> Any:
        r = VolcRequest()
        r.set_shema("https")
        r.set_method("POST")
        r.set_host("rtc.volcengineapi.com")
        r.set_path("/")
        r.set_query({"Action": "StartRecord", "Version": "2020-12-01"})
        r.set_headers({"Content-Type": "application/json"})
        r.set_body(json.dumps(body))
        SignerV4.sign(r, creds)
        return r

    return run


def floor_prepare(body: dict[str, Any]) -> Callable[[], Any]:
    dumps = orjson.dumps if orjson is not None else (lambda b: json.dumps(b).encode())

    def h(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    def run() -> str:
        raw = dumps(body)
        x_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        payload = hashlib.sha256(raw).hexdigest()
        canonical = (
            f"POST\n/\nAction=StartRecord&Version=2020-12-01\ncontent-type:application/json\n"
            f"host:rtc.volcengineapi.com\nx-content-sha256:{payload}\nx-date:{x_date}\n\n"
            f"content-type;host;x-content-sha256;x-date\n{payload}"
        )
        scope = f"{x_date[:8]}/cn-north-1/rtc/request"
        to_sign = (
            f"HMAC-SHA256\n{x_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        )
        key = h(h(h(h(SK.encode(), x_date[:8]), "cn-north-1"), "rtc"), "request")
        return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()

    return run


# -- end to end ----------------------------------------------------------------------------


@contextlib.contextmanager
def ok_server() -> Iterator[int]:
    """The local server both clients call: a separate process, answering the success envelope."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "ok_server.py")],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def official_service(port: int) -> Any:
    from volcengine.ApiInfo import ApiInfo  # type: ignore[import-untyped]
    from volcengine.example.rtc.RtcService import RtcService  # type: ignore[import-untyped]

    svc = RtcService()
    svc.service_info.host = f"127.0.0.1:{port}"
    svc.service_info.scheme = "http"
    svc.set_ak(AK)
    svc.set_sk(SK)
    svc.api_info["StartRecord"] = ApiInfo(
        "POST", "/", {"Action": "StartRecord", "Version": "2020-12-01"}, {}, {}
    )
    return svc


def calls_per_second(fn: Callable[[], Any], seconds: float) -> float:
    for _ in range(20):
        fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - t0)


# -- import time and memory ------------------------------------------------------------------

# Time and memory are probed in separate interpreters: tracemalloc slows imports several-fold.
TIME_PROBE = "import time; t0 = time.perf_counter(); import {mod}; print(time.perf_counter() - t0)"
MEMORY_PROBE = ("import tracemalloc; tracemalloc.start(); import {mod}; "
                "print(tracemalloc.get_traced_memory()[1])")  # fmt: skip


def import_cost(module: str, runs: int) -> tuple[float, float]:
    """Median import time (s) and median peak traced memory (bytes), fresh interpreters."""

    def probe(code: str) -> float:
        out = subprocess.run([sys.executable, "-c", code.format(mod=module)], capture_output=True,
                             text=True, check=True, cwd="/").stdout  # fmt: skip
        return float(out.split()[0])

    times = [probe(TIME_PROBE) for _ in range(runs)]
    peaks = [probe(MEMORY_PROBE) for _ in range(runs)]
    return statistics.median(times), statistics.median(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = parser.parse_args()
    rounds, number, e2e_seconds, imports = (5, 200, 1.0, 3) if args.quick else (15, 1000, 4.0, 9)

    client = rs.RtcClient(rs.Credentials(AK, SK), qps=None)
    rows: list[tuple[str, str, float, float, float]] = []
    print(
        f"python {sys.version.split()[0]}, orjson {'yes' if orjson else 'no'}; "
        f"medians of {rounds} rounds x {number} calls",
        file=sys.stderr,
    )
    for label, body in (("small (documented custom layout)", SMALL), ("maximal (17+17)", MAXIMAL)):
        print(f"  prepare {label} ...", file=sys.stderr)
        model = rs.from_wire(rs.StartRecordRequest, body)
        t = timeit(
            {
                "dict": ours_prepare(client, body),
                "model": ours_prepare(client, model),
                "official": official_prepare(body),
                "floor": floor_prepare(body),
            },
            rounds=rounds,
            number=number,
        )
        for kind in ("dict", "model"):
            rows.append((label, kind, t[kind], t["official"], t["floor"]))

    print("\n## prepare (validate + serialize + sign), microseconds per call\n")
    print("| body | input | ours | official SDK | floor | ours / official | ours / floor |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, kind, ours, official, floor in rows:
        print(
            f"| {label} | {kind} | {ours * 1e6:.1f} | {official * 1e6:.1f} | {floor * 1e6:.1f} "
            f"| {ours / official:.2f}x | {ours / floor:.2f}x |"
        )

    print("  end to end ...", file=sys.stderr)
    with ok_server() as port:
        ours_client = rs.RtcClient(
            rs.Credentials(AK, SK), endpoint=f"http://127.0.0.1:{port}", qps=None
        )
        svc = official_service(port)
        e2e = []
        for label, body in (("small", SMALL), ("maximal", MAXIMAL)):
            model = rs.from_wire(rs.StartRecordRequest, body)
            text = json.dumps(body)
            ours_dict = calls_per_second(
                partial(ours_client.start_record, cast(Any, body)), e2e_seconds
            )
            ours_model = calls_per_second(partial(ours_client.start_record, model), e2e_seconds)
            theirs = calls_per_second(partial(svc.json, "StartRecord", {}, text), e2e_seconds)
            e2e.append((label, ours_dict, ours_model, theirs))
    print("\n## end to end over keep-alive (one local server), calls per second\n")
    print("| body | ours (dict) | ours (model) | official SDK | ours/official (dict) | (model) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, od, om, th in e2e:
        print(f"| {label} | {od:.0f} | {om:.0f} | {th:.0f} | {od / th:.2f}x | {om / th:.2f}x |")

    print("  imports ...", file=sys.stderr)
    # `import rtc_startrecord` loads names lazily; the second row loads what a call needs.
    cases = [
        ("`import rtc_startrecord` (lazy)", "rtc_startrecord"),
        ("rtc_startrecord + client, models, validator, wire", "rtc_startrecord.client"),
        ("official SDK `RtcService`", "volcengine.example.rtc.RtcService"),
    ]
    print("\n## import (fresh interpreter), median\n")
    print("| what | import time (ms) | peak traced memory (KiB) |")
    print("|---|---:|---:|")
    for label, module in cases:
        seconds, peak = import_cost(module, imports)
        print(f"| {label} | {seconds * 1e3:.1f} | {peak / 1024:.0f} |")


if __name__ == "__main__":
    main()
