"""``get --wait STATUS``: poll a task until it reaches a `RecordTaskStatus`, progress on stderr.

Exit 0 when the task reaches the status, 1 when it ends or fails first (it never leaves the
client's `TERMINAL` statuses), 2 when ``--timeout`` runs out; the last GetRecordTask envelope
goes to stdout in every case.

The waiting is the client's `wait_for_task`; its ``on_raw_progress`` hands each polled answer here
for the progress line and for the envelope printed at the end.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from .io import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, PROG, err, out

if TYPE_CHECKING:
    from ..client_core import RawResponse
    from ..models import RecordTaskStatus
    from ..redaction import Redactor
    from ..v2020_12_01 import RtcClient

__all__ = ["parse_status", "status_name", "wait_for_status"]

# The backoff between polls: the first delay, doubling up to the last.
FIRST_DELAY, MAX_DELAY = 0.25, 2.0


def _statuses_by_name() -> dict[str, RecordTaskStatus]:
    from ..models import RecordTaskStatus

    names = {status.name.lower(): status for status in RecordTaskStatus}
    return names | {"unknown": RecordTaskStatus.UNKNOWN_ERROR}


def parse_status(text: str) -> RecordTaskStatus:
    """``--wait``: a Status number (0-4) or its name (running, ended, failed, ...)."""
    from ..models import RecordTaskStatus

    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    names = _statuses_by_name()
    if key in names:
        return names[key]
    try:
        return RecordTaskStatus(int(key))
    except ValueError:
        known = ", ".join(f"{int(s)} {s.name.lower()}" for s in RecordTaskStatus)
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a task status; use one of: {known}"
        ) from None


def status_name(status: int) -> str:
    """``running`` for 2, ``unknown error`` for 0, ... and ``?`` for no status or another."""
    from ..models import RecordTaskStatus

    try:
        return RecordTaskStatus(status).name.lower().replace("_", " ")
    except ValueError:
        return "?"


def wait_for_status(args: argparse.Namespace, client: RtcClient, body: dict[str, Any]) -> int:
    """Poll GetRecordTask until Status == --wait (0), the task ends first (1) or time runs out (2).

    Progress goes to stderr; the last GetRecordTask envelope to stdout in every case. A service
    error (RtcApiError) is the caller's to report.
    """
    from .. import spec
    from ..errors import TaskEndedEarly, WaitTimeout
    from .lifecycle import answer_json

    wanted: RecordTaskStatus = spec.model_module(args.api_version).RecordTaskStatus(args.wait)
    timeout: float = args.timeout
    redactor: Redactor = args.redactor
    task_id = body.get("TaskId")
    want = f"{int(wanted)} ({status_name(wanted)})"
    t0 = time.monotonic()
    last: list[RawResponse] = []

    def status_of(response: Any) -> tuple[Any, int]:
        # RecordTask is optional from 2023-06-01 on: no task yet is shown as status -1 (?).
        task = None if response.result is None else response.result.record_task
        status = None if task is None else task.status
        return task, -1 if status is None else int(status)

    def progress(raw: RawResponse) -> None:
        last[:] = [raw]
        now = status_of(raw.parsed)[1]
        err(f"waiting for task {task_id}: status {now} ({status_name(now)}), "
            f"{time.monotonic() - t0:.1f}s elapsed")  # fmt: skip

    try:
        client.wait_for_task(
            str(body.get("AppId")),
            str(body.get("RoomId")),
            str(task_id),
            status=wanted,
            timeout=timeout,
            interval=FIRST_DELAY,
            max_interval=MAX_DELAY,
            on_raw_progress=progress,
        )
    except TaskEndedEarly:
        out(answer_json(args, last[-1]))
        task, now = status_of(last[-1].parsed)
        reason = redactor.text(task.stop_reason) if task is not None and task.stop_reason else None
        err(f"{PROG}: task {task_id} reached status {now} ({status_name(now)}"
            f"{', ' + reason if reason else ''}) and will not reach {want}")  # fmt: skip
        return EXIT_REJECTED
    except WaitTimeout:
        out(answer_json(args, last[-1]))
        err(f"{PROG}: error: task {task_id} did not reach status {want} "
            f"within {timeout:g}s")  # fmt: skip
        return EXIT_USAGE
    out(answer_json(args, last[-1]))
    return EXIT_OK
