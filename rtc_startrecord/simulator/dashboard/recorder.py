"""The last N API requests the simulator answered, for the dashboard: a WSGI middleware.

`RequestRecorder(app)` passes every request to `app` and keeps, for each one, what came back:
the time (wall clock and simulated), method, Action, Version, HTTP status, the envelope's
RequestId and, for an error, its Code and Message. An ``InvalidParameter`` message names the
problems of a rejected body (``path: rule: message``, joined by ``"; "``): they are split out
into `RecordedRequest.problems`.

Secrets never reach the log: the request body is read (and handed on unchanged) only to learn
the values of its bucket credentials (the spec's ``writeOnly`` keys, `..redaction.Redactor`),
which are then hidden in every message kept. No header, query signature, session token or body
is ever kept. Recording never changes what the client gets: a failure to record is logged and
the request is answered as if no recorder were there.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

import attrs

from ... import spec
from ...redaction import Redactor
from ..http import DropConnection

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["DEFAULT_LIMIT", "Problem", "RecordedRequest", "RequestRecorder", "split_problems"]

log = logging.getLogger("rtc_startrecord.simulator")

DEFAULT_LIMIT: Final = 200
MAX_PARSED_BODY: Final = 4 << 20  # bodies above this are not read for secrets (nor parsed)
MAX_TEXT: Final = 2000  # a message is cut to this many characters
# Every secret key name (CROSS_VERSION_SECRET_KEYS: AccessKey, SecretKey, SecurityToken) holds
# one of these; "\\u" for a key spelled with JSON escapes.
_SECRET_HINTS: Final = (b"Key", b"Token", b"\\u")
_PROBLEM_SPLIT: Final = re.compile(r"; (?=\$)")
_COUNT_PREFIX: Final = re.compile(r"^\d+ invalid parameter\(s\): ")
_MORE: Final = re.compile(r"; and (\d+) more$")


@attrs.frozen(kw_only=True)
class Problem:
    """One validation problem named by an InvalidParameter message."""

    path: str
    rule: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"Path": self.path, "Rule": self.rule, "Message": self.message}


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One API request and its answer, as the dashboard shows it (nothing secret)."""

    seq: int
    at_ms: int  # wall clock, Unix ms
    sim_ms: int | None  # the simulated clock when it was answered
    method: str
    action: str
    version: str
    status: int | None  # None: the connection was dropped (an injected fault)
    request_id: str
    code: str
    message: str
    problems: tuple[Problem, ...]
    more_problems: int  # how many the message left out ("; and N more")
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and not self.code

    def to_json(self) -> dict[str, Any]:
        return {
            "Seq": self.seq,
            "Time": self.at_ms,
            "SimulatedTime": self.sim_ms,
            "Method": self.method,
            "Action": self.action,
            "Version": self.version,
            "Status": self.status,
            "RequestId": self.request_id,
            "Code": self.code,
            "Message": self.message,
            "Problems": [p.to_json() for p in self.problems],
            "MoreProblems": self.more_problems,
            "DurationMs": round(self.duration_ms, 2),
        }


def split_problems(message: str) -> tuple[tuple[Problem, ...], int]:
    """The problems an InvalidParameter message names, and how many it left out.

    The simulator writes ``"<n> invalid parameter(s): <path>: <rule>: <message>; ..."`` (each
    path starts with ``$``); a message of another shape gives no problems."""
    head = _COUNT_PREFIX.match(message)
    if head is None:
        return (), 0
    rest = message[head.end() :]
    more = 0
    tail = _MORE.search(rest)
    if tail is not None:
        more = int(tail.group(1))
        rest = rest[: tail.start()]
    problems = []
    for part in _PROBLEM_SPLIT.split(rest):
        path, _, after = part.partition(": ")
        rule, sep, text = after.partition(": ")
        if not sep:  # "path: message" without a rule
            rule, text = "", after
        problems.append(Problem(path=path, rule=rule, message=text))
    return tuple(problems), more


def _printable(text: str, limit: int = 64) -> str:
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def _first_values(query: str) -> dict[str, str]:
    first: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        first.setdefault(key, value)
    return first


