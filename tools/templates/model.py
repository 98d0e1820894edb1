"""The base of every generated model: equality and hashing by value, written once.

attrs would compile an `__eq__` and a `__hash__` for each of a version's ~45 classes; sharing
one implementation makes importing a version's models about a third faster (see
benchmarks/imports.py), with the same semantics: equal when of the same class with equal
fields, hashable when every field is.
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
