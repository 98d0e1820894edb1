"""The pytest plugin: registered through the package's ``pytest11`` entry point, fixtures work."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import rtc_startrecord as rs
from rtc_startrecord import callbacks
from rtc_startrecord.pytest_plugin import CallbackReceiver, client_for
from rtc_startrecord.simulator import Simulator

GOLDEN = Path(__file__).resolve().parent.parent / "contract_tests" / "golden" / "2020-12-01"


def body() -> Any:
    data: dict[str, Any] = json.loads(
        (GOLDEN / "StartRecord.request.custom_layout.json").read_text("utf-8")
    )
    return data


def ids(b: dict[str, Any]) -> Any:
    return {k: b[k] for k in ("AppId", "RoomId", "TaskId")}


def test_registered_through_entry_point(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("rtc_startrecord")
    assert plugin is not None
    assert plugin.__name__ == "rtc_startrecord.pytest_plugin"


def test_rtc_client_talks_to_rtc_simulator(
    rtc_simulator: Simulator, rtc_client: rs.RtcClient
) -> None:
    assert rtc_client.endpoint == rtc_simulator.url
    b = body()
    assert rtc_client.start_record(b).result == "ok"
    assert (b["AppId"], b["RoomId"], b["TaskId"]) in rtc_simulator.tasks
    task = rtc_client.get_record_task(ids(b)).result
    assert task is not None
    assert task.record_task.status == rs.RecordTaskStatus.RUNNING
    rtc_client.stop_record(ids(b))
    ended = rtc_client.wait_for_task(
        b["AppId"], b["RoomId"], b["TaskId"], status=rs.RecordTaskStatus.ENDED, timeout=5
    )
    assert ended.stop_reason


def test_rtc_simulator_is_fresh_per_test(rtc_simulator: Simulator) -> None:
    assert rtc_simulator.tasks == {}  # the task of the test above is gone


def test_callbacks_reach_the_receiver(
    rtc_simulator_with_callbacks: Simulator, rtc_callback_receiver: CallbackReceiver
) -> None:
    sim = rtc_simulator_with_callbacks
    b = body()
    sim.publish(b["AppId"], b["RoomId"], "Your_UserId_3")
    with client_for(sim) as client:
        client.start_record(b)
        sim.advance(30)
        client.stop_record(ids(b))
    events = rtc_callback_receiver.wait_for(2, timeout=10)
    types = [e.event_type for e in events]
    assert types[:2] == ["RecordStarted", "RecordStopped"]
    started = events[0].data
    assert isinstance(started, callbacks.RecordStarted)
    assert started.task_id == b["TaskId"]
    assert all(d.ok for d in sim.deliveries)
    assert rtc_callback_receiver.event_types()[:2] == types[:2]


def test_receiver_refuses_a_wrong_signature(rtc_callback_receiver: CallbackReceiver) -> None:
    import urllib3

    forged = callbacks.build_callback_body(
        "RecordStarted",
        {"AppId": "a", "RoomId": "r", "TaskId": "t", "Code": 0},
        app_id="a",
        secret="not-the-receiver-secret",
    )
    resp = urllib3.request("POST", rtc_callback_receiver.url, body=json.dumps(forged).encode(),
                           headers={"Content-Type": "application/json"}, retries=False)  # fmt: skip
    assert resp.status == 401
    assert rtc_callback_receiver.events == []


def test_wait_for_times_out(rtc_callback_receiver: CallbackReceiver) -> None:
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="expected 1 callback"):
        rtc_callback_receiver.wait_for(1, timeout=0.1)
    assert time.monotonic() - t0 < 2


def test_plugin_import_is_cheap() -> None:
    """Importing the plugin module does not import the simulator or the callbacks machinery."""
    code = (
        "import sys, rtc_startrecord.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in ("
        "['rtc_startrecord', 'simulator'], ['rtc_startrecord', 'callbacks'], "
        "['rtc_startrecord', 'preview'], ['rtc_startrecord', 'cli'])))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


pytest_plugins = ("pytester",)


def test_fixtures_in_a_fresh_session(pytester: pytest.Pytester) -> None:
    """A project with the package installed gets the fixtures without any conftest."""
    pytester.makepyfile(
        """
        def test_uses_fixtures(rtc_client, rtc_simulator):
            body = {"AppId": "a", "RoomId": "r", "TaskId": "t", "RecordMode": 1}
            rtc_client.start_record(body)
            assert ("a", "r", "t") in rtc_simulator.tasks
        """
    )
    result = pytester.runpytest("-q", "-p", "no:randomly", "-W", "ignore")
    result.assert_outcomes(passed=1)
