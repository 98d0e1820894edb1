"""Side-by-side benchmarks: rtc_startrecord vs the official Volcengine Python SDK vs the floor.

    pip install -e '.[bench]' && python benchmarks/bench.py [--quick] [--markdown FILE]

Measured in one run on one machine, with the client's rate limiter off (the official SDK has
none), and printed as one markdown table (the README's), each row with its ratio, its goal and
whether the goal is met:
- prepare: validate + serialize + sign the documented body (2020-12-01 custom layout) and a
  maximal one (17 streams, 17 regions, full Encode and Control), for dict and model input; the
  official path is `json.dumps` + `SignerV4.sign` (no validation); the floor
  (`floor.prepare_floor`) is orjson plus the HMAC-SHA256 key chain and the two SHA-256 hashes,
  validating nothing. Goal: at most 0.5x the official path.
- end to end: calls per second over keep-alive against one local server (`ok_server.py`, its
  own process), our RtcClient vs the official SDK's RtcService vs the floor, a raw keep-alive
  socket sending pre-built request bytes (`floor.RawClient`). Goal: at least 2x the official
  SDK; "of floor" says how close each call is to what the server and the loopback allow.
- import: `import rtc_startrecord` plus what one call needs (client, validator, the default
  version's models) vs `from volcengine.example.rtc.RtcService import RtcService`, fresh
  interpreters taking turns (`imports.measure`). Goal: at most 1.0x.
- per API version: prepare of each version's documented body (dict), to show that the cost does
  not grow with the number of versions shipped (all of them are loaded in this process when it
  is measured). Goal: at most 0.5x the official path for the same body.

Candidates take turns within every round and the medians are kept: the machine is a shared
2-core VM, and a slow moment then falls on all candidates alike. Read the ratios.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from pathlib import Path
from statistics import median
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import floor  # noqa: E402
import imports  # noqa: E402

import rtc_startrecord as rs  # noqa: E402
from contract_tests.support import maximal_start_body  # noqa: E402
from rtc_startrecord.client import USER_AGENT  # noqa: E402

# volcengine ships neither type hints nor stubs
try:
    from volcengine.auth.SignerV4 import SignerV4  # type: ignore[import-untyped]
    from volcengine.base.Request import Request as VolcRequest  # type: ignore[import-untyped]
    from volcengine.Credentials import Credentials as VolcCredentials  # type: ignore[import-untyped]
except ImportError:
    sys.exit("the official SDK is missing: pip install -e '.[bench]'")

AK, SK = "AKLTbenchmarkAccessKey", "benchmark-secret-key"
GOLDEN = ROOT / "contract_tests" / "golden"


def documented_body(version: str) -> dict[str, Any]:
    path = GOLDEN / version / "StartRecord.request.custom_layout.json"
    return cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))


BODIES = {"documented": documented_body("2020-12-01"), "maximal (17+17)": maximal_start_body()}


def timeit(
    fns: dict[str, Callable[[], Any]], *, rounds: int, number: int
) -> dict[str, list[float]]:
    """Seconds per call of each function in each of `rounds` rounds of `number` calls.

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
    return samples


def rates(
    fns: dict[str, Callable[[], Any]], *, rounds: int, seconds: float
) -> dict[str, list[float]]:
    """Calls per second of each function in each of `rounds` rounds, each candidate running for
    `seconds` in turn within a round."""
    for fn in fns.values():
        for _ in range(50):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            n, t0 = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - t0) < seconds:
                for _ in range(20):
                    fn()
                n += 20
            samples[name].append(n / elapsed)
    return samples


def spread(ours: list[float], official: list[float]) -> tuple[float, float]:
    """The quartiles of the per-round ratios ours / official: how far one round's ratio moves
    (the rounds of a section interleave the candidates, so each pair shares its moment)."""
    ratios = [a / b for a, b in zip(ours, official, strict=True)]
    if len(ratios) < 2:
        return (ratios[0], ratios[0])
    q = statistics.quantiles(ratios, n=4)
    return (q[0], q[2])


