"""`migrate`: a request body of one API version rewritten for another, with notes.

The steps, for any pair of supported versions:

1. the documented mappings of `mappings.MAPPINGS` whose shapes fit the pair run on a copy of
   the body (storage, file names, output format, region geometry, the main stream);
2. every other member is kept where the target's spec has its path, and dropped with a note
   where it has none (so every field of the source is either in the result or in a note);
3. members are put in the order of the target's schema, and the result is validated under the
   target (`Migration.problems`).

Nothing is invented: a body without storage gets none, a note and the target's problem.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Sequence
from typing import Any, cast

import attrs

from .. import spec
from ..errors import Problem
from ..redaction import Redactor, body_repr
from .fields import field_path, fields
from .mappings import applicable
from .notes import Context, Note

__all__ = ["Migration", "candidate_versions", "migrate"]


@attrs.frozen
class Migration:
    """The outcome of `migrate`: the body in the target version, the notes, the problems."""

    action: str
    source: str
    target: str
    body: dict[str, Any] = attrs.field(repr=body_repr)  # bucket keys hidden
    notes: tuple[Note, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """True when the migrated body has no errors in the target version (warnings allowed)."""
        return not any(p.severity == "error" for p in self.problems)

    def to_json(self) -> dict[str, Any]:
        """{action, source, target, body, notes, problems} as JSON data (secrets not hidden:
        print it through a `Redactor`)."""
        return {
            "action": self.action,
            "source": self.source,
            "target": self.target,
            "body": self.body,
            "notes": [n.to_json() for n in self.notes],
            "problems": [
                {"path": p.path, "rule": p.rule, "message": p.message, "severity": p.severity}
                for p in self.problems
            ],
        }


def _wire(body_or_model: Any, action: str | None, source: str | None) -> tuple[Any, str, str]:
    if attrs.has(type(body_or_model)):
        from ..wire import to_wire

        model_action, model_version = spec.action_of_model(cast(Hashable, type(body_or_model)))
        if action is not None and action != model_action:
            raise ValueError(f"a {type(body_or_model).__name__} is {model_action}'s request")
        if source is not None and source != model_version:
            raise ValueError(f"this model is of API version {model_version}, not {source}")
        return to_wire(body_or_model), model_action, model_version
    if source is None:
        raise ValueError("source= is needed for a wire dict (see candidate_versions)")
    return body_or_model, action or "StartRecord", source


def migrate(
    body_or_model: Any,
    *,
    action: str | None = None,
    source: str | None = None,
    target: str,
) -> Migration:
    """Rewrite a request (a wire dict or a request model) of `source` for `target`.

    `action` and `source` come from a model's type; for a dict, `source` is required and
    `action` defaults to StartRecord. The input is never changed. Raises ValueError only for
    unknown versions or actions; a body that is not an object migrates to itself, with its
    problems.
    """
    body, action, source = _wire(body_or_model, action, source)
    spec.check_version(source)
    spec.check_version(target)
    spec.operation(action, source)
    spec.operation(action, target)
    redactor = Redactor()
    redactor.learn(body, source)
    redactor.learn(body, target)
    ctx = Context(action=action, source=source, target=target, redactor=redactor)
    from ..validation import validate

    if not isinstance(body, dict) or source == target:
        result = copy.deepcopy(body)
        problems = validate(result, action=action, version=target)
        return Migration(action, source, target, result, (), tuple(problems))
    work = copy.deepcopy(body)
    for mapping in applicable(set(ctx.source_fields), set(ctx.target_fields)):
        mapping.apply(work, ctx)
    known = ctx.target_fields
    _keep_known(work, "$", known, ctx)
    result = _ordered(work, "$", list(known))
    from ..redaction import redact_problems

    problems = redact_problems(validate(result, action=action, version=target), body, source)
    return Migration(action, source, target, result, tuple(ctx.notes), tuple(problems))


def _keep_known(node: Any, path: str, known: dict[str, Any], ctx: Context) -> None:
    """Drop, with a note, every member whose schema path the target does not have."""
    if isinstance(node, dict):
        for key in list(node):
            here = f"{path}.{key}"
            if field_path(here) not in known:
                del node[key]
                ctx.drop(here, _why(here, ctx))
            else:
                _keep_known(node[key], here, known, ctx)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _keep_known(item, f"{path}[{i}]", known, ctx)


def _why(path: str, ctx: Context) -> str:
    if field_path(path) in ctx.source_fields:
        return f"{ctx.target} has no {field_path(path)[2:]}; dropped"
    return f"not a field of {ctx.source} nor of {ctx.target}; dropped"


def _ordered(node: Any, path: str, order: Sequence[str]) -> Any:
    """A copy of `node` with every object's members in the target schema's order."""
    if isinstance(node, dict):
        rank = {p: i for i, p in enumerate(order)}
        base = field_path(path)

        def key(k: str) -> int:
            return rank.get(f"{base}.{k}", len(rank))

        return {k: _ordered(node[k], f"{path}.{k}", order) for k in sorted(node, key=key)}
    if isinstance(node, list):
        return [_ordered(v, f"{path}[{i}]", order) for i, v in enumerate(node)]
    return node


def candidate_versions(body: Any, action: str = "StartRecord") -> tuple[str, ...]:
    """The versions a body could be written for, judged by its fields: those whose spec has
    every member the body uses; when several do, those where it validates without errors
    (when any does). Oldest first; empty when no version has all its fields."""
    from ..validation import validate

    used = {field_path(p) for p in _member_paths(body)}
    fit = [
        v
        for v in spec.API_VERSIONS
        if action in spec.operations(v) and used <= set(fields(v, action))
    ]
    if len(fit) > 1:
        clean = [
            v
            for v in fit
            if not any(p.severity == "error" for p in validate(body, action=action, version=v))
        ]
        if clean:
            return tuple(clean)
    return tuple(fit)


def _member_paths(value: Any, path: str = "$") -> list[str]:
    out: list[str] = []
    if isinstance(value, dict):
        for key, sub in value.items():
            out.append(f"{path}.{key}")
            out.extend(_member_paths(sub, f"{path}.{key}"))
    elif isinstance(value, list):
        for sub in value:
            out.extend(_member_paths(sub, f"{path}[]"))
    return out
