"""What a migration says about the fields it did not copy unchanged (`Note`), and the context a
documented mapping works in (`Context`)."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from ..redaction import Redactor
from .fields import Field, fields

__all__ = ["Context", "Note", "NoteKind"]

NoteKind = Literal["renamed", "converted", "dropped", "not_carried", "added", "default"]


@attrs.frozen
class Note:
    """One field that was renamed, converted, dropped or not carried (or one value added).

    `source` is the JSON path in the source body (`$` for the body as a whole), `target` the
    path in the migrated body, None when nothing took its place; `message` is a sentence with
    every bucket credential of the body redacted.
    """

    source: str
    target: str | None
    kind: NoteKind
    message: str

    def __str__(self) -> str:
        where = (
            self.source if self.target in (None, self.source) else f"{self.source} -> {self.target}"
        )
        return f"{where}: {self.kind}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "kind": self.kind,
            "message": self.message,
        }


@attrs.define
class Context:
    """One migration under way: the versions, their field maps and the notes so far."""

    action: str
    source: str
    target: str
    redactor: Redactor
    notes: list[Note] = attrs.field(factory=list)

    @property
    def source_fields(self) -> dict[str, Field]:
        return fields(self.source, self.action)

    @property
    def target_fields(self) -> dict[str, Field]:
        return fields(self.target, self.action)

    def note(self, source: str, target: str | None, kind: NoteKind, message: str) -> None:
        self.notes.append(Note(source, target, kind, self.redactor.text(message)))

    def drop(self, path: str, why: str | None = None) -> None:
        """Note a member that the target version has no place for."""
        self.note(path, None, "dropped", why or f"{self.target} has no such field; dropped")

    def drop_rest(self, value: Any, path: str, keep: set[str], why: str) -> None:
        """Note every member of the object `value` (at `path`) other than `keep` as dropped."""
        if isinstance(value, dict):
            for key in value:
                if key not in keep:
                    self.drop(f"{path}.{key}", why)
