"""The base of every generated model: equality, hashing and repr by value, written once.

attrs would compile an `__eq__`, a `__hash__` and a `__repr__` for each of a version's ~45
classes; sharing one implementation makes importing a version's models markedly faster (see
benchmarks/imports.py), with the same semantics: equal when of the same class with equal
fields, hashable when every field is, and a repr that leaves out the fields marked
`repr=False` (the secrets the spec marks writeOnly).
"""

from __future__ import annotations

from typing import Any


class Model:
    __slots__ = ()
    __attrs_attrs__: Any

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, a.name) == getattr(other, a.name) for a in self.__attrs_attrs__)

    def __hash__(self) -> int:
        return hash((self.__class__, *(getattr(self, a.name) for a in self.__attrs_attrs__)))

    def __repr__(self) -> str:
        shown = (f"{a.name}={getattr(self, a.name)!r}" for a in self.__attrs_attrs__ if a.repr)
        return f"{self.__class__.__qualname__}({', '.join(shown)})"
