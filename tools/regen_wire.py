"""The generated wire module of an API version: generated/rtc_startrecord_models/<module>/wire.py.

    render_wire(models_source, version=..., header=...) -> the module's source text

Called by tools/regen.py's `render()`. The module holds, per model class, straight-line
functions that rtc_startrecord/wire.py looks up once per class:

- `TO_WIRE[cls]`: the model's wire dict, exactly what the cattrs converter writes: the members
  without a default first, then each member not left at None, in attribute order; IntEnums as
  `int(x)`, StrEnums as `x.value`, lists copied. A class with an `Any` member has none (the
  runtime's cattrs converter writes it).
- `FROM_WIRE[cls]` (requests: unknown keys rejected) and `FROM_WIRE_TOLERANT[cls]` (responses:
  unknown keys and unknown enum values kept): a fast path that accepts only what the cattrs
  converter accepts and builds the same model. On anything else it raises; the runtime then
  runs the converter, which builds the model or reports every problem, so the errors are the
  converter's and the fast path only has to be strict.

The models are read by importing `models_source` from a temporary directory (attrs fields and
resolved type hints, what cattrs sees), never from the installed package. Output depends only
on the inputs: class order is the source's.

(A schema check compiled from the JSON Schema into Python was tried too, as a quick "valid?"
pass before jsonschema-rs: it took about twice as long as jsonschema-rs on the maximal body, so
the schema pass stays jsonschema-rs.)
"""

from __future__ import annotations

import enum
import importlib
import re
import sys
import tempfile
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

TEMPLATES = Path(__file__).resolve().parent / "templates"

# -- reading the models --------------------------------------------------------------------


@attrs.frozen
class Kind:
    """What a member holds: prim (str/int/float/bool), ienum, senum, model, list, any."""

    tag: str
    name: str = ""  # the Python type's name (prim, enum, model)
    item: Kind | None = None  # a list's items


@attrs.frozen
class Member:
    name: str
    wire: str
    required: bool
    kind: Kind


def _kind(t: Any) -> Kind:
    if t is Any:
        return Kind("any")
    if t in (str, int, float, bool):
        return Kind("prim", t.__name__)
    if isinstance(t, type) and issubclass(t, enum.IntEnum):
        return Kind("ienum", t.__name__)
    if isinstance(t, type) and issubclass(t, enum.StrEnum):
        return Kind("senum", t.__name__)
    if isinstance(t, type) and attrs.has(t):
        return Kind("model", t.__name__)
    if typing.get_origin(t) is list:
        (item,) = typing.get_args(t)
        return Kind("list", item=_kind(item))
    raise SystemExit(f"regen: the wire generator does not know the member type {t!r}")


def _optional(t: Any) -> tuple[Any, bool]:
    args = typing.get_args(t)
    if type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise SystemExit(f"regen: the wire generator does not know the union {t!r}")
        return rest[0], True
    return t, False


def read_models(models_source: str) -> dict[str, list[Member]]:
    """The attrs classes of a version's models.py, in source order, with their members."""
    order = re.findall(r"^class (\w+)\(Model\):", models_source, flags=re.M)
    package = "_regen_wire_models"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / package
        (root / "m").mkdir(parents=True)
        (root / "__init__.py").write_text("", encoding="utf-8")
        (root / "_model.py").write_text(
            (TEMPLATES / "model.py").read_text(encoding="utf-8"), encoding="utf-8"
        )
        (root / "m" / "__init__.py").write_text("", encoding="utf-8")
        (root / "m" / "models.py").write_text(models_source, encoding="utf-8")
        sys.path.insert(0, tmp)
        try:
            module = importlib.import_module(f"{package}.m.models")
            out: dict[str, list[Member]] = {}
            for name in order:
                cls = getattr(module, name)
                hints = typing.get_type_hints(cls)
                members = []
                for a in attrs.fields(cls):
                    t, optional = _optional(hints[a.name])
                    required = a.default is attrs.NOTHING
                    if not required and a.default is not None:
                        raise SystemExit(f"regen: {name}.{a.name}: a default other than None")
                    if required == optional:
                        raise SystemExit(f"regen: {name}.{a.name}: optional iff it has a default")
                    members.append(
                        Member(a.name, a.metadata.get("wire", a.name), required, _kind(t))
                    )
                out[name] = members
            return out
        finally:
            sys.path.remove(tmp)
            for key in [k for k in sys.modules if k == package or k.startswith(package + ".")]:
                del sys.modules[key]


# -- to_wire -------------------------------------------------------------------------------


def has_any(kind: Kind) -> bool:
    """Whether a member holds `Any` anywhere (no generated writer then)."""
    return kind.tag == "any" or (kind.item is not None and has_any(kind.item))


def _out_expr(kind: Kind, x: str) -> str:
    """The wire form of value `x` of `kind`, as the cattrs converter unstructures it."""
    if kind.tag == "prim":
        return x
    if kind.tag == "ienum":
        return f"int({x})"
    if kind.tag == "senum":
        return f"{x}.value"
    if kind.tag == "model":
        return f"_w_{kind.name}({x})"
    assert kind.tag == "list" and kind.item is not None
    if kind.item.tag == "prim":
        return f"list({x})"
    return f"[{_out_expr(kind.item, 'i')} for i in {x}]"


def _to_wire(cls: str, members: list[Member]) -> list[str]:
    lines = [f"def _w_{cls}(o: _m.{cls}) -> dict[str, Any]:"]
    first = [m for m in members if m.required]
    rest = [m for m in members if not m.required]
    if first:
        lines.append("    d: dict[str, Any] = {")
        lines += [f'        "{m.wire}": {_out_expr(m.kind, "o." + m.name)},' for m in first]
        lines.append("    }")
    else:
        lines.append("    d: dict[str, Any] = {}")
    for n, m in enumerate(rest):
        lines += [
            f"    v{n} = o.{m.name}",
            f"    if v{n} is not None:",
            f'        d["{m.wire}"] = {_out_expr(m.kind, f"v{n}")}',
        ]
    lines.append("    return d")
    return lines


