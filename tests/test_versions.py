"""API versions as a dimension: typed clients per version, one simulator serving every version
over one task store, version-specific answers, and bucket secrets kept out of every output."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rtc_startrecord as rs
from rtc_startrecord import spec
from rtc_startrecord.filenames import FILE_EXTENSIONS
from rtc_startrecord.simulator import Simulator

GOLDEN = Path(__file__).resolve().parents[1] / "contract_tests" / "golden"
SECRETS = ("AKLTSECRETKEYID", "TOPSECRETVALUE", "STSTOKENVALUE")
V2311 = "2023-11-01"


def golden(version: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / version / f"{name}.json").read_text("utf-8"))
    return data


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(qps=None) as s:
        yield s


def client(sim: Simulator, version: str, **kw: Any) -> Any:
    options: dict[str, Any] = {"max_attempts": 2, "backoff_base": 0.01, "timeout": 5.0}
    return rs.RtcClient(
        sim.credentials, endpoint=sim.url, region=sim.region, qps=None, version=version,
        **(options | kw),
    )  # fmt: skip


def ids(body: dict[str, Any]) -> dict[str, str]:
    return {k: body[k] for k in ("AppId", "RoomId", "TaskId")}


def key(body: dict[str, Any]) -> tuple[str, str, str]:
    return (body["AppId"], body["RoomId"], body["TaskId"])


def test_api_versions_come_from_the_table_oldest_first() -> None:
    assert tuple(sorted(rs.API_VERSIONS)) == rs.API_VERSIONS
    assert rs.API_VERSIONS[0] == "2020-12-01" == spec.DEFAULT_VERSION
    assert {"2022-06-01", "2023-06-01", V2311} <= set(rs.API_VERSIONS)


@pytest.mark.parametrize("version", rs.API_VERSIONS)
def test_each_version_is_a_real_module_with_its_models_and_client(version: str) -> None:
    import importlib

    module = importlib.import_module(f"rtc_startrecord.v{version.replace('-', '_')}")
    assert version == module.API_VERSION
    for name in ("StartRecordRequest", "StartRecordResponse", "StopRecordRequest",
                 "UpdateRecordRequest", "GetRecordTaskRequest", "GetRecordTaskResponse",
                 "RecordTask", "Stream"):  # fmt: skip
        assert name in module.__all__ and getattr(module, name).__module__.startswith(
            f"rtc_startrecord_models.v{version.replace('-', '_')}"
        )
    c = rs.RtcClient(rs.Credentials("ak", "sk"), version=version)
    assert type(c) is module.RtcClient and isinstance(c, rs.RtcClient)
    assert c.version == version and type(c.with_options(max_attempts=1)) is module.RtcClient
    assert module.RtcClient(rs.Credentials("ak", "sk")).version == version


def test_the_default_client_is_2020_12_01_and_unknown_versions_say_what_exists() -> None:
    assert rs.RtcClient(rs.Credentials("ak", "sk")).version == "2020-12-01"
    assert rs.StartRecordRequest is rs.v2020_12_01.StartRecordRequest
    with pytest.raises(ValueError, match=r"2020-12-01, 2022-06-01, 2023-06-01, 2023-11-01"):
        rs.RtcClient(rs.Credentials("ak", "sk"), version="2099-01-01")
    with pytest.raises(ValueError, match="speaks API version 2023-11-01"):
        rs.v2023_11_01.RtcClient(rs.Credentials("ak", "sk"), version="2022-06-01")


def test_a_model_of_another_version_is_refused_before_sending() -> None:
    model = rs.from_wire(rs.v2023_11_01.StopRecordRequest, {"AppId": "a", "RoomId": "r",
                                                           "TaskId": "t"})  # fmt: skip
    with pytest.raises(TypeError, match="StopRecordRequest"):
        rs.RtcClient(rs.Credentials("ak", "sk")).prepare("StopRecord", model)


@pytest.mark.parametrize("version", rs.API_VERSIONS)
def test_custom_layout_lifecycle_in_every_version(sim: Simulator, version: str) -> None:
    start = golden(version, "StartRecord.request.custom_layout")
    update = golden(version, "UpdateRecord.request.swap_regions")
    module = spec.model_module(version)
    users = [s["UserId"] for s in start["TargetStreams"]["StreamList"]]
    for user in users:
        sim.publish(start["AppId"], start["RoomId"], user)
    with client(sim, version) as c:
        resp = c.start_record(start)
        assert type(resp) is module.StartRecordResponse and resp.result == "ok"
        assert resp.response_metadata.version == version  # echoed
        assert rs.start_outcome(resp) is rs.StartOutcome.STARTED
        assert sim.tasks[key(start)].version == version
        assert c.update_record(update).result == "ok"
        task = c.wait_for_task(*ids(start).values(), status=2, timeout=5)
        assert type(task) is module.RecordTask
        sim.advance(30)
        assert c.stop_record(ids(start)).result == "ok"
        got = c.get_record_task(ids(start))
        assert type(got) is module.GetRecordTaskResponse
        assert got.result is not None and got.result.record_task is not None
        files = got.result.record_task.record_file_list or []
        assert len(files) == 1 and 30_000 <= (files[0].duration or 0) < 35_000


def test_2023_11_01_lifecycle_with_tos_and_with_s3_compatible_storage(sim: Simulator) -> None:
    tos = golden(V2311, "StartRecord.request.minimal_tos")
    tos["FileNameConfig"] = {"Prefix": ["directory1", "directory2"], "Pattern": "{TaskId}"}
    s3 = golden(V2311, "StartRecord.request.custom_storage")
    s3["TaskId"] = "s3_task"
    for body in (tos, s3):
        for s in body.get("TargetStreams", {}).get("StreamList") or [{"UserId": "alice"}]:
            sim.publish(body["AppId"], body["RoomId"], s["UserId"], s.get("StreamType", 0))
    with client(sim, V2311) as c:
        assert c.start_record(tos).result == "ok"
        assert c.start_record(s3).result == "ok"
        sim.advance(20)
        for body in (tos, s3):
            assert c.stop_record(ids(body)).result == "ok"
        tos_task = c.get_record_task(ids(tos)).result.record_task
        s3_task = c.get_record_task(ids(s3)).result.record_task
    assert tos_task.status == rs.v2023_11_01.RecordTaskStatus.ENDED
    (tos_file,) = tos_task.record_file_list
    assert tos_file.object_key.startswith("directory1/directory2/Your_TaskId_")  # + suffix
    assert tos_file.object_key.endswith(".mp4") and tos_file.vid is None
    formats = s3["FileFormatConfig"]["FileFormat"]
    keys = sorted(f.object_key.rsplit(".", 1)[1] for f in s3_task.record_file_list)
    assert keys == sorted(FILE_EXTENSIONS[f] for f in formats)  # one file per format (m3u8)
    assert all(f.object_key.startswith("recordings/") for f in s3_task.record_file_list)


def test_one_task_store_across_versions(sim: Simulator) -> None:
    body = golden("2020-12-01", "StartRecord.request.auto_layout")
    with client(sim, "2020-12-01") as old, client(sim, V2311) as new:
        old.start_record(body)
        task = new.get_record_task(ids(body)).result.record_task
        assert type(task) is rs.v2023_11_01.RecordTask and task.status == 2
        assert new.stop_record(ids(body)).result == "ok"
        assert old.get_record_task(ids(body)).result.record_task.stop_reason == "StopByAPI"


def test_duplicate_running_start_depends_on_the_version(sim: Simulator) -> None:
    body = golden(V2311, "StartRecord.request.minimal_tos")
    with client(sim, V2311) as c:
        assert rs.start_outcome(c.start_record(body)) is rs.StartOutcome.STARTED
        again = c.start_record(body)  # documented: success, "already started" in Result
        assert rs.start_outcome(again) is rs.StartOutcome.ALREADY_RUNNING
        assert again.result.startswith("The task has been started")
    older = {**golden("2022-06-01", "StartRecord.request.minimal_tos"), "TaskId": "t2022"}
    with client(sim, "2022-06-01") as c:
        c.start_record(older)
        with pytest.raises(rs.RtcApiError) as info:
            c.start_record(older)
    assert info.value.code == "InvalidParameter.TaskAlreadyExists"
    assert type(info.value) is rs.RtcApiError  # no earlier ambiguous attempt


def test_ambiguous_start_then_already_started_is_task_may_already_exist(sim: Simulator) -> None:
    """The first attempt's connection drops after the request was read; the task runs (seeded,
    as if that attempt had been carried out); the retry meets 2023-11-01's success answer."""
    body = golden(V2311, "StartRecord.request.minimal_tos")
    with client(sim, V2311) as c:
        c.start_record(body)
        sim.faults.drop()
        with pytest.raises(rs.TaskMayAlreadyExist) as info:
            c.start_record(body)
    assert info.value.code == "AlreadyStarted" and info.value.http_status == 200
    assert info.value.request_id


