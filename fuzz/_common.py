"""What the four harnesses share: the command line, the seed corpus and a JSON-aware mutator.

Every harness's inputs are JSON documents (an "envelope" naming, say, the action and version,
with the body inside), seeded from the golden files. libFuzzer's own byte mutations rarely keep
JSON valid, so `StructuralMutator` parses the input, mutates the tree (replace, delete, insert,
duplicate or splice a node; boundary numbers and values harvested from the spec), and writes it
back; a share of the mutations stays byte-level, so malformed JSON is fed too.

This module imports nothing of rtc_startrecord at import time: each harness imports the
package inside `atheris.instrument_imports()` first, so that its code is instrumented.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]

FUZZ_DIR = Path(__file__).resolve().parent
REPO = FUZZ_DIR.parent
GOLDEN = REPO / "contract_tests" / "golden"

# Interesting scalars: type confusion, integer and float edges, encodings.
SCALARS: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    3,
    7,
    17,
    255,
    256,
    1023,
    65535,
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**30,
    0.0,
    -0.0,
    0.5,
    0.9999999,
    1.0,
    1.5,
    1e-320,
    1e308,
    -1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    " ",
    "0",
    "1",
    "-1",
    "1.5",
    "true",
    "null",
    "a",
    "A" * 129,
    "x" * 1025,
    "\x00",
    "\t\n",
    "\u00e9",
    "\u6f22\u5b57",
    "\U0001f642",
    "\ud800",
    "\udfff",
    "\ufeff",
    "a b",
    "a/b",
    "../x",
    "%s%n{0}",
    "{}",
    "[]",
    "MP4",
    "HLS",
    "{TaskId}_{RoomId}",
    [],
    {},
    [None],
    {"": None},
]


def _walk(node: Any, out: list[tuple[Any, Any]]) -> None:
    """(container, key) of every node under `node` (not `node` itself)."""
    if isinstance(node, dict):
        for k in list(node):
            out.append((node, k))
            _walk(node[k], out)
    elif isinstance(node, list):
        for i in range(len(node)):
            out.append((node, i))
            _walk(node[i], out)


def _subtrees(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _subtrees(v)
    elif isinstance(node, list):
        for v in node:
            yield from _subtrees(v)


def _copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


class Dictionary:
    """Keys, values and numeric boundaries harvested from the seeds and the bundled spec."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.values: list[Any] = list(SCALARS)
        self.subtrees: list[Any] = []
        self._seen_keys: set[str] = set()

    def add_key(self, key: str) -> None:
        if key not in self._seen_keys:
            self._seen_keys.add(key)
            self.keys.append(key)

    def harvest_document(self, doc: Any) -> None:
        for sub in _subtrees(doc):
            if isinstance(sub, dict):
                for k in sub:
                    self.add_key(k)
                if len(self.subtrees) < 2000:
                    self.subtrees.append(sub)
            elif isinstance(sub, list):
                if len(self.subtrees) < 2000:
                    self.subtrees.append(sub)
            elif len(self.values) < 4000:
                self.values.append(sub)

    def harvest_schema(self, bundle: Any) -> None:
        """Property names, enum members and every bound (and its neighbours) of a spec bundle."""
        for sub in _subtrees(bundle):
            if not isinstance(sub, dict):
                continue
            props = sub.get("properties")
            if isinstance(props, dict):
                for k in props:
                    self.add_key(k)
            enum = sub.get("enum")
            if isinstance(enum, list):
                self.values.extend(enum)
            for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                b = sub.get(bound)
                if isinstance(b, int | float) and not isinstance(b, bool):
                    self.values.extend(
                        [b, b - 1, b + 1] if isinstance(b, int) else [b, b - 1e-9, b + 1e-9]
                    )
            for bound in ("minLength", "maxLength", "minItems", "maxItems"):
                b = sub.get(bound)
                if isinstance(b, int) and not isinstance(b, bool) and b < 5000:
                    self.values.extend(["x" * b, "x" * (b + 1)])
                    if b:
                        self.values.append("x" * (b - 1))


