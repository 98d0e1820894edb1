"""The simulator's admin API (``/_simulator/api/...``) over real loopback HTTP, and the ``sim``
commands driving a real ``rtc-startrecord serve`` subprocess from another "terminal"."""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

import rtc_startrecord as rs
from rtc_startrecord.pytest_plugin import client_for
from rtc_startrecord.simulator import Simulator
from rtc_startrecord.simulator.admin import REQUEST_LOGGER, AdminError
from rtc_startrecord.simulator.admin_client import AdminClient

ROOT = Path(__file__).resolve().parent.parent
IDS = {"AppId": "app1", "RoomId": "room1", "TaskId": "t1"}
BUCKET_SECRET = "BUCKET-SECRET-never-shown-99"


def start_body(**extra: Any) -> dict[str, Any]:
    return {
        **IDS,
        "TargetStreams": {"StreamList": [{"UserId": "alice"}]},
        "Control": {"MaxIdleTime": 10},
        **extra,
    }


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(qps=None) as s:
        yield s


def call(
    sim: Simulator,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = "",
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, Any, urllib3.BaseHTTPResponse]:
    """One admin call; token "" means the simulator's own, None none at all."""
    sent = {"Content-Type": "application/json"}
    if token is not None:
        sent["Authorization"] = f"Bearer {token or sim.admin_token}"
    sent.update(headers or {})
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    resp = urllib3.request(method, f"{sim.url}/_simulator/api{path}", body=data, headers=sent,
                           retries=False)  # fmt: skip
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.status != 500
    return resp.status, json.loads(resp.data), resp


# --------------------------------------------------------------------------------------------
# What it does


def test_tasks_publish_advance_files(sim: Simulator) -> None:
    with client_for(sim, version="2022-06-01") as client:
        storage = {
            "Type": 2,
            "CustomConfig": {"Vendor": 0, "Bucket": "b", "AccessKey": "AK",
                             "SecretKey": BUCKET_SECRET, "Region": 0},
        }  # fmt: skip
        client.call("StartRecord", start_body(StorageConfig=storage))
    status, answer, _ = call(sim, "GET", "/tasks", token=None)  # reading needs no token
    assert status == 200
    [task] = answer["Tasks"]
    assert task["TaskId"] == "t1" and task["Version"] == "2022-06-01"
    assert task["Status"] == rs.RecordTaskStatus.RUNNING and task["StatusName"] == "running"
    assert task["RecordFileList"] == []
    assert BUCKET_SECRET not in json.dumps(answer)  # no request bodies

    status, room, _ = call(sim, "POST", "/publish", {"AppId": "app1", "RoomId": "room1",
                                                     "UserId": "alice"})  # fmt: skip
    assert status == 200
    assert room["Streams"] == [{"UserId": "alice", "StreamType": 0, "Published": True}]
    status, moved, _ = call(sim, "POST", "/advance", {"Seconds": 60})
    assert (status, moved["AdvancedMs"], moved["Ended"]) == (200, 60000, [])
    status, _, _ = call(sim, "POST", "/unpublish", {"AppId": "app1", "RoomId": "room1",
                                                    "UserId": "alice"})  # fmt: skip
    assert status == 200
    status, moved, _ = call(sim, "POST", "/advance", {"Milliseconds": 11000})
    assert status == 200
    assert [(t["TaskId"], t["StopReason"]) for t in moved["Ended"]] == [("t1", "IdleTimeOut")]
    _, answer, _ = call(sim, "GET", "/tasks")
    [task] = answer["Tasks"]
    assert task["Status"] == rs.RecordTaskStatus.ENDED
    [f] = task["RecordFileList"]
    assert 60000 <= f["Duration"] < 62000  # the simulated minute, and the test's own time
    assert "ObjectKey" in f
    # the same files GetRecordTask gives
    with client_for(sim) as client:
        response: Any = client.call("GetRecordTask", IDS)
    got = response.result.record_task
    assert [x.duration for x in got.record_file_list or []] == [f["Duration"]]


