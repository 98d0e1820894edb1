"""Where `RtcClient.prepare` spends its time: each part timed alone, beside the official path.

    python benchmarks/prepare_parts.py [--quick]

docs/performance.md's profile table comes from this. For the documented and the maximal body
it times, interleaved round by round (a slow moment of this shared VM falls on every part
alike): the whole prepare from a dict and from a model, and the official path
(`bench.official_prepare`), then the parts: the schema pass (jsonschema-rs), the checked
writer (model input), `to_wire` alone (the dict without any check), the rules, orjson and the
client's signer. Parts timed alone run with hot caches, so they add up to a little less than
the whole call. A second table gives jsonschema-rs's cost per keyword and value (1,000-item
arrays), which is why the spec writes numeric bounds as integer literals.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jsonschema_rs
import orjson
from bench import AK, BODIES, SK, official_prepare, timeit

import rtc_startrecord as rs
from rtc_startrecord import rules, signing, spec
from rtc_startrecord.validation import _prepared, checked_wire
from rtc_startrecord.wire import to_wire


def interleaved(fns: dict[str, Callable[[], Any]], rounds: int, number: int) -> dict[str, float]:
    """Median µs per call of each function, the functions taking turns within each round
    (`bench.timeit`)."""
    samples = timeit(fns, rounds=rounds, number=number)
    return {name: statistics.median(values) * 1e6 for name, values in samples.items()}


def parts(body: dict[str, Any], rounds: int, number: int) -> dict[str, float]:
    client = rs.RtcClient(rs.Credentials(AK, SK), qps=None)
    model = rs.from_wire(rs.StartRecordRequest, body)
    validator, runs = _prepared("StartRecord", client.version)
    encoded = orjson.dumps(body)
    query = [("Action", "StartRecord"), ("Version", client.version)]
    headers = {"Content-Type": "application/json"}
    host = client._transport.host
    x_date = signing.x_date_now()

    def run_rules() -> None:
        ctx = rules.Ctx(body)
        for run in runs:
            run(ctx)

    assert checked_wire(model) == body and validator.is_valid(body)
    return interleaved(
        {
            "prepare, dict": lambda: client.prepare("StartRecord", body),
            "prepare, model": lambda: client.prepare("StartRecord", model),
            "official path": official_prepare(body),
            "schema pass (jsonschema-rs is_valid)": lambda: validator.is_valid(body),
            "checked writer (model input)": lambda: checked_wire(model),
            "to_wire alone (no checks)": lambda: to_wire(model),
            "the rules": run_rules,
            "orjson": lambda: orjson.dumps(body),
            "signing (RequestSigner)": lambda: client._signer.sign(
                "POST", host, "/", query, headers, encoded, x_date=x_date
            ),
        },
        rounds,
        number,
    )


KEYWORDS: dict[str, tuple[dict[str, Any], list[Any]]] = {
    "integer: type": ({"type": "integer"}, list(range(1000))),
    "integer: type, minimum, maximum": (
        {"type": "integer", "minimum": 0, "maximum": 2147483647},
        list(range(1000)),
    ),
    "number: type": ({"type": "number"}, [i / 1000 for i in range(1000)]),
    "number: type, minimum 0, exclusiveMaximum 1": (
        {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
        [i / 1000 for i in range(1000)],
    ),
    "number: minimum 0.0 (a float literal)": ({"minimum": 0.0}, [i / 1000 for i in range(1000)]),
    "integer enum of 4": ({"enum": [0, 1, 2, 3]}, [i % 4 for i in range(1000)]),
}


def keyword_costs(rounds: int) -> dict[str, float]:
    """ns per value of each schema, over its 1,000-item array."""
    fns: dict[str, Callable[[], Any]] = {}
    for name, (schema, data) in KEYWORDS.items():
        validator = jsonschema_rs.validator_for({"items": schema})
        assert validator.is_valid(data)
        fns[name] = partial(validator.is_valid, data)
    return {name: us * 1e3 / 1000 for name, us in interleaved(fns, rounds, 20).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    rounds, number = (5, 200) if args.quick else (21, 1000)
    spec.operations(spec.DEFAULT_VERSION)
    columns = {}
    for label, body in BODIES.items():
        print(f"  {label} body ...", file=sys.stderr)
        columns[label] = parts(body, rounds, number)
    print(f"\nµs per call, medians of {rounds} interleaved rounds x {number} calls:\n")
    print("| part | " + " | ".join(f"{label} body" for label in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for name in next(iter(columns.values())):
        print(f"| {name} | " + " | ".join(f"{c[name]:.1f}" for c in columns.values()) + " |")
    print("\njsonschema-rs, ns per value (1,000-item arrays):\n")
    print("| schema of each item | ns per value |\n|---|---:|")
    for name, ns in keyword_costs(rounds).items():
        print(f"| {name} | {ns:.0f} |")


if __name__ == "__main__":
    main()