# -- prepare -------------------------------------------------------------------------------


def ours_prepare(client: rs.RtcClient, body: Any) -> Callable[[], Any]:
    return partial(client.prepare, "StartRecord", body)


def official_prepare(body: dict[str, Any], version: str = "2020-12-01") -> Callable[[], Any]:
    creds = VolcCredentials(AK, SK, "rtc", "cn-north-1")

    def run() -> Any:
        r = VolcRequest()
        r.set_shema("https")
        r.set_method("POST")
        r.set_host("rtc.volcengineapi.com")
        r.set_path("/")
        r.set_query({"Action": "StartRecord", "Version": version})
        r.set_headers({"Content-Type": "application/json"})
        r.set_body(json.dumps(body))
        SignerV4.sign(r, creds)
        return r

    return run


# -- end to end ----------------------------------------------------------------------------


@contextmanager
def ok_server() -> Iterator[int]:
    """The local server every client calls: a separate process, answering the success
    envelope."""
    import subprocess

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


def raw_request(client: rs.RtcClient, body: dict[str, Any]) -> bytes:
    """The bytes our client sends for `body` (signed once), for the raw-socket floor."""
    prepared = client.prepare("StartRecord", body)
    target = "/" + prepared.url.split("/", 3)[3]
    headers = {**prepared.headers, "User-Agent": USER_AGENT}
    return floor.request_bytes(prepared.method, target, client._transport.host, headers,
                               prepared.body)  # fmt: skip


# -- the table -----------------------------------------------------------------------------


@dataclass
class Row:
    what: str
    unit: str  # "us", "calls/s" or "ms"
    ours: float
    official: float
    floor: float | None
    goal: float  # the ratio ours / official to reach
    higher_is_better: bool = False
    quartiles: tuple[float, float] | None = None  # of the per-round ratios, where measured

    @property
    def ratio(self) -> float:
        return self.ours / self.official

    @property
    def met(self) -> bool:
        return self.ratio >= self.goal if self.higher_is_better else self.ratio <= self.goal

    @property
    def of_floor(self) -> float | None:
        """How close to the floor (1.0 = at the limit): floor time / our time, or our rate /
        the floor's rate."""
        if self.floor is None:
            return None
        return self.ours / self.floor if self.higher_is_better else self.floor / self.ours


def fmt(value: float, unit: str) -> str:
    return f"{value:.0f}" if unit == "calls/s" else f"{value:.1f}"