def test_index_names_every_endpoint(sim: Simulator) -> None:
    status, answer, _ = call(sim, "GET", "", token=None)
    assert status == 200
    assert "/_simulator/api/tasks" in answer["Endpoints"]["GET"]
    assert set(answer["Endpoints"]["POST"]) == {
        f"/_simulator/api/{x}" for x in ("publish", "unpublish", "advance", "faults")
    }
    assert isinstance(answer["Now"], int)


def test_faults_through_the_api(sim: Simulator) -> None:
    status, answer, _ = call(sim, "POST", "/faults", {"Kind": "throttle", "Count": 2})
    assert (status, answer["Pending"]) == (200, 2)
    status, answer, _ = call(sim, "POST", "/faults", {"Kind": "error", "Status": 503})
    assert answer["Pending"] == 3
    query = "/?Action=GetRecordTask&Version=2020-12-01&AppId=a&RoomId=r&TaskId=t"
    seen = [urllib3.request("GET", sim.url + query, retries=False).status for _ in range(4)]
    assert seen == [429, 429, 503, 401]  # the last one reaches the app: unsigned
    _, answer, _ = call(sim, "GET", "/faults")
    assert [h["Kind"] for h in answer["History"]] == ["throttle", "throttle", "error"]
    call(sim, "POST", "/faults", {"Kind": "delay", "Seconds": 0.3})
    t0 = time.monotonic()
    urllib3.request("GET", sim.url + query, retries=False)
    assert time.monotonic() - t0 >= 0.3
    call(sim, "POST", "/faults", {"Kind": "drop", "Count": 5})
    status, answer, _ = call(sim, "POST", "/faults", {"Kind": "clear"})
    assert (status, answer["Pending"], answer["History"]) == (200, 0, [])


# --------------------------------------------------------------------------------------------
# What it never does: consume faults, count against the QPS limit, appear in the request log


def test_admin_calls_consume_no_fault() -> None:
    with Simulator() as sim:
        sim.faults.throttle()
        sim.faults.drop()
        for _ in range(5):
            assert call(sim, "GET", "/tasks")[0] == 200
            assert call(sim, "POST", "/advance", {"Seconds": 1})[0] == 200
        assert sim.faults.pending == 2
        assert sim.faults.history == []
        query = "/?Action=GetRecordTask&Version=2020-12-01"
        assert urllib3.request("GET", sim.url + query, retries=False).status == 429
        assert [k for k, _ in sim.faults.history] == ["throttle"]


def test_admin_calls_do_not_count_against_the_qps_limit() -> None:
    with Simulator(qps=2) as sim, client_for(sim) as client:
        for _ in range(20):
            assert call(sim, "GET", "/tasks")[0] == 200
        client.call("StartRecord", start_body())  # within the limit: the admin calls did not count
        client.call("GetRecordTask", IDS)
        with pytest.raises(rs.RtcApiError) as info:
            client.with_options(max_attempts=1).call("GetRecordTask", IDS)
        assert info.value.code == "FlowLimitExceeded.QPSOverLimit"


def test_request_log_has_api_calls_only(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=REQUEST_LOGGER), client_for(sim) as client:
        client.call("StartRecord", start_body())
        call(sim, "GET", "/tasks")
        call(sim, "POST", "/publish", {"AppId": "app1", "RoomId": "room1", "UserId": "alice"})
        sim.faults.throttle()
        with pytest.raises(rs.RtcApiError):
            client.with_options(max_attempts=1).call("GetRecordTask", IDS)
    lines = [r.getMessage() for r in caplog.records if r.name == REQUEST_LOGGER]
    assert len(lines) == 2, lines
    assert re.fullmatch(r"POST StartRecord 2020-12-01 -> 200 RequestId 2\w+ [\d.]+ ms", lines[0])
    assert re.fullmatch(r"GET GetRecordTask 2020-12-01 -> 429 RequestId \S+ [\d.]+ ms", lines[1])
    assert not any("_simulator" in line for line in lines)
    assert sim.admin_token not in caplog.text


