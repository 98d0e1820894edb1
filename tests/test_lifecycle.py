"""The recording lifecycle against the simulator (issues 7 and 8): start, get, update, stop,
the simulated clock (idle and maximum ends, the 72 h window), produced files, concurrency,
`wait_for_task`, and the official `volcengine` SDK as a third-party client.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import pytest

import rtc_startrecord as rs
from rtc_startrecord.simulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, Simulator

APP, ROOM = "app1", "room1"
VERSION = "2020-12-01"
VOD: Any = {"AccountId": "200000000", "Space": "my-vod-space"}

# The fact sheet's custom-layout example (S1): two streams side by side on an 860x340 canvas.
CUSTOM: dict[str, Any] = {
    "AppId": APP,
    "RoomId": ROOM,
    "TaskId": "task1",
    "RecordMode": 0,
    "Vod": VOD,
    "TargetStreams": {"StreamList": [{"Index": 0, "UserId": "u1"}, {"Index": 1, "UserId": "u2"}]},
    "Layout": {
        "LayoutMode": 2,
        "CustomLayout": {
            "Canvas": {"Width": 860, "Height": 340, "Background": "#303342"},
            "Regions": [
                {
                    "StreamIndex": 0,
                    "LocationX": 0,
                    "LocationY": 0,
                    "WidthProportion": 0.5,
                    "HeightProportion": 1,
                    "ZOrder": 0,
                    "Alpha": 1,
                    "RenderMode": 0,
                },
                {
                    "StreamIndex": 1,
                    "LocationX": 0.5,
                    "LocationY": 0,
                    "WidthProportion": 0.5,
                    "HeightProportion": 1,
                    "ZOrder": 1,
                    "Alpha": 1,
                    "RenderMode": 1,
                },
            ],
        },
    },
}


def ids(task_id: str = "task1") -> Any:
    return {"AppId": APP, "RoomId": ROOM, "TaskId": task_id}


def minimal(task_id: str = "task1", **extra: Any) -> Any:
    return {**ids(task_id), "RecordMode": 0, "Vod": VOD, **extra}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(qps=None) as s:
        yield s


@pytest.fixture
def client(sim: Simulator) -> Iterator[rs.RtcClient]:
    with rs.RtcClient(sim.credentials, endpoint=sim.url, qps=None, backoff_base=0.01) as c:
        yield c


def get(client: rs.RtcClient, task_id: str = "task1") -> Any:
    result = client.get_record_task(ids(task_id)).result
    assert result is not None
    return result.record_task


def api_error(fn: Any, *args: Any) -> rs.RtcApiError:
    with pytest.raises(rs.RtcApiError) as e:
        fn(*args)
    return e.value


# ------------------------------------------------------------------------------------ lifecycle


def test_start_get_update_stop_get(sim: Simulator, client: rs.RtcClient) -> None:
    sim.publish(APP, ROOM, "u1")
    sim.publish(APP, ROOM, "u2")
    before = sim.now_ms()
    assert client.start_record(cast(Any, CUSTOM)).result == "ok"

    running = get(client)
    assert isinstance(running, rs.RecordTask)
    assert running.status == 2
    assert running.status == rs.RecordTaskStatus.RUNNING
    assert running.end_time == 0
    assert running.stop_reason == ""
    assert running.start_time is not None
    assert before <= running.start_time <= sim.now_ms()
    assert running.record_file_list == []

    layout = copy.deepcopy(CUSTOM["Layout"])
    layout["CustomLayout"]["Canvas"]["Background"] = "#000000"
    regions = layout["CustomLayout"]["Regions"]
    regions[0]["LocationX"], regions[1]["LocationX"] = 0.5, 0
    update = {**ids(), "TargetStreams": CUSTOM["TargetStreams"], "Layout": layout}
    assert client.update_record(cast(Any, update)).result == "ok"
    assert sim.tasks[(APP, ROOM, "task1")].request["Layout"] == layout

    sim.advance(30)
    assert client.stop_record(ids()).result == "ok"
    ended = get(client)
    assert ended.status == 3
    assert ended.status == rs.RecordTaskStatus.ENDED
    assert ended.stop_reason == "StopByAPI"
    assert ended.start_time == running.start_time
    assert ended.end_time > ended.start_time
    assert ended.end_time - ended.start_time >= 30_000
    assert len(ended.record_file_list) == 1  # mixed mode: one file


def test_stop_twice(sim: Simulator, client: rs.RtcClient) -> None:
    client.start_record(minimal())
    client.stop_record(ids())
    err = api_error(client.stop_record, ids())
    assert err.code == "InvalidParameter.ErrorActiveTaskNotFound"
    assert err.http_status == 404
    assert not isinstance(err, rs.errors.StopMayHaveSucceeded)  # nothing ambiguous happened


def test_stop_and_get_of_unknown_tasks(client: rs.RtcClient) -> None:
    for fn in (client.stop_record, client.get_record_task):
        err = api_error(fn, ids("never"))
        assert (err.code, err.http_status) == ("InvalidParameter.ErrorActiveTaskNotFound", 404)


def test_update_of_unknown_or_ended_task(client: rs.RtcClient) -> None:
    update = {**ids(), "TargetStreams": CUSTOM["TargetStreams"], "Layout": CUSTOM["Layout"]}
    err = api_error(client.update_record, update)
    assert (err.code, err.http_status) == ("InvalidParameter.ErrorActiveTaskNotFound", 404)
    client.start_record(cast(Any, CUSTOM))
    client.stop_record(ids())
    err = api_error(client.update_record, update)
    assert (err.code, err.http_status) == ("InvalidParameter.ErrorActiveTaskNotFound", 404)


@pytest.mark.parametrize(
    "start",
    [
        minimal(RecordMode=1),  # single-stream mode
        minimal(Layout={"LayoutMode": 0}),  # mixed, adaptive layout
        minimal(Layout={"LayoutMode": 1}),  # mixed, vertical layout
        minimal(),  # mixed, LayoutMode defaults to 0
    ],
    ids=["RecordMode1", "LayoutMode0", "LayoutMode1", "no-layout"],
)
def test_update_of_a_task_r25_excludes(
    sim: Simulator, client: rs.RtcClient, start: dict[str, Any]
) -> None:
    client.start_record(cast(Any, start))
    before = copy.deepcopy(sim.tasks[(APP, ROOM, "task1")].request)
    update = {**ids(), "TargetStreams": {"StreamList": [{"Index": 0, "UserId": "u9"}]}}
    err = api_error(client.update_record, update)
    assert (err.code, err.http_status) == ("InvalidParameter", 400)
    assert "R25" in err.message
    assert sim.tasks[(APP, ROOM, "task1")].request == before
    assert get(client).status == 2


def test_update_that_breaks_r11_against_the_task(sim: Simulator, client: rs.RtcClient) -> None:
    client.start_record(cast(Any, CUSTOM))
    # a third stream, but the task's layout has regions for indexes 0 and 1 only
    streams = {"StreamList": [*CUSTOM["TargetStreams"]["StreamList"], {"Index": 2, "UserId": "u3"}]}
    err = api_error(client.update_record, {**ids(), "TargetStreams": streams})
    assert (err.code, err.http_status) == ("InvalidParameter", 400)
    assert "R11" in err.message
    assert sim.tasks[(APP, ROOM, "task1")].request == CUSTOM
    # with a region for it, the same streams are fine
    layout = copy.deepcopy(CUSTOM["Layout"])
    layout["CustomLayout"]["Regions"].append(
        {
            "StreamIndex": 2,
            "LocationX": 0.25,
            "LocationY": 0.25,
            "WidthProportion": 0.5,
            "HeightProportion": 0.5,
            "ZOrder": 2,
        }
    )
    client.update_record(cast(Any, {**ids(), "TargetStreams": streams, "Layout": layout}))
    assert sim.tasks[(APP, ROOM, "task1")].request["TargetStreams"] == streams


def test_reuse_of_an_ended_task_id_starts_a_new_task(sim: Simulator, client: rs.RtcClient) -> None:
    """Decision (rtc_startrecord/simulator/state.py): a start reusing the TaskId of an *ended*
    task is allowed and starts a new task under that id; the old one is forgotten, and
    GetRecordTask answers with the most recent task of the id (R26). Only a *running* task
    makes a second start fail with TaskAlreadyExists (R8)."""
    sim.publish(APP, ROOM, "u1")
    client.start_record(minimal())
    sim.advance(5)
    client.stop_record(ids())
    old = get(client)
    assert old.status == 3 and old.record_file_list

    sim.advance(1)
    assert client.start_record(minimal()).result == "ok"
    new = get(client)
    assert new.status == 2
    assert new.start_time > old.end_time
    assert new.end_time == 0 and new.record_file_list == []
    assert list(sim.tasks) == [(APP, ROOM, "task1")]
    err = api_error(client.start_record, minimal())
    assert err.code == "InvalidParameter.TaskAlreadyExists"


# ------------------------------------------------------------------------------------ the clock


def test_get_record_task_window_is_72_hours(sim: Simulator, client: rs.RtcClient) -> None:
    client.start_record(minimal())
    client.stop_record(ids())
    sim.advance(71 * 3600)
    assert get(client).status == 3
    sim.advance(3600)
    err = api_error(client.get_record_task, ids())
    assert err.code == "InvalidParameter.ErrorActiveTaskNotFound"
    assert (APP, ROOM, "task1") not in sim.tasks


def test_a_running_task_is_always_visible(sim: Simulator, client: rs.RtcClient) -> None:
    sim.publish(APP, ROOM, "u1")
    client.start_record(minimal(Control={"MaxIdleTime": 86400}))
    sim.advance(100 * 3600)
    assert get(client).status == 2


def test_idle_end_after_the_target_stream_leaves(sim: Simulator, client: rs.RtcClient) -> None:
    body = minimal(Control={"MaxIdleTime": 10}, TargetStreams={"StreamList": [{"UserId": "u1"}]})
    client.start_record(body)
    sim.publish(APP, ROOM, "u1")
    sim.publish(APP, ROOM, "u2")  # not a target: does not keep the task busy
    sim.advance(5)
    t0 = sim.now_ms()
    sim.unpublish(APP, ROOM, "u1")
    t1 = sim.now_ms()
    sim.advance(9)
    assert get(client).status == 2
    sim.advance(2)
    task = get(client)
    assert task.status == 3
    assert task.stop_reason == "IdleTimeOut"
    assert t0 + 10_000 <= task.end_time <= t1 + 10_000
    assert len(task.record_file_list) == 1


def test_idle_end_when_nothing_is_ever_published(sim: Simulator, client: rs.RtcClient) -> None:
    client.start_record(minimal(Control={"MaxIdleTime": 10}))
    start = get(client).start_time
    sim.advance(9.5)
    assert get(client).status == 2
    sim.advance(1)
    task = get(client)
    assert (task.status, task.stop_reason) == (3, "IdleTimeOut")
    assert task.end_time == start + 10_000
    assert task.record_file_list == []


def test_a_returning_stream_resets_the_idle_time(sim: Simulator, client: rs.RtcClient) -> None:
    client.start_record(minimal(Control={"MaxIdleTime": 10}))
    sim.advance(8)
    sim.publish(APP, ROOM, "u1")  # any stream counts without TargetStreams (R10)
    sim.advance(8)
    sim.unpublish(APP, ROOM, "u1")
    sim.advance(8)
    assert get(client).status == 2
    sim.advance(3)
    assert get(client).stop_reason == "IdleTimeOut"


def test_max_record_time(sim: Simulator, client: rs.RtcClient) -> None:
    sim.publish(APP, ROOM, "u1")
    client.start_record(minimal(Control={"MaxRecordTime": 60}))
    start = get(client).start_time
    sim.advance(59)
    assert get(client).status == 2
    sim.advance(5)
    task = get(client)
    assert task.status == 3
    assert task.stop_reason == "UnknownStopReason"  # state.py: no documented reason fits better
    assert task.end_time == start + 60_000
    (f,) = task.record_file_list
    assert f.duration == 60_000


# ------------------------------------------------------------------------------------ files


def test_single_stream_mode_produces_one_file_per_stream(
    sim: Simulator, client: rs.RtcClient
) -> None:
    pattern = "rec/{TaskId}/{RoomId}_{UserId}_{type}_{StartTime}_{Duration}"
    body = minimal(RecordMode=1, Encode={"VideoBitrate": 1000}, RecordFileNamePattern=pattern)
    sim.publish(APP, ROOM, "u1", width=1280, height=720)
    client.start_record(body)
    start = get(client).start_time
    sim.advance(5)
    sim.publish(APP, ROOM, "u2", stream_type=1, width=1920, height=1080)
    sim.advance(30)
    client.stop_record(ids())
    task = get(client)
    files = {f.stream_list[0].user_id: f for f in task.record_file_list}
    assert sorted(files) == ["u1", "u2"]
    for f in task.record_file_list:
        assert len(f.stream_list) == 1
        assert f.video_codec and f.audio_codec
        assert f.vid
    u1, u2 = files["u1"], files["u2"]
    assert u1.start_time == start
    assert u1.duration == task.end_time - start
    assert 35_000 <= u1.duration < 36_000
    assert u2.start_time >= start + 5_000
    assert u2.duration == task.end_time - u2.start_time
    assert 30_000 <= u2.duration < 31_000
    assert (u1.video_width, u1.video_height) == (1280, 720)
    assert (u2.video_width, u2.video_height) == (1920, 1080)
    assert u2.stream_list[0].stream_type == 1
    for f in (u1, u2):
        video_bytes = 1000 * 1000 / 8 * f.duration / 1000
        assert video_bytes <= f.size <= video_bytes * 1.1  # bitrate x duration (+ audio)
    for uid, stype, f in (("u1", 0, u1), ("u2", 1, u2)):
        # {StartTime} is the task's start (fact sheet 4.11), {Duration} the file's whole seconds
        name = rs.expand_file_name(
            pattern,
            task_id="task1",
            room_id=ROOM,
            user_id=uid,
            stream_type=stype,
            start_time_ms=start,
            duration_s=f.duration / 1000,
        )
        assert f.object_key == name + ".mp4"
    assert u2.object_key.startswith(f"rec/task1/{ROOM}_u2_S_{start}_0000")


def test_mixed_mode_produces_one_file_with_the_canvas_size(
    sim: Simulator, client: rs.RtcClient
) -> None:
    sim.publish(APP, ROOM, "u1", width=1280, height=720)
    sim.publish(APP, ROOM, "u2")
    client.start_record(cast(Any, CUSTOM))
    sim.advance(20)
    client.stop_record(ids())
    task = get(client)
    (f,) = task.record_file_list
    assert (f.video_width, f.video_height) == (860, 340)
    assert sorted(s.user_id for s in f.stream_list) == ["u1", "u2"]
    assert f.start_time == task.start_time
    assert 20_000 <= f.duration < 21_000
    assert f.size > 0
    assert f.object_key.startswith(f"task1_{ROOM}_{task.start_time}_000020_")
    assert f.object_key.endswith(".mp4")


def test_mixed_mode_without_custom_layout_uses_the_encode_size(
    sim: Simulator, client: rs.RtcClient
) -> None:
    sim.publish(APP, ROOM, "u1")
    client.start_record(minimal(Encode={"VideoWidth": 1280, "VideoHeight": 720}))
    sim.advance(3)
    client.stop_record(ids())
    (f,) = get(client).record_file_list
    assert (f.video_width, f.video_height) == (1280, 720)


def test_nothing_published_means_no_files(sim: Simulator, client: rs.RtcClient) -> None:
    client.start_record(minimal(RecordMode=1))
    sim.advance(10)
    client.stop_record(ids())
    task = get(client)
    assert task.status == 3
    assert task.record_file_list == []


# ------------------------------------------------------------------------------------ concurrency


def _race(fns: dict[str, tuple[Any, dict[str, Any]]]) -> Any:
    """Run the calls at once from threads; each outcome is "ok" or the error code."""
    barrier = threading.Barrier(len(fns))
    outcome: dict[str, str] = {}

    def run(name: str) -> None:
        fn, arg = fns[name]
        barrier.wait()
        try:
            fn(arg)
            outcome[name] = "ok"
        except rs.RtcApiError as exc:
            outcome[name] = exc.code
        except Exception as exc:
            outcome[name] = repr(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return outcome


def test_stop_racing_update(sim: Simulator) -> None:
    with rs.RtcClient(
        sim.credentials, endpoint=sim.url, qps=None, max_attempts=1, pool_maxsize=4
    ) as c:
        for round_ in range(8):
            task_id = f"race{round_}"
            c.start_record(cast(Any, {**CUSTOM, "TaskId": task_id}))
            layout = copy.deepcopy(CUSTOM["Layout"])
            layout["CustomLayout"]["Canvas"]["Background"] = "#ffffff"
            update = {**ids(task_id), "TargetStreams": CUSTOM["TargetStreams"], "Layout": layout}
            outcome = _race(
                {"stop": (c.stop_record, ids(task_id)), "update": (c.update_record, update)}
            )
            assert outcome["stop"] == "ok", outcome
            assert outcome["update"] in ("ok", "InvalidParameter.ErrorActiveTaskNotFound"), outcome
            task = sim.tasks[(APP, ROOM, task_id)]
            assert task.status == 3 and task.stop_reason == "StopByAPI"
            expected = layout if outcome["update"] == "ok" else CUSTOM["Layout"]
            assert task.request["Layout"] == expected
            assert get(c, task_id).status == 3


def test_sixteen_starts_of_one_task_id_one_wins(sim: Simulator) -> None:
    clients = [
        rs.RtcClient(sim.credentials, endpoint=sim.url, qps=None, max_attempts=1) for _ in range(16)
    ]
    barrier = threading.Barrier(16)
    codes: list[str] = []
    lock = threading.Lock()

    def start(c: rs.RtcClient) -> None:
        barrier.wait()
        try:
            c.start_record(cast(Any, CUSTOM))
            code = "ok"
        except rs.RtcApiError as exc:
            code = f"{exc.code}/{exc.http_status}"
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=start, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(codes) == ["InvalidParameter.TaskAlreadyExists/409"] * 15 + ["ok"]
    assert list(sim.tasks) == [(CUSTOM["AppId"], CUSTOM["RoomId"], CUSTOM["TaskId"])]
    for c in clients:
        c.close()


# ------------------------------------------------------------------------------------ waiting


def test_wait_for_running(client: rs.RtcClient) -> None:
    client.start_record(minimal())
    t0 = time.monotonic()
    task = client.wait_for_task(APP, ROOM, "task1", status=2, timeout=5)
    assert time.monotonic() - t0 < 1.0
    assert isinstance(task, rs.RecordTask)
    assert task.status == rs.RecordTaskStatus.RUNNING


def test_wait_hands_each_raw_answer_before_its_model(sim: Simulator, client: rs.RtcClient) -> None:
    client.start_record(minimal())
    seen: list[tuple[str, Any]] = []
    timer = threading.Timer(0.3, lambda: sim.advance(200))  # the idle end (default 180 s)
    timer.start()
    try:
        task = client.wait_for_task(
            APP, ROOM, "task1", status=3, timeout=5, interval=0.05,
            on_raw_progress=lambda raw: seen.append(("raw", raw)),
            on_progress=lambda response: seen.append(("model", response)),
        )  # fmt: skip
    finally:
        timer.cancel()
    assert task.status == rs.RecordTaskStatus.ENDED
    assert len(seen) >= 4 and [kind for kind, _ in seen] == ["raw", "model"] * (len(seen) // 2)
    for (_, raw), (_, model) in zip(seen[::2], seen[1::2], strict=True):
        assert isinstance(raw, rs.RawResponse) and raw.parsed is model
        assert raw.status == 200 and raw.attempts == 1 and raw.request_id
        assert raw.envelope["ResponseMetadata"]["Action"] == "GetRecordTask"
    request_ids = [raw.request_id for kind, raw in seen if kind == "raw"]
    assert len(set(request_ids)) == len(request_ids)  # one poll, one answer each


def test_wait_times_out_while_running(client: rs.RtcClient) -> None:
    client.start_record(minimal())
    t0 = time.monotonic()
    with pytest.raises(rs.WaitTimeout):
        client.wait_for_task(APP, ROOM, "task1", status=3, timeout=0.6, interval=0.1)
    assert 0.5 <= time.monotonic() - t0 < 3.0


def test_wait_for_ended_sees_the_stop(sim: Simulator, client: rs.RtcClient) -> None:
    client.start_record(minimal())
    timer = threading.Timer(0.3, lambda: sim.advance(200))  # idle end (default 180 s)
    timer.start()
    task = client.wait_for_task(APP, ROOM, "task1", status=3, timeout=5, interval=0.1)
    timer.join()
    assert task.stop_reason == "IdleTimeOut"


def test_wait_for_running_after_the_end(client: rs.RtcClient) -> None:
    client.start_record(minimal())
    client.stop_record(ids())
    with pytest.raises(rs.TaskEndedEarly) as e:
        client.wait_for_task(APP, ROOM, "task1", status=2, timeout=5)
    assert "StopByAPI" in str(e.value)


# ------------------------------------------------------------------------------------ the SDK


GOLDEN_2022 = Path(__file__).resolve().parents[1] / "contract_tests" / "golden" / "2022-06-01"


def _official_rtc_service(sim: Simulator) -> Any:
    """The official SDK's `RtcService` exactly as shipped (its own 2022-06-01 `api_info`); only
    host, scheme and keys are set, as its users do."""
    pytest.importorskip("volcengine")
    # volcengine ships neither type hints nor stubs
    from volcengine.example.rtc.RtcService import RtcService  # type: ignore[import-untyped]

    rtc = RtcService()
    rtc.session.trust_env = False  # no proxies for loopback
    rtc.set_scheme("http")
    rtc.set_host(urlsplit(sim.url).netloc)
    rtc.set_ak(TEST_ACCESS_KEY_ID)
    rtc.set_sk(TEST_SECRET_ACCESS_KEY)
    return rtc


def test_official_rtc_service_as_shipped_runs_a_2022_06_01_lifecycle(sim: Simulator) -> None:
    """The official Python SDK's RtcService, unmodified: it speaks 2022-06-01, which the
    simulator serves beside the other versions. The body is the one its own example sends."""
    rtc = _official_rtc_service(sim)
    assert rtc.api_info["StartRecord"].query["Version"] == "2022-06-01"  # as shipped
    body = json.loads((GOLDEN_2022 / "StartRecord.request.python_sdk.json").read_text())
    key = (body["AppId"], body["RoomId"], body["TaskId"])
    query = dict(zip(("AppId", "RoomId", "TaskId"), key, strict=True))
    sim.publish(key[0], key[1], "u1")
    resp = rtc.start_record(json.dumps(body))
    assert resp["Result"] == "ok"
    assert resp["ResponseMetadata"]["Version"] == "2022-06-01"
    assert sim.tasks[key].version == "2022-06-01"
    got = rtc.get_record_task(query)
    assert got["Result"]["RecordTask"]["Status"] == 2
    sim.advance(10)
    assert rtc.stop_record(json.dumps(query))["Result"] == "ok"
    task = rtc.get_record_task(query)["Result"]["RecordTask"]
    assert (task["Status"], task["StopReason"]) == (3, "StopByAPI")
    (file,) = task["RecordFileList"]  # TOS storage: an object key, no VOD id
    assert file["ObjectKey"].endswith(".mp4") and "Vid" not in file

    assert "UpdateRecord" not in rtc.api_info  # the shipped service has no UpdateRecord
    custom = json.loads((GOLDEN_2022 / "StartRecord.request.custom_layout.json").read_text())
    assert rtc.start_record(json.dumps(custom))["Result"] == "ok"
    with pytest.raises(Exception, match="TaskAlreadyExists"):  # 2022-06-01 refuses a rerun
        rtc.start_record(json.dumps(custom))
    with pytest.raises(Exception, match="InvalidParameter"):  # a 2020-12-01 body is refused
        rtc.start_record(json.dumps({**CUSTOM, "TaskId": "sdk_old_body"}))


def test_official_sdk_with_2020_12_01_api_info_and_one_store_across_versions(
    sim: Simulator,
) -> None:
    """Pointed at 2020-12-01 with the SDK's own ApiInfo, the official SDK runs that version
    too; a task started in 2020-12-01 is seen, updated and stopped through 2022-06-01."""
    rtc = _official_rtc_service(sim)
    from volcengine.ApiInfo import ApiInfo  # type: ignore[import-untyped]  # no type hints nor stubs

    shipped = dict(rtc.api_info)
    rtc.api_info = {
        "StartRecord": ApiInfo("POST", "/", {"Action": "StartRecord", "Version": VERSION}, {}, {}),
        "StopRecord": ApiInfo("POST", "/", {"Action": "StopRecord", "Version": VERSION}, {}, {}),
        "UpdateRecord": ApiInfo(
            "POST", "/", {"Action": "UpdateRecord", "Version": VERSION}, {}, {}
        ),
        "GetRecordTask": ApiInfo(
            "GET", "/", {"Action": "GetRecordTask", "Version": VERSION}, {}, {}
        ),
    }
    body = {**CUSTOM, "TaskId": "sdk1"}
    sim.publish(APP, ROOM, "u1")
    resp = rtc.start_record(json.dumps(body))
    assert resp["Result"] == "ok"
    assert resp["ResponseMetadata"]["Service"] == "rtc"
    assert (APP, ROOM, "sdk1") in sim.tasks

    got = rtc.get_record_task({"AppId": APP, "RoomId": ROOM, "TaskId": "sdk1"})
    assert got["Result"]["RecordTask"]["Status"] == 2

    update = {**ids("sdk1"), "TargetStreams": CUSTOM["TargetStreams"], "Layout": CUSTOM["Layout"]}
    assert json.loads(rtc.json("UpdateRecord", {}, json.dumps(update)))["Result"] == "ok"

    rtc.api_info = shipped  # the same task, through 2022-06-01
    got = rtc.get_record_task({"AppId": APP, "RoomId": ROOM, "TaskId": "sdk1"})
    assert got["ResponseMetadata"]["Version"] == "2022-06-01"
    assert got["Result"]["RecordTask"]["Status"] == 2
    sim.advance(10)
    stop = rtc.stop_record(json.dumps(ids("sdk1")))
    assert stop["Result"] == "ok"
    got = rtc.get_record_task({"AppId": APP, "RoomId": ROOM, "TaskId": "sdk1"})
    task = got["Result"]["RecordTask"]
    assert (task["Status"], task["StopReason"]) == (3, "StopByAPI")
    assert len(task["RecordFileList"]) == 1

    # errors come back as the SDK's bare Exception carrying the envelope
    with pytest.raises(Exception, match="ErrorActiveTaskNotFound"):
        rtc.stop_record(json.dumps(ids("sdk1")))