def table(rows: list[Row]) -> str:
    out = [
        "| measure | unit | ours | official SDK | floor | ours / official | per-round quartiles "
        "| goal | met | of floor |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for r in rows:
        goal = f"{'≥' if r.higher_is_better else '≤'} {r.goal:g}x"
        share = "-" if r.of_floor is None else f"{r.of_floor:.0%}"
        flo = "-" if r.floor is None else fmt(r.floor, r.unit)
        quart = "-" if r.quartiles is None else f"{r.quartiles[0]:.2f}-{r.quartiles[1]:.2f}x"
        out.append(
            f"| {r.what} | {r.unit} | {fmt(r.ours, r.unit)} | {fmt(r.official, r.unit)} "
            f"| {flo} | {r.ratio:.2f}x | {quart} | {goal} | {'yes' if r.met else '**no**'} "
            f"| {share} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short run (fewer rounds)")
    parser.add_argument("--markdown", metavar="FILE", type=Path, help="also write the table here")
    args = parser.parse_args()
    if args.quick:
        rounds, number, e2e_rounds, e2e_seconds, import_rounds = 5, 200, 3, 0.3, 5
    else:
        rounds, number, e2e_rounds, e2e_seconds, import_rounds = 15, 1000, 9, 1.0, 21
    creds = rs.Credentials(AK, SK)
    client = rs.RtcClient(creds, qps=None)
    rows: list[Row] = []

    # `--quick` or not, the same rows in the same order.
    for label, body in BODIES.items():
        print(f"  prepare, {label} body ...", file=sys.stderr)
        model = rs.from_wire(rs.StartRecordRequest, body)
        t = timeit(
            {
                "dict": ours_prepare(client, body),
                "model": ours_prepare(client, model),
                "official": official_prepare(body),
                "floor": floor.prepare_floor(body, secret=SK),
            },
            rounds=rounds,
            number=number,
        )
        for kind in ("dict", "model"):
            rows.append(
                Row(
                    f"prepare, {label} body, {kind}",
                    "µs",
                    median(t[kind]) * 1e6,
                    median(t["official"]) * 1e6,
                    median(t["floor"]) * 1e6,
                    goal=0.5,
                    quartiles=spread(t[kind], t["official"]),
                )
            )

    with ok_server() as port, ExitStack() as stack:
        endpoint = f"http://127.0.0.1:{port}"
        ours_client = stack.enter_context(rs.RtcClient(creds, endpoint=endpoint, qps=None))
        svc = official_service(port)
        for label, body in BODIES.items():
            print(f"  end to end, {label} body ...", file=sys.stderr)
            model = rs.from_wire(rs.StartRecordRequest, body)
            raw = stack.enter_context(floor.RawClient(port, raw_request(ours_client, body)))
            cps = rates(
                {
                    "dict": partial(ours_client.start_record, cast(Any, body)),
                    "model": partial(ours_client.start_record, model),
                    "official": partial(svc.json, "StartRecord", {}, json.dumps(body)),
                    "floor": raw.call,
                },
                rounds=e2e_rounds,
                seconds=e2e_seconds,
            )
            for kind in ("dict", "model"):
                rows.append(
                    Row(
                        f"end to end (keep-alive), {label} body, {kind}",
                        "calls/s",
                        median(cps[kind]),
                        median(cps["official"]),
                        median(cps["floor"]),
                        goal=2.0,
                        higher_is_better=True,
                        quartiles=spread(cps[kind], cps["official"]),
                    )
                )

    print("  imports ...", file=sys.stderr)
    imported = imports.measure(import_rounds)
    official_ms = imported[imports.OFFICIAL][0] * 1e3
    for name, what in (
        (imports.OURS, "import: `rtc_startrecord` + client, validator, default models"),
        (imports.LAZY, "import: `import rtc_startrecord` alone (lazy)"),
    ):
        rows.append(Row(what, "ms", imported[name][0] * 1e3, official_ms, None, goal=1.0))

    print("  per API version ...", file=sys.stderr)
    candidates: dict[str, Callable[[], Any]] = {}
    for version in rs.API_VERSIONS:
        body = documented_body(version)
        versioned = rs.RtcClient(creds, qps=None, version=version)
        candidates[f"ours {version}"] = ours_prepare(versioned, body)
        candidates[f"official {version}"] = official_prepare(body, version)
        candidates[f"floor {version}"] = floor.prepare_floor(body, secret=SK, version=version)
    t = timeit(candidates, rounds=rounds, number=number)
    for version in rs.API_VERSIONS:
        rows.append(
            Row(
                f"prepare, {version} documented body, dict",
                "µs",
                median(t[f"ours {version}"]) * 1e6,
                median(t[f"official {version}"]) * 1e6,
                median(t[f"floor {version}"]) * 1e6,
                goal=0.5,
                quartiles=spread(t[f"ours {version}"], t[f"official {version}"]),
            )
        )

    header = (
        f"Python {platform.python_version()}, volcengine {metadata.version('volcengine')}, "
        f"orjson {floor.ORJSON_VERSION}, {'--quick' if args.quick else 'full run'}: prepare "
        f"medians of {rounds} rounds x {number} calls; end to end medians of {e2e_rounds} "
        f"rounds x {e2e_seconds:g} s per candidate; imports medians of {import_rounds} fresh "
        f"interpreters per candidate. Official import: "
        f"`from volcengine.example.rtc.RtcService import RtcService` = {official_ms:.1f} ms."
    )
    text = f"{header}\n\n{table(rows)}\n"
    print()
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
