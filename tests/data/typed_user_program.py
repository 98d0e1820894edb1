"""A user program that tests/test_typing.py checks with `mypy --strict` (and pyright strict when
it is installed): every public name of the package must reach the user with its real type, the
version's types through `rs.RtcClient(version=...)` and the version modules, and dict bodies
through the generated TypedDicts. It is type-checked, not run."""

import json
from datetime import datetime
from typing import Any, Literal, assert_type

import rtc_startrecord as rs
from rtc_startrecord import callbacks, v2022_06_01, v2023_11_01
from rtc_startrecord.pytest_plugin import CallbackReceiver, client_for
from rtc_startrecord.simulator import Simulator, Task
from rtc_startrecord.v2023_11_01 import (
    GetRecordTaskResponse,
    StartRecordRequest,
    StartRecordRequestDict,
    StorageConfigDict,
)

# -- the client of a version, and its models ---------------------------------------------------
client = rs.RtcClient(rs.Credentials("ak", "sk"), version="2023-11-01", qps=None)
assert_type(client, v2023_11_01.RtcClient)
response = client.get_record_task({"AppId": "a", "RoomId": "r", "TaskId": "t"})
assert_type(response, GetRecordTaskResponse)
result = response.result
if result is not None and result.record_task is not None:
    assert_type(result.record_task.status, v2023_11_01.RecordTaskStatus | None)
started = client.start_record(
    StartRecordRequest(
        app_id="a", room_id="r", task_id="t", storage_config=v2023_11_01.StorageConfig()
    )
)
assert_type(started, v2023_11_01.StartRecordResponse)
assert_type(rs.start_outcome(started), rs.StartOutcome)
assert_type(rs.start_outcome(started) is rs.StartOutcome.ALREADY_RUNNING, bool)
task = client.wait_for_task("a", "r", "t", status=v2023_11_01.RecordTaskStatus.RUNNING, timeout=5)
assert_type(task, v2023_11_01.RecordTask)


def log_poll(raw: rs.RawResponse) -> None:
    print(raw.request_id, raw.status, raw.envelope.get("ResponseMetadata"))


task = client.wait_for_task("a", "r", "t", status=2, timeout=5, on_raw_progress=log_poll)

# -- dict bodies: TypedDicts, plain values or enum members ---------------------------------------
storage: StorageConfigDict = {"Type": 0, "TosConfig": {"AccountId": "2000000000", "Bucket": "b"}}
body: StartRecordRequestDict = {
    "AppId": "a",
    "RoomId": "r",
    "TaskId": "t",
    "RecordMode": v2023_11_01.RecordMode.MIXED,
    "StorageConfig": storage,
    "FileFormatConfig": {"FileFormat": ["MP4", v2023_11_01.FileFormat.HLS]},
}
assert_type(client.start_record(body), v2023_11_01.StartRecordResponse)
# `{**ids, ...}` needs ids typed with every key of the target: the widest of the three.
ids: v2023_11_01.UpdateRecordRequestDict = {"AppId": "a", "RoomId": "r", "TaskId": "t"}
assert_type(client.stop_record(ids), v2023_11_01.StopRecordResponse)
update: v2023_11_01.UpdateRecordRequestDict = {**ids, "Layout": {"LayoutMode": 0}}
assert_type(client.update_record(update), v2023_11_01.UpdateRecordResponse)
from_json = json.loads('{"AppId": "a"}')  # Any: passes, the run-time validation checks it
assert_type(client.start_record(from_json), v2023_11_01.StartRecordResponse)
loose: dict[str, Any] = {"AppId": "a"}
assert_type(client.start_record(loose), v2023_11_01.StartRecordResponse)  # type: ignore[arg-type]

# -- call(): the action's response for a literal name, one of the four for any other --------------
assert_type(client.call("StopRecord", ids), v2023_11_01.StopRecordResponse)
action: str = "GetRecordTask"
assert_type(
    client.call(action, from_json),
    v2023_11_01.StartRecordResponse
    | v2023_11_01.StopRecordResponse
    | v2023_11_01.UpdateRecordResponse
    | v2023_11_01.GetRecordTaskResponse,
)
assert_type(client.prepare("StartRecord", body), rs.PreparedRequest)
assert_type(client.with_options(timeout=3.0), v2023_11_01.RtcClient)

