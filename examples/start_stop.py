"""Start a recording on a running `rtc-startrecord serve`, let a user talk, stop it, list files.

    rtc-startrecord serve                       # terminal 1: paste the `export ...` line it prints
    python examples/start_stop.py               # terminal 2

The client reads everything from the environment `serve` prints: RTC_ENDPOINT (where to send),
VOLC_ACCESSKEY / VOLC_SECRETKEY (the simulator's test keys) and VOLC_REGION. Against the real
service, leave RTC_ENDPOINT unset and export your own keys. RTC_SIMULATOR_TOKEN lets the script
publish a stream and move the simulated clock through the admin API (simulator only).
"""

from __future__ import annotations

import os

import rtc_startrecord as rs
from rtc_startrecord.simulator.admin_client import AdminClient

APP, ROOM, TASK = "661e00000000000543cf", "room_1", "example_task"
IDS = {"AppId": APP, "RoomId": ROOM, "TaskId": TASK}


def main() -> None:
    # 2023-11-01 is the version Volcengine recommends for new code: name it explicitly.
    with rs.RtcClient(version="2023-11-01") as client:
        client.start_record({
            "AppId": APP, "RoomId": ROOM, "TaskId": TASK,
            "RecordMode": 1,  # single stream: one file per stream
            "TargetStreams": {"StreamList": [{"UserId": "alice"}]},
            "StorageConfig": {"Type": 0, "TosConfig": {"AccountId": "2000000000",
                                                       "Bucket": "recordings"}},
        })  # fmt: skip
        task = client.wait_for_task(APP, ROOM, TASK, status=rs.RecordTaskStatus.RUNNING,
                                    timeout=30)  # fmt: skip
        print("started:", TASK, "status", task.status)

        token = os.environ.get("RTC_SIMULATOR_TOKEN")
        if token:  # on the simulator: alice publishes for a simulated minute
            with AdminClient(os.environ["RTC_ENDPOINT"], token) as sim:
                sim.publish(APP, ROOM, "alice")
                sim.advance(60)

        client.stop_record({"AppId": APP, "RoomId": ROOM, "TaskId": TASK})
        result = client.get_record_task({"AppId": APP, "RoomId": ROOM, "TaskId": TASK}).result
        ended = result.record_task if result is not None else None
        if ended is None:  # RecordTask is optional in the 2023 answers
            raise SystemExit("GetRecordTask returned no task")
        print("stopped:", ended.stop_reason)
        for f in ended.record_file_list or []:
            print(f"file: {f.object_key or f.vid} duration {f.duration} ms, {f.size} bytes")


if __name__ == "__main__":
    main()
