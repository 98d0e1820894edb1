"""What the dashboard shows, as JSON-ready data read from one simulator (no HTML here).

Each view takes a snapshot under the state's lock and returns plain dicts in the API's
PascalCase. Nothing secret is in them: a task's start request may hold bucket credentials, so
only named, harmless members of it are read (ids, modes, the layout's geometry and the stream
UserIds, which the layout drawing labels regions with); a callback delivery shows its event,
attempt and outcome, never its signed body.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ...models import RecordTaskStatus
from ...preview import PreviewError, render_layout_svg

if TYPE_CHECKING:
    from ..delivery import Delivery
    from ..state import State, Task
    from .recorder import RequestRecorder

__all__ = [
    "LayoutView",
    "SimulatorLike",
    "clock_view",
    "deliveries_view",
    "format_ms",
    "requests_view",
    "rooms_view",
    "task_layout",
    "tasks_view",
]

RECORD_MODES = {0: "mixed", 1: "single-stream"}
LAYOUT_MODES = {0: "auto", 1: "vertical", 2: "custom", 3: "parallel"}
MAX_FILES_SHOWN = 200


class SimulatorLike(Protocol):
    """What the dashboard reads of a `Simulator`."""

    @property
    def state(self) -> State: ...

    @property
    def deliveries(self) -> list[Delivery]: ...


def format_ms(ms: int | None) -> str:
    """Unix milliseconds as ``2025-01-02 03:04:05.678Z`` ('' for none or 0)."""
    if not ms:
        return ""
    try:
        when = datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return str(ms)
    return when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def clock_view(sim: SimulatorLike) -> dict[str, Any]:
    state = sim.state
    with state.lock:
        state.tick()
        now, offset = state.now_ms(), state.offset_ms
    return {"Now": now, "NowText": format_ms(now), "OffsetMs": offset}


def rooms_view(sim: SimulatorLike) -> dict[str, Any]:
    state = sim.state
    with state.lock:
        state.tick()
        now = state.now_ms()
        running: dict[tuple[str, str], list[str]] = {}
        for task in state.tasks.values():
            if task.running:
                running.setdefault((task.app_id, task.room_id), []).append(task.task_id)
        rooms = []
        keys = sorted(set(state.rooms) | set(running))
        for app_id, room_id in keys:
            streams = []
            for (user_id, stream_type), pub in sorted(
                state.rooms.get((app_id, room_id), {}).items()
            ):
                present = sum(b - a for a, b in pub.intervals)
                if pub.since is not None:
                    present += now - pub.since
                streams.append(
                    {
                        "UserId": user_id,
                        "StreamType": stream_type,
                        "Published": pub.since is not None,
                        "Since": pub.since,
                        "Width": pub.width,
                        "Height": pub.height,
                        "PublishedMs": max(present, 0),
                    }
                )
            rooms.append(
                {
                    "AppId": app_id,
                    "RoomId": room_id,
                    "Streams": streams,
                    "RunningTasks": sorted(running.get((app_id, room_id), [])),
                }
            )
    return {"Now": now, "Rooms": rooms}


@attrs.frozen
class LayoutView:
    """A task's layout as the page draws it: the SVG (custom layouts only) or why not."""

    svg: str | None
    warnings: tuple[str, ...]
    note: str


def task_layout(request: dict[str, Any], version: str) -> LayoutView:
    """The layout of a task's (current) request, drawn by `render_layout_svg` when custom."""
    if request.get("RecordMode", 0) == 1:
        return LayoutView(None, (), "single-stream: one file per stream, no layout")
    layout = request.get("Layout")
    mode = layout.get("LayoutMode", 0) if isinstance(layout, dict) else 0
    if mode != 2:
        name = LAYOUT_MODES.get(mode, str(mode)) if isinstance(mode, int) else str(mode)
        return LayoutView(None, (), f"LayoutMode {mode} ({name}): arranged by the service")
    try:
        svg, warnings = render_layout_svg(request, version=version)
    except (PreviewError, ValueError) as exc:
        return LayoutView(None, (), f"not drawn: {exc}")
    return LayoutView(svg, tuple(warnings), "LayoutMode 2 (custom)")


