"""`validate`: every schema constraint of the spec, then the documented rules, all at once.

One validator serves the client (before anything is sent), the simulator (on what it receives)
and the CLI. The schema half runs the spec's own JSON Schema (compiled once per action by
jsonschema-rs, which reports every error with its path); the other half is `rules.RULES` of the
version's rule set. Problems never quote a value the spec marks writeOnly (bucket credentials).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from functools import cache
from typing import Any, cast

import attrs
import jsonschema_rs
import orjson

from . import rules, spec
from .errors import Problem
from .redaction import redact_problems
from .wire import to_wire

__all__ = [
    "checked_wire",
    "encoding_problems",
    "has_errors",
    "rule_problems",
    "validate",
    "validate_wire",
]


@cache
def _validator(action: str, version: str) -> Any:
    op = spec.operation(action, version)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"#/components/schemas/{op.request}",
        "components": {"schemas": spec.bundle(version)["components"]["schemas"]},
    }
    return jsonschema_rs.validator_for(schema)


# Keywords that let values past `properties`/`items` under schemas of their own: a schema using
# them is not walked (none of the spec's does), so the client keeps scanning its bodies.
_WIDENING = frozenset({"patternProperties", "prefixItems", "unevaluatedProperties", "$dynamicRef"})


@cache
def passing_bodies_are_null_free(action: str, version: str) -> bool:
    """Whether a body that passes this action's schema holds neither None nor NaN or an
    infinity: true when the schema types every value it admits (each object closed by
    `additionalProperties: false`, each array with its `items`), since jsonschema-rs's `number`
    and `integer` reject NaN and the infinities (tests/test_null_free.py holds it to that).

    orjson writes None, NaN and the infinities as `null`; the client looks for a `null` in the
    bytes only when this is false. For every action of every version it is true."""
    schemas = spec.bundle(version)["components"]["schemas"]
    return _typed_throughout(
        {"$ref": f"#/components/schemas/{spec.operation(action, version).request}"}, schemas, set()
    )


def _typed_throughout(node: Any, schemas: dict[str, Any], seen: set[str]) -> bool:
    while isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        if name in seen:  # a cycle: the schema it names is being checked already
            return True
        seen = seen | {name}
        node = schemas[name]
    if not isinstance(node, dict) or not _WIDENING.isdisjoint(node):
        return False  # not a schema object, or one admitting values no walk here looks at
    kind = node.get("type")
    if kind in ("string", "boolean", "integer", "number"):
        return True  # an enum or const beside the type narrows it further
    if kind == "object":
        extra = node.get("additionalProperties", True)
        return (extra is False or _typed_throughout(extra, schemas, seen)) and all(
            _typed_throughout(sub, schemas, seen) for sub in node.get("properties", {}).values()
        )
    if kind == "array":
        return "items" in node and _typed_throughout(node["items"], schemas, seen)
    return False  # untyped, several types, or null


def _path(parts: Any) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _short(message: str, limit: int = 120) -> str:
    """jsonschema-rs starts messages with the whole value; name it `value` when that is long."""
    if len(message) <= limit:
        return message
    for verb in (" is not ", " has ", " is "):
        at = message.rfind(verb)
        if at > 0:
            return "value" + message[at:]
    return message[:limit] + "..."


def _hide(path: str, message: str, secrets: frozenset[str]) -> str:
    """A message about a secret member names the broken rule, never the value."""
    if not secrets or not any(f".{key}" in path for key in secrets):
        return message
    for verb in (" is not ", " is longer ", " is shorter ", " does not ", " has "):
        at = message.find(verb)
        if at > 0:
            return "<redacted value>" + message[at:]
    return "<redacted value> breaks the schema"


def schema_problems(wire: Any, action: str, version: str = spec.DEFAULT_VERSION) -> list[Problem]:
    validator = _validator(action, version)
    try:
        if validator.is_valid(wire):
            return []
    except (ValueError, TypeError) as exc:  # not JSON data at all (an object, a non-string key)
        return [Problem(path="$", rule="schema.type", message=f"not JSON data: {exc}")]
    return _schema_errors(validator, wire, version)


def _schema_errors(validator: Any, wire: Any, version: str) -> list[Problem]:
    """The problems of a wire dict that `validator.is_valid` refused."""
    try:
        errors = list(validator.iter_errors(wire))
    except (ValueError, TypeError) as exc:  # not JSON data at all (an object, a non-string key)
        return [Problem(path="$", rule="schema.type", message=f"not JSON data: {exc}")]
    out: list[Problem] = []
    typed = {
        tuple(e.instance_path) for e in errors if e.schema_path and e.schema_path[-1] == "type"
    }
    for e in errors:
        keyword = str(e.schema_path[-1]) if e.schema_path else "type"
        if keyword != "type" and tuple(e.instance_path) in typed:
            continue  # a value of the wrong type: say that once, not also "not one of the enum"
        path = _path(e.instance_path)
        kind = e.kind
        if keyword == "required":
            name = getattr(kind, "property", "?")
            out.append(
                Problem(
                    path=f"{path}.{name}",
                    rule="schema.required",
                    message=f"required key {name!r} is missing",
                )
            )
        elif keyword == "additionalProperties":
            for key in getattr(kind, "unexpected", None) or ["?"]:
                out.append(
                    Problem(
                        path=f"{path}.{key}",
                        rule="schema.additionalProperties",
                        message=f"unknown key {key!r}",
                    )
                )
        else:
            message = _hide(path, e.message, spec.secret_keys(version))
            out.append(
                Problem(path=path, rule=rules.schema_rule(keyword, path), message=_short(message))
            )
    # A message about a parent quotes the whole object, secrets and all: hide them by value.
    return redact_problems(out, wire, version)


def encoding_problems(wire: Any, encoded: bytes | None = None) -> list[Problem]:
    """What JSON cannot carry, at its path: text that is not valid UTF-8 (a lone surrogate,
    which `json.loads` makes of "\\ud800") and NaN or an infinity (orjson would send null).

    `encoded` is the body's orjson bytes when the caller has them: the walk runs only when
    encoding failed or wrote a null (which the spec's non-nullable values never need)."""
    if encoded is None:
        try:
            encoded = orjson.dumps(wire)
        except (TypeError, orjson.JSONEncodeError):
            encoded = None
    if encoded is not None and b"null" not in encoded:
        return []
    out: list[Problem] = []
    _walk_encoding(wire, "$", out)
    return out


def _walk_encoding(node: Any, path: str, out: list[Problem]) -> None:
    if type(node) is str:
        if not node.isascii():
            try:
                node.encode("utf-8")
            except UnicodeEncodeError as exc:
                out.append(
                    Problem(
                        path=path,
                        rule="encoding.utf8",
                        message=f"not valid UTF-8 text: a lone surrogate at position {exc.start}",
                    )
                )
    elif type(node) is float:
        if not math.isfinite(node):
            out.append(
                Problem(path=path, rule="encoding.finite", message=f"{node} is not a JSON number")
            )
    elif isinstance(node, dict):
        for key, value in node.items():
            key_text = key if isinstance(key, str) else repr(key)
            if isinstance(key, str) and not key.isascii():
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    out.append(
                        Problem(path=path, rule="encoding.utf8", message="a key is not valid UTF-8")
                    )
                    key_text = key.encode("utf-8", "backslashreplace").decode("ascii")
            _walk_encoding(value, f"{path}.{key_text}", out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _walk_encoding(value, f"{path}[{i}]", out)


def validate_wire(
    wire: Any,
    action: str = "StartRecord",
    version: str = spec.DEFAULT_VERSION,
    *,
    check_encoding: bool = True,
) -> list[Problem]:
    """Validate a wire dict (PascalCase keys) for one action; never raises for bad input.

    `check_encoding=False` leaves out `encoding_problems` for a caller that encodes the body
    itself and checks the bytes (the client)."""
    validator, runs = _prepared(action, version)
    # The schema pass: `is_valid` alone on the common, valid path; the errors only when invalid.
    try:
        valid = validator.is_valid(wire)
    except (ValueError, TypeError) as exc:  # not JSON data at all (an object, a non-string key)
        problems = [Problem(path="$", rule="schema.type", message=f"not JSON data: {exc}")]
    else:
        problems = [] if valid else _schema_errors(validator, wire, version)
    if check_encoding:
        problems.extend(encoding_problems(wire))
    if runs and isinstance(wire, dict):
        ctx = rules.Ctx(wire)  # one per call, shared by the action's rules
        for run in runs:
            run(ctx)
        if ctx.out:
            problems.extend(ctx.out)
    return problems


def rule_problems(wire: dict[str, Any], action: str, version: str) -> list[Problem]:
    """The documented rules alone, for a wire dict already known to pass the schema (one that
    `checked_wire` wrote): what `validate_wire` would report for it."""
    runs = _prepared(action, version)[1]
    if not runs:
        return []
    ctx = rules.Ctx(wire)
    for run in runs:
        run(ctx)
    return ctx.out


_Checked = Callable[[Any], dict[str, Any]]
_CHECKED: dict[type, tuple[_Checked, type[Exception]] | None] = {}


def _checked_writer(cls: type) -> tuple[_Checked, type[Exception]] | None:
    """The generated checked writer of a model class, with its exception (see
    tools/regen_checked.py), or None."""
    try:
        return _CHECKED[cls]
    except KeyError:
        pass
    module = spec.generated_module(cls, "checked")
    fn = module.CHECKED.get(cls) if module is not None else None
    found = (fn, module.Unchecked) if fn is not None else None
    _CHECKED[cls] = found
    return found


def checked_wire(model: object) -> dict[str, Any] | None:
    """The wire dict of a model (what `to_wire` gives) when the generated checked writer proves
    it valid against the schema as it writes it; None when it cannot (the value may still be
    valid: validate it the ordinary way, which names every problem)."""
    writer = _checked_writer(type(model))
    if writer is None:
        return None
    try:
        return writer[0](model)
    except writer[1]:
        return None


_PREPARED: dict[tuple[str, str], tuple[Any, tuple[rules.Runner, ...]]] = {}


def _prepared(action: str, version: str) -> tuple[Any, tuple[rules.Runner, ...]]:
    """(the compiled schema, the rules) of one action and version, looked up once."""
    try:
        return _PREPARED[action, version]
    except KeyError:
        found = (_validator(action, version), rules.RUNNERS[spec.rule_set(version)].get(action, ()))
        _PREPARED[action, version] = found
        return found


def validate(
    request: object, *, action: str | None = None, version: str | None = None
) -> list[Problem]:
    """All problems of a request model or wire dict; `[]` means valid. Never raises for bad input.

    The action comes from the model's type, or from `action=` for a dict (default StartRecord);
    the API version from the model's module, or from `version=` for a dict (default 2020-12-01).
    A model and an `action=` or `version=` that disagree are a programming error (ValueError).
    """
    if version is not None:
        spec.check_version(version)
    if attrs.has(type(request)):
        model_action, model_version = spec.action_of_model(cast(Hashable, type(request)))
        if action is not None and action != model_action:
            raise ValueError(
                f"{type(request).__name__} is {model_action}'s request, not {action}'s"
            )
        if version is not None and version != model_version:
            raise ValueError(
                f"this {type(request).__name__} is of API version {model_version}, not {version}"
            )
        checked = checked_wire(request)
        if checked is not None:  # schema-valid as written: the encoding and the rules remain
            problems = encoding_problems(checked)
            problems += rule_problems(checked, model_action, version or model_version)
            return problems
        try:
            wire = to_wire(request)
        except Exception as exc:  # attrs does not type-check: a model can hold anything
            return [
                Problem(
                    path="$",
                    rule="schema.type",
                    message=f"the {type(request).__name__} cannot be written as JSON: {exc}",
                )
            ]
        return validate_wire(wire, model_action, version or model_version)
    data: object = request
    if isinstance(request, Mapping) and not isinstance(request, dict):
        data = dict(request)
    return validate_wire(data, action or "StartRecord", version or spec.DEFAULT_VERSION)


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)
