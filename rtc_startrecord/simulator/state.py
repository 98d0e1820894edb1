"""The simulated service's state: tasks, a clock, the streams published in each room, files.

All of it sits behind one lock, so every action is atomic: of sixteen concurrent starts of one
TaskId exactly one wins, and a stop racing an update sees either the task before or after it.

Statuses follow the fact sheet: 2 running, 3 ended (with a StopReason), 4 failed. Deciding
choices the docs leave open, written down here once:
- a start that reuses the TaskId of an *ended* task starts a new task under that id; the old
  one is forgotten (GetRecordTask answers with the most recent task of an id, R26);
- a task ended by MaxRecordTime has StopReason "UnknownStopReason": the documented reasons name
  no other cause;
- GetRecordTask answers for 72 simulated hours after a task ends (R26), then as for an unknown
  task; a running task always answers.

Files follow the shape of the task's start request, whatever its API version: a 2020-12-01
request (Vod, RecordFileNamePattern) makes MP4 files in VOD (Vid); a later one makes a file per
FileFormatConfig.FileFormat (default MP4), in VOD (Vid) for StorageConfig.Type 1 and else as an
object (ObjectKey = Prefix path + name), each name ending in a random suffix as 2023 documents it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from .. import spec
from ..filenames import FILE_EXTENSIONS, expand_file_name, name_parts
from ..models import RecordTaskStatus
from ..redaction import body_repr
from ..rules import listed_streams, stream_identity

GET_WINDOW_MS = 72 * 3600 * 1000
AUDIO_FORMATS = frozenset({"MP3", "AAC", "M4A"})
DEFAULT_MAX_IDLE_S = 180
DEFAULT_SOURCE_SIZE = (640, 480)
AUDIO_KBPS = 64

Stream = tuple[str, int]  # (UserId, StreamType)
RoomKey = tuple[str, str]  # (AppId, RoomId)
TaskKey = tuple[str, str, str]  # (AppId, RoomId, TaskId)


class ActionRefused(Exception):
    """The service refuses the action: an RTC error code, its HTTP status and a message."""

    def __init__(self, code: str, status: int, message: str) -> None:
        self.code = code
        self.status = status
        self.message = message
        super().__init__(f"{code}: {message}")


@attrs.define
class Publication:
    """One stream published in a room, with its presence intervals (simulated ms)."""

    width: int = DEFAULT_SOURCE_SIZE[0]
    height: int = DEFAULT_SOURCE_SIZE[1]
    since: int | None = None  # set while published
    intervals: list[tuple[int, int]] = attrs.Factory(list)  # closed presence intervals


@attrs.define
class Task:
    """A recording task as the simulator keeps it (its request in wire form)."""

    app_id: str
    room_id: str
    task_id: str
    request: dict[str, Any] = attrs.field(repr=body_repr)  # bucket keys hidden
    start_time: int
    version: str = ""  # the API version the task was started in
    status: RecordTaskStatus = RecordTaskStatus.RUNNING
    end_time: int = 0
    stop_reason: str = ""
    idle_since: int | None = None
    files: list[dict[str, Any]] = attrs.Factory(list)
    # R25 looks at how the task was *started*: mixed mode with the custom layout.
    updatable: bool = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        layout = self.request.get("Layout") or {}
        self.updatable = self.request.get("RecordMode", 0) == 0 and layout.get("LayoutMode", 0) == 2

    @property
    def key(self) -> TaskKey:
        return (self.app_id, self.room_id, self.task_id)

    @property
    def running(self) -> bool:
        return self.status == RecordTaskStatus.RUNNING

    @property
    def mixed(self) -> bool:
        return bool(self.request.get("RecordMode", 0) != 1)

    def record_task(self) -> dict[str, Any]:
        """GetRecordTask's Result.RecordTask, in wire form."""
        return {
            "StartTime": self.start_time,
            "EndTime": self.end_time,
            "Status": int(self.status),
            "StopReason": self.stop_reason,
            "RecordFileList": [dict(f) for f in self.files],
        }


def _streams(req: dict[str, Any], key: str) -> list[Stream]:
    """The streams `req[key]` names (the body passed validation, so each entry names one)."""
    named = (stream_identity(stream) for _, stream in listed_streams(req, key))
    return [stream for stream in named if stream is not None]


