"""`RtcClient`: validate -> serialize -> sign -> send -> parse, the same path for every action.

What differs per action is data read from the spec (method, where the request goes, the models)
plus one table of retry-safety conversions; there is no branch per action.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import attrs
import urllib3

from . import signing, spec
from .credentials import Credentials, resolve_region
from .errors import (
    Problem,
    RequestInvalid,
    RtcApiError,
    StopMayHaveSucceeded,
    TaskEndedEarly,
    TaskMayAlreadyExist,
    WaitTimeout,
)
from .models import (
    GetRecordTaskResponse,
    RecordTask,
    StartRecordResponse,
    StopRecordResponse,
    UpdateRecordResponse,
)
from .transport import Exchange, RetryPolicy, Transport, encode_query
from .validation import has_errors, validate_wire
from .wire import dumps, from_wire, to_wire

log = logging.getLogger("rtc_startrecord")

DEFAULT_ENDPOINT = "https://rtc.volcengineapi.com"
DEFAULT_TIMEOUT = urllib3.Timeout(connect=5.0, read=30.0)
SERVICE = "rtc"
USER_AGENT = "rtc-startrecord/0.1"

# After an ambiguous failure (the request may have run), a retry that meets this code means the
# first attempt most likely succeeded: say so with a distinct error instead of a plain failure.
AMBIGUOUS_OUTCOMES: dict[tuple[str, str], type[RtcApiError]] = {
    ("StartRecord", "InvalidParameter.TaskAlreadyExists"): TaskMayAlreadyExist,
    ("StopRecord", "InvalidParameter.ErrorActiveTaskNotFound"): StopMayHaveSucceeded,
}

TERMINAL = frozenset({0, 3, 4})  # unknown error, ended, failed: a task never leaves these


@attrs.frozen(kw_only=True)
class PreparedRequest:
    """A validated, serialized and signed request, ready to send (or to show with --dry-run)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def redacted_headers(self) -> dict[str, str]:
        """The headers with the session token hidden (the Authorization holds no secret)."""
        return {
            k: ("<redacted>" if k.lower() == "x-security-token" else v)
            for k, v in self.headers.items()
        }


