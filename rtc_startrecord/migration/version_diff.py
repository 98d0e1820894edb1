"""The change report between two API versions, derived from their specs (`diff_versions`).

One action at a time, request and response apart, the fields of `fields.fields` are compared:
added, removed, renamed (only where the documentation says so: the renames of
`mappings.MAPPINGS`), type, range (minimum, maximum, lengths, item counts, multipleOf,
pattern), enum and required changes. The `Version` query parameter is not a field, so the new
version string is no change of any action.

Each change is rated for an existing caller. Of a request the caller *sends*: a removed field
(the schemas allow no unknown members, so a caller still sending it is refused), a new required
field, a field that became required, a changed type, a narrower range and a removed enum value
are breaking; a new optional field and anything that widens are not. Of a response the caller
*reads*: a removed field, a field that became optional, a changed type, a wider range and a new
enum value are breaking (the caller may not be ready for them); the rest is not.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import attrs

from .. import spec
from .fields import Field, Side, fields
from .mappings import renames

__all__ = ["Change", "ChangeKind", "diff_versions"]

ChangeKind = Literal["added", "removed", "renamed", "type", "range", "enum", "required"]
SIDES: tuple[Side, ...] = ("request", "response")
_LOWER = (("minimum", False), ("exclusiveMinimum", True))
_UPPER = (("maximum", False), ("exclusiveMaximum", True))
_COUNTS = (("minLength", "maxLength"), ("minItems", "maxItems"))
RANGE_KEYWORDS = (
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "multipleOf",
    "pattern",
)


@attrs.frozen
class Change:
    """One difference of one field of one action between two versions."""

    action: str
    side: Side
    path: str
    kind: ChangeKind
    breaking: bool
    detail: str
    before: Any = None
    after: Any = None

    def __str__(self) -> str:
        rating = "breaking" if self.breaking else "not breaking"
        return f"{self.action} {self.side} {self.path}: {self.kind} ({rating}): {self.detail}"

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "side": self.side,
            "path": self.path,
            "kind": self.kind,
            "breaking": self.breaking,
            "detail": self.detail,
            "before": self.before,
            "after": self.after,
        }


def diff_versions(
    a: str, b: str, *, action: str | None = None, breaking_only: bool = False
) -> list[Change]:
    """Every change from version `a` to version `b`, per action (one, or every action of
    either version), in spec order."""
    spec.check_version(a)
    spec.check_version(b)
    ops_a, ops_b = spec.operations(a), spec.operations(b)
    names = [action] if action is not None else list(dict.fromkeys([*ops_a, *ops_b]))
    changes: list[Change] = []
    for name in names:
        if name not in ops_a and name not in ops_b:
            spec.operation(name, b)  # the ValueError naming the known actions
        if name not in ops_b:
            changes.append(Change(name, "request", "$", "removed", True, f"{b} has no {name}"))
        elif name not in ops_a:
            changes.append(Change(name, "request", "$", "added", False, f"new in {b}"))
        else:
            for side in SIDES:
                changes.extend(_side(name, side, a, b))
    return [c for c in changes if c.breaking] if breaking_only else changes


def _parent(path: str) -> str:
    if path.endswith("[]"):
        return path[:-2]
    return path.rsplit(".", 1)[0]


def _side(action: str, side: Side, a: str, b: str) -> list[Change]:
    fa, fb = fields(a, action, side), fields(b, action, side)
    reads = side == "response"
    out: list[Change] = []
    for path, f in fa.items():
        if path not in fb:
            if _parent(path) == "$" or _parent(path) in fb:
                detail = (
                    f"{b} no longer has it; a caller that reads it finds nothing"
                    if reads
                    else f"{b} no longer has it; a caller that sends it is refused"
                )
                out.append(Change(action, side, path, "removed", True, detail, before=f.type))
            continue
        out.extend(_common(action, side, f, fb[path], b))
    if side == "request":
        for old, new in renames(set(fa), set(fb)).items():
            out.append(
                Change(
                    action,
                    side,
                    old,
                    "renamed",
                    True,
                    f"documented rename to {new}; `rtc-startrecord migrate` moves it",
                    before=old,
                    after=new,
                )
            )
    for path, f in fb.items():
        if path not in fa and (_parent(path) == "$" or _parent(path) in fa):
            breaking = f.required and not reads
            detail = (
                "new and required: every existing call lacks it"
                if breaking
                else "new" + (", required" if f.required else ", optional")
            )
            out.append(Change(action, side, path, "added", breaking, detail, after=f.type))
    return out


def _common(action: str, side: Side, fa: Field, fb: Field, b: str) -> list[Change]:
    reads = side == "response"
    out: list[Change] = []
    path = fa.path
    if fa.type != fb.type:
        out.append(
            Change(
                action,
                side,
                path,
                "type",
                True,
                f"{fa.type} -> {fb.type}",
                before=fa.type,
                after=fb.type,
            )
        )
    if fa.required != fb.required:
        became = "required" if fb.required else "optional"
        breaking = fb.required != reads  # sent: became required; read: became optional
        out.append(
            Change(
                action,
                side,
                path,
                "required",
                breaking,
                f"became {became} in {b}",
                before=fa.required,
                after=fb.required,
            )
        )
    ea, eb = fa.schema.get("enum"), fb.schema.get("enum")
    if ea != eb and (isinstance(ea, list) or isinstance(eb, list)):
        gone = [v for v in ea or () if v not in (eb or ())] if eb is not None else []
        new = [v for v in eb or () if v not in (ea or ())] if ea is not None else []
        narrowed = bool(gone) or (ea is None and eb is not None)
        widened = bool(new) or (eb is None and ea is not None)
        if narrowed or widened:
            detail = f"values {ea} -> {eb}"
            out.append(
                Change(
                    action,
                    side,
                    path,
                    "enum",
                    widened if reads else narrowed,
                    detail,
                    before=ea,
                    after=eb,
                )
            )
    ra = {k: fa.schema[k] for k in RANGE_KEYWORDS if k in fa.schema}
    rb = {k: fb.schema[k] for k in RANGE_KEYWORDS if k in fb.schema}
    if ra != rb:
        narrowed, widened = _compare_ranges(ra, rb)
        what = (
            "narrower"
            if narrowed and not widened
            else "wider"
            if widened and not narrowed
            else "different"
        )
        out.append(
            Change(
                action,
                side,
                path,
                "range",
                widened if reads else narrowed,
                f"{what}: {_show(ra)} -> {_show(rb)}",
                before=ra,
                after=rb,
            )
        )
    return out


def _show(r: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in r.items()) or "no limit"


def _bound(r: dict[str, Any], keys: tuple[tuple[str, bool], ...], low: bool) -> tuple[float, bool]:
    """(value, exclusive) of the tighter of two bound keywords; +-inf when neither is there."""
    found = [(float(r[k]), excl) for k, excl in keys if isinstance(r.get(k), int | float)]
    if not found:
        return (-math.inf if low else math.inf, False)
    if low:
        return max(found, key=lambda t: (t[0], t[1]))
    return min(found, key=lambda t: (t[0], not t[1]))


def _tighter(x: tuple[float, bool], y: tuple[float, bool], low: bool) -> bool:
    """True when bound `y` admits less than bound `x` on its side."""
    if x[0] != y[0]:
        return y[0] > x[0] if low else y[0] < x[0]
    return y[1] and not x[1]


def _compare_ranges(ra: dict[str, Any], rb: dict[str, Any]) -> tuple[bool, bool]:
    """(narrowed, widened) from range keywords `ra` to `rb`."""
    narrowed = widened = False
    for keys, low in ((_LOWER, True), (_UPPER, False)):
        x, y = _bound(ra, keys, low), _bound(rb, keys, low)
        narrowed |= _tighter(x, y, low)
        widened |= _tighter(y, x, low)
    for lo, hi in _COUNTS:
        for key, low in ((lo, True), (hi, False)):
            x = (float(ra.get(key, -math.inf if low else math.inf)), False)
            y = (float(rb.get(key, -math.inf if low else math.inf)), False)
            narrowed |= _tighter(x, y, low)
            widened |= _tighter(y, x, low)
    sa, sb = ra.get("multipleOf"), rb.get("multipleOf")
    if sa != sb:
        if sb is not None and (sa is None or sb % sa != 0):
            narrowed = True
        if sa is not None and (sb is None or sa % sb != 0):
            widened = True
    if ra.get("pattern") != rb.get("pattern"):
        narrowed = widened = True  # two regular expressions cannot be compared: either way
    return narrowed, widened