class StructuralMutator:
    """libFuzzer custom mutator and crossover over JSON documents.

    `frozen` names top-level keys of the envelope that only take values from their list
    (action, version, ...): they are changed rarely, and to a valid choice most of the time.
    """

    def __init__(
        self,
        dictionary: Dictionary,
        seeds: list[Any],
        frozen: dict[str, list[Any]] | None = None,
        byte_share: float = 0.12,
    ) -> None:
        self.d = dictionary
        self.seeds = seeds
        self.frozen = frozen or {}
        self.byte_share = byte_share

    # -- values ------------------------------------------------------------------------

    def _number_near(self, x: float, rng: random.Random) -> Any:
        if isinstance(x, bool):
            return not x
        choice = rng.randrange(8)
        if isinstance(x, int):
            return [x + 1, x - 1, -x, x * 2, x // 2, x + rng.randint(-100, 100), float(x), str(x)][
                choice
            ]
        if not math.isfinite(x):
            return rng.choice([0.0, 1.0, 1e308])
        return [x + 1e-9, x - 1e-9, -x, x * 2, x / 2, int(x), x + 1, str(x)][choice]

    def _string_mutation(self, s: str, rng: random.Random) -> Any:
        ops = rng.randrange(9)
        pos = rng.randint(0, len(s))
        ch = rng.choice(["\x00", "\ud800", " ", "/", ".", "{", "}", "\u00e9", "A", "0", "\\", '"'])
        if ops == 0:
            return s[:pos] + ch + s[pos:]
        if ops == 1 and s:
            return s[:pos] + s[pos + 1 :]
        if ops == 2:
            return s * rng.randint(2, 40)
        if ops == 3:
            return s.upper() if rng.random() < 0.5 else s.lower()
        if ops == 4:
            return s[:pos]
        if ops == 5:
            return s + str(rng.choice(self.d.values))
        if ops == 6:
            try:
                return json.loads(s)
            except (ValueError, RecursionError):
                return s + "}"
        if ops == 7:
            return s.strip() or " " + s
        return "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(1, 8)))

    def new_value(self, old: Any, rng: random.Random) -> Any:
        r = rng.random()
        if r < 0.25 and isinstance(old, int | float):
            return self._number_near(old, rng)
        if r < 0.4 and isinstance(old, str):
            return self._string_mutation(old, rng)
        if r < 0.5 and self.d.subtrees:
            return _copy(rng.choice(self.d.subtrees))
        if r < 0.6:
            return [_copy(old)] if rng.random() < 0.5 else {rng.choice(self.d.keys): _copy(old)}
        return _copy(rng.choice(self.d.values))

    # -- the tree ------------------------------------------------------------------------

    def mutate_tree(self, root: Any, rng: random.Random) -> Any:
        nodes: list[tuple[Any, Any]] = []
        _walk(root, nodes)
        if self.frozen and isinstance(root, dict):
            nodes = [(c, k) for c, k in nodes if not (c is root and k in self.frozen)]
        if not nodes:
            return (
                self.new_value(root, rng) if rng.random() < 0.3 else _copy(rng.choice(self.seeds))
            )
        container, key = rng.choice(nodes)
        op = rng.randrange(10)
        if op <= 3:  # replace
            container[key] = self.new_value(container[key], rng)
        elif op == 4:  # delete
            del container[key]
        elif op == 5:  # insert a key or an element next to it
            value = self.new_value(container[key], rng)
            if isinstance(container, dict):
                container[rng.choice(self.d.keys)] = value
            else:
                container.insert(key, value)
        elif op == 6:  # duplicate a list element, or copy a value under another known key
            if isinstance(container, list):
                for _ in range(rng.choice([1, 1, 2, 16, 17])):
                    container.append(_copy(container[key]))
            else:
                container[rng.choice(self.d.keys)] = _copy(container[key])
        elif op == 7:  # splice a subtree from elsewhere in this document
            others: list[tuple[Any, Any]] = []
            _walk(root, others)
            src, skey = rng.choice(others)
            container[key] = _copy(src[skey])
        elif op == 8:  # rename a key / swap two elements
            if isinstance(container, dict):
                container[rng.choice(self.d.keys)] = container.pop(key)
            elif len(container) > 1:
                j = rng.randrange(len(container))
                container[key], container[j] = container[j], container[key]
        else:  # into the inner structure: a node of a seed dictionary
            target = container[key]
            if isinstance(target, dict):
                target[rng.choice(self.d.keys)] = self.new_value(None, rng)
            elif isinstance(target, list):
                target.append(self.new_value(None, rng))
            else:
                container[key] = self.new_value(target, rng)
        return root

    def mutate_doc(self, doc: Any, rng: random.Random) -> Any:
        if self.frozen and isinstance(doc, dict) and rng.random() < 0.06:
            name = rng.choice(list(self.frozen))
            doc[name] = (
                rng.choice(self.frozen[name])
                if rng.random() < 0.9
                else self.new_value(doc.get(name), rng)
            )
            return doc
        if rng.random() < 0.02:
            return _copy(rng.choice(self.seeds))
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 5, 8])):
            doc = self.mutate_tree(doc, rng)
        return doc

    # -- libFuzzer hooks -----------------------------------------------------------------

    def mutator(self, data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if rng.random() < self.byte_share:
            return bytes(atheris.Mutate(data, max_size))
        doc = loads(data)
        if doc is _INVALID:
            if rng.random() < 0.5:
                return bytes(atheris.Mutate(data, max_size))
            doc = _copy(rng.choice(self.seeds))
        out = dumps(self.mutate_doc(doc, rng))
        if len(out) > max_size:
            return bytes(atheris.Mutate(data, max_size))
        return out

    def crossover(self, data1: bytes, data2: bytes, max_out_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        a, b = loads(data1), loads(data2)
        if a is _INVALID or b is _INVALID:
            return data1[: max_out_size // 2] + data2[: max_out_size // 2]
        nodes_a: list[tuple[Any, Any]] = []
        nodes_b: list[tuple[Any, Any]] = []
        _walk(a, nodes_a)
        _walk(b, nodes_b)
        if self.frozen and isinstance(a, dict):
            nodes_a = [(c, k) for c, k in nodes_a if not (c is a and k in self.frozen)]
        if nodes_a and nodes_b:
            ca, ka = rng.choice(nodes_a)
            cb, kb = rng.choice(nodes_b)
            ca[ka] = _copy(cb[kb])
        out = dumps(a)
        return out if len(out) <= max_out_size else data1


_INVALID = object()


def loads(data: bytes) -> Any:
    """The JSON document of `data`, or `_INVALID` (Python's json: NaN and Infinity allowed)."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return _INVALID


def is_invalid(doc: Any) -> bool:
    return doc is _INVALID


def dumps(doc: Any) -> bytes:
    # ensure_ascii: lone surrogates travel as \ud800 escapes and come back as themselves.
    return json.dumps(doc, ensure_ascii=True, allow_nan=True, separators=(",", ":")).encode()


# -- seeds ---------------------------------------------------------------------------------------


def golden_files() -> list[tuple[str, str, str, Any]]:
    """(version, action, "request"|"response", body) of every golden file."""
    out = []
    for path in sorted(GOLDEN.glob("*/*.json")):
        action, kind = path.name.split(".")[:2]
        out.append((path.parent.name, action, kind, json.loads(path.read_text(encoding="utf-8"))))
    return out


# -- running -------------------------------------------------------------------------------------


def parse_args(name: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=f"fuzz_{name}.py", description=__doc__)
    p.add_argument("--seconds", type=int, default=30, help="wall-clock budget (default 30)")
    p.add_argument("--runs", type=int, default=-1, help="stop after this many inputs")
    p.add_argument(
        "--corpus", type=Path, default=None, help=f"corpus dir (default fuzz/corpus/{name})"
    )
    p.add_argument(
        "--artifacts", type=Path, default=None, help=f"crash dir (default fuzz/artifacts/{name})"
    )
    p.add_argument("--seed", type=int, default=0, help="libFuzzer -seed (0: random)")
    p.add_argument(
        "reproduce", nargs="*", type=Path, help="run these input files once each, then exit"
    )
    return p.parse_args()


def run(
    name: str,
    test_one_input: Callable[[bytes], None],
    seeds: Iterable[bytes],
    mutator: StructuralMutator | None = None,
    extra_libfuzzer_args: Iterable[str] = (),
) -> None:
    """Seed the corpus, hand over to libFuzzer and exit: non-zero, with the reproducer saved,
    on a crash."""
    args = parse_args(name)
    corpus = args.corpus or FUZZ_DIR / "corpus" / name
    artifacts = args.artifacts or FUZZ_DIR / "artifacts" / name
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    count = 0
    for i, seed in enumerate(seeds):  # rewritten on every run, beside what libFuzzer adds
        (corpus / f"seed-{i:04d}").write_bytes(seed)
        count += 1
    argv = [sys.argv[0]]
    if args.reproduce:
        argv += [str(p) for p in args.reproduce]
        print(f"fuzz_{name}: reproducing {len(args.reproduce)} input(s)", flush=True)
    else:
        argv += [
            str(corpus),
            f"-max_total_time={args.seconds}",
            f"-artifact_prefix={artifacts}{os.sep}",
            "-print_final_stats=1",
            "-timeout=30",
            "-rss_limit_mb=3072",
            "-max_len=65536",
            "-len_control=0",
            f"-seed={args.seed}",
        ]
        if args.runs >= 0:
            argv.append(f"-runs={args.runs}")
        print(
            f"fuzz_{name}: {args.seconds} s, {count} seeds, corpus {corpus}, crashes to "
            f"{artifacts}",
            flush=True,
        )
    argv += list(extra_libfuzzer_args)
    kwargs: dict[str, Any] = {}
    if mutator is not None:
        kwargs["custom_mutator"] = mutator.mutator
        kwargs["custom_crossover"] = mutator.crossover
    atheris.Setup(argv, test_one_input, **kwargs)
    atheris.Fuzz()  # exits the process: 0 when the budget is spent, non-zero on a crash