# -- from_wire (the fast path) -------------------------------------------------------------


def _in_lines(kind: Kind, x: str, tolerant: bool, indent: str) -> list[str]:
    """Statements that check `x` (a wire value) and rebind it to its model form, raising
    `_Invalid` on anything the converter's hooks would not return unchanged or convert."""
    i = indent
    prefix = "_t" if tolerant else "_s"
    if kind.tag == "any":
        return []
    if kind.tag == "prim":
        if kind.name == "float":
            test = f"type({x}) is not float and type({x}) is not int"
        else:
            test = f"type({x}) is not {kind.name}"
        return [f"{i}if {test}:", f"{i}    raise _Invalid"]
    if kind.tag in ("ienum", "senum"):
        base = "int" if kind.tag == "ienum" else "str"
        lookup = f"_E_{kind.name}.get({x}, {x})" if tolerant else f"_E_{kind.name}[{x}]"
        return [f"{i}if type({x}) is not {base}:", f"{i}    raise _Invalid", f"{i}{x} = {lookup}"]
    if kind.tag == "model":
        return [f"{i}{x} = {prefix}_{kind.name}({x})"]
    assert kind.tag == "list" and kind.item is not None
    lines = [f"{i}if type({x}) is not list:", f"{i}    raise _Invalid"]
    item = kind.item
    if item.tag == "model":
        return [*lines, f"{i}{x} = [{prefix}_{item.name}(e) for e in {x}]"]
    if item.tag == "any":
        return [*lines, f"{i}{x} = list({x})"]
    body = _in_lines(item, "e", tolerant, i + "    ")
    if item.tag == "prim":
        return [*lines, f"{i}for e in {x}:", *body, f"{i}{x} = list({x})"]
    return [
        *lines,
        f"{i}b{x}: list[Any] = []",
        f"{i}for e in {x}:",
        *body,
        f"{i}    b{x}.append(e)",
        f"{i}{x} = b{x}",
    ]


def _from_wire(cls: str, members: list[Member], tolerant: bool) -> list[str]:
    prefix = "_t" if tolerant else "_s"
    lines = [f"def {prefix}_{cls}(o: Any) -> _m.{cls}:"]
    if tolerant:
        lines += ["    if type(o) is not dict:", "        raise _Invalid"]
    else:
        lines += [
            f"    if type(o) is not dict or not o.keys() <= _K_{cls}:",
            "        raise _Invalid",
        ]
    for n, m in enumerate(members):
        x = f"a{n}"
        if m.required:
            lines.append(f'    {x} = o["{m.wire}"]')
            lines += _in_lines(m.kind, x, tolerant, "    ")
        else:
            lines.append(f'    {x} = o.get("{m.wire}")')
            body = _in_lines(m.kind, x, tolerant, "        ")
            if body:
                lines += [f"    if {x} is not None:", *body]
    args = ", ".join(f"{m.name}=a{n}" for n, m in enumerate(members))
    lines.append(f"    return _m.{cls}({args})")
    return lines


# -- the module ----------------------------------------------------------------------------


def _enums(models: dict[str, list[Member]]) -> Iterator[str]:
    seen: set[str] = set()
    for members in models.values():
        for m in members:
            k = m.kind.item if m.kind.tag == "list" else m.kind
            if k is not None and k.tag in ("ienum", "senum") and k.name not in seen:
                seen.add(k.name)
    yield from sorted(seen)


def render_wire(models_source: str, *, version: str, header: str) -> str:
    """The source of a version's generated wire.py (see the module docstring)."""
    models = read_models(models_source)
    lines = [
        header.rstrip("\n"),
        f'"""Wire functions of API version {version}, generated from its models.',
        "",
        "rtc_startrecord.wire and rtc_startrecord.validation look them up; see tools/regen_wire.py",
        'for what each table promises. Nothing here is public."""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Callable",
        "from typing import Any",
        "",
        "from . import models as _m",
        "",
        "",
        "class _Invalid(Exception):",
        '    """The fast path does not accept the value: the converter decides."""',
        "",
        "",
    ]
    for e in _enums(models):
        lines.append(f"_E_{e}: dict[Any, Any] = {{e.value: e for e in _m.{e}}}")
    for cls, members in models.items():
        keys = sorted(m.wire for m in members)
        lines.append(f"_K_{cls} = frozenset({keys!r})")
    body: list[str] = []
    for cls, members in models.items():
        if not any(has_any(m.kind) for m in members):
            body += ["", "", *_to_wire(cls, members)]
    for tolerant in (False, True):
        for cls, members in models.items():
            body += ["", "", *_from_wire(cls, members, tolerant)]
    lines += body
    writable = [c for c, ms in models.items() if not any(has_any(m.kind) for m in ms)]
    lines += [
        "",
        "",
        "TO_WIRE: dict[type, Callable[[Any], dict[str, Any]]] = {",
        *(f"    _m.{c}: _w_{c}," for c in writable),
        "}",
        "FROM_WIRE: dict[type, Callable[[Any], Any]] = {",
        *(f"    _m.{c}: _s_{c}," for c in models),
        "}",
        "FROM_WIRE_TOLERANT: dict[type, Callable[[Any], Any]] = {",
        *(f"    _m.{c}: _t_{c}," for c in models),
        "}",
        "",
    ]
    return "\n".join(lines)
