"""Run the four fuzz harnesses one after the other, N seconds each; fail if any fails.

    pip install -e '.[fuzz]' && python fuzz/run_all.py --seconds 30

Each harness runs in its own process (libFuzzer exits the process when it is done). A failing
harness leaves its reproducer in fuzz/artifacts/<name>/ (the path is in its output); replay it
with ``python fuzz/fuzz_<name>.py fuzz/artifacts/<name>/crash-...``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HARNESSES = ("from_wire", "validate", "callbacks", "simulator")
FUZZ_DIR = Path(__file__).resolve().parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=int, default=30, help="budget per harness (default 30)")
    p.add_argument("--only", choices=HARNESSES, action="append", help="run just these")
    args = p.parse_args()
    failed = []
    for name in args.only or HARNESSES:
        print(f"=== fuzz_{name}: {args.seconds} s", flush=True)
        started = time.monotonic()
        # A grace period past the budget: a hung harness is a failure, not a hung CI.
        try:
            rc = subprocess.run(
                [sys.executable, str(FUZZ_DIR / f"fuzz_{name}.py"), "--seconds", str(args.seconds)],
                timeout=args.seconds + 120,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            rc = -1
        took = time.monotonic() - started
        print(
            f"=== fuzz_{name}: {'ok' if rc == 0 else f'FAILED ({rc})'} in {took:.0f} s", flush=True
        )
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"fuzzing failed: {', '.join(failed)} (reproducers in fuzz/artifacts/)", flush=True)
        return 1
    print(f"fuzzing: all {len(args.only or HARNESSES)} harnesses ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