def test_unknown_version_is_invalid_action_or_version(sim: Simulator) -> None:
    import urllib3

    r = urllib3.PoolManager().request("GET", f"{sim.url}/?Action=GetRecordTask&Version=2099-01-01")
    meta = json.loads(r.data)["ResponseMetadata"]
    assert (r.status, meta["Error"]["Code"], meta["Version"]) == (
        404, "InvalidActionOrVersion", "2099-01-01")  # fmt: skip


def _secret_body() -> dict[str, Any]:
    body = golden(V2311, "StartRecord.request.custom_storage")
    body["StorageConfig"]["CustomConfig"].update(
        AccessKey=SECRETS[0], SecretKey=SECRETS[1], SecurityToken=SECRETS[2]
    )
    return body


def test_no_bucket_secret_in_logs_reprs_or_errors(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = _secret_body()
    text = []
    with client(sim, V2311) as c:
        model = rs.from_wire(rs.v2023_11_01.StartRecordRequest, body)
        text += [repr(model), str(model), repr(c)]
        c.start_record(model)
        prepared = c.prepare("StopRecord", ids(body))
        text.append(repr(prepared))
        bad = copy.deepcopy(body)
        bad["StorageConfig"]["CustomConfig"]["SecretKey"] = [SECRETS[1]]
        with pytest.raises(rs.RequestInvalid) as invalid:
            c.start_record(bad)
        text.append(str(invalid.value))
        sim.advance(5)
        c.stop_record(ids(body))
        text.append(repr(c.get_record_task(ids(body))))
    assert sim.tasks[key(body)].request["StorageConfig"]["CustomConfig"][
        "SecretKey"] == SECRETS[1]  # it did reach the service  # fmt: skip
    text += [r.getMessage() for r in caplog.records]
    joined = "\n".join(text)
    for secret in SECRETS:
        assert secret not in joined


def test_a_version_loads_only_when_first_used() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, rtc_startrecord as rs\n"
        "rs.RtcClient; rs.validate; rs.StartRecordRequest\n"
        "rs.validate({'AppId': 'a', 'RoomId': 'r', 'TaskId': 't'})\n"
        "loaded = lambda: sorted(m for m in sys.modules if m.startswith('rtc_startrecord_models.v')"
        " and m.count('.') == 1)\n"
        "print(loaded())\n"
        "rs.validate({'AppId': 'a'}, version='2023-11-01')\n"
        "print(loaded())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.splitlines()  # fmt: skip
    assert out == [
        "['rtc_startrecord_models.v2020_12_01']",
        "['rtc_startrecord_models.v2020_12_01', 'rtc_startrecord_models.v2023_11_01']",
    ]
