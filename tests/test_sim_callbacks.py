"""The simulator's callback deliveries (issue 9), received by `callbacks.make_wsgi_app` running
under the project's `WSGIServer` on loopback: what is delivered, signed and parsed; retries with
one EventId; timeouts; and that no API call waits for a receiver.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import pytest

import rtc_startrecord as rs
from rtc_startrecord import callbacks
from rtc_startrecord.simulator import Simulator
from rtc_startrecord.simulator.server import WSGIServer

SECRET = "callback-secret-for-tests"
APP, ROOM = "app1", "room1"
IDS: Any = {"AppId": APP, "RoomId": ROOM, "TaskId": "task1"}
START: Any = {
    **IDS,
    "BusinessId": "biz1",
    "RecordMode": 0,
    "Vod": {"AccountId": "200000000", "Space": "space"},
}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class Receiver:
    """A callback receiver: `behaviour(event, call_number)` may raise (-> HTTP 500) or sleep."""

    def __init__(self, behaviour: Callable[[callbacks.Event, int], None] | None = None) -> None:
        self.events: list[callbacks.Event] = []
        self.calls = 0
        self.behaviour = behaviour
        self.lock = threading.Lock()
        self.app = callbacks.make_wsgi_app(self.handle, secret=SECRET)
        self.server = WSGIServer(self.app)

    def handle(self, event: callbacks.Event) -> None:
        with self.lock:
            self.calls += 1
            n = self.calls
        if self.behaviour is not None:
            self.behaviour(event, n)
        with self.lock:
            self.events.append(event)

    @property
    def url(self) -> str:
        return self.server.url + "/rtc/callback"


@contextmanager
def setup(
    behaviour: Callable[[callbacks.Event, int], None] | None = None, **sim_kw: Any
) -> Iterator[tuple[Receiver, Simulator, rs.RtcClient]]:
    receiver = Receiver(behaviour)
    with receiver.server:
        sim_kw = {"callback_timeout": 1.0, "callback_retry_delay": 0.05, **sim_kw}
        with Simulator(
            qps=None, callback_url=receiver.url, callback_secret=SECRET, **sim_kw
        ) as sim:
            client = rs.RtcClient(sim.credentials, endpoint=sim.url, qps=None)
            with client:
                yield receiver, sim, client


def test_callback_url_and_secret_go_together() -> None:
    with pytest.raises(ValueError):
        Simulator(callback_url="http://127.0.0.1:1/")
    with pytest.raises(ValueError):
        Simulator(callback_secret=SECRET)


def test_no_callback_url_no_deliveries() -> None:
    with Simulator(qps=None) as sim:
        c = rs.RtcClient(sim.credentials, endpoint=sim.url, qps=None)
        c.start_record(START)
        c.stop_record(IDS)
        assert sim.deliveries == []
        assert sim.wait_for_deliveries(0.1)


def test_start_and_stop_are_delivered_verified_and_parsed() -> None:
    with setup() as (receiver, sim, client):
        sim.publish(APP, ROOM, "u1")
        client.start_record(START)
        sim.advance(12)
        client.stop_record(IDS)
        assert sim.wait_for_deliveries(10)
        task = client.get_record_task(IDS).result
        assert task is not None
        assert task.record_task is not None
        files = task.record_task.record_file_list
        assert files is not None
        assert len(files) == 1

        kinds = [e.event_type for e in receiver.events]
        assert kinds == ["RecordStarted", "RecordStopped", "RecordUploadDone"]
        assert len({e.event_id for e in receiver.events}) == 3
        for e in receiver.events:
            assert e.app_id == APP
            assert e.version == "2020-12-01"
            assert (e.data.task_id, e.data.room_id, e.data.app_id) == ("task1", ROOM, APP)  # type: ignore[union-attr]
            assert e.data.business_id == "biz1"  # type: ignore[union-attr]

        started, stopped, upload = (e.data for e in receiver.events)
        assert isinstance(started, callbacks.RecordStarted)
        assert started.code == 0 and started.error_message is None
        assert isinstance(stopped, callbacks.RecordStopped)
        assert stopped.stop_reason == "StopByAPI"
        assert stopped.start_time == task.record_task.start_time
        assert stopped.end_time == task.record_task.end_time
        assert [f["ObjectKey"] for f in stopped.record_file_list] == [f.object_key for f in files]
        assert isinstance(upload, callbacks.RecordUploadDone)
        assert isinstance(upload, callbacks.RecordUpload)
        assert upload.file["ObjectKey"] == files[0].object_key
        assert upload.file["Duration"] == files[0].duration

        # every attempt is recorded, each body verifies with the secret and no other
        assert [(d.event_type, d.attempt, d.status, d.ok) for d in sim.deliveries] == [
            ("RecordStarted", 1, 200, True),
            ("RecordStopped", 1, 200, True),
            ("RecordUploadDone", 1, 200, True),
        ]
        for d in sim.deliveries:
            assert callbacks.verify(d.body, secret=SECRET)
            assert not callbacks.verify(d.body, secret=SECRET + "x")
            assert d.error is None


def test_no_files_no_upload_events() -> None:
    with setup() as (receiver, sim, client):
        client.start_record(START)
        client.stop_record(IDS)
        assert sim.wait_for_deliveries(10)
        assert [e.event_type for e in receiver.events] == ["RecordStarted", "RecordStopped"]
        stopped = receiver.events[1].data
        assert isinstance(stopped, callbacks.RecordStopped)
        assert stopped.record_file_list == []


def test_idle_end_is_delivered_with_its_reason() -> None:
    with setup() as (receiver, sim, client):
        client.start_record(cast(Any, {**START, "Control": {"MaxIdleTime": 10}}))
        sim.advance(11)
        assert sim.wait_for_deliveries(10)
        stopped = receiver.events[-1].data
        assert isinstance(stopped, callbacks.RecordStopped)
        assert stopped.stop_reason == "IdleTimeOut"


def test_event_time_is_rfc3339_and_fresh_even_after_advance() -> None:
    with setup() as (receiver, sim, client):
        sim.advance(30 * 24 * 3600)  # the simulated clock; EventTime stays on the real clock
        client.start_record(START)
        assert sim.wait_for_deliveries(10)
        (d,) = sim.deliveries
        assert RFC3339.match(d.body["EventTime"]), d.body["EventTime"]
        event = callbacks.parse(d.body, secret=SECRET, max_age=600)
        age = (datetime.now(UTC) - event.event_time).total_seconds()
        assert -5 < age < 60
        assert receiver.events[0].event_id == event.event_id
        assert re.fullmatch(r"\d{4}", d.body.get("Nonce", d.body.get("Noce", "")))


def test_a_receiver_failing_once_gets_a_second_delivery_with_the_same_event_id() -> None:
    def fail_first(event: callbacks.Event, n: int) -> None:
        if n == 1:
            raise RuntimeError("receiver hiccup")

    with setup(fail_first) as (receiver, sim, client):
        client.start_record(START)
        assert sim.wait_for_deliveries(10)
        ds = sim.deliveries
        assert [(d.attempt, d.status, d.ok) for d in ds] == [(1, 500, False), (2, 200, True)]
        assert ds[0].event_id == ds[1].event_id
        assert ds[0].body == ds[1].body  # the very same signed body is sent again
        assert ds[0].error == "HTTP 500"
        assert len(receiver.events) == 1
        assert receiver.events[0].event_id == ds[0].event_id


def test_a_receiver_that_always_fails_gets_exactly_three_deliveries() -> None:
    def always(event: callbacks.Event, n: int) -> None:
        raise RuntimeError("down")

    with setup(always) as (receiver, sim, client):
        client.start_record(START)
        assert sim.wait_for_deliveries(10)
        time.sleep(0.2)  # nothing more comes
        ds = sim.deliveries
        assert [(d.attempt, d.status, d.ok) for d in ds] == [
            (1, 500, False),
            (2, 500, False),
            (3, 500, False),
        ]
        assert len({d.event_id for d in ds}) == 1
        assert receiver.calls == 3


def test_an_unreachable_receiver_counts_as_failed() -> None:
    with WSGIServer(callbacks.make_wsgi_app(lambda e: None, secret=SECRET)) as dead:
        url = dead.url
    with Simulator(
        qps=None,
        callback_url=url,
        callback_secret=SECRET,
        callback_timeout=1.0,
        callback_retry_delay=0.01,
    ) as sim:
        c = rs.RtcClient(sim.credentials, endpoint=sim.url, qps=None)
        c.start_record(START)
        assert sim.wait_for_deliveries(10)
        ds = sim.deliveries
        assert [d.attempt for d in ds] == [1, 2, 3]
        assert all(not d.ok and d.status is None and d.error for d in ds)


def test_a_receiver_slower_than_the_timeout_counts_as_failed() -> None:
    def slow(event: callbacks.Event, n: int) -> None:
        if n == 1:
            time.sleep(1.5)

    with setup(slow, callback_timeout=0.5) as (_, sim, client):
        client.start_record(START)
        assert sim.wait_for_deliveries(10)
        ds = sim.deliveries
        first = ds[0]
        assert not first.ok
        assert first.status is None
        assert first.error
        assert first.seconds >= 0.5
        assert 1 < len(ds) <= 3
        assert all(d.event_id == first.event_id for d in ds)


def test_a_wrong_secret_is_refused_by_the_receiver() -> None:
    receiver = Receiver()
    with (
        receiver.server,
        Simulator(
            qps=None,
            callback_url=receiver.url,
            callback_secret="other",
            callback_timeout=1.0,
            callback_retry_delay=0.01,
        ) as sim,
    ):
        c = rs.RtcClient(sim.credentials, endpoint=sim.url, qps=None)
        c.start_record(START)
        assert sim.wait_for_deliveries(10)
        assert [(d.status, d.ok) for d in sim.deliveries] == [(401, False)] * 3
        assert receiver.events == []


def test_api_calls_return_promptly_while_the_receiver_hangs() -> None:
    release = threading.Event()

    def hang(event: callbacks.Event, n: int) -> None:
        release.wait(10)

    try:
        with setup(hang, callback_timeout=5.0) as (_, sim, client):
            sim.publish(APP, ROOM, "u1")
            for call, arg in ((client.start_record, START), (client.stop_record, IDS)):
                t0 = time.monotonic()
                call(arg)
                assert time.monotonic() - t0 < 0.5
            t0 = time.monotonic()
            client.get_record_task(IDS)
            assert time.monotonic() - t0 < 0.5
            assert not sim.wait_for_deliveries(0.2)  # still busy with the first event
            t0 = time.monotonic()
        # leaving the simulator does not wait for the hanging receiver's 5 s timeouts
        assert time.monotonic() - t0 < 3.0
    finally:
        release.set()


def test_no_deliveries_after_the_simulator_stops() -> None:
    def always(event: callbacks.Event, n: int) -> None:
        raise RuntimeError("down")

    receiver = Receiver(always)
    with receiver.server:
        with Simulator(
            qps=None,
            callback_url=receiver.url,
            callback_secret=SECRET,
            callback_timeout=1.0,
            callback_retry_delay=1.0,
        ) as sim:
            c = rs.RtcClient(sim.credentials, endpoint=sim.url, qps=None)
            c.start_record(START)
            c.stop_record(IDS)
            time.sleep(0.2)
            t0 = time.monotonic()
        assert time.monotonic() - t0 < 1.5  # stopping gives up what is pending at once
        calls = receiver.calls
        assert calls == 1  # the first attempt of RecordStarted, then it waited to retry
        time.sleep(1.3)
        assert receiver.calls == calls
        assert len(sim.deliveries) == 1
