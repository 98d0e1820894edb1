"""Waiting for a task's status: the polling decisions `wait_for_task` makes, without I/O.

`wait_steps` is a generator both clients drive: it yields the GetRecordTask query to send (and
is sent the response model) or a `Pause` to sleep, and returns the RecordTask or raises
TaskEndedEarly/WaitTimeout. The sync client sleeps with `time.sleep` and calls `call`, the async
one with `asyncio.sleep` and `await call`; the backoff, the deadline and the verdicts are here
once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, TypedDict

from .attempts import Pause
from .errors import TaskEndedEarly, WaitTimeout
from .models import RecordTaskStatus

if TYPE_CHECKING:
    from .client_core import RawResponse

__all__ = ["TERMINAL", "WaitOptions", "wait_steps"]

# A task never leaves these (the statuses are the same in every API version).
TERMINAL = frozenset(
    {RecordTaskStatus.UNKNOWN_ERROR, RecordTaskStatus.ENDED, RecordTaskStatus.FAILED}
)


class WaitOptions(TypedDict, total=False):
    """The keyword options of `wait_for_task` besides `status` (for the typed subclasses)."""

    timeout: float
    interval: float
    max_interval: float
    on_progress: Callable[[Any], None] | None
    on_raw_progress: Callable[[RawResponse], None] | None


def wait_steps(
    app_id: str,
    room_id: str,
    task_id: str,
    *,
    status: int,
    timeout: float = 60.0,
    interval: float = 0.5,
    max_interval: float = 5.0,
    on_progress: Callable[[Any], None] | None = None,
    on_raw_progress: Callable[[RawResponse], None] | None = None,
) -> Generator[dict[str, str] | Pause, Any, Any]:
    """The polls of `wait_for_task`: yields a GetRecordTask query (and is sent its
    response) or a Pause; returns the RecordTask, or raises TaskEndedEarly/WaitTimeout.
    `on_raw_progress` is the shells' to call: they hold each poll's raw answer."""
    deadline = time.monotonic() + timeout
    delay = interval
    query = {"AppId": app_id, "RoomId": room_id, "TaskId": task_id}
    while True:
        response = yield query
        result = response.result
        # RecordTask is optional from 2023-06-01 on: no task yet is a status like any other.
        if on_progress is not None:
            on_progress(response)
        task = None if result is None else result.record_task
        if task is not None and task.status == status:
            return task
        # Status is optional in the response model: int(None) must not hide the real error.
        now = None if task is None else task.status
        last = "none" if now is None else str(int(now))
        if task is not None and now in TERMINAL:
            reason = task.stop_reason or "no reason"
            raise TaskEndedEarly(
                f"task {task_id} ended with Status {last} ({reason}) before reaching {status}"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(
                f"task {task_id} did not reach Status {status} within {timeout}s "
                f"(last Status {last})"
            )
        yield Pause(min(delay, remaining))
        delay = min(delay * 2, max_interval)
