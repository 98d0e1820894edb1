"""Testing your own code against the simulator with the pytest plugin's fixtures.

    python -m pytest examples/test_with_plugin.py

Installing rtc_startrecord registers the fixtures: `rtc_simulator` (a fresh simulator on a free
loopback port), `rtc_client` (a client bound to it), `rtc_callback_receiver` and
`rtc_simulator_with_callbacks`. Nothing here reaches the network.
"""

from __future__ import annotations

from typing import Any

import rtc_startrecord as rs
from rtc_startrecord.pytest_plugin import CallbackReceiver, client_for
from rtc_startrecord.simulator import Simulator

IDS: dict[str, Any] = {"AppId": "app1", "RoomId": "room1", "TaskId": "t1"}
START: dict[str, Any] = {
    **IDS,
    "TargetStreams": {"StreamList": [{"UserId": "alice"}]},
    "Control": {"MaxIdleTime": 10},
}


def record_meeting(client: Any, sim: Simulator) -> Any:
    """Your code under test would be here: start, someone talks then leaves, then ask."""
    client.call("StartRecord", START)
    sim.publish("app1", "room1", "alice")
    sim.advance(60)  # the simulated clock: no real waiting
    sim.unpublish("app1", "room1", "alice")
    sim.advance(11)  # idle past MaxIdleTime: the task ends by itself
    return client.call("GetRecordTask", IDS).result.record_task


def test_idle_task_ends_with_a_file(rtc_simulator: Simulator, rtc_client: Any) -> None:
    task = record_meeting(rtc_client, rtc_simulator)
    assert task.status == rs.RecordTaskStatus.ENDED
    assert task.stop_reason == "IdleTimeOut"
    [f] = task.record_file_list
    assert f.duration >= 60_000


def test_a_duplicate_start_is_refused(rtc_client: Any) -> None:
    rtc_client.call("StartRecord", START)
    try:
        rtc_client.call("StartRecord", START)
    except rs.RtcApiError as exc:
        assert exc.code == "InvalidParameter.TaskAlreadyExists"
    else:
        raise AssertionError("the second start should be refused (2020-12-01)")


def test_callbacks_arrive(
    rtc_simulator_with_callbacks: Simulator, rtc_callback_receiver: CallbackReceiver
) -> None:
    with client_for(rtc_simulator_with_callbacks) as client:
        client.call("StartRecord", START)
        client.call("StopRecord", IDS)
    events = rtc_callback_receiver.wait_for(2, timeout=5)
    assert [e.event_type for e in events][:2] == ["RecordStarted", "RecordStopped"]
