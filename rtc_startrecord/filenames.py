"""Expansion of ``RecordFileNamePattern`` (fact sheet §4.11, rule R22).

The pattern is a plain string in which these variables are replaced:

============== ===========================================================
``{TaskId}``    the task id
``{RoomId}``    the room id
``{UserId}``    the user whose stream is recorded (empty for a mix)
``{Type}``      ``C`` for a camera stream (StreamType 0), ``S`` for a screen
                stream (StreamType 1)
``{StartTime}`` task start, UTC milliseconds, as an integer
``{Duration}``  file length in whole seconds, zero-padded to 6 characters
``{Random}``    8 random characters
============== ===========================================================

Braces are required; variable names are case-insensitive (``{taskid}``, ``{TASKID}``); anything
else in braces (a misspelt ``{Task_Id}``, an unclosed ``{TaskId``) stays as literal text. The final
name is at most 128 characters: a longer one is cut to 128 and its last character becomes ``~``.
No extension is added (the container format is decided elsewhere; 2020-12-01 output is mp4).

From 2022-06-01 on the pattern sits in ``FileNameConfig.Pattern``, the stored name is the
``Prefix`` folders (TOS and S3-compatible storage only) + the expanded pattern + ``_`` and a random
suffix (R25, the documented example's form), and the extension follows the ``FileFormat``:
:func:`name_parts` and :data:`FILE_EXTENSIONS` say so once, for the simulator and the preview.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Literal

from . import spec

__all__ = [
    "DEFAULT_MIXED_PATTERN_UNCONFIRMED",
    "DEFAULT_SINGLE_STREAM_PATTERN",
    "FILE_EXTENSIONS",
    "MAX_FILE_NAME_LENGTH",
    "PREFIX_STORAGE_TYPES",
    "RANDOM_ALPHABET",
    "RANDOM_LENGTH",
    "TRUNCATION_MARK",
    "expand_file_name",
    "file_name_source",
    "name_parts",
]

#: The extension of each FileFormatConfig.FileFormat (HLS is a playlist of segments).
FILE_EXTENSIONS = {
    "MP4": "mp4",
    "HLS": "m3u8",
    "FLV": "flv",
    "MP3": "mp3",
    "AAC": "aac",
    "M4A": "m4a",
}

#: StorageConfig.Type values whose files get FileNameConfig.Prefix (TOS 0, S3-compatible 2;
#: VOD 1 and veImageX 3 ignore it, R35).
PREFIX_STORAGE_TYPES = frozenset({0, 2})

#: Default pattern in single-stream mode (RecordMode 1); confirmed by doc 106873.
DEFAULT_SINGLE_STREAM_PATTERN = "{TaskId}_{RoomId}_{UserId}_{Type}_{StartTime}_{Duration}_{Random}"

#: Default pattern in mixed mode (RecordMode 0). UNCONFIRMED: no document states it; this is the
#: single-stream default without the per-stream variables ``{UserId}`` and ``{Type}``.
DEFAULT_MIXED_PATTERN_UNCONFIRMED = "{TaskId}_{RoomId}_{StartTime}_{Duration}_{Random}"

MAX_FILE_NAME_LENGTH = 128
TRUNCATION_MARK = "~"
RANDOM_LENGTH = 8
RANDOM_ALPHABET = string.ascii_letters + string.digits

_VARIABLE = re.compile(
    r"\{(TaskId|RoomId|UserId|Type|StartTime|Duration|Random)\}",
    re.IGNORECASE,
)
_STREAM_TYPE_LETTER = {0: "C", 1: "S"}


def _random_token() -> str:
    return "".join(secrets.choice(RANDOM_ALPHABET) for _ in range(RANDOM_LENGTH))


def expand_file_name(
    pattern: str | None,
    *,
    task_id: str,
    room_id: str,
    user_id: str = "",
    stream_type: int = 0,
    start_time_ms: int,
    duration_s: float,
    random: str | None = None,
    mixed: bool | None = None,
) -> str:
    """Return the file name (without extension) that ``pattern`` produces.

    ``pattern`` None or empty means the service default: in single-stream mode
    :data:`DEFAULT_SINGLE_STREAM_PATTERN` (confirmed); in mixed mode
    :data:`DEFAULT_MIXED_PATTERN_UNCONFIRMED` (**unconfirmed**, presumed). ``mixed`` selects between
    them; when it is None the name is taken to be for a mix exactly when ``user_id`` is empty.
    ``mixed`` has no other effect.

    ``stream_type`` is 0 (camera, ``{Type}`` -> ``C``) or 1 (screen, ``S``). ``duration_s`` is
    cut to whole seconds and zero-padded to 6 characters (longer numbers are kept whole). ``random``
    is the value of ``{Random}``, used as given; when None, 8 random letters/digits are drawn with
    :mod:`secrets` (once per call: every ``{Random}`` in the pattern gets the same value).

    Raises ValueError for a ``stream_type`` other than 0/1, or a negative ``start_time_ms`` or
    ``duration_s``.
    """
    if isinstance(stream_type, bool) or stream_type not in _STREAM_TYPE_LETTER:
        raise ValueError(f"stream_type must be 0 (camera) or 1 (screen), not {stream_type!r}")
    if start_time_ms < 0:
        raise ValueError(f"start_time_ms must not be negative, not {start_time_ms!r}")
    if duration_s < 0:
        raise ValueError(f"duration_s must not be negative, not {duration_s!r}")

    if not pattern:
        if mixed is None:
            mixed = user_id == ""
        pattern = DEFAULT_MIXED_PATTERN_UNCONFIRMED if mixed else DEFAULT_SINGLE_STREAM_PATTERN

    values = {
        "taskid": task_id,
        "roomid": room_id,
        "userid": user_id,
        "type": _STREAM_TYPE_LETTER[stream_type],
        "starttime": str(int(start_time_ms)),
        "duration": f"{int(duration_s):06d}",
        "random": _random_token() if random is None else random,
    }
    name = _VARIABLE.sub(lambda m: values[m.group(1).lower()], pattern)
    if len(name) > MAX_FILE_NAME_LENGTH:
        name = name[: MAX_FILE_NAME_LENGTH - 1] + TRUNCATION_MARK
    return name


@cache
def file_name_source(version: str = spec.DEFAULT_VERSION) -> Literal["FileNameConfig", "Pattern"]:
    """Where a StartRecord body of `version` names its files, read from the spec:
    ``"FileNameConfig"`` (``Pattern`` and ``Prefix``) or ``"Pattern"``
    (``RecordFileNamePattern``)."""
    schemas = spec.bundle(version)["components"]["schemas"]
    request = schemas.get(spec.operation("StartRecord", version).request) or {}
    return "FileNameConfig" if "FileNameConfig" in request.get("properties", {}) else "Pattern"


def name_parts(body: Mapping[str, Any], version: str) -> tuple[str, str | None, bool]:
    """(folder prefix, pattern, random suffix?) of a StartRecord wire body of `version`."""
    if file_name_source(version) == "Pattern":
        pattern_raw = body.get("RecordFileNamePattern")
        return "", pattern_raw if isinstance(pattern_raw, str) else None, False
    config = body.get("FileNameConfig")
    if not isinstance(config, Mapping):
        config = {}
    pattern_raw = config.get("Pattern")
    pattern = pattern_raw if isinstance(pattern_raw, str) else None
    storage = body.get("StorageConfig")
    storage_type = storage.get("Type", 0) if isinstance(storage, Mapping) else 0
    prefix_raw = config.get("Prefix")
    prefix = ""
    if (
        storage_type in PREFIX_STORAGE_TYPES
        and not isinstance(storage_type, bool)
        and isinstance(prefix_raw, Sequence)
        and not isinstance(prefix_raw, str)
    ):
        prefix = "".join(f"{item}/" for item in prefix_raw if isinstance(item, str) and item)
    return prefix, pattern, True
