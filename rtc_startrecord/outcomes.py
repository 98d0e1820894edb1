"""What a successful StartRecord answer means: a new task, or one that was already running.

2020-12-01 to 2023-06-01 refuse a start of a running TaskId (InvalidParameter.TaskAlreadyExists,
an RtcApiError). 2023-11-01 answers it with success and a Result that says the task was already
started (spec/versions.yaml: `running_duplicate_start: already_started`), so a caller cannot tell
the two apart by the status or the error: `start_outcome(response)` does.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["ALREADY_STARTED", "StartOutcome", "start_outcome"]

# The Result of a 2023-11-01 start whose TaskId is running (Go SDK comment, fact sheet R3).
ALREADY_STARTED = (
    "The task has been started. Please do not call the startup task interface repeatedly"
)


class StartOutcome(enum.Enum):
    STARTED = "started"  # Result "ok": this call started the task
    ALREADY_RUNNING = "already_running"  # the TaskId was running before this call (2023-11-01)


def is_already_started(result: object) -> bool:
    """Whether a StartRecord Result is the already-started text (case and spacing aside)."""
    return isinstance(result, str) and " ".join(result.split()).lower().startswith(
        "the task has been started"
    )


def start_outcome(response: Any) -> StartOutcome:
    """STARTED or ALREADY_RUNNING for a StartRecordResponse of any version.

    A start whose earlier attempt failed ambiguously and whose retry met the running task
    raises TaskMayAlreadyExist instead (the earlier attempt most likely started it).
    """
    result = getattr(response, "result", None)
    return StartOutcome.ALREADY_RUNNING if is_already_started(result) else StartOutcome.STARTED
