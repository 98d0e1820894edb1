"""A user program that `mypy --strict` checks in tests/test_typing.py: the version's types must
reach the user through `rs.RtcClient(version=...)` and the version modules."""

from typing import assert_type

import rtc_startrecord as rs
from rtc_startrecord import v2022_06_01, v2023_11_01
from rtc_startrecord.v2023_11_01 import GetRecordTaskResponse, StartRecordRequest

client = rs.RtcClient(rs.Credentials("ak", "sk"), version="2023-11-01", qps=None)
assert_type(client, v2023_11_01.RtcClient)
response = client.get_record_task({"AppId": "a", "RoomId": "r", "TaskId": "t"})
assert_type(response, GetRecordTaskResponse)
started = client.start_record(
    StartRecordRequest(
        app_id="a", room_id="r", task_id="t", storage_config=v2023_11_01.StorageConfig()
    )
)
assert_type(started, v2023_11_01.StartRecordResponse)
assert_type(rs.start_outcome(started), rs.StartOutcome)
task = client.wait_for_task("a", "r", "t", status=2)
assert_type(task, v2023_11_01.RecordTask)

default = rs.RtcClient(rs.Credentials("ak", "sk"))
assert_type(default.start_record({"AppId": "a"}), rs.StartRecordResponse)
older = rs.RtcClient(version="2022-06-01")
assert_type(older.stop_record({"AppId": "a"}), v2022_06_01.StopRecordResponse)
assert_type(rs.API_VERSIONS, tuple[str, ...])
assert_type(rs.validate({"AppId": "a"}, version="2023-11-01"), list[rs.Problem])
