"""Import cost of what one call needs, side by side with the official SDK's RtcService.

    python benchmarks/imports.py [--rounds N]

Each candidate is imported in a fresh interpreter, the candidates taking turns within each
round, and the medians are compared. Bytecode is compiled first (as a wheel install does:
this machine sets PYTHONDONTWRITEBYTECODE, which would otherwise make our modules compile on
every run while site-packages have theirs). The goal (issue #19) is that loading the client,
the validator and the default version's models costs at most 1.0x the official SDK's
`from volcengine.example.rtc.RtcService import RtcService` (volcengine 1.0.229 has no
`volcengine.rtc` package: the RTC service lives under `example`), and that no other version's
models or spec load until that version is used. `bench.py` reuses `measure` for its table.
"""

from __future__ import annotations

import argparse
import compileall
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

OURS = "rtc_startrecord: client, validate, default models"
OFFICIAL = "official SDK RtcService"
LAZY = "`import rtc_startrecord` (lazy)"
FIRST_PREPARE = "rtc_startrecord: + build a client, first prepare"
CASES = {
    OURS: "import rtc_startrecord as rs; rs.RtcClient; rs.validate; rs.StartRecordRequest",
    "rtc_startrecord: + a 2023-11-01 client": (
        "import rtc_startrecord as rs; rs.RtcClient; rs.validate; rs.StartRecordRequest; "
        "rs.RtcClient(rs.Credentials('a', 'b'), version='2023-11-01')"
    ),
    FIRST_PREPARE: (
        "import rtc_startrecord as rs; "
        "rs.RtcClient(rs.Credentials('a', 'b'), qps=None).prepare('GetRecordTask', "
        "{'AppId': 'app', 'RoomId': 'room', 'TaskId': 'task'})"
    ),
    OFFICIAL: "from volcengine.example.rtc.RtcService import RtcService",
    LAZY: "import rtc_startrecord",
}
PROBE = (
    "import sys, time, json; t0 = time.perf_counter(); {code}; t = time.perf_counter() - t0; "
    "print(json.dumps([t, sorted(m for m in sys.modules "
    "if m.startswith('rtc_startrecord_models.'))]))"
)


def measure(
    rounds: int, cases: dict[str, str] | None = None, *, progress: bool = True
) -> dict[str, tuple[float, list[str]]]:
    """Median import seconds of each case, and the version modules it loaded."""
    cases = CASES if cases is None else cases
    for folder in ("rtc_startrecord", "generated"):
        compileall.compile_dir(ROOT / folder, quiet=1)
    times: dict[str, list[float]] = {name: [] for name in cases}
    loaded: dict[str, list[str]] = {}
    for r in range(rounds):
        if progress:
            print(f"  import round {r + 1}/{rounds}", file=sys.stderr, end="\r")
        for name, code in cases.items():
            out = subprocess.run([sys.executable, "-c", PROBE.format(code=code)], cwd="/",
                                 capture_output=True, text=True, check=True).stdout  # fmt: skip
            seconds, modules = json.loads(out)
            times[name].append(seconds)
            loaded[name] = modules
    if progress:
        print(file=sys.stderr)
    return {name: (statistics.median(values), loaded[name]) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    result = measure(args.rounds)
    sdk = result[OFFICIAL][0]
    print(f"\n## import, fresh interpreters, median of {args.rounds} rounds\n")
    print("| what | ms | / official SDK | version modules loaded |")
    print("|---|---:|---:|---|")
    for name, (median, loaded) in result.items():
        models = ", ".join(m.split(".")[1] for m in loaded if m.count(".") == 1 and "._" not in m)
        print(f"| {name} | {median * 1e3:.1f} | {median / sdk:.2f}x | {models or '-'} |")


if __name__ == "__main__":
    main()
