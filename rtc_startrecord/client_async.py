"""`BaseAsyncRtcClient`: the asyncio twin of `client.BaseRtcClient`, on httpx.

It shares every piece but the socket and the sleeps: the settings, the version's class, the
validation, wire, signing (`client_core.ClientCore`), the retry rules, backoff and the reading of
answers (`attempts.attempt_steps`), the error mapping and the polls of `wait_for_task`. Only the
transport (`transport_async.AsyncTransport`) and `asyncio.sleep` are its own. httpx is an extra:
`pip install 'rtc-startrecord[async]'`.

The typed face is generated per version like the sync one's: `rs.AsyncRtcClient` is the default
version's, `rs.AsyncRtcClient(version=V)` builds V's.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Self, Unpack

from .attempts import Exchange, Pause
from .client_core import ClientCore, EchoesHidden, RawResponse
from .ratelimit_async import AsyncLimiter
from .spec import Operation
from .transport_async import AsyncTransport
from .waiting import WaitOptions, wait_steps

__all__ = ["BaseAsyncRtcClient"]


class BaseAsyncRtcClient(ClientCore):
    """An asyncio client of the RTC recording API, for one API version: the constructor of the
    sync client (see `ClientCore`), its methods as coroutines, `async with` and `aclose()`.
    `limiter` is an `AsyncLimiter` (an `AsyncRateLimiter` of `qps` by default). Build it inside
    the event loop that uses it (its connections belong to that loop)."""

    _GENERATED_NAME = "AsyncRtcClient"
    _transport: AsyncTransport

    def _make_transport(self, endpoint: str, **options: Any) -> AsyncTransport:
        limiter = options.get("limiter")
        if limiter is not None and not (
            isinstance(limiter, AsyncLimiter) and inspect.iscoroutinefunction(limiter.acquire)
        ):
            raise TypeError(
                "limiter must have an async acquire(timeout) method (an AsyncLimiter such as "
                f"rtc_startrecord.AsyncRateLimiter), got {type(limiter).__name__}"
            )
        return AsyncTransport(endpoint, **options)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the connection pool (shared with `with_options` copies)."""
        await self._transport.aclose()

    # -- the one path ----------------------------------------------------------------------

    async def call(self, action: str, request: object) -> Any:
        """Run any action of the client's API version; returns its typed response model."""
        op, query, headers, body = self._request(action, request)
        with EchoesHidden(body, op.version):
            return self._result(op, await self._exchange(op, query, headers, body))

    async def call_raw(self, action: str, request: object) -> RawResponse:
        """`call`, returning the response model with the envelope as received, the HTTP status,
        the headers and the number of attempts (the same errors are raised)."""
        op, query, headers, body = self._request(action, request)
        with EchoesHidden(body, op.version):
            return self._raw(op, await self._exchange(op, query, headers, body))

    async def _exchange(
        self, op: Operation, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> Exchange:
        """The transport's attempts at one validated and serialized request: the final answer."""
        return await self._transport.exchange(
            op.method, op.path, query, headers, body,
            signer=self._sign, policy=self._policy, timeout=self._timeout, action=op.action,
        )  # fmt: skip

    # -- the actions (typed per version in the generated subclasses) -----------------------

    async def start_record(self, request: Any) -> Any:
        """StartRecord: start a recording task."""
        return await self.call("StartRecord", request)

    async def stop_record(self, request: Any) -> Any:
        """StopRecord: stop a running task."""
        return await self.call("StopRecord", request)

    async def update_record(self, request: Any) -> Any:
        """UpdateRecord: replace a running task's streams and layout."""
        return await self.call("UpdateRecord", request)

    async def get_record_task(self, request: Any) -> Any:
        """GetRecordTask: a task's state and files."""
        return await self.call("GetRecordTask", request)

    async def wait_for_task(
        self,
        app_id: str,
        room_id: str,
        task_id: str,
        *,
        status: int,
        **options: Unpack[WaitOptions],
    ) -> Any:
        """Poll GetRecordTask until the task reaches `status`; return the RecordTask (the
        options and errors of the sync client's `wait_for_task`)."""
        on_raw = options.get("on_raw_progress")
        steps = wait_steps(app_id, room_id, task_id, status=status, **options)
        step = next(steps)
        try:
            while True:
                if isinstance(step, Pause):
                    await asyncio.sleep(step.seconds)
                    step = steps.send(None)
                elif on_raw is None:
                    step = steps.send(await self.call("GetRecordTask", step))
                else:
                    raw = await self.call_raw("GetRecordTask", step)
                    on_raw(raw)
                    step = steps.send(raw.parsed)
        except StopIteration as done:
            return done.value
