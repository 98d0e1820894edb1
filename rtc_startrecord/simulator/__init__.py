"""A local simulator of the RTC recording API: a real HTTP server on loopback, like moto.

    from rtc_startrecord.simulator import Simulator
    with Simulator() as sim:
        client = rs.RtcClient(sim.credentials, endpoint=sim.url)
        client.start_record(body)
        sim.tasks          # what it recorded, keyed by (AppId, RoomId, TaskId)

It checks signatures with the client's own signing code, validates with the client's validator
(and so is as strict as the client), keeps TaskIds unique, limits each account to 60 requests per
second, runs a simulated clock with published streams, produces files and delivers callbacks.
Its credentials are fixed test values, not secrets.

The same port serves an admin API, JSON under ``/_simulator/api/`` (`.admin`): the tasks, and
publish, unpublish, advance and faults for another process (``rtc-startrecord sim ...``). Its
state-changing calls need `Simulator.admin_token`, fresh for every simulator unless given.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from ..credentials import Credentials
from .admin import AdminApp, new_token
from .app import SimulatorApp
from .dashboard import DashboardMiddleware
from .delivery import Deliverer, Delivery
from .router import Router
from .server import FaultInjector, WSGIServer
from .state import State, Task

__all__ = [
    "TEST_ACCESS_KEY_ID",
    "TEST_SECRET_ACCESS_KEY",
    "Delivery",
    "Simulator",
    "SimulatorApp",
    "Task",
]

# Fixed, documented test credentials. They are not secrets: `rtc-startrecord serve` prints them.
TEST_ACCESS_KEY_ID = "AKLTsimulatorTestKey0001"
TEST_SECRET_ACCESS_KEY = "simulator-test-secret-not-a-real-key"


class Simulator:
    """The simulated service on 127.0.0.1 (a free port unless `port` is given)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "cn-north-1",
        qps: float | None = 60.0,
        max_body: int = 1 << 20,
        max_skew: float = 900.0,
        callback_url: str | None = None,
        callback_secret: str | None = None,
        callback_timeout: float = 5.0,
        callback_retry_delay: float = 1.0,
        extra_credentials: dict[str, str] | None = None,
        admin_token: str | None = None,
    ) -> None:
        if (callback_url is None) != (callback_secret is None):
            raise ValueError("callback_url and callback_secret go together")
        if callback_secret is not None:  # refused now, not at the first delivery
            from ..callbacks.signature import check_secret

            check_secret(callback_secret)
        self.credentials = Credentials(
            TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, source="simulator"
        )
        self.region = region
        self._deliverer = (
            Deliverer(
                callback_url,
                callback_secret,
                timeout=callback_timeout,
                retry_delay=callback_retry_delay,
            )
            if callback_url and callback_secret
            else None
        )
        self.state = State(on_event=self._on_event)
        secrets = {TEST_ACCESS_KEY_ID: TEST_SECRET_ACCESS_KEY, **(extra_credentials or {})}
        self.app = SimulatorApp(
            self.state,
            secrets=secrets,
            region=region,
            qps=qps,
            max_body=max_body,
            max_skew=max_skew,
        )
        # Faults apply behind the router only, so admin calls never consume one.
        faults = FaultInjector()
        faults.apply_inside_only()
        self.admin_token = admin_token if admin_token is not None else new_token()
        self.admin = AdminApp(self.state, faults, token=self.admin_token)
        # The server's own cap sits above the app's, so oversized bodies get the envelope.
        # The dashboard answers /_simulator/ and its JSON twins before the router: no fault,
        # no QPS limit, no request log. It records the API requests it passes on.
        self.dashboard = DashboardMiddleware(
            Router(self.app, self.admin, faults), self, token=self.admin_token
        )
        self.server = WSGIServer(
            self.dashboard,
            host=host,
            port=port,
            max_body=max_body * 4 + 1024,
            faults=faults,
            error_body=self.app.http_error_body,
        )

    def __repr__(self) -> str:
        state = self.url if self.server.running else "stopped"
        return f"Simulator({state}, tasks={len(self.state.tasks)})"  # never the admin token

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Simulator:
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving. Callbacks not yet delivered are given up: `wait_for_deliveries` first."""
        self.server.stop()
        if self._deliverer is not None:
            self._deliverer.close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def admin_url(self) -> str:
        """The admin API's root (``<url>/_simulator/api``)."""
        return self.server.url + "/_simulator/api"

    @property
    def faults(self) -> FaultInjector:
        """Fault injection for the next N requests: delay, drop, error (5xx), throttle (429)."""
        return self.server.faults

    # -- state ------------------------------------------------------------------------------

    @property
    def tasks(self) -> dict[tuple[str, str, str], Task]:
        """The tasks it knows, keyed by (AppId, RoomId, TaskId) (a snapshot)."""
        with self.state.lock:
            self.state.tick()
            return dict(self.state.tasks)

    def advance(self, seconds: float) -> None:
        """Move the simulated clock (idle and max-record ends, the 72 h window)."""
        self.state.advance(seconds)

    def publish(
        self,
        app_id: str,
        room_id: str,
        user_id: str,
        stream_type: int = 0,
        *,
        width: int = 640,
        height: int = 480,
    ) -> None:
        """A user starts publishing a stream in a room."""
        self.state.publish(app_id, room_id, user_id, stream_type, width=width, height=height)

    def unpublish(self, app_id: str, room_id: str, user_id: str, stream_type: int = 0) -> None:
        """A user stops publishing a stream."""
        self.state.unpublish(app_id, room_id, user_id, stream_type)

    def now_ms(self) -> int:
        """The simulated clock, Unix milliseconds."""
        return self.state.now_ms()

    # -- callbacks --------------------------------------------------------------------------

    @property
    def callback_url(self) -> str | None:
        """Where callbacks go (None without one)."""
        return self._deliverer.url if self._deliverer else None

    @property
    def callback_attempts(self) -> int:
        """How many times a callback is tried at most (0 without a callback_url)."""
        return self._deliverer.max_deliveries if self._deliverer else 0

    @property
    def deliveries(self) -> list[Delivery]:
        """Every callback delivery attempt with its outcome (empty without a callback_url)."""
        return list(self._deliverer.deliveries) if self._deliverer else []

    def wait_for_deliveries(self, timeout: float = 30.0) -> bool:
        """Wait until every queued callback is delivered or given up."""
        return self._deliverer.wait_idle(timeout) if self._deliverer else True

    def _on_event(self, kind: str, task: Task) -> None:
        if self._deliverer is None:
            return
        ids: dict[str, Any] = {"AppId": task.app_id, "RoomId": task.room_id, "TaskId": task.task_id}
        if "BusinessId" in task.request:
            ids["BusinessId"] = task.request["BusinessId"]
        send = self._deliverer.send
        if kind == "started":
            send("RecordStarted", ids | {"Code": 0}, app_id=task.app_id)
            return
        send(
            "RecordStopped",
            ids
            | {
                "StopReason": task.stop_reason,
                "StartTime": task.start_time,
                "EndTime": task.end_time,
                "RecordFileList": task.files,
            },
            app_id=task.app_id,
        )
        for f in task.files:
            send("RecordUploadDone", ids | {"File": f}, app_id=task.app_id)