class RtcClient:
    """A client of the RTC recording API.

    `credentials` default to `Credentials.from_env()`; `region` to VOLC_REGION or cn-north-1.
    `timeout` is seconds (or a urllib3.Timeout) per attempt; `max_attempts` and `total_timeout`
    bound the retries; `qps` limits this client's calls per second (None turns it off).
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        region: str | None = None,
        timeout: float | urllib3.Timeout = DEFAULT_TIMEOUT,
        max_attempts: int = 3,
        total_timeout: float = 60.0,
        qps: float | None = 60.0,
        version: str = spec.DEFAULT_VERSION,
        proxy: str | None = None,
        pool_maxsize: int = 10,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._credentials = credentials if credentials is not None else Credentials.from_env()
        self.region = resolve_region(region)
        self.version = version
        self._transport = Transport(
            endpoint, timeout=timeout, qps=qps, proxy=proxy, pool_maxsize=pool_maxsize
        )
        self._timeout: urllib3.Timeout | None = None
        self._warned: set[tuple[str, str, str]] = set()
        self._policy = RetryPolicy(
            max_attempts=max_attempts,
            total_timeout=total_timeout,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
        )

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return self._transport.endpoint

    @property
    def credentials_source(self) -> str:
        return self._credentials.source

    def __repr__(self) -> str:
        return (
            f"RtcClient(endpoint={self.endpoint!r}, region={self.region!r}, "
            f"access_key_id={self._credentials.access_key_id!r}, "
            f"max_attempts={self._policy.max_attempts})"
        )

    def __reduce__(self) -> Any:
        raise TypeError("RtcClient holds credentials and is not picklable; build one per process")

    def __enter__(self) -> RtcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool (shared with `with_options` copies)."""
        self._transport.close()

    def with_options(
        self,
        *,
        timeout: float | urllib3.Timeout | None = None,
        max_attempts: int | None = None,
        total_timeout: float | None = None,
    ) -> RtcClient:
        """A client sharing this one's pool, limiter and credentials, with per-call overrides."""
        new = object.__new__(RtcClient)
        new.__dict__.update(self.__dict__)
        if timeout is not None:
            new._timeout = (
                timeout
                if isinstance(timeout, urllib3.Timeout)
                else urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)
            )
        changes: dict[str, Any] = {}
        if max_attempts is not None:
            if max_attempts < 1:
                raise ValueError("max_attempts must be at least 1")
            changes["max_attempts"] = max_attempts
        if total_timeout is not None:
            changes["total_timeout"] = total_timeout
        new._policy = attrs.evolve(self._policy, **changes)
        return new

    def _sign(
        self,
        method: str,
        host: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> dict[str, str]:
        c = self._credentials
        return signing.sign(
            method,
            host,
            path,
            query,
            headers,
            body,
            access_key_id=c.access_key_id,
            secret_access_key=c.secret_access_key,
            region=self.region,
            service=SERVICE,
            x_date=signing.x_date_now(),
            session_token=c.session_token,
        )

    def _wire(self, action: str, request: object) -> tuple[spec.Operation, dict[str, Any]]:
        op = spec.operation(action, self.version)
        if type(request) is dict:  # the common case first: a wire dict goes straight on
            wire: dict[str, Any] = request
        elif attrs.has(type(request)):
            if not isinstance(request, op.request_model):
                raise TypeError(
                    f"{action} takes a {op.request} or a wire dict, not a {type(request).__name__}"
                )
            try:
                wire = to_wire(request)
            except Exception as exc:  # attrs does not type-check: a model can hold anything
                raise RequestInvalid(
                    [
                        Problem(
                            path="$",
                            rule="schema.type",
                            message=f"cannot be written as JSON: {exc}",
                        )
                    ]
                ) from None
        elif isinstance(request, Mapping):
            wire = dict(request)
        else:
            raise TypeError(
                f"{action} takes a {op.request} or a wire dict, not {type(request).__name__}"
            )
        problems = validate_wire(wire, action, self.version)
        if problems:
            for p in problems:
                if p.severity == "warning" and (action, p.rule, p.path) not in self._warned:
                    self._warned.add((action, p.rule, p.path))  # once per client, not per call
                    log.warning("%s: %s", action, p)
            if has_errors(problems):
                raise RequestInvalid([p for p in problems if p.severity == "error"])
        return op, wire

    def _encode(
        self, op: spec.Operation, wire: dict[str, Any]
    ) -> tuple[list[tuple[str, str]], dict[str, str], bytes]:
        query = [("Action", op.action), ("Version", op.version)]
        if op.request_in == "query":
            query += [(name, str(wire[name])) for name in op.query if name in wire]
            return query, {}, b""
        try:
            body = dumps(wire)
        except ValueError as exc:  # not JSON data (a non-string key, an int beyond 64 bits)
            raise RequestInvalid(
                [Problem(path="$", rule="schema.type", message=str(exc))]
            ) from None
        return query, {"Content-Type": "application/json"}, body

    def prepare(self, action: str, request: object) -> PreparedRequest:
        """Validate, serialize and sign without sending (what --dry-run shows)."""
        op, wire = self._wire(action, request)
        query, headers, body = self._encode(op, wire)
        sent = self._sign(op.method, self._transport.host, op.path, query, headers, body)
        return PreparedRequest(
            method=op.method,
            url=f"{self.endpoint}{op.path}?{encode_query(tuple(query))}",
            headers=sent,
            body=body,
        )

    # -- the one path ----------------------------------------------------------------------

    def call(self, action: str, request: object) -> Any:
        """Run any action of the client's API version; returns its typed response model."""
        op, wire = self._wire(action, request)
        query, headers, body = self._encode(op, wire)
        headers["User-Agent"] = USER_AGENT
        exchange = self._transport.exchange(
            op.method,
            op.path,
            query,
            headers,
            body,
            signer=self._sign,
            policy=self._policy,
            timeout=self._timeout,
            action=action,
        )
        return self._result(op, exchange)

    def _result(self, op: spec.Operation, ex: Exchange) -> Any:
        err = ex.error
        if err is not None:
            code = str(err.get("Code", ""))
            cls = AMBIGUOUS_OUTCOMES.get((op.action, code)) if ex.ambiguous_before else None
            code_n = err.get("CodeN")
            raise (cls or RtcApiError)(
                code,
                str(err.get("Message", "")),
                code_n=code_n if isinstance(code_n, int) else None,
                request_id=ex.request_id,
                http_status=ex.status,
                action=op.action,
            )
        return from_wire(op.response_model, ex.envelope)

    # -- the actions -----------------------------------------------------------------------

    def start_record(self, request: object) -> StartRecordResponse:
        """StartRecord: start a recording task. Returns StartRecordResponse."""
        return cast(StartRecordResponse, self.call("StartRecord", request))

    def stop_record(self, request: object) -> StopRecordResponse:
        """StopRecord: stop a running task. Returns StopRecordResponse."""
        return cast(StopRecordResponse, self.call("StopRecord", request))

    def update_record(self, request: object) -> UpdateRecordResponse:
        """UpdateRecord: replace a running task's streams and layout."""
        return cast(UpdateRecordResponse, self.call("UpdateRecord", request))

    def get_record_task(self, request: object) -> GetRecordTaskResponse:
        """GetRecordTask: a task's state and files. Returns GetRecordTaskResponse."""
        return cast(GetRecordTaskResponse, self.call("GetRecordTask", request))

    def wait_for_task(
        self,
        app_id: str,
        room_id: str,
        task_id: str,
        *,
        status: int,
        timeout: float = 60.0,
        interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> RecordTask:
        """Poll GetRecordTask with backoff until the task reaches `status`; return the RecordTask.

        Raises WaitTimeout when time runs out, TaskEndedEarly when the task ends or fails (Status
        3 or 4) before reaching `status`.
        """
        deadline = time.monotonic() + timeout
        delay = interval
        query = {"AppId": app_id, "RoomId": room_id, "TaskId": task_id}
        while True:
            result = self.get_record_task(query).result
            assert result is not None  # a success envelope always carries Result
            task = result.record_task
            if task.status == status:
                return task
            # Status is optional in the response model: int(None) must not hide the real error.
            last = "none" if task.status is None else str(int(task.status))
            if task.status in TERMINAL and task.status != status:
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
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, max_interval)
