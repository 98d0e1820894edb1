"""The simulator's admin API: JSON under ``/_simulator/api/`` on the simulator's own port.

It lets another process (``rtc-startrecord sim ...``, a test, a dashboard) see the tasks and
drive the simulation: publish and unpublish streams, move the simulated clock, inject faults.

    GET  /_simulator/api              what is here, the simulated clock
    GET  /_simulator/api/tasks        every task: ids, Version, Status, StopReason, files
    POST /_simulator/api/publish      {"AppId", "RoomId", "UserId", "StreamType"?,
                                       "Width"?, "Height"?}
    POST /_simulator/api/unpublish    {"AppId", "RoomId", "UserId", "StreamType"?}
    POST /_simulator/api/advance      {"Seconds": 30} or {"Milliseconds": 30000}
    GET  /_simulator/api/faults       pending faults and the history of applied ones
    POST /_simulator/api/faults       {"Kind": "delay"|"drop"|"error"|"throttle"|"clear", ...}

Who may call it: only a peer on a loopback address, naming a loopback host (``Host``), with no
``Origin`` other than the simulator's own and no cross-site ``Sec-Fetch-Site``, so neither a
web page the user visits nor a DNS-rebound name can reach it. A ``POST`` (anything that changes
state) also needs the per-run token, as ``Authorization: Bearer <token>`` or
``X-Simulator-Token: <token>``; ``rtc-startrecord serve`` prints it (``RTC_SIMULATOR_TOKEN``).
No CORS header is ever sent, so a browser will not send the token header cross-origin.

Admin calls never consume injected faults, never count against the QPS limit and never appear
in the request log: `Router` sends them here before any of that. Every answer is JSON; an error
is ``{"Error": {"Code", "Message"}}`` with a 4xx status.

`AdminClient` is a small client of this API (what the CLI's ``sim`` commands use).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import math
import re
import secrets
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from ..errors import json_type
from ..models import RecordTaskStatus

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from .server import FaultInjector
    from .state import State, Task

__all__ = [
    "ADMIN_PREFIX",
    "API_PREFIX",
    "REQUEST_LOGGER",
    "TOKEN_ENV",
    "TOKEN_HEADER",
    "AdminApp",
    "AdminError",
    "new_token",
]

log = logging.getLogger("rtc_startrecord.simulator")
REQUEST_LOGGER: Final = "rtc_startrecord.simulator.requests"
request_log = logging.getLogger(REQUEST_LOGGER)

ADMIN_PREFIX: Final = "/_simulator"
API_PREFIX: Final = "/_simulator/api"
TOKEN_ENV: Final = "RTC_SIMULATOR_TOKEN"
TOKEN_HEADER: Final = "X-Simulator-Token"
MAX_BODY: Final = 64 * 1024
MAX_ADVANCE_MS: Final = 10 * 365 * 24 * 3600 * 1000  # ten simulated years per call
MAX_FAULT_COUNT: Final = 10_000
MAX_FAULT_DELAY: Final = 300.0
ID_RE: Final = re.compile(r"^[a-zA-Z0-9_@.\-]{1,128}$")  # the API's ID rule


def new_token() -> str:
    """A fresh per-run admin token."""
    return secrets.token_urlsafe(24)


class AdminError(Exception):
    """An admin call refused: HTTP status, a code and a message (the JSON error answer)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(f"{code}: {message}")


# --------------------------------------------------------------------------------------------
# The routes


