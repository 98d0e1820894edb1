"""The wire format: attrs models <-> the API's PascalCase JSON dicts.

The work is done by functions generated with the models (tools/regen_wire.py writes each
version's `rtc_startrecord_models.<module>.wire`), looked up once per class: `to_wire` runs the
class's writer; `from_wire` runs its fast reader, which accepts only well-typed input.

Two cattrs converters stay, built on first need, as the reference the generated code follows
and for everything it leaves out: requests reject unknown keys, responses tolerate them
(servers add fields) and keep enum values they do not know (a Status 7 from a newer server
stays the int 7). Both are strict about JSON types: cattrs' default would turn 5 into "5" or
True into 1, hiding a caller's mistake. They read whatever the fast reader declines (and report
its problems, so errors are exactly theirs) and write the classes without a generated writer (a
user's subclass, a model with an `Any` member, anything that is not a model).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs
import orjson

from .errors import Problem, WireFormatError, json_type
from .spec import generated_module, response_only_models, secret_keys, version_of_model

if TYPE_CHECKING:
    import cattrs

T = TypeVar("T")

__all__ = ["dumps", "from_wire", "to_wire", "wire_name"]


def wire_name(a: attrs.Attribute[Any]) -> str:
    """The JSON key of an attribute (the template stores it in the field's metadata)."""
    return cast(str, a.metadata.get("wire", a.name))


def _type_name(value: object) -> str:
    """The JSON type of `value`, telling integers from other numbers (the schema does)."""
    return "integer" if type(value) is int else json_type(value)


class _WireTypeError(TypeError):
    """A JSON value of the wrong type; carries the schema keyword for the Problem."""

    def __init__(self, message: str, rule: str = "schema.type") -> None:
        self.rule = rule
        super().__init__(message)


def _strict_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise _WireTypeError(f"expected a string, got {_type_name(value)} {value!r}")
    return value


def _strict_int(value: object, _: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _WireTypeError(f"expected an integer, got {_type_name(value)} {value!r}")
    return value


def _strict_float(value: object, _: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _WireTypeError(f"expected a number, got {_type_name(value)} {value!r}")
    return value  # an int stays an int, so 1 goes back out as 1


def _strict_bool(value: object, _: object) -> bool:
    if not isinstance(value, bool):
        raise _WireTypeError(f"expected a boolean, got {_type_name(value)} {value!r}")
    return value


def _is_int_enum(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, enum.IntEnum)


def _is_str_enum(t: Any) -> bool:
    """A string enum of the spec (FileFormat "MP4"...), generated as a plain Enum of strings."""
    return isinstance(t, type) and issubclass(t, enum.Enum) and not issubclass(t, enum.IntEnum)


def _str_enum_hook(tolerant: bool) -> Callable[[object, Any], Any]:
    def hook(value: object, t: Any) -> Any:
        if not isinstance(value, str):
            raise _WireTypeError(f"expected a string, got {_type_name(value)} {value!r}")
        try:
            return t(value)
        except ValueError:
            if tolerant:
                return value  # a newer server's value: keep the string
            allowed = ", ".join(repr(m.value) for m in t)
            raise _WireTypeError(
                f"{value!r} is not one of {allowed} ({t.__name__})", "schema.enum"
            ) from None

    return hook


def _enum_hook(tolerant: bool) -> Callable[[object, Any], Any]:
    def hook(value: object, t: Any) -> Any:
        number = _strict_int(value, int)
        try:
            return t(number)
        except ValueError:
            if tolerant:
                return number  # a newer server's value: keep it, never crash
            allowed = ", ".join(str(m.value) for m in t)
            raise _WireTypeError(
                f"{number} is not one of {allowed} ({t.__name__})", "schema.enum"
            ) from None

    return hook


def _strict_list(conv: cattrs.Converter) -> Callable[[Any], Callable[[object, Any], Any]]:
    from cattrs.errors import IterableValidationError

    def factory(t: Any) -> Callable[[object, Any], Any]:
        inner = conv.get_structure_hook(t.__args__[0]) if getattr(t, "__args__", None) else None
        item_type = t.__args__[0] if getattr(t, "__args__", None) else Any

        def hook(value: object, _: Any) -> list[Any]:
            if not isinstance(value, list):
                raise _WireTypeError(f"expected an array, got {_type_name(value)}")
            if inner is None:
                return list(value)
            errors: list[Exception] = []
            out = []
            for i, item in enumerate(value):
                try:
                    out.append(inner(item, item_type))
                except Exception as exc:  # collected, re-raised as a group below
                    exc.__notes__ = [*getattr(exc, "__notes__", []), f"index {i}"]
                    errors.append(_Indexed(i, exc))
            if errors:
                raise IterableValidationError("list items", errors, t)
            return out

        return hook

    return factory


class _Indexed(Exception):
    """Wraps an item's error with its index, so paths can say `[3]`."""

    def __init__(self, index: int, exc: Exception) -> None:
        self.index = index
        self.exc = exc
        super().__init__(str(exc))


def _is_list(t: Any) -> bool:
    return getattr(t, "__origin__", None) is list or t is list


def _make_converter(*, forbid_extra: bool) -> cattrs.Converter:
    import cattrs
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

    conv = cattrs.Converter(detailed_validation=True)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(bool, _strict_bool)
    # Class-keyed hooks dispatch on the MRO, so IntEnum (more specific than int) gets its own.
    conv.register_structure_hook(enum.IntEnum, _enum_hook(tolerant=not forbid_extra))
    # StrEnum is a str: it needs a class-keyed hook too, or the str hook wins and an unknown
    # value passes as a plain string.
    conv.register_structure_hook(enum.StrEnum, _str_enum_hook(tolerant=not forbid_extra))
    conv.register_structure_hook_func(_is_str_enum, _str_enum_hook(tolerant=not forbid_extra))
    conv.register_structure_hook_func(lambda x: x is Any, lambda v, _: v)
    conv.register_structure_hook_factory(_is_list, _strict_list(conv))

    def structure_factory(cls: type[Any]) -> Callable[[Any, Any], Any]:
        renames: dict[str, Any] = {a.name: override(rename=wire_name(a)) for a in attrs.fields(cls)}
        fn = make_dict_structure_fn(
            cls,
            conv,
            _cattrs_forbid_extra_keys=forbid_extra,
            _cattrs_detailed_validation=True,
            **renames,
        )

        def hook(value: object, t: Any) -> Any:
            if not isinstance(value, Mapping):
                raise _WireTypeError(f"expected an object, got {_type_name(value)}")
            return fn(value, t)

        return hook

    def unstructure_factory(cls: type[Any]) -> Callable[[Any], Any]:
        renames: dict[str, Any] = {a.name: override(rename=wire_name(a)) for a in attrs.fields(cls)}
        return make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **renames)

    conv.register_unstructure_hook_func(_is_int_enum, int)
    conv.register_unstructure_hook(enum.StrEnum, lambda e: e.value)
    conv.register_unstructure_hook_func(_is_str_enum, lambda e: e.value)
    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return conv


@cache
def converter(*, tolerant: bool) -> cattrs.Converter:
    """The cattrs converter of requests (strict) or responses (tolerant), built on first use."""
    return _make_converter(forbid_extra=not tolerant)


def _is_response(cls: type[Any]) -> bool:
    version = version_of_model(cls)
    return version is not None and cls.__name__ in response_only_models(version)


def _generated(cls: Any) -> Any:
    """The generated wire module of `cls`'s API version, or None (cattrs does it all)."""
    return generated_module(cls, "wire")


_Reader = tuple[Callable[[Any], Any] | None, bool]
_READERS: dict[Any, _Reader] = {}
_WRITERS: dict[type, Callable[[Any], dict[str, Any]]] = {}


def _reader(cls: Any) -> _Reader:
    """(the generated fast reader of `cls` or None, whether `cls` is read tolerantly)."""
    tolerant = isinstance(cls, type) and _is_response(cls)
    module = _generated(cls)
    fast = None
    if module is not None:
        fast = (module.FROM_WIRE_TOLERANT if tolerant else module.FROM_WIRE).get(cls)
    entry = (fast, tolerant)
    with contextlib.suppress(TypeError):  # not hashable: looked up again next time
        _READERS[cls] = entry
    return entry


def from_wire(cls: type[T], data: object) -> T:
    """Structure a wire dict into `cls`; raise WireFormatError naming every bad path.

    Request models reject unknown keys; response models tolerate them.
    """
    try:
        fast, tolerant = _READERS[cls]
    except (KeyError, TypeError):  # not seen yet (or not hashable: no cache)
        fast, tolerant = _reader(cls)
    if fast is not None:
        try:
            return cast(T, fast(data))
        except Exception:  # declined (its own error, a missing key, a hostile value's error)
            pass  # the converter decides: it builds the model or reports every problem
    try:
        return converter(tolerant=tolerant).structure(data, cls)
    except Exception as exc:
        problems = list(_problems(exc, "$", cls))
        if not problems:  # pragma: no cover - a cattrs error shape we did not foresee
            problems = [Problem(path="$", rule="schema.type", message=str(exc))]
        raise WireFormatError(_redacted(problems, cls, data)) from None


def _redacted(problems: list[Problem], cls: type[Any], data: object) -> list[Problem]:
    """Messages never quote a secret member's value (writeOnly in the spec), at its own path
    or echoed inside a parent."""
    from .redaction import redact_problems  # the error path only: keep imports light

    version = version_of_model(cls)
    secrets = secret_keys(version) if version is not None else frozenset()
    if not secrets:
        return problems
    out = []
    for p in problems:
        if p.rule != "schema.required" and any(f".{key}" in p.path for key in secrets):
            p = Problem(path=p.path, rule=p.rule, message="<redacted value> breaks the schema")
        out.append(p)
    return redact_problems(out, data, version) if version is not None else out


def _writer(cls: type) -> Callable[[Any], dict[str, Any]]:
    module = _generated(cls)
    fn = module.TO_WIRE.get(cls) if module is not None else None
    if fn is None:
        unstructure = converter(tolerant=False).unstructure

        def fn(obj: Any) -> dict[str, Any]:
            return cast(dict[str, Any], unstructure(obj))

    _WRITERS[cls] = fn
    return fn


def to_wire(obj: object) -> dict[str, Any]:
    """Unstructure a model into its wire dict, leaving out unset (None) fields."""
    fn = _WRITERS.get(type(obj))
    if fn is None:
        fn = _writer(type(obj))
    return fn(obj)


def dumps(wire: Mapping[str, Any]) -> bytes:
    """The exact bytes sent: compact UTF-8 JSON.

    orjson is about ten times faster than the standard library here (benchmarks/). It writes
    NaN and infinities as null, so callers send only validated bodies: every number of the spec
    is bounded (NaN fails any bound), and the unbounded vector components are checked by R20.
    """
    try:
        return orjson.dumps(wire)
    except TypeError as exc:  # not JSON data: a non-string key, an int beyond 64 bits, an object
        raise ValueError(f"not JSON data: {exc}") from None


def _attr_by_name(cls: Any, name: str) -> attrs.Attribute[Any] | None:
    if attrs.has(cls):
        for a in attrs.fields(cls):
            if a.name == name:
                return cast("attrs.Attribute[Any]", a)
    return None


def _problems(exc: BaseException, path: str, cls: Any) -> list[Problem]:
    """Flatten a cattrs error tree into Problems with wire-name JSON paths."""
    from cattrs.errors import (
        ClassValidationError,
        ForbiddenExtraKeysError,
        IterableValidationError,
    )

    out: list[Problem] = []
    if isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(exc.extra_fields):
            out.append(
                Problem(
                    path=f"{path}.{key}",
                    rule="schema.additionalProperties",
                    message=f"unknown key {key!r}",
                )
            )
        return out
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            a = _attr_by_name(exc.cl, note.name)
            key = wire_name(a) if a is not None else note.name
            sub_path = f"{path}.{key}"
            if isinstance(sub, KeyError):
                out.append(
                    Problem(
                        path=sub_path,
                        rule="schema.required",
                        message=f"required key {key!r} is missing",
                    )
                )
            else:
                out.extend(_problems(sub, sub_path, note.type))
        for sub in without:
            out.extend(_problems(sub, path, exc.cl))
        return out
    if isinstance(exc, IterableValidationError):
        for sub in exc.exceptions:
            if isinstance(sub, _Indexed):
                out.extend(_problems(sub.exc, f"{path}[{sub.index}]", None))
            else:
                out.extend(_problems(sub, path, None))
        return out
    if isinstance(exc, BaseExceptionGroup):
        for member in exc.exceptions:
            out.extend(_problems(member, path, cls))
        return out
    rule = exc.rule if isinstance(exc, _WireTypeError) else "schema.type"
    out.append(Problem(path=path, rule=rule, message=str(exc)))
    return out