# --------------------------------------------------------------------------------------------
# Who may call


def test_state_changes_need_the_token(sim: Simulator) -> None:
    body = {"Seconds": 5}
    status, answer, _ = call(sim, "POST", "/advance", body, token=None)
    assert (status, answer["Error"]["Code"]) == (401, "MissingToken")
    assert "Authorization: Bearer" in answer["Error"]["Message"]
    status, answer, _ = call(sim, "POST", "/advance", body, token="not-the-token")
    assert (status, answer["Error"]["Code"]) == (401, "InvalidToken")
    assert sim.admin_token not in answer["Error"]["Message"]
    status, _, _ = call(sim, "POST", "/advance", body, token=None,
                        headers={"X-Simulator-Token": sim.admin_token})  # fmt: skip
    assert status == 200
    before = sim.now_ms()
    for bad in (None, "wrong"):
        call(sim, "POST", "/advance", {"Seconds": 3600}, token=bad)
    assert sim.now_ms() - before < 3_600_000  # refused calls changed nothing
    assert sim.admin_token not in repr(sim) + repr(sim.admin)


def test_each_simulator_has_its_own_token() -> None:
    with Simulator() as a, Simulator() as b:
        assert a.admin_token != b.admin_token
        status, _, _ = call(a, "POST", "/advance", {"Seconds": 1}, token=b.admin_token)
        assert status == 401


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Origin": "http://evil.example"}, "cross-origin"),
        ({"Origin": "null"}, "cross-origin"),
        ({"Sec-Fetch-Site": "cross-site"}, "cross-site"),
        ({"Host": "evil.example"}, "loopback host"),  # DNS rebinding
        ({"Host": "rtc.volcengineapi.com:80"}, "loopback host"),
    ],
)
def test_web_pages_cannot_drive_it(sim: Simulator, headers: dict[str, str], why: str) -> None:
    for method, path in (("GET", "/tasks"), ("POST", "/advance")):
        status, answer, resp = call(sim, method, path, {"Seconds": 1}, headers=headers)
        assert status == 403
        assert why in answer["Error"]["Message"]
        assert not any(k.lower().startswith("access-control") for k in resp.headers)
    assert call(sim, "GET", "/faults")[2].headers.get("Access-Control-Allow-Origin") is None


def test_same_origin_and_localhost_are_fine(sim: Simulator) -> None:
    port = sim.server.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, _, _ = call(sim, "POST", "/advance", {"Seconds": 1},
                            headers={"Host": host, "Origin": f"http://{host}"})  # fmt: skip
        assert status == 200
    # a browser's preflight gets no CORS answer
    resp = urllib3.request("OPTIONS", sim.url + "/_simulator/api/advance", retries=False,
                           headers={"Origin": "http://evil.example"})  # fmt: skip
    assert resp.status == 403
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_non_loopback_peers_are_refused() -> None:
    """Listening on every address, a peer on another address is refused."""
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    with Simulator(host="0.0.0.0") as sim:
        port = sim.server.port
        resp = urllib3.request("GET", f"http://{address}:{port}/_simulator/api/tasks",
                               headers={"Host": f"127.0.0.1:{port}"}, retries=False)  # fmt: skip
        assert resp.status == 403
        assert "loopback peers only" in json.loads(resp.data)["Error"]["Message"]


def _non_loopback_address() -> str | None:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return None
    for info in infos:
        addr = str(info[4][0])
        if not addr.startswith("127."):
            return addr
    return None


