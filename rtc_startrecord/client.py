"""`BaseRtcClient`: validate -> serialize -> sign -> send -> parse, the same path for every action
and every API version, over urllib3.

Everything that is not I/O lives in `client_core.ClientCore` and `attempts`, shared with the
async client (`client_async.BaseAsyncRtcClient`); this class adds the blocking transport and the
blocking sleeps. The typed face of this class is generated per version
(`rtc_startrecord/<module>.py`, from spec/versions.yaml): `rs.RtcClient` is the default
version's, and `rs.RtcClient(version=V)` builds the client class of V, a subclass whose methods
carry V's models.
"""

from __future__ import annotations

import time
from typing import Any, Self, Unpack

from .attempts import Exchange, Pause
from .client_core import (
    AMBIGUOUS_OUTCOMES,
    DEFAULT_ENDPOINT,
    DEFAULT_TIMEOUT,
    ENDPOINT_ENV,
    SERVICE,
    USER_AGENT,
    ClientCore,
    ClientOptions,
    EchoesHidden,
    PreparedRequest,
    RawResponse,
)
from .ratelimit import Limiter
from .spec import Operation
from .transport import Transport
from .waiting import TERMINAL, WaitOptions, wait_steps

__all__ = [
    "AMBIGUOUS_OUTCOMES",
    "DEFAULT_ENDPOINT",
    "DEFAULT_TIMEOUT",
    "ENDPOINT_ENV",
    "SERVICE",
    "TERMINAL",
    "USER_AGENT",
    "BaseRtcClient",
    "ClientOptions",
    "PreparedRequest",
    "RawResponse",
    "WaitOptions",
]


class BaseRtcClient(ClientCore):
    """A client of the RTC recording API, for one API version (see `ClientCore` for the
    options). `limiter` is a `Limiter` (thread-safe, blocking) and replaces `qps`."""

    _transport: Transport

    def _make_transport(self, endpoint: str, **options: Any) -> Transport:
        limiter = options.get("limiter")
        if limiter is not None and not isinstance(limiter, Limiter):
            raise TypeError(
                f"limiter must have an acquire(timeout) method, got {type(limiter).__name__}"
            )
        return Transport(endpoint, **options)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool (shared with `with_options` copies)."""
        self._transport.close()

    # -- the one path ----------------------------------------------------------------------

    def call(self, action: str, request: object) -> Any:
        """Run any action of the client's API version; returns its typed response model."""
        op, query, headers, body = self._request(action, request)
        with EchoesHidden(body, op.version):
            return self._result(op, self._exchange(op, query, headers, body))

    def call_raw(self, action: str, request: object) -> RawResponse:
        """`call`, returning the response model with the envelope as received, the HTTP status,
        the headers and the number of attempts (the same errors are raised)."""
        op, query, headers, body = self._request(action, request)
        with EchoesHidden(body, op.version):
            return self._raw(op, self._exchange(op, query, headers, body))

    def _exchange(
        self, op: Operation, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> Exchange:
        """The transport's attempts at one validated and serialized request: the final answer."""
        return self._transport.exchange(
            op.method, op.path, query, headers, body,
            signer=self._sign, policy=self._policy, timeout=self._timeout, action=op.action,
        )  # fmt: skip

    # -- the actions (typed per version in the generated subclasses) -----------------------

    def start_record(self, request: Any) -> Any:
        """StartRecord: start a recording task."""
        return self.call("StartRecord", request)

    def stop_record(self, request: Any) -> Any:
        """StopRecord: stop a running task."""
        return self.call("StopRecord", request)

    def update_record(self, request: Any) -> Any:
        """UpdateRecord: replace a running task's streams and layout."""
        return self.call("UpdateRecord", request)

    def get_record_task(self, request: Any) -> Any:
        """GetRecordTask: a task's state and files."""
        return self.call("GetRecordTask", request)

    def wait_for_task(
        self,
        app_id: str,
        room_id: str,
        task_id: str,
        *,
        status: int,
        **options: Unpack[WaitOptions],
    ) -> Any:
        """Poll GetRecordTask with backoff until the task reaches `status`; return the RecordTask.

        Options (`WaitOptions`): `timeout` (60 s), `interval` (0.5 s, doubling up to
        `max_interval`, 5 s), `on_progress(response)`, told of every GetRecordTask answer polled
        (its response model, envelope and all) before its status is judged, so it has seen the
        last one when TaskEndedEarly or WaitTimeout is raised; `on_raw_progress(raw)`, the same
        for each poll's `RawResponse` (the envelope as received, status, headers, request id and
        attempts: what `call_raw` returns), told first.
        Raises WaitTimeout when time runs out, TaskEndedEarly when the task ends or fails (Status
        3 or 4) before reaching `status`.
        """
        on_raw = options.get("on_raw_progress")
        steps = wait_steps(app_id, room_id, task_id, status=status, **options)
        step = next(steps)
        try:
            while True:
                if isinstance(step, Pause):
                    time.sleep(step.seconds)
                    step = steps.send(None)
                elif on_raw is None:
                    step = steps.send(self.call("GetRecordTask", step))
                else:
                    raw = self.call_raw("GetRecordTask", step)
                    on_raw(raw)
                    step = steps.send(raw.parsed)
        except StopIteration as done:
            return done.value
