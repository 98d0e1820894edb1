"""Moving request bodies between API versions, and the change report between versions.

`migrate(body, action=, source=, target=)` rewrites a body for another version (a `Migration`:
the body, a `Note` for each field renamed, converted, dropped or not carried, and the target's
validation problems). `diff_versions(a, b)` lists, per action, what changed between two
versions' specs, each change rated breaking or not for an existing caller.

Field sets come from the bundled specs (`fields`); only the documented mappings are written by
hand (`mappings.MAPPINGS`). docs/migrating.md shows both at work.
"""

from __future__ import annotations

from .fields import Field, fields
from .mappings import MAPPINGS, Mapping
from .migration import Migration, candidate_versions, migrate
from .notes import Note
from .version_diff import Change, diff_versions

__all__ = [
    "MAPPINGS",
    "Change",
    "Field",
    "Mapping",
    "Migration",
    "Note",
    "candidate_versions",
    "diff_versions",
    "fields",
    "migrate",
]