class State:
    """Tasks, clock and rooms. `on_event(kind, task)` is told of starts and ends (callbacks)."""

    def __init__(self, on_event: Callable[[str, Task], None] | None = None) -> None:
        self.lock = threading.RLock()
        self.offset_ms = 0
        self.tasks: dict[TaskKey, Task] = {}
        self.rooms: dict[RoomKey, dict[Stream, Publication]] = {}
        self.on_event = on_event

    # -- clock ------------------------------------------------------------------------------

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.offset_ms

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.offset_ms += int(seconds * 1000)
            self.tick()

    def tick(self) -> None:
        """End the tasks whose idle or maximum time has passed, at the moment it passed."""
        with self.lock:
            now = self.now_ms()
            for task in list(self.tasks.values()):
                if not task.running:
                    continue
                control = task.request.get("Control", {})
                max_record = control.get("MaxRecordTime", 0)
                max_idle = control.get("MaxIdleTime", DEFAULT_MAX_IDLE_S)
                ends: list[tuple[int, str]] = []
                if max_record:
                    ends.append((task.start_time + max_record * 1000, "UnknownStopReason"))
                if task.idle_since is not None:
                    ends.append((task.idle_since + max_idle * 1000, "IdleTimeOut"))
                due = [e for e in ends if e[0] <= now]
                if due:
                    at, reason = min(due)
                    self._end(task, at, reason)
            cutoff = now - GET_WINDOW_MS
            for key, task in list(self.tasks.items()):
                if not task.running and task.end_time < cutoff:
                    del self.tasks[key]

    # -- rooms ------------------------------------------------------------------------------

    def publish(
        self,
        app_id: str,
        room_id: str,
        user_id: str,
        stream_type: int = 0,
        *,
        width: int = DEFAULT_SOURCE_SIZE[0],
        height: int = DEFAULT_SOURCE_SIZE[1],
    ) -> None:
        with self.lock:
            self.tick()
            now = self.now_ms()
            room = self.rooms.setdefault((app_id, room_id), {})
            pub = room.setdefault((user_id, stream_type), Publication())
            pub.width, pub.height = width, height
            if pub.since is None:
                pub.since = now
            self._refresh_idle(app_id, room_id, now)

    def unpublish(self, app_id: str, room_id: str, user_id: str, stream_type: int = 0) -> None:
        with self.lock:
            self.tick()
            now = self.now_ms()
            pub = self.rooms.get((app_id, room_id), {}).get((user_id, stream_type))
            if pub is not None and pub.since is not None:
                pub.intervals.append((pub.since, now))
                pub.since = None
            self._refresh_idle(app_id, room_id, now)

    def recorded_streams(self, task: Task) -> list[Stream]:
        """The streams a task records now: its targets, else every published one not excluded."""
        targets = _streams(task.request, "TargetStreams")
        if targets:
            return targets
        excluded = set(_streams(task.request, "ExcludeStreams"))
        room = self.rooms.get((task.app_id, task.room_id), {})
        return [s for s in room if s not in excluded]

    def _present(self, task: Task) -> bool:
        room = self.rooms.get((task.app_id, task.room_id), {})
        return any(room[s].since is not None for s in self.recorded_streams(task) if s in room)

    def _refresh_idle(self, app_id: str, room_id: str, now: int) -> None:
        for task in self.tasks.values():
            if task.running and (task.app_id, task.room_id) == (app_id, room_id):
                if self._present(task):
                    task.idle_since = None
                elif task.idle_since is None:
                    task.idle_since = now

    # -- actions ----------------------------------------------------------------------------

    def start(self, req: dict[str, Any], *, version: str = "", refuse_running: bool = True) -> bool:
        """Start a task; False when its TaskId is running and `refuse_running` is off (the
        running task is kept), ActionRefused (TaskAlreadyExists) when it is on."""
        with self.lock:
            self.tick()
            key = (req["AppId"], req["RoomId"], req["TaskId"])
            old = self.tasks.get(key)
            if old is not None and old.running:
                if not refuse_running:
                    return False
                raise ActionRefused(
                    "InvalidParameter.TaskAlreadyExists",
                    409,
                    f"task {key[2]!r} is already running in room {key[1]!r}",
                )
            now = self.now_ms()
            task = Task(
                app_id=key[0],
                room_id=key[1],
                task_id=key[2],
                request=req,
                start_time=now,
                version=version,
            )
            self.tasks[key] = task
            if not self._present(task):
                task.idle_since = now
            if self.on_event:
                self.on_event("started", task)
            return True

    def _active(self, req: dict[str, Any]) -> Task:
        task = self.tasks.get((req["AppId"], req["RoomId"], req["TaskId"]))
        if task is None or not task.running:
            raise ActionRefused(
                "InvalidParameter.ErrorActiveTaskNotFound",
                404,
                f"no running task {req['TaskId']!r} in room {req['RoomId']!r}",
            )
        return task

    def stop(self, req: dict[str, Any]) -> Task:
        with self.lock:
            self.tick()
            task = self._active(req)
            self._end(task, self.now_ms(), "StopByAPI")
            return task

    def update(self, req: dict[str, Any], check: Callable[[dict[str, Any]], list[str]]) -> Task:
        """Replace a running task's TargetStreams and Layout; `check` judges the merged request."""
        with self.lock:
            self.tick()
            task = self._active(req)
            if not task.updatable:
                raise ActionRefused(
                    "InvalidParameter",
                    400,
                    "UpdateRecord only changes tasks started in mixed mode with the "
                    "custom layout (RecordMode 0, LayoutMode 2) (R25)",
                )
            merged = dict(task.request)
            for key in ("TargetStreams", "Layout"):
                if key in req:
                    merged[key] = req[key]
            problems = check(merged)
            if problems:
                raise ActionRefused(
                    "InvalidParameter", 400, "the updated task would break: " + "; ".join(problems)
                )
            task.request = merged
            self._refresh_idle(task.app_id, task.room_id, self.now_ms())
            return task

    def get(self, req: dict[str, Any]) -> Task:
        with self.lock:
            self.tick()
            task = self.tasks.get((req["AppId"], req["RoomId"], req["TaskId"]))
            if task is None:
                raise ActionRefused(
                    "InvalidParameter.ErrorActiveTaskNotFound",
                    404,
                    f"no task {req['TaskId']!r} in room {req['RoomId']!r} in the last 72 hours",
                )
            return task

    # -- ending and files -------------------------------------------------------------------

    def _end(self, task: Task, at: int, reason: str) -> None:
        task.status, task.end_time, task.stop_reason = RecordTaskStatus.ENDED, at, reason
        task.files = self._files(task)
        if self.on_event:
            self.on_event("stopped", task)

    def _presence(self, task: Task, stream: Stream) -> tuple[int, int] | None:
        """First and last moment the stream was present during the task, if ever."""
        pub = self.rooms.get((task.app_id, task.room_id), {}).get(stream)
        if pub is None:
            return None
        spans = list(pub.intervals)
        if pub.since is not None:
            spans.append((pub.since, task.end_time))
        clipped = [(max(a, task.start_time), min(b, task.end_time)) for a, b in spans]
        clipped = [(a, b) for a, b in clipped if b > a or (a == b == task.start_time)]
        if not clipped:
            return None
        return min(a for a, _ in clipped), max(b for _, b in clipped)

    def _files(self, task: Task) -> list[dict[str, Any]]:
        req = task.request
        encode = req.get("Encode", {})
        video_codec = "bytevc1" if encode.get("VideoCodec") == 1 else "h264"
        prefix, pattern, suffixed = name_parts(req, task.version or spec.DEFAULT_VERSION)
        storage = req.get("StorageConfig")
        in_vod = storage is None or storage.get("Type", 0) == 1  # 2020-12-01 stores in VOD
        formats = (req.get("FileFormatConfig") or {}).get("FileFormat") or ["MP4"]
        streams = self.recorded_streams(task)
        present = {s: p for s in streams if (p := self._presence(task, s)) is not None}
        if not present:
            return []
        by_stream = {
            (s["UserId"], s.get("StreamType", 0)): s
            for s in (req.get("TargetStreams", {}).get("StreamList") or [])
        }
        if task.mixed:
            canvas = req.get("Layout", {}).get("CustomLayout", {}).get("Canvas", {})
            if req.get("Layout", {}).get("LayoutMode", 0) == 2:  # R14: the canvas wins
                width, height = canvas.get("Width", 640), canvas.get("Height", 480)
            else:
                width = encode.get("VideoWidth", 640)
                height = encode.get("VideoHeight", 480)
            start = min(a for a, _ in present.values())
            end = max(b for _, b in present.values())
            groups: list[tuple[Stream | None, int, int, int, int, list[Stream]]] = [
                (None, start, end, width, height, list(present))
            ]
        else:
            groups = []
            for s, (a, b) in present.items():
                pub = self.rooms[(task.app_id, task.room_id)][s]
                groups.append((s, a, b, pub.width, pub.height, [s]))
        files = []
        for (stream, start, end, width, height, members), fmt in (
            (g, f) for g in groups for f in dict.fromkeys(formats)
        ):
            duration_ms = max(end - start, 0)
            audio_only = fmt in AUDIO_FORMATS or (req.get("Control") or {}).get("MediaType") == 1
            kbps = 0 if audio_only else encode.get("VideoBitrate") or _adaptive_kbps(width, height)
            size = int((kbps + AUDIO_KBPS) * 1000 / 8 * duration_ms / 1000)
            name = expand_file_name(
                pattern,
                task_id=task.task_id,
                room_id=task.room_id,
                user_id=stream[0] if stream else "",
                stream_type=stream[1] if stream else 0,
                # {StartTime} is the task's start (fact sheet 4.11), not the file's
                start_time_ms=task.start_time,
                duration_s=duration_ms // 1000,
                mixed=stream is None,
            )
            if suffixed:  # 2022-06-01 on: the service appends a random suffix
                name += "_" + secrets.token_hex(4)
            file: dict[str, Any] = {
                "StartTime": start,
                "Duration": duration_ms,
                "Size": size,
                "StreamList": [
                    dict(by_stream.get(m) or {"UserId": m[0], "StreamType": m[1]}) for m in members
                ],
                "AudioCodec": "aac",
            }
            if in_vod:
                file["Vid"] = "v0" + secrets.token_hex(8)
            if storage is None or not in_vod:
                file["ObjectKey"] = f"{prefix}{name}.{FILE_EXTENSIONS.get(fmt, fmt.lower())}"
            if not audio_only:
                file |= {"VideoCodec": video_codec, "VideoWidth": width, "VideoHeight": height}
            files.append(file)
        return files


def _adaptive_kbps(width: int, height: int) -> int:
    """A plausible adaptive bitrate for a resolution (about 0.1 bit per pixel at 15 fps)."""
    return max(100, int(width * height * 15 * 0.1 / 1000))