# --------------------------------------------------------------------------------------------
# Bad input: a JSON error with a clear message, never a 500


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/publish", {"AppId": "a", "RoomId": "r"}, 400, "UserId is missing"),
        ("/publish", {"AppId": "a b", "RoomId": "r", "UserId": "u"}, 400, "AppId must be"),
        ("/publish", {"AppId": "a", "RoomId": "r", "UserId": 7}, 400, "got 7"),
        ("/publish", {"AppId": "a", "RoomId": "r", "UserId": "u", "StreamType": True}, 400,
         "StreamType must be 0"),
        ("/publish", {"AppId": "a", "RoomId": "r", "UserId": "u", "Width": 1.5}, 400, "Width"),
        ("/unpublish", {"AppId": "a", "RoomId": "r", "UserId": "u", "Width": 2}, 400,
         "unknown key(s) Width"),
        ("/advance", {}, 400, "exactly one of Seconds, Milliseconds"),
        ("/advance", {"Seconds": 1, "Milliseconds": 1}, 400, "exactly one"),
        ("/advance", {"Seconds": -1}, 400, "Seconds must be a number"),
        ("/advance", {"Seconds": "10"}, 400, 'got "10"'),
        ("/advance", {"Seconds": 1e300}, 400, "Seconds must be a number"),
        ("/advance", {"Milliseconds": 1.5}, 400, "integer"),
        ("/faults", {"Kind": "explode"}, 400, "Kind must be one of"),
        ("/faults", {"Kind": "delay"}, 400, "Seconds must be a number"),
        ("/faults", {"Kind": "error", "Status": 99}, 400, "Status must be an integer"),
        ("/faults", {"Kind": "drop", "Count": 0}, 400, "Count must be an integer"),
        ("/faults", {"Kind": "drop", "Seconds": 1}, 400, "unknown key(s) Seconds"),
        ("/faults", [1], 400, "must be a JSON object, not array"),
        ("/nothing", {}, 404, "no admin resource"),
    ],
)  # fmt: skip
def test_bad_input(sim: Simulator, path: str, body: Any, status: int, says: str) -> None:
    got, answer, _ = call(sim, "POST", path, body)
    assert got == status, answer
    assert says in answer["Error"]["Message"]


def test_bad_requests(sim: Simulator) -> None:
    status, answer, resp = call(sim, "DELETE", "/tasks")
    assert (status, resp.headers["Allow"]) == (405, "GET")
    status, answer, resp = call(sim, "GET", "/advance")
    assert (status, resp.headers["Allow"]) == (405, "POST")
    status, answer, _ = call(sim, "POST", "/advance", raw=b"{not json")
    assert (status, answer["Error"]["Code"]) == (400, "InvalidJSON")
    status, answer, _ = call(sim, "POST", "/advance", raw=b'{"Seconds": NaN}')
    assert (status, answer["Error"]["Code"]) == (400, "InvalidJSON")
    status, answer, _ = call(sim, "POST", "/advance", raw=b"[" * 100_000)
    assert status == 413
    status, answer, _ = call(sim, "POST", "/advance", raw=b'{"Seconds": 1}',
                             headers={"Content-Type": "text/plain"})  # fmt: skip
    assert status == 415
    status, answer, _ = call(sim, "POST", "/advance", raw=b"[" * 5000)
    assert status == 400
    # the rest of the reserved prefix is not the API's either
    resp = urllib3.request("GET", sim.url + "/_simulator/elsewhere", retries=False)
    assert resp.status == 404
    assert json.loads(resp.data)["Error"]["Code"] == "NotFound"


def test_admin_client(sim: Simulator) -> None:
    with AdminClient(sim.url, sim.admin_token) as admin:
        admin.publish("app1", "room1", "alice")
        assert admin.advance(2)["AdvancedMs"] == 2000
        assert admin.add_fault("throttle", Count=1)["Pending"] == 1
        assert admin.faults()["Pending"] == 1
        assert admin.tasks()["Tasks"] == []
        assert "<redacted>" in repr(admin) and sim.admin_token not in repr(admin)
    with AdminClient(sim.url) as anonymous, pytest.raises(AdminError) as info:
        anonymous.advance(1)
    assert (info.value.status, info.value.code) == (401, "MissingToken")
    with pytest.raises(ValueError, match="not an http"):
        AdminClient("ftp://x")


