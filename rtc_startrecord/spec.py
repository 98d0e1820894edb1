"""The bundled spec that `tools/regen.py` writes beside the models: schemas and operations.

Everything per action that the client, the validator and the simulator need is read from here,
so a new action is a spec edit and a regeneration, not new code paths.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import attrs
from rtc_startrecord_models import DEFAULT_VERSION, VERSION_INFO, VERSIONS

__all__ = [
    "API_VERSIONS",
    "DEFAULT_VERSION",
    "Operation",
    "bundle",
    "client_class",
    "model_module",
    "operation",
    "operations",
    "rule_set",
    "running_duplicate_start",
]

# Every supported version, oldest first (the table of spec/versions.yaml).
API_VERSIONS: tuple[str, ...] = tuple(VERSIONS)


def check_version(version: str) -> str:
    """`version` itself when this package speaks it; else a ValueError naming the known ones."""
    if version not in VERSIONS:
        known = ", ".join(API_VERSIONS)
        raise ValueError(f"unknown API version {version!r}; this package speaks {known}")
    return version


def rule_set(version: str) -> str:
    """The version whose rule set (rtc_startrecord.rules.RULES) checks `version`'s bodies."""
    return str(VERSION_INFO[check_version(version)]["rules"])


def running_duplicate_start(version: str) -> str:
    """How `version` answers a StartRecord naming a running task: conflict or already_started."""
    return str(VERSION_INFO[check_version(version)]["running_duplicate_start"])


# Where each generated client class lives: rtc_startrecord.<module><suffix>.
_CLIENT_MODULE_SUFFIX = {"RtcClient": "", "AsyncRtcClient": "_async"}


@cache
def client_class(version: str, name: str = "RtcClient") -> type[Any]:
    """The client class generated for `version`: rtc_startrecord.<module>.RtcClient, or its
    AsyncRtcClient (from rtc_startrecord.<module>_async) with `name="AsyncRtcClient"`."""
    module_name = VERSIONS[check_version(version)] + _CLIENT_MODULE_SUFFIX[name]
    module = importlib.import_module(f"rtc_startrecord.{module_name}")
    return getattr(module, name)  # type: ignore[no-any-return]


@attrs.frozen
class Operation:
    """One action of one API version, as the spec describes it."""

    action: str
    version: str
    method: str
    path: str
    request: str  # schema (and model) name of the request
    request_in: str  # "body" (JSON) or "query"
    query: tuple[str, ...]  # for query requests: the parameter names, in spec order
    response: str  # schema (and model) name of the success envelope

    @property
    def request_model(self) -> type[Any]:
        return getattr(model_module(self.version), self.request)  # type: ignore[no-any-return]

    @property
    def response_model(self) -> type[Any]:
        return getattr(model_module(self.version), self.response)  # type: ignore[no-any-return]


@cache
def bundle(version: str = DEFAULT_VERSION) -> dict[str, Any]:
    """The bundled spec of one version (component schemas, operations, examples)."""
    module = VERSIONS[check_version(version)]
    text = (
        resources.files(f"rtc_startrecord_models.{module}")
        .joinpath("spec.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def model_module(version: str = DEFAULT_VERSION) -> Any:
    return importlib.import_module(f"rtc_startrecord_models.{VERSIONS[check_version(version)]}")


@cache
def operations(version: str = DEFAULT_VERSION) -> dict[str, Operation]:
    ops = {}
    for action, op in bundle(version)["operations"].items():
        ops[action] = Operation(
            action=action,
            version=op["version"],
            method=op["method"],
            path=op["path"],
            request=op["request"],
            request_in=op["request_in"],
            query=tuple(op["query"]),
            response=op["response"],
        )
    return ops


def operation(action: str, version: str = DEFAULT_VERSION) -> Operation:
    ops = operations(version)
    try:
        return ops[action]
    except KeyError:
        known = ", ".join(sorted(ops))
        raise ValueError(
            f"unknown action {action!r} for version {version}; known actions: {known}"
        ) from None


_MODULE_VERSIONS = {module: version for version, module in VERSIONS.items()}


def version_of_model(cls: type[Any]) -> str | None:
    """The API version whose generated module defines `cls` (None for any other class)."""
    parts = getattr(cls, "__module__", "").split(".")
    if len(parts) >= 2 and parts[0] == "rtc_startrecord_models":
        return _MODULE_VERSIONS.get(parts[1])
    return None


def generated_module(cls: object, name: str) -> Any:
    """The generated module `name` (wire, checked) beside the models of `cls`'s API version,
    or None: not a generated model, or a tree generated before that module existed."""
    if not isinstance(cls, type) or version_of_model(cls) is None:
        return None
    package = cls.__module__.rsplit(".", 1)[0]
    try:
        return importlib.import_module(f"{package}.{name}")
    except ModuleNotFoundError:
        return None


@cache
def action_of_model(cls: type[Any]) -> tuple[str, str]:
    """(action, version) whose request model is `cls`; only that version's spec is read."""
    version = version_of_model(cls)
    if version is not None:
        for op in operations(version).values():
            if op.request_model is cls:
                return op.action, version
    raise TypeError(f"{cls.__name__} is not the request model of any action")


@cache
def secret_keys(version: str) -> frozenset[str]:
    """Property names the spec marks `writeOnly` (bucket credentials inside bodies)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in (node.get("properties") or {}).items():
                if isinstance(value, dict) and value.get("writeOnly") is True:
                    found.add(key)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(bundle(version)["components"]["schemas"])
    return frozenset(found)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _reachable(schemas: dict[str, Any], roots: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo.extend(_refs(schemas[name]))
    return seen


@cache
def response_only_models(version: str = DEFAULT_VERSION) -> frozenset[str]:
    """Models of `version` found only inside answers: the wire format tolerates unknown keys and
    enum values in them. A model on both sides (Stream) stays strict."""
    schemas = bundle(version)["components"]["schemas"]
    ops = operations(version).values()
    answers = _reachable(schemas, {op.response for op in ops} | {"ErrorResponse"})
    return frozenset(answers - _reachable(schemas, {op.request for op in ops}))