class RequestRecorder:
    """WSGI middleware keeping the last `limit` requests that reached `app` (see the module).

    `skip(path)` says which paths are not API requests (default: the ``/_simulator`` admin and
    dashboard paths); those pass through unrecorded. `sim_clock()` gives the simulated time."""

    def __init__(
        self,
        app: WSGIApplication,
        *,
        limit: int = DEFAULT_LIMIT,
        sim_clock: Callable[[], int] | None = None,
        skip: Callable[[str], bool] | None = None,
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        self.app = app
        self.limit = limit
        self.sim_clock = sim_clock
        self.skip = skip or _is_simulator_path
        self._lock = threading.Lock()
        self._entries: deque[RecordedRequest] = deque(maxlen=limit)
        self._seq = 0

    def __repr__(self) -> str:
        return f"RequestRecorder(limit={self.limit}, kept={len(self._entries)})"

    @property
    def entries(self) -> list[RecordedRequest]:
        """The requests kept, oldest first (a snapshot)."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "")
        if self.skip(path):
            return self.app(environ, start_response)
        t0 = time.perf_counter()
        redactor = self._learn(environ)
        seen: list[str] = []

        def recording(status: str, headers: Any, exc_info: Any = None) -> Any:
            seen[:] = [status]
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, recording)
            try:
                chunks = [bytes(chunk) for chunk in result]
            finally:
                close = getattr(result, "close", None)
                if callable(close):
                    close()
        except DropConnection:
            self._record(environ, None, b"", redactor, t0)
            raise
        status = None
        if seen:
            try:
                status = int(seen[0].split(" ", 1)[0])
            except ValueError:
                status = None
        self._record(environ, status, b"".join(chunks), redactor, t0)
        return chunks

    # -- reading ----------------------------------------------------------------------------

    def _learn(self, environ: WSGIEnvironment) -> Redactor:
        """The secrets of the request's body (the body is put back for the app, unchanged)."""
        redactor = Redactor()
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return redactor
        if not 0 < length <= MAX_PARSED_BODY:
            return redactor
        try:
            raw = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(raw)
            if not any(hint in raw for hint in _SECRET_HINTS):
                return redactor  # no secret key can be in it: skip parsing
            body = json.loads(raw)
        except Exception:  # not JSON (or unreadable): the app will say so; no secret to learn
            return redactor
        version = _first_values(str(environ.get("QUERY_STRING") or "")).get("Version", "")
        if version not in spec.API_VERSIONS:
            version = spec.DEFAULT_VERSION
        try:
            redactor.learn(body, version)
        except Exception:
            log.exception("the dashboard's request recorder could not read a body")
        return redactor

    def _record(
        self,
        environ: WSGIEnvironment,
        status: int | None,
        body: bytes,
        redactor: Redactor,
        t0: float,
    ) -> None:
        try:
            entry = self._entry(environ, status, body, redactor, t0)
        except Exception:  # recording must never change an answer
            log.exception("the dashboard's request recorder failed")
            return
        with self._lock:
            self._entries.append(entry)

    def _entry(
        self,
        environ: WSGIEnvironment,
        status: int | None,
        body: bytes,
        redactor: Redactor,
        t0: float,
    ) -> RecordedRequest:
        query = _first_values(str(environ.get("QUERY_STRING") or ""))
        request_id = code = message = ""
        if status is None:
            code, message = "(dropped)", "the connection was closed without an answer"
        elif len(body) <= MAX_PARSED_BODY:
            meta: Any = None
            try:
                envelope = json.loads(body)
                meta = envelope.get("ResponseMetadata") if isinstance(envelope, dict) else None
            except ValueError:
                meta = None
            if isinstance(meta, dict):
                request_id = str(meta.get("RequestId") or "")
                error = meta.get("Error")
                if isinstance(error, dict):
                    code = str(error.get("Code") or "")
                    message = str(error.get("Message") or "")
            elif status >= 300:
                code, message = "(no envelope)", f"HTTP {status} without the RTC envelope"
        message = redactor.text(message)
        problems, more = split_problems(message) if code.startswith("InvalidParameter") else ((), 0)
        with self._lock:
            self._seq += 1
            seq = self._seq
        sim_ms: int | None = None
        if self.sim_clock is not None:
            try:
                sim_ms = self.sim_clock()
            except Exception:
                sim_ms = None
        return RecordedRequest(
            seq=seq,
            at_ms=int(time.time() * 1000),
            sim_ms=sim_ms,
            method=_printable(str(environ.get("REQUEST_METHOD") or ""), 16),
            action=_printable(query.get("Action", "")),
            version=_printable(query.get("Version", "")),
            status=status,
            request_id=_printable(request_id, 80),
            code=_printable(code, 120),
            message=message[:MAX_TEXT],
            problems=problems,
            more_problems=more,
            duration_ms=(time.perf_counter() - t0) * 1000,
        )


def _is_simulator_path(path: str) -> bool:
    return path == "/_simulator" or path.startswith("/_simulator/")
