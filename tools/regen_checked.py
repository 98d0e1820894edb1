"""The checked writers of an API version: generated/rtc_startrecord_models/<module>/checked.py.

    render_checked(models_source, schemas, version=..., header=...) -> the module's source text

Called by tools/regen.py's `render()`. A typed request is written to its wire dict anyway
before it is sent; a checked writer does that and, in the same pass, proves the dict valid
against the version's JSON Schema, so the client can skip the schema pass for it and run only
the documented rules.

`CHECKED[cls](model)` returns exactly what `TO_WIRE[cls]` (tools/regen_wire.py) returns, or
raises `Unchecked`. It returns only when every member holds a value the schema accepts:

- the exact model class (a nested model too), so the member set and the required members are
  the schema's (checked here at regeneration time against the schema's `required`);
- integers as `int` (never bool) within minimum/maximum (exclusive too), else the range of
  their format (int32, int64), and multipleOf; numbers as `int` or `float` within their bounds,
  else finite (NaN fails every comparison); booleans as `bool`;
- strings as `str` within minLength/maxLength (code points, as JSON Schema counts) and matching
  their pattern (`re.fullmatch` of the pattern between `^` and `$`; only patterns made of
  ASCII character classes are accepted, for which Python's and ECMA 262's meanings agree);
- enums as the version's own enum member, or as a plain value the schema's enum lists;
- arrays as a list or tuple within minItems/maxItems, each item checked.

Anything else raises `Unchecked`, and the caller takes the ordinary path: `to_wire` and the full
validation, which names every problem. So a checked writer may decline what is valid, never
accept what is not: tests/test_checked_writers.py asserts that over generated models holding
boundary and wrong values, against jsonschema-rs.
"""

from __future__ import annotations

import re
from typing import Any

from regen_wire import Kind, Member, has_any, read_models

_FORMAT_RANGE = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_INT_RANGE = (-(2**63), 2**63 - 1)  # what orjson writes and jsonschema-rs reads as an integer
_FLOAT_MAX = "1.7976931348623157e308"
_BOUND_KEYS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
# `^...$` made of literal characters and ASCII character classes with a repeat: no `.`, `\d`,
# `\w` or alternation, whose meanings differ between Python and ECMA 262.
_SAFE_PATTERN = re.compile(r"\^(?:#|\[[A-Za-z0-9_@.\\\-]+\](?:\{\d+\}|\+)?)+\$")


class _Schemas:
    def __init__(self, schemas: dict[str, Any]) -> None:
        self.schemas = schemas

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self.schemas[node["$ref"].rsplit("/", 1)[1]]
        return node