# -- the default version, at the top level ------------------------------------------------------
default = rs.RtcClient(rs.Credentials("ak", "sk"))
assert_type(default, rs.RtcClient)
top: rs.StartRecordRequestDict = {"AppId": "a", "RoomId": "r", "TaskId": "t", "RecordMode": 1}
assert_type(default.start_record(top), rs.StartRecordResponse)
assert_type(
    default.start_record({**top, "Vod": {"AccountId": "1", "Space": "s"}}), rs.StartRecordResponse
)
older = rs.RtcClient(version="2022-06-01")
assert_type(
    older.stop_record({"AppId": "a", "RoomId": "r", "TaskId": "t"}), v2022_06_01.StopRecordResponse
)
any_version = rs.RtcClient(version=rs.API_VERSIONS[-1])
assert_type(any_version, rs.RtcClient)
assert_type(rs.API_VERSIONS, tuple[str, ...])
endpoint: str = rs.DEFAULT_ENDPOINT
assert_type(rs.BaseRtcClient, type[rs.BaseRtcClient])
assert_type(rs.v2020_12_01.RtcClient(), rs.RtcClient)

# -- validation and the wire format --------------------------------------------------------------
assert_type(rs.validate({"AppId": "a"}, version="2023-11-01"), list[rs.Problem])
problem = rs.validate(body, version="2023-11-01")[0]
assert_type(
    (problem.path, problem.rule, problem.message, problem.severity),
    tuple[str, str, str, Literal["error", "warning"]],
)
model = rs.from_wire(StartRecordRequest, body)
assert_type(model, StartRecordRequest)
assert_type(rs.to_wire(model), dict[str, Any])
assert_type(rs.from_wire(rs.Layout, {"LayoutMode": 2}), rs.Layout)
assert_type(
    rs.expand_file_name("{TaskId}", task_id="t", room_id="r", start_time_ms=0, duration_s=1), str
)
assert_type(rs.Credentials.from_env().source, str)

# -- errors and their attributes ----------------------------------------------------------------
try:
    default.start_record(top)
except rs.TaskMayAlreadyExist as exc:
    assert_type(exc, rs.TaskMayAlreadyExist)
    assert_type(exc.ambiguous, bool)
except rs.RtcApiError as exc:
    assert_type(exc.code, str)
    assert_type(exc.code_n, int | None)
    assert_type(exc.message, str)
    assert_type(exc.request_id, str | None)
    assert_type(exc.http_status, int | None)
except rs.RequestInvalid as exc:
    assert_type(exc.problems, list[rs.Problem])
except rs.WireFormatError as exc:
    assert_type(exc.problems, list[rs.Problem])
except rs.ResponseTooLarge as exc:
    assert_type(exc.limit, int)
except rs.DeadlineExceeded as exc:
    assert_type(exc.waiting_for, str)
except (rs.UnexpectedResponse, rs.TransportError, rs.ClientClosed) as exc:
    assert_type(exc.ambiguous, bool)
except (rs.StopMayHaveSucceeded, rs.WaitTimeout, rs.TaskEndedEarly, rs.CredentialsNotFound):
    pass
except rs.RtcError as exc:
    assert_type(exc.ambiguous, bool)

# -- the simulator, callbacks and the pytest plugin ---------------------------------------------
with Simulator(qps=None) as sim:
    assert_type(sim.url, str)
    assert_type(sim.credentials, rs.Credentials)
    assert_type(sim.tasks, dict[tuple[str, str, str], Task])
    sim.advance(30)
    with client_for(sim, version="2023-11-01") as sim_client:
        assert_type(sim_client, rs.RtcClient)


def handler(event: callbacks.Event) -> None:
    assert_type(event.event_time, datetime)
    assert_type(event.data, callbacks.EventPayload)


app = callbacks.make_wsgi_app(handler, secret="s")
receiver = CallbackReceiver()
assert_type(receiver.wait_for(1, timeout=0.1), list[callbacks.Event])


def test_uses_the_fixtures(rtc_client: rs.RtcClient, rtc_simulator: Simulator) -> None:
    assert_type(rtc_client.start_record(top), rs.StartRecordResponse)


# -- the async client: the same types, as coroutines --------------------------------------------
async def use_async_client() -> None:
    aclient = rs.AsyncRtcClient(rs.Credentials("ak", "sk"), version="2023-11-01", qps=None)
    assert_type(aclient, v2023_11_01.AsyncRtcClient)
    async with aclient:
        got = await aclient.get_record_task({"AppId": "a", "RoomId": "r", "TaskId": "t"})
        assert_type(got, GetRecordTaskResponse)
        atask = await aclient.wait_for_task("a", "r", "t", status=2, timeout=5)
        assert_type(atask, v2023_11_01.RecordTask)
        raw = await aclient.call_raw("GetRecordTask", {"AppId": "a", "RoomId": "r", "TaskId": "t"})
        assert_type(raw, rs.RawResponse)
    default = rs.AsyncRtcClient(qps=None, limiter=rs.AsyncRateLimiter(60))
    assert_type(default, rs.AsyncRtcClient)
    assert_type(await default.start_record({"AppId": "a", "RoomId": "r", "TaskId": "t"}),
                rs.StartRecordResponse)  # fmt: skip
    await default.aclose()