# --------------------------------------------------------------------------------------------
# The sim commands against a real `serve`


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VOLC_", "VOLCENGINE_", "RTC_")) and k != "HOME"
    }
    return env | {"HOME": str(home), "PYTHONIOENCODING": "utf-8"} | extra


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cli(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "rtc_startrecord", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


@pytest.fixture
def serve_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], subprocess.Popen[str]]]:
    """A real `serve` subprocess; the environment its banner says to export."""
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtc_startrecord", "serve", "--port", str(_free_port())],
        env=_clean_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None and proc.stderr is not None

    def pump() -> None:
        for line in proc.stdout or []:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(proc.stderr or []), daemon=True).start()
    printed: dict[str, str] = {}
    deadline = time.monotonic() + 20
    while "Ctrl-C" not in "".join(printed.get("_", "")):
        line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        m = re.match(r"\s+([A-Z_]+)=(\S+)$", line)
        if m:
            printed[m.group(1)] = m.group(2)
        printed["_"] = line
    env = _clean_env(home, **{k: printed[k] for k in (
        "VOLC_ACCESSKEY", "VOLC_SECRETKEY", "RTC_ENDPOINT", "RTC_SIMULATOR_TOKEN")})  # fmt: skip
    try:
        yield env, proc
    finally:
        proc.terminate()
        proc.wait(10)
        log = "".join(stderr)
        assert "Traceback" not in log
        assert env["RTC_SIMULATOR_TOKEN"] not in log  # admin calls are never logged