class _Writer:
    """The lines of one module: constants (sets and patterns) and functions."""

    def __init__(self, schemas: dict[str, Any]) -> None:
        self.s = _Schemas(schemas)
        self.constants: list[str] = []
        self.patterns: dict[str, str] = {}
        self.enum_sets: dict[tuple[Any, ...], str] = {}
        self.defined: set[str] = set()

    def pattern(self, pattern: str, where: str) -> str:
        if not _SAFE_PATTERN.fullmatch(pattern):
            raise SystemExit(
                f"regen: {where}: pattern {pattern!r} is not one tools/regen_checked.py can "
                "prove in Python; teach it the pattern (or write it with ASCII classes)"
            )
        if pattern not in self.patterns:
            name = f"_P{len(self.patterns)}"
            self.patterns[pattern] = name
            self.constants.append(f"{name} = re.compile({pattern[1:-1]!r}).fullmatch")
        return self.patterns[pattern]

    def enum_set(self, values: list[Any]) -> str:
        key = tuple(values)
        if key not in self.enum_sets:
            name = f"_V{len(self.enum_sets)}"
            self.enum_sets[key] = name
            self.constants.append(f"{name} = frozenset({sorted(values)!r})")
        return self.enum_sets[key]

    def enum_map(self, name: str, values: list[Any]) -> str:
        """A dict from each value the schema lists to itself (plain int or str keys)."""
        const = f"_W_{name}"
        if const not in self.defined:
            self.defined.add(const)
            self.constants.append(f"{const}: dict[Any, Any] = {{v: v for v in {values!r}}}")
        return const

    def alias(self, name: str) -> str:
        """A module global for a model or enum class (one lookup instead of two per use)."""
        const = f"_T_{name}"
        if const not in self.defined:
            self.defined.add(const)
            self.constants.append(f"{const} = _m.{name}")
        return const

    # -- one value -------------------------------------------------------------------------

    def value(self, kind: Kind, node: dict[str, Any], x: str, where: str, i: str) -> list[str]:
        """Statements that raise Unchecked unless `x` is valid for `node`, then bind `x` to
        its wire form (in place)."""
        schema = self.s.resolve(node)
        tag = kind.tag
        if tag == "model":
            return [f"{i}{x} = _c_{kind.name}({x})"]
        if tag in ("ienum", "senum"):
            return self.enum(kind, schema, x, where, i)
        if tag == "list":
            return self.array(kind, schema, x, where, i)
        if tag != "prim":
            raise SystemExit(f"regen: {where}: no checked writer for a member of kind {tag}")
        tests = self.prim_tests(kind.name, schema, x, where)
        return [f"{i}if not ({' and '.join(tests)}):", f"{i}    raise Unchecked"]

    def prim_tests(self, py: str, schema: dict[str, Any], x: str, where: str) -> list[str]:
        json_type = schema.get("type")
        want = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}[py]
        if json_type != want:
            raise SystemExit(f"regen: {where}: a {py} member with schema type {json_type!r}")
        if "enum" in schema:
            return [f"type({x}) is {py}", f"{x} in {self.enum_set(schema['enum'])}"]
        if py == "bool":
            return [f"type({x}) is bool"]
        if py == "str":
            tests = [f"type({x}) is str"]
            lo, hi = schema.get("minLength"), schema.get("maxLength")
            if lo is not None or hi is not None:
                lo_t = f"{lo} <= " if lo is not None else ""
                hi_t = f" <= {hi}" if hi is not None else ""
                tests.append(f"{lo_t}len({x}){hi_t}")
            if "pattern" in schema:
                tests.append(f"{self.pattern(schema['pattern'], where)}({x}) is not None")
            return tests
        if py == "int":
            fmt_lo, fmt_hi = _FORMAT_RANGE.get(schema.get("format", ""), _INT_RANGE)
            tests = [f"type({x}) is int", self.bounds(schema, x, str(fmt_lo), str(fmt_hi))]
            if "multipleOf" in schema:
                step = schema["multipleOf"]
                if type(step) is not int:
                    raise SystemExit(f"regen: {where}: multipleOf {step!r} on an integer")
                tests.append(f"{x} % {step} == 0")
            return tests
        if "multipleOf" in schema:
            raise SystemExit(f"regen: {where}: multipleOf on a number is not checked here")
        # A float is finite when bounded (NaN fails every comparison); an int within 64 bits.
        number = f"(type({x}) is float or type({x}) is int)"
        if not self.bounded(schema):
            number = (
                f"(type({x}) is float or type({x}) is int and "
                f"{_INT_RANGE[0]} <= {x} <= {_INT_RANGE[1]})"
            )
        # Bounds as float literals: CPython compares a float with a float literal several
        # times faster than with an int one (and exactly either way).
        floats = {k: float(v) for k, v in schema.items() if k in _BOUND_KEYS}
        return [number, self.bounds(schema | floats, x, f"-{_FLOAT_MAX}", _FLOAT_MAX)]

    @staticmethod
    def bounded(schema: dict[str, Any]) -> bool:
        return ("minimum" in schema or "exclusiveMinimum" in schema) and (
            "maximum" in schema or "exclusiveMaximum" in schema
        )

    @staticmethod
    def bounds(schema: dict[str, Any], x: str, lo: str, hi: str) -> str:
        """One chained comparison: `lo <= x < hi`, from the schema's bounds or the defaults."""
        low, high = f"{lo} <= ", f" <= {hi}"
        if "minimum" in schema:
            low = f"{schema['minimum']!r} <= "
        if "exclusiveMinimum" in schema:
            low = f"{schema['exclusiveMinimum']!r} < "
            if "minimum" in schema and schema["minimum"] > schema["exclusiveMinimum"]:
                low = f"{schema['minimum']!r} <= "
        if "maximum" in schema:
            high = f" <= {schema['maximum']!r}"
        if "exclusiveMaximum" in schema:
            high = f" < {schema['exclusiveMaximum']!r}"
            if "maximum" in schema and schema["maximum"] < schema["exclusiveMaximum"]:
                high = f" <= {schema['maximum']!r}"
        return f"{low}{x}{high}"

    def enum(self, kind: Kind, schema: dict[str, Any], x: str, where: str, i: str) -> list[str]:
        values = schema.get("enum")
        if not isinstance(values, list):
            raise SystemExit(f"regen: {where}: an enum member whose schema has no enum")
        to_value = self.enum_map(kind.name, values)
        t = self.alias(kind.name)
        if kind.tag == "senum":  # to_wire writes `x.value`: only the enum's own member
            return [
                f"{i}if type({x}) is not {t}:",
                f"{i}    raise Unchecked",
                f"{i}{x} = {to_value}.get({x})",
                f"{i}if {x} is None:",
                f"{i}    raise Unchecked",
            ]
        # to_wire writes `int(x)`: the enum's own member, or a plain int the schema lists. The
        # map's keys are ints, which the members equal and hash as.
        return [
            f"{i}if type({x}) is not {t} and type({x}) is not int:",
            f"{i}    raise Unchecked",
            f"{i}{x} = {to_value}.get({x})",
            f"{i}if {x} is None:",
            f"{i}    raise Unchecked",
        ]

    def array(self, kind: Kind, schema: dict[str, Any], x: str, where: str, i: str) -> list[str]:
        if schema.get("type") != "array" or kind.item is None:
            raise SystemExit(f"regen: {where}: a list member whose schema is not an array")
        lo, hi = schema.get("minItems"), schema.get("maxItems")
        tests = [f"(type({x}) is list or type({x}) is tuple)"]
        if lo is not None or hi is not None:
            lo_t = f"{lo} <= " if lo is not None else ""
            hi_t = f" <= {hi}" if hi is not None else ""
            tests.append(f"{lo_t}len({x}){hi_t}")
        lines = [f"{i}if not ({' and '.join(tests)}):", f"{i}    raise Unchecked"]
        item, item_node = kind.item, schema.get("items", {})
        if item.tag == "model":
            return [*lines, f"{i}{x} = [_c_{item.name}(e) for e in {x}]"]
        if item.tag == "prim":
            checks = self.prim_tests(item.name, self.s.resolve(item_node), "e", where + "[]")
            return [
                *lines,
                f"{i}for e in {x}:",
                f"{i}    if not ({' and '.join(checks)}):",
                f"{i}        raise Unchecked",
                f"{i}{x} = list({x})",
            ]
        body = self.value(item, item_node, "e", where + "[]", i + "    ")
        return [
            *lines,
            f"{i}b{x}: list[Any] = []",
            f"{i}for e in {x}:",
            *body,
            f"{i}    b{x}.append(e)",
            f"{i}{x} = b{x}",
        ]

    # -- one class -------------------------------------------------------------------------

    def cls(self, name: str, members: list[Member]) -> list[str]:
        schema = self.s.resolve(self.s.schemas[name])
        props: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        if required != {m.wire for m in members if m.required}:
            raise SystemExit(f"regen: {name}: the model's required members are not the schema's")
        if set(props) != {m.wire for m in members}:
            raise SystemExit(f"regen: {name}: the model's members are not the schema's properties")
        lines = [
            f"def _c_{name}(o: Any) -> dict[str, Any]:",
            f"    if type(o) is not {self.alias(name)}:",
            "        raise Unchecked",
        ]
        first = [m for m in members if m.required]
        for n, m in enumerate(first):
            x = f"r{n}"
            lines.append(f"    {x}: Any = o.{m.name}")
            lines += self.value(m.kind, props[m.wire], x, f"{name}.{m.wire}", "    ")
        if first:
            lines.append("    d: dict[str, Any] = {")
            lines += [f'        "{m.wire}": r{n},' for n, m in enumerate(first)]
            lines.append("    }")
        else:
            lines.append("    d: dict[str, Any] = {}")
        for n, m in enumerate(m for m in members if not m.required):
            x = f"v{n}"
            lines += [f"    {x}: Any = o.{m.name}", f"    if {x} is not None:"]
            lines += self.value(m.kind, props[m.wire], x, f"{name}.{m.wire}", "        ")
            lines.append(f'        d["{m.wire}"] = {x}')
        lines.append("    return d")
        return lines


def render_checked(
    models_source: str, schemas: dict[str, Any], *, version: str, header: str
) -> str:
    """The source of a version's generated checked.py (see the module docstring)."""
    models = read_models(models_source)
    writer = _Writer(schemas)
    usable = [c for c, ms in models.items() if not any(has_any(m.kind) for m in ms)]
    body: list[str] = []
    for name in usable:
        body += ["", "", *writer.cls(name, models[name])]
    lines = [
        header.rstrip("\n"),
        f'"""Checked writers of API version {version}: to_wire and the schema check in one pass.',
        "",
        "rtc_startrecord.validation looks them up; see tools/regen_checked.py for what they",
        'promise. Nothing here is public."""',
        "",
        "from __future__ import annotations",
        "",
        "import re",
        "from collections.abc import Callable",
        "from typing import Any",
        "",
        "from . import models as _m",
        "",
        "",
        "class Unchecked(Exception):",
        '    """The value is not provably valid here: validate it the ordinary way."""',
        "",
        "",
        *writer.constants,
        *body,
        "",
        "",
        "CHECKED: dict[type, Callable[[Any], dict[str, Any]]] = {",
        *(f"    _m.{c}: _c_{c}," for c in usable),
        "}",
        "",
    ]
    return "\n".join(lines)
