"""pytest fixtures for code that uses rtc_startrecord (registered through the ``pytest11`` entry
point, so they are available as soon as the package is installed)::

    def test_starts(rtc_client, rtc_simulator):
        rtc_client.start_record(body)
        assert (body["AppId"], body["RoomId"], body["TaskId"]) in rtc_simulator.tasks

    from rtc_startrecord.pytest_plugin import client_for

    def test_callbacks(rtc_simulator_with_callbacks, rtc_callback_receiver):
        with client_for(rtc_simulator_with_callbacks) as client:
            ...  # start and stop a task
        events = rtc_callback_receiver.wait_for(2, timeout=5)

Fixtures (all function-scoped, each test gets fresh ones):

``rtc_simulator``
    A started `Simulator` on a free loopback port, stopped after the test. It keeps the
    service's default limit of 60 requests per second per access key (as the real service), so a
    test that hammers it sees ``FlowLimitExceeded``; use ``Simulator(qps=None)`` yourself to turn it
    off.
``rtc_client``
    An `RtcClient` bound to ``rtc_simulator`` (its test credentials, its URL and region), with the
    client-side limiter off (``qps=None``), 2 attempts and short back-off; closed after the test.
``rtc_async_client``
    An `AsyncRtcClient` bound to ``rtc_simulator``, set up as ``rtc_client`` and closed after the
    test. An async fixture: run the test with anyio's pytest plugin (``@pytest.mark.anyio``; anyio
    comes with httpx) or pytest-asyncio (auto mode, or ``@pytest.mark.asyncio``).
``rtc_callback_receiver``
    A `CallbackReceiver`: a loopback HTTP server running `callbacks.make_wsgi_app` with a random
    secret, collecting every verified `callbacks.Event` in ``.events``; ``.wait_for(n, timeout)``
    waits until ``n`` events arrived.
``rtc_simulator_with_callbacks``
    A started `Simulator` that delivers its callbacks to ``rtc_callback_receiver`` (delivery
    timeout 1 s, retry delay 0.05 s, so failures do not slow tests down).

The module imports nothing heavy at import time: pytest loads it in every session of every
project that has the package installed.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .callbacks import Event
    from .simulator import Simulator
    from .simulator.server import WSGIServer
    from .v2020_12_01 import AsyncRtcClient, RtcClient

__all__ = [
    "CallbackReceiver",
    "async_client_for",
    "client_for",
    "rtc_async_client",
    "rtc_callback_receiver",
    "rtc_client",
    "rtc_simulator",
    "rtc_simulator_with_callbacks",
]


class CallbackReceiver:
    """A loopback receiver of RTC callbacks, for tests.

    ``url`` is where to deliver, ``secret`` the signing secret it checks (a random one per
    receiver), ``events`` the verified events in arrival order (duplicates, by EventId, are
    answered 200 and not collected twice). Not started until `start`; `stop` is idempotent.
    """

    def __init__(self, secret: str | None = None) -> None:
        from .callbacks import make_wsgi_app
        from .simulator.server import WSGIServer

        self.secret = secret if secret is not None else secrets.token_hex(16)
        self.events: list[Event] = []
        self._cond = threading.Condition()
        self.app = make_wsgi_app(self._handle, secret=self.secret)
        self.server: WSGIServer = WSGIServer(self.app)

    def __repr__(self) -> str:
        where = self.server.url if self.server.running else "stopped"
        return f"CallbackReceiver({where}, events={len(self.events)})"

    def _handle(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    @property
    def url(self) -> str:
        """The URL to give the simulator as ``callback_url``."""
        return self.server.url + "/callbacks"

    def start(self) -> CallbackReceiver:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> CallbackReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def event_types(self) -> list[str]:
        """The EventType of each event so far, in arrival order."""
        with self._cond:
            return [e.event_type for e in self.events]

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Event]:
        """Wait until at least ``n`` events arrived; return (a copy of) all of them.

        Raises `TimeoutError` (listing what did arrive) when ``timeout`` seconds pass first.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.events) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = [e.event_type for e in self.events]
                    raise TimeoutError(
                        f"expected {n} callback(s) within {timeout:g}s, got {len(got)}: {got}"
                    )
                self._cond.wait(remaining)
            return list(self.events)


def client_for(sim: Simulator, *, version: str | None = None) -> RtcClient:
    """An `RtcClient` for tests against ``sim`` (what ``rtc_client`` gives for ``rtc_simulator``):
    its credentials, URL and region, client limiter off, 2 attempts, short back-off; `version`
    picks the API version (the simulator serves all of them), as for `rs.RtcClient`. Close it
    (or use it as a context manager)."""
    from .v2020_12_01 import RtcClient

    return RtcClient(
        sim.credentials,
        version=version,
        endpoint=sim.url,
        region=sim.region,
        qps=None,
        max_attempts=2,
        total_timeout=10.0,
        backoff_base=0.01,
        backoff_cap=0.1,
        timeout=5.0,
    )


def async_client_for(sim: Simulator, *, version: str | None = None) -> AsyncRtcClient:
    """`client_for`'s `AsyncRtcClient` twin (build it inside the event loop that uses it; close
    it with ``await client.aclose()`` or ``async with``)."""
    from .v2020_12_01 import AsyncRtcClient

    return AsyncRtcClient(
        sim.credentials,
        version=version,
        endpoint=sim.url,
        region=sim.region,
        qps=None,
        max_attempts=2,
        total_timeout=10.0,
        backoff_base=0.01,
        backoff_cap=0.1,
        timeout=5.0,
    )


@pytest.fixture
def rtc_simulator() -> Iterator[Simulator]:
    """A started `rtc_startrecord.simulator.Simulator` on a free loopback port (default qps limit
    60 per access key, like the service); stopped after the test."""
    from .simulator import Simulator

    with Simulator() as sim:
        yield sim


@pytest.fixture
def rtc_client(rtc_simulator: Simulator) -> Iterator[RtcClient]:
    """An `RtcClient` bound to ``rtc_simulator``: its credentials, URL and region; client limiter
    off (``qps=None``), 2 attempts, short back-off. Closed after the test."""
    with client_for(rtc_simulator) as client:
        yield client


@pytest.fixture
async def rtc_async_client(rtc_simulator: Simulator) -> AsyncIterator[AsyncRtcClient]:
    """An `AsyncRtcClient` bound to ``rtc_simulator`` (as ``rtc_client``); closed after the
    test. Needs anyio's pytest plugin or pytest-asyncio to run."""
    async with async_client_for(rtc_simulator) as client:
        yield client


@pytest.fixture
def rtc_callback_receiver() -> Iterator[CallbackReceiver]:
    """A started `CallbackReceiver` (loopback, random secret) collecting verified callback events;
    ``.wait_for(n, timeout)`` waits for ``n`` of them. Stopped after the test."""
    with CallbackReceiver() as receiver:
        yield receiver


@pytest.fixture
def rtc_simulator_with_callbacks(
    rtc_callback_receiver: CallbackReceiver,
) -> Iterator[Simulator]:
    """A started `Simulator` delivering callbacks to ``rtc_callback_receiver`` (delivery timeout
    1 s, retry delay 0.05 s). Stopped after the test."""
    from .simulator import Simulator

    sim = Simulator(
        callback_url=rtc_callback_receiver.url,
        callback_secret=rtc_callback_receiver.secret,
        callback_timeout=1.0,
        callback_retry_delay=0.05,
    )
    with sim:
        yield sim
