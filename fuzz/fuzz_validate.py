"""Fuzz `rs.validate` and its agreement with the client's encoder, for every action and version.

Input: a JSON envelope ``{"version": V, "action": A, "body": ...}``, seeded from every golden
request (each also under the other versions of its action), mutated structurally (see
`_common.StructuralMutator`) so that the Python layers (the rules, the encoding checks, the
client) see well-formed but unusual bodies. Coverage inside jsonschema-rs and orjson (Rust) is
invisible to atheris.

Asserts:
- `rs.validate(body, action=A, version=V)` never raises and returns a list of `rs.Problem`;
- when it reports no error, ``RtcClient(Credentials("a", "b"), version=V).prepare(A, body)``
  does not raise (validation and encoding agree);
- when `from_wire` builds the request model, `rs.validate(model)` does not raise either.

Run: ``python fuzz/fuzz_validate.py --seconds 30`` (``--help`` for more).
"""

from __future__ import annotations

import copy
import logging
import sys
from typing import Any

import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]

with atheris.instrument_imports(include=["rtc_startrecord", "rtc_startrecord_models"]):
    import rtc_startrecord as rs
    from rtc_startrecord import client as _client  # noqa: F401  (instrumented before first use)
    from rtc_startrecord import rules, signing, spec, validation, wire  # noqa: F401

import _common

ACTIONS = sorted({a for v in spec.API_VERSIONS for a in spec.operations(v)})
_clients: dict[str, Any] = {}
_uses = 0


def client(version: str) -> Any:
    """One client per version, renewed now and then (it remembers each warning it logged)."""
    global _uses
    _uses += 1
    if _uses % 5000 == 0:
        for c in _clients.values():
            c.close()
        _clients.clear()
    c = _clients.get(version)
    if c is None:
        c = _clients[version] = rs.RtcClient(rs.Credentials("a", "b"), version=version, qps=None)
    return c


def test_one_input(data: bytes) -> None:
    env = _common.loads(data)
    if not isinstance(env, dict):
        return
    version, action = env.get("version"), env.get("action")
    if not isinstance(version, str) or not isinstance(action, str):
        return
    if version not in spec.API_VERSIONS or action not in spec.operations(version):
        return
    body = env.get("body")
    pristine = copy.deepcopy(body)
    problems = rs.validate(body, action=action, version=version)
    if not isinstance(problems, list) or not all(isinstance(p, rs.Problem) for p in problems):
        raise AssertionError(f"validate returned {problems!r}")
    if body != pristine and body == body:  # NaN never equals itself: skip those
        raise AssertionError("validate changed its input")
    if not validation.has_errors(problems):
        try:
            client(version).prepare(action, body)
        except rs.RequestInvalid as exc:
            raise AssertionError(
                f"validate found no error, yet prepare refused the body: {exc.problems}"
            ) from exc
    try:
        model = rs.from_wire(spec.operation(action, version).request_model, body)
    except rs.WireFormatError:
        return
    rs.validate(model)


def seeds() -> tuple[_common.Dictionary, list[dict[str, Any]]]:
    dictionary = _common.Dictionary()
    out: list[dict[str, Any]] = []
    for version, action, kind, body in _common.golden_files():
        if kind != "request":
            continue
        dictionary.harvest_document(body)
        out.append({"version": version, "action": action, "body": body})
        for other in spec.API_VERSIONS:
            if other != version:
                out.append({"version": other, "action": action, "body": body})
    for version in spec.API_VERSIONS:
        dictionary.harvest_schema(spec.bundle(version)["components"])
    return dictionary, out


def main() -> None:
    logging.getLogger("rtc_startrecord").setLevel(logging.ERROR)  # the client's rule warnings
    dictionary, docs = seeds()
    mutator = _common.StructuralMutator(
        dictionary, docs, frozen={"version": list(spec.API_VERSIONS), "action": ACTIONS}
    )
    _common.run("validate", test_one_input, (_common.dumps(d) for d in docs), mutator)


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