def _file_view(f: dict[str, Any]) -> dict[str, Any]:
    keep = ("Vid", "ObjectKey", "StartTime", "Duration", "Size", "VideoCodec", "AudioCodec",
            "VideoWidth", "VideoHeight")  # fmt: skip
    out = {k: f[k] for k in keep if k in f}
    out["StreamList"] = [
        {"UserId": s.get("UserId"), "StreamType": s.get("StreamType", 0)}
        for s in f.get("StreamList") or []
        if isinstance(s, dict)
    ]
    return out


def _target_streams(request: dict[str, Any]) -> list[dict[str, Any]]:
    targets = request.get("TargetStreams")
    listed = targets.get("StreamList") if isinstance(targets, dict) else None
    return [
        {"UserId": s["UserId"], "StreamType": s.get("StreamType", 0)}
        for s in listed or []
        if isinstance(s, dict) and isinstance(s.get("UserId"), str)
    ]


def _task_view(task: Task) -> dict[str, Any]:
    request = task.request
    mode = request.get("RecordMode", 0)
    layout = request.get("Layout")
    status = RecordTaskStatus(task.status)
    return {
        "AppId": task.app_id,
        "RoomId": task.room_id,
        "TaskId": task.task_id,
        "Version": task.version,
        "RecordMode": mode,
        "Mode": RECORD_MODES.get(mode, str(mode)),
        "LayoutMode": layout.get("LayoutMode", 0) if isinstance(layout, dict) else None,
        "Status": int(status),
        "StatusName": status.name.lower(),
        "StopReason": task.stop_reason,
        "StartTime": task.start_time,
        "EndTime": task.end_time,
        "IdleSince": task.idle_since,
        "TargetStreams": _target_streams(request),
        "RecordFileList": [_file_view(f) for f in task.files[:MAX_FILES_SHOWN]],
        "MoreFiles": max(len(task.files) - MAX_FILES_SHOWN, 0),
    }


def tasks_view(sim: SimulatorLike) -> tuple[int, list[tuple[dict[str, Any], LayoutView]]]:
    """The simulated now and every task (newest first) with its layout drawing."""
    state = sim.state
    with state.lock:
        state.tick()
        now = state.now_ms()
        snap = [(_task_view(t), t.request, t.version) for t in state.tasks.values()]
    snap.sort(key=lambda item: (-item[0]["StartTime"], item[0]["TaskId"]))
    return now, [(view, task_layout(req, version)) for view, req, version in snap]


def _event_task(delivery: Delivery) -> str:
    try:
        data = json.loads(delivery.body.get("EventData") or "{}")
    except (ValueError, TypeError):
        return ""
    return str(data.get("TaskId") or "") if isinstance(data, dict) else ""


def deliveries_view(sim: SimulatorLike) -> dict[str, Any]:
    """Callback deliveries: every attempt, and per event its attempt count and outcome."""
    attempts = list(sim.deliveries)
    events: dict[str, dict[str, Any]] = {}
    rows = []
    for d in attempts:
        task_id = _event_task(d)
        rows.append(
            {
                "EventType": d.event_type,
                "EventId": d.event_id,
                "TaskId": task_id,
                "Attempt": d.attempt,
                "Status": d.status,
                "Ok": d.ok,
                "Error": d.error or "",
                "Seconds": round(d.seconds, 3),
            }
        )
        event = events.setdefault(
            d.event_id,
            {"EventId": d.event_id, "EventType": d.event_type, "TaskId": task_id, "Attempts": 0},
        )
        event["Attempts"] = max(event["Attempts"], d.attempt)
        event["Outcome"] = "delivered" if d.ok else f"failed: {_outcome(d)}"
        event["Status"] = d.status
    return {"Attempts": rows, "Events": list(events.values())}


def _outcome(d: Delivery) -> str:
    if d.error:
        return d.error
    return f"HTTP {d.status}" if d.status is not None else "no answer"


def requests_view(recorder: RequestRecorder, limit: int | None = None) -> dict[str, Any]:
    entries: Iterable[Any] = recorder.entries
    rows = [e.to_json() for e in entries]
    rows.reverse()  # newest first
    if limit is not None:
        rows = rows[:limit]
    return {"Limit": recorder.limit, "Requests": rows}
