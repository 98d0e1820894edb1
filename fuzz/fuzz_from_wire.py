"""Fuzz `rtc_startrecord.from_wire` with the request and response models of every API version.

Input: a JSON envelope ``{"version": V, "action": A, "kind": "request"|"response", "body": ...}``
(seeded from every golden file). The harness structures ``body`` into that operation's model.

Asserts: `from_wire` raises nothing but `rs.WireFormatError` (with at least one problem), and a
model it built can be written back with `to_wire`.

Run: ``python fuzz/fuzz_from_wire.py --seconds 30`` (``--help`` for more).
"""

from __future__ import annotations

import sys
from typing import Any

import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]

with atheris.instrument_imports(include=["rtc_startrecord", "rtc_startrecord_models", "cattrs"]):
    import rtc_startrecord as rs
    from rtc_startrecord import spec, wire

import _common

MODELS: dict[tuple[str, str, str], type[Any]] = {}
for _v in spec.API_VERSIONS:
    for _a, _op in spec.operations(_v).items():
        MODELS[(_v, _a, "request")] = _op.request_model
        MODELS[(_v, _a, "response")] = _op.response_model


def test_one_input(data: bytes) -> None:
    env = _common.loads(data)
    if not isinstance(env, dict):
        return
    key = (env.get("version"), env.get("action"), env.get("kind"))
    cls = MODELS.get(key) if all(isinstance(k, str) for k in key) else None  # type: ignore[arg-type]
    if cls is None:
        return
    body = env.get("body")
    try:
        model = rs.from_wire(cls, body)
    except rs.WireFormatError as exc:
        if not exc.problems:
            raise AssertionError("WireFormatError without problems") from exc
        return
    wire.to_wire(model)


def main() -> None:
    dictionary = _common.Dictionary()
    seeds = []
    for version, action, kind, body in _common.golden_files():
        dictionary.harvest_document(body)
        seeds.append({"version": version, "action": action, "kind": kind, "body": body})
    for version in spec.API_VERSIONS:
        dictionary.harvest_schema(spec.bundle(version)["components"])
    mutator = _common.StructuralMutator(
        dictionary,
        seeds,
        frozen={
            "version": list(spec.API_VERSIONS),
            "action": sorted({a for (_, a, _) in MODELS}),
            "kind": ["request", "response"],
        },
    )
    _common.run("from_wire", test_one_input, (_common.dumps(s) for s in seeds), mutator)


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
