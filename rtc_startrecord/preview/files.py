"""The file names a StartRecord body would produce, per API version.

2020-12-01 names files by ``RecordFileNamePattern``; 2022-06-01 and later by
``FileNameConfig.Pattern`` and ``Prefix`` (:func:`file_name_source` says which a version uses).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import spec
from ..filenames import expand_file_name, name_parts
from ._body import PreviewError, target_streams

#: The ``user_id`` :func:`preview_file_names` uses when single-stream mode names no streams.
EACH_USER_PLACEHOLDER = "<each-user>"


def preview_file_names(
    body: Mapping[str, Any],
    *,
    start_time_ms: int,
    duration_s: int = 0,
    random: str = "XXXXXXXX",
    version: str = spec.DEFAULT_VERSION,
) -> list[str]:
    """The file names (no extension) a StartRecord wire body of API `version` would produce.

    2020-12-01 follows the body's ``RecordFileNamePattern``; 2022-06-01 and later follow
    ``FileNameConfig`` (see :func:`file_name_source`): the ``Prefix`` folders joined with ``/``
    (only for TOS and S3-compatible storage, ``StorageConfig.Type`` 0 and 2; VOD ignores them),
    then the expanded ``Pattern`` (without one, the default of
    :func:`~rtc_startrecord.filenames.expand_file_name`), then the random suffix the service
    appends, ``_`` and `random` (R25: "Prefix + Pattern + random"; the ``_`` is the documented
    example's; whether it is added also when the pattern has ``{Random}`` is not documented: it
    is, as in the simulator).

    Single-stream mode (``RecordMode`` 1) gives one name per ``TargetStreams.StreamList`` entry,
    or, when no streams are listed (every published stream is recorded), one example name for the
    user :data:`EACH_USER_PLACEHOLDER`. Mixed mode (any other RecordMode) gives one name.
    """
    if not isinstance(body, Mapping):
        raise PreviewError("the request body must be a JSON object")
    prefix, pattern, suffixed = name_parts(body, spec.check_version(version))
    suffix = f"_{random}" if suffixed else ""
    common: dict[str, Any] = {
        "task_id": str(body.get("TaskId", "")),
        "room_id": str(body.get("RoomId", "")),
        "start_time_ms": start_time_ms,
        "duration_s": duration_s,
        "random": random,
    }
    if body.get("RecordMode", 0) != 1:
        return [prefix + expand_file_name(pattern, mixed=True, **common) + suffix]
    streams = target_streams(body)
    if not streams:
        name = expand_file_name(pattern, user_id=EACH_USER_PLACEHOLDER, mixed=False, **common)
        return [prefix + name + suffix]
    return [
        prefix
        + expand_file_name(
            pattern,
            user_id=str(stream.get("UserId", "")),
            stream_type=1 if stream.get("StreamType") == 1 else 0,
            mixed=False,
            **common,
        )
        + suffix
        for stream in streams
    ]