class AdminApp:
    """The admin API over one simulator's `State` and fault injector (a WSGI app)."""

    def __init__(self, state: State, faults: FaultInjector, *, token: str) -> None:
        if not token:
            raise ValueError("the admin token must not be empty")
        self.state = state
        self.faults = faults
        self._token = token
        get: dict[str, Callable[[], Any]] = {
            "": self._index,
            "/tasks": self._tasks,
            "/faults": self._faults_list,
        }
        post: dict[str, Callable[[dict[str, Any]], Any]] = {
            "/publish": self._publish,
            "/unpublish": self._unpublish,
            "/advance": self._advance,
            "/faults": self._faults_add,
        }
        self._get, self._post = get, post

    def __repr__(self) -> str:
        return "AdminApp(token=<redacted>)"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        headers: list[tuple[str, str]] = []
        try:
            status, answer = 200, self._handle(environ, headers)
        except AdminError as exc:
            status, answer = exc.status, {"Error": {"Code": exc.code, "Message": exc.message}}
        except Exception:  # a bug of ours: still JSON, and the server lives on
            log.exception("the simulator's admin API failed")
            status = 500
            answer = {"Error": {"Code": "InternalError", "Message": "the admin API failed"}}
        try:
            body = json.dumps(answer, ensure_ascii=False).encode()
        except UnicodeEncodeError:  # a lone surrogate echoed from the request: keep it escaped
            body = json.dumps(answer).encode()
        start_response(
            f"{status} {_REASONS.get(status, 'Error')}",
            [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
                *headers,
            ],
        )
        return [body]

    def _handle(self, environ: WSGIEnvironment, headers: list[tuple[str, str]]) -> Any:
        _check_origin(environ)
        path = str(environ.get("PATH_INFO") or "")
        if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
            raise AdminError(404, "NotFound", f"no admin resource {path!r}; see GET {API_PREFIX}")
        route = path[len(API_PREFIX) :].rstrip("/")
        method = str(environ.get("REQUEST_METHOD") or "")
        allowed = [m for m, table in (("GET", self._get), ("POST", self._post)) if route in table]
        if not allowed:
            raise AdminError(404, "NotFound", f"no admin resource {path!r}; see GET {API_PREFIX}")
        if method not in allowed:
            headers.append(("Allow", ", ".join(allowed)))
            raise AdminError(
                405, "MethodNotAllowed", f"{path} takes {' or '.join(allowed)}, not {method}"
            )
        if method == "GET":
            return self._get[route]()
        self._check_token(environ)
        return self._post[route](_read_object(environ))

    def _check_token(self, environ: WSGIEnvironment) -> None:
        given = str(environ.get("HTTP_X_SIMULATOR_TOKEN") or "")
        auth = str(environ.get("HTTP_AUTHORIZATION") or "")
        if not given and auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        if not given:
            raise AdminError(
                401,
                "MissingToken",
                f"this call changes the simulation: send the token 'serve' printed as "
                f"'Authorization: Bearer <token>' or '{TOKEN_HEADER}: <token>'",
            )
        if not hmac.compare_digest(given.encode(), self._token.encode()):
            raise AdminError(
                401, "InvalidToken", "the token is not this simulator's (it changes every run)"
            )

    # -- GET ------------------------------------------------------------------------------

    def _index(self) -> dict[str, Any]:
        return {
            "Now": self.state.now_ms(),
            "Endpoints": {
                "GET": [API_PREFIX, *(f"{API_PREFIX}{r}" for r in self._get if r)],
                "POST": [f"{API_PREFIX}{r}" for r in self._post],
            },
        }

    def _tasks(self) -> dict[str, Any]:
        with self.state.lock:
            self.state.tick()
            tasks = [task_json(t) for t in self.state.tasks.values()]
            now = self.state.now_ms()
        return {"Now": now, "Tasks": tasks}

    def _faults_list(self) -> dict[str, Any]:
        history = [{"Kind": kind, "Path": path} for kind, path in self.faults.history]
        return {"Pending": self.faults.pending, "History": history}

    # -- POST -----------------------------------------------------------------------------

    def _stream_args(self, body: dict[str, Any], extra: tuple[str, ...]) -> tuple[Any, ...]:
        _only(body, ("AppId", "RoomId", "UserId", "StreamType", *extra))
        app_id, room_id, user_id = (_id(body, k) for k in ("AppId", "RoomId", "UserId"))
        stream_type = body.get("StreamType", 0)
        if stream_type not in (0, 1) or isinstance(stream_type, bool):
            raise _invalid("StreamType", "must be 0 (main) or 1 (screen)", stream_type)
        return app_id, room_id, user_id, stream_type

    def _publish(self, body: dict[str, Any]) -> dict[str, Any]:
        app_id, room_id, user_id, stream_type = self._stream_args(body, ("Width", "Height"))
        size = {k.lower(): _int(body, k, 2, 8192) for k in ("Width", "Height") if k in body}
        self.state.publish(app_id, room_id, user_id, stream_type, **size)
        return self._room(app_id, room_id)

    def _unpublish(self, body: dict[str, Any]) -> dict[str, Any]:
        app_id, room_id, user_id, stream_type = self._stream_args(body, ())
        self.state.unpublish(app_id, room_id, user_id, stream_type)
        return self._room(app_id, room_id)

    def _room(self, app_id: str, room_id: str) -> dict[str, Any]:
        with self.state.lock:
            room = self.state.rooms.get((app_id, room_id), {})
            streams = [
                {"UserId": user, "StreamType": kind, "Published": pub.since is not None}
                for (user, kind), pub in room.items()
            ]
            now = self.state.now_ms()
        return {"Now": now, "AppId": app_id, "RoomId": room_id, "Streams": streams}

    def _advance(self, body: dict[str, Any]) -> dict[str, Any]:
        _only(body, ("Seconds", "Milliseconds"))
        if ("Seconds" in body) == ("Milliseconds" in body):
            raise AdminError(400, "InvalidParameter", "give exactly one of Seconds, Milliseconds")
        if "Milliseconds" in body:
            ms = _int(body, "Milliseconds", 0, MAX_ADVANCE_MS)
        else:
            seconds = body["Seconds"]
            if not _is_number(seconds) or not 0 <= seconds * 1000 <= MAX_ADVANCE_MS:
                raise _invalid("Seconds", f"must be a number from 0 to {MAX_ADVANCE_MS // 1000}",
                               seconds)  # fmt: skip
            ms = round(seconds * 1000)
        with self.state.lock:
            # The task objects, not their keys: a jump past the 72 h window ends a task and
            # forgets it in the same tick, and it is still reported as ended.
            running = [t for t in self.state.tasks.values() if t.running]
            self.state.advance(ms / 1000)
            ended = [task_json(t, files=False) for t in running if not t.running]
            now = self.state.now_ms()
        return {"Now": now, "AdvancedMs": ms, "Ended": ended}

    def _faults_add(self, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("Kind")
        keys = {
            "delay": ("Seconds", "Count"),
            "drop": ("Count",),
            "error": ("Status", "Count"),
            "throttle": ("Count",),
            "clear": (),
        }
        if not isinstance(kind, str) or kind not in keys:
            raise _invalid("Kind", f"must be one of {', '.join(keys)}", kind)
        _only(body, ("Kind", *keys[kind]))
        count = _int(body, "Count", 1, MAX_FAULT_COUNT) if "Count" in body else 1
        if kind == "delay":
            seconds: Any = body.get("Seconds")
            if not _is_number(seconds) or not 0 <= seconds <= MAX_FAULT_DELAY:
                raise _invalid("Seconds", f"must be a number from 0 to {MAX_FAULT_DELAY:g}",
                               seconds)  # fmt: skip
            self.faults.delay(float(seconds), count=count)
        elif kind == "drop":
            self.faults.drop(count=count)
        elif kind == "error":
            status = _int(body, "Status", 200, 599) if "Status" in body else 502
            self.faults.error(status, count=count)
        elif kind == "throttle":
            self.faults.throttle(count=count)
        else:
            self.faults.clear()
        return self._faults_list()


def task_json(task: Task, *, files: bool = True) -> dict[str, Any]:
    """A task as the admin API shows it (no request body: it may hold bucket credentials)."""
    out: dict[str, Any] = {
        "AppId": task.app_id,
        "RoomId": task.room_id,
        "TaskId": task.task_id,
        "Version": task.version,
        "Status": int(task.status),
        "StatusName": RecordTaskStatus(task.status).name.lower(),
        "StartTime": task.start_time,
        "EndTime": task.end_time,
        "StopReason": task.stop_reason,
    }
    if files:
        out["RecordFileList"] = [dict(f) for f in task.files]
    return out


# --------------------------------------------------------------------------------------------
# Who may call


def _loopback_host(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def _host_name(authority: str) -> str | None:
    """The host of a ``Host`` value (``127.0.0.1:8080``, ``[::1]:80``, ``localhost``)."""
    try:
        parts = urlsplit("//" + authority)
        _ = parts.port  # a malformed port raises
    except ValueError:
        return None
    return parts.hostname


def _check_origin(environ: WSGIEnvironment) -> None:
    peer = str(environ.get("REMOTE_ADDR") or "")
    if not _loopback_host(peer):
        raise AdminError(403, "Forbidden", "the admin API answers loopback peers only")
    host = str(environ.get("HTTP_HOST") or "")
    name = _host_name(host) if host else None
    if name is None or not _loopback_host(name):
        raise AdminError(
            403,
            "Forbidden",
            "the admin API answers only requests naming a loopback host "
            "(Host: 127.0.0.1, localhost or [::1])",
        )
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and origin != f"http://{host}":
        raise AdminError(403, "Forbidden", "the admin API refuses cross-origin requests")
    site = str(environ.get("HTTP_SEC_FETCH_SITE") or "none").lower()
    if site not in ("none", "same-origin"):
        raise AdminError(403, "Forbidden", "the admin API refuses cross-site requests")


# --------------------------------------------------------------------------------------------
# Reading and checking bodies


def _read_object(environ: WSGIEnvironment) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise AdminError(400, "InvalidRequest", "Content-Length is not a number") from None
    if length > MAX_BODY:
        raise AdminError(413, "BodyTooLarge", f"the body has {length} bytes; at most {MAX_BODY}")
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    if not raw.strip():
        return {}
    ctype = str(environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise AdminError(415, "UnsupportedMediaType", "send the body as application/json")
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise AdminError(400, "InvalidJSON", f"the body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise AdminError(
            400, "InvalidJSON", f"the body must be a JSON object, not {json_type(value)}"
        )
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if value is not None else "null"
    return text if len(text) <= 60 else text[:57] + "..."


def _invalid(key: str, rule: str, value: Any) -> AdminError:
    return AdminError(400, "InvalidParameter", f"{key} {rule}, got {_shown(value)}")


def _only(body: dict[str, Any], keys: tuple[str, ...]) -> None:
    unknown = sorted(k for k in body if k not in keys)
    if unknown:
        raise AdminError(
            400,
            "InvalidParameter",
            f"unknown key(s) {', '.join(unknown)}; this call takes {', '.join(keys) or 'none'}",
        )


def _id(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        raise AdminError(400, "InvalidParameter", f"{key} is missing")
    if not isinstance(value, str) or not ID_RE.match(value):
        raise _invalid(key, "must be a string of 1-128 of a-z A-Z 0-9 _ @ . -", value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _int(body: dict[str, Any], key: str, low: int, high: int) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(key, f"must be an integer from {low} to {high}", value)
    return value


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}