def test_sim_commands_against_serve(
    serve_env: tuple[dict[str, str], subprocess.Popen[str]], tmp_path: Path
) -> None:
    env, _ = serve_env
    body = tmp_path / "start.json"
    body.write_text(json.dumps(start_body()), encoding="utf-8")
    assert _cli("start", body, env=env).returncode == 0  # the endpoint from $RTC_ENDPOINT

    proc = _cli("sim", "publish", "--app-id", "app1", "--room-id", "room1", "--user-id", "alice",
                env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["Streams"][0]["Published"] is True
    assert _cli("sim", "advance", "1m", env=env).returncode == 0
    assert _cli("sim", "unpublish", "--app-id", "app1", "--room-id", "room1", "--user-id",
                "alice", env=env).returncode == 0  # fmt: skip
    proc = _cli("sim", "advance", "11s", env=env)
    assert proc.returncode == 0
    assert "ended: t1 (IdleTimeOut)" in proc.stderr

    proc = _cli("sim", "tasks", env=env)
    assert proc.returncode == 0
    [task] = json.loads(proc.stdout)["Tasks"]
    assert task["Status"] == rs.RecordTaskStatus.ENDED
    [recorded] = task["RecordFileList"]
    assert 60000 <= recorded["Duration"] < 65000
    assert "1 task(s), 1 file(s)" in proc.stderr
    # and GetRecordTask, through the CLI, shows the same files
    proc = _cli("get", body, env=env)
    assert proc.returncode == 0, proc.stderr
    files = json.loads(proc.stdout)["Result"]["RecordTask"]["RecordFileList"]
    assert files == task["RecordFileList"]

    # faults: one throttle, which the client's retry rides out
    assert _cli("sim", "faults", "throttle", env=env).returncode == 0
    assert _cli("get", body, env=env).returncode == 0
    proc = _cli("sim", "faults", env=env)
    answer = json.loads(proc.stdout)
    assert (answer["Pending"], [h["Kind"] for h in answer["History"]]) == (0, ["throttle"])


def test_sim_exit_codes(
    serve_env: tuple[dict[str, str], subprocess.Popen[str]], tmp_path: Path
) -> None:
    env, _ = serve_env
    token = env["RTC_SIMULATOR_TOKEN"]
    # refused by the simulator: 1
    proc = _cli("sim", "advance", "5", env=env | {"RTC_SIMULATOR_TOKEN": "wrong"})
    assert proc.returncode == 1
    assert "InvalidToken" in proc.stderr and token not in proc.stderr
    proc = _cli("sim", "publish", "--app-id", "a b", "--room-id", "r", "--user-id", "u", env=env)
    assert proc.returncode == 1
    assert "AppId must be" in proc.stderr
    # no token for a state change, no endpoint, an unreachable one, usage: 2
    no_token = {k: v for k, v in env.items() if k != "RTC_SIMULATOR_TOKEN"}
    proc = _cli("sim", "advance", "5", env=no_token)
    assert proc.returncode == 2 and "RTC_SIMULATOR_TOKEN" in proc.stderr
    assert _cli("sim", "tasks", env=no_token).returncode == 0  # reading needs none
    no_endpoint = {k: v for k, v in env.items() if k != "RTC_ENDPOINT"}
    proc = _cli("sim", "tasks", env=no_endpoint)
    assert proc.returncode == 2 and "RTC_ENDPOINT" in proc.stderr
    proc = _cli("sim", "tasks", "--endpoint", f"http://127.0.0.1:{_free_port()}", env=env)
    assert proc.returncode == 2
    assert "1 attempt" in proc.stderr and "serve" in proc.stderr
    for argv in (["sim"], ["sim", "advance", "soon"], ["sim", "faults", "delay"],
                 ["sim", "faults", "drop", "--status", "500"],
                 ["sim", "publish", "--app-id", "a"]):  # fmt: skip
        proc = _cli(*argv, env=env)
        assert proc.returncode == 2, argv
        assert proc.stdout == ""


def test_non_loopback_peer_refused_by_the_app(sim: Simulator) -> None:
    """The peer check itself, for machines with no second address: the app given a WSGI environ
    whose REMOTE_ADDR is another host's, and one of an IPv4-mapped loopback peer."""
    import io

    def answer(peer: str) -> tuple[str, Any]:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/_simulator/api/tasks",
            "REMOTE_ADDR": peer,
            "HTTP_HOST": "127.0.0.1:1",
            "wsgi.input": io.BytesIO(),
        }
        seen: list[str] = []

        def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            seen.append(status)

        body = b"".join(sim.admin(environ, start_response))
        return seen[0], json.loads(body)

    status, body = answer("10.0.0.5")
    assert status.startswith("403") and "loopback peers only" in body["Error"]["Message"]
    assert answer("::ffff:127.0.0.1")[0].startswith("200")
    assert answer("::1")[0].startswith("200")


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/advance", b'{"\\ud800": 1}'),
        ("/publish", b'{"AppId": "\\udcff", "RoomId": "r", "UserId": "u"}'),
        ("/faults", b'{"Action": "\\ud83d", "Code": "x"}'),
    ],
)
def test_a_lone_surrogate_echoed_in_an_error_is_still_a_json_answer(
    sim: Simulator, path: str, raw: bytes
) -> None:
    status, answer, _ = call(sim, "POST", path, raw=raw)
    assert status == 400
    assert answer["Error"]["Code"] == "InvalidParameter"


def test_a_jump_past_the_72_hour_window_still_reports_what_it_ended(sim: Simulator) -> None:
    with client_for(sim) as client:
        client.call("StartRecord", start_body(Control={"MaxIdleTime": 10}))
    status, moved, _ = call(sim, "POST", "/advance", {"Seconds": 4 * 86400})
    assert status == 200
    assert [(t["TaskId"], t["StopReason"]) for t in moved["Ended"]] == [("t1", "IdleTimeOut")]
    assert sim.tasks == {}  # and then forgotten, as the service forgets it after 72 h
