"""The command line, run as users run it: ``python -m rtc_startrecord ...`` in a subprocess."""

from __future__ import annotations

import copy
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from rtc_startrecord import callbacks, cli, spec
from rtc_startrecord.cli import wait as cli_wait

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "contract_tests" / "golden" / "2020-12-01"
CUSTOM = GOLDEN / "StartRecord.request.custom_layout.json"
AUTO = GOLDEN / "StartRecord.request.auto_layout.json"
UPDATE = GOLDEN / "UpdateRecord.request.swap_regions.json"
STOP = GOLDEN / "StopRecord.request.stop.json"

SECRET = "S3cr3t-DO-NOT-PRINT-4242"
TOKEN = "T0ken-DO-NOT-PRINT-7777"
CB_SECRET = "callback-secret-XYZ-123"

NS = {"svg": "http://www.w3.org/2000/svg"}


# --------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment without any Volcengine credentials or region, with an empty HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VOLC_", "VOLCENGINE_")) and k not in ("HOME", "CBS")
    }
    env["HOME"] = str(home)
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def run(
    *args: str | Path,
    env: Mapping[str, str],
    stdin: str | None = None,
    timeout: float = 30.0,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "rtc_startrecord", *map(str, args)],
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    return proc


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def custom_body() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CUSTOM.read_text(encoding="utf-8"))
    return data


def broken_body() -> dict[str, Any]:
    body = custom_body()
    body["TargetStreams"]["StreamList"][1]["UserId"] = "bad user id with spaces!"
    body["Layout"]["CustomLayout"]["Regions"][1]["LocationX"] = 0.9  # reaches outside (R16)
    body["Bogus"] = 1
    return body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --------------------------------------------------------------------------------------------
# General


def test_version_and_help(home: Path) -> None:
    env = clean_env(home)
    proc = run("--version", env=env)
    assert proc.returncode == 0
    assert "0.1.0" in proc.stdout
    proc = run("--help", env=env)
    assert proc.returncode == 0
    for command in ("validate", "start", "stop", "update", "get", "serve", "preview",
                    "verify-callback"):  # fmt: skip
        assert command in proc.stdout


@pytest.mark.parametrize(
    "command",
    ["validate", "start", "stop", "update", "get", "serve", "preview", "verify-callback"],
)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage:" in out
    assert "Exit codes" in out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["validate"],
        ["validate", "x.json", "--action", "NoSuchAction"],
        ["get", "x.json", "--timeout", "3"],
        ["get", "x.json", "--wait", "sleeping"],
        ["start", "x.json", "--local", "--endpoint", "http://127.0.0.1:1"],
        ["stop", "x.json", "--local"],
        ["preview", "x.json"],
        ["verify-callback", "x.json"],
        ["serve", "--port", "99999"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err


def test_action_choices_are_the_spec_operations(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--help"]) == 0
    out = capsys.readouterr().out
    for action in spec.operations():
        assert action in out


# --------------------------------------------------------------------------------------------
# validate


def test_validate_golden_warnings_only_is_0(home: Path) -> None:
    proc = run("validate", CUSTOM, env=clean_env(home))
    assert proc.returncode == 0, proc.stderr
    # the golden body has no Vod: a warning (R28), printed, but not a failure
    assert f"{CUSTOM}: $.Vod: R28: " in proc.stdout
    assert proc.stdout.rstrip().endswith("(warning)")


def test_validate_other_actions(home: Path) -> None:
    env = clean_env(home)
    assert run("validate", STOP, "--action", "StopRecord", env=env).returncode == 0
    assert run("validate", UPDATE, "--action", "UpdateRecord", env=env).returncode == 0
    # a StartRecord body is no StopRecord body
    proc = run("validate", CUSTOM, "--action", "StopRecord", env=env)
    assert proc.returncode == 1
    assert "schema.additionalProperties" in proc.stdout


def test_validate_broken_body_lists_every_problem(home: Path, tmp_path: Path) -> None:
    bad = write_json(tmp_path / "bad.json", broken_body())
    proc = run("validate", bad, env=clean_env(home))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    pattern = re.compile(rf"^{re.escape(str(bad))}: \$\S*: (R\d+|schema\.\w+): .+")
    assert lines and all(pattern.match(line) for line in lines), lines
    assert any(": $.Bogus: schema.additionalProperties: " in line for line in lines)
    assert any("$.TargetStreams.StreamList[1].UserId" in line for line in lines)
    assert any("$.Layout.CustomLayout.Regions[1]" in line for line in lines)


def test_validate_json_output(home: Path, tmp_path: Path) -> None:
    bad = write_json(tmp_path / "bad.json", broken_body())
    proc = run("validate", "--json", bad, CUSTOM, env=clean_env(home))
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert set(report) == {"version", "action", "actions", "problems"}
    assert report["version"] == "2020-12-01"  # the default
    assert report["action"] == "StartRecord"  # told from the keys, the same for both files
    assert report["actions"] == {str(bad): "StartRecord", str(CUSTOM): "StartRecord"}
    problems = report["problems"]
    assert isinstance(problems, list) and problems
    for p in problems:
        assert set(p) == {"file", "path", "rule", "message", "severity"}
        assert p["severity"] in ("error", "warning")
    assert {p["file"] for p in problems} == {str(bad), str(CUSTOM)}
    assert any(p["rule"] == "schema.additionalProperties" for p in problems)
    # valid input gives an empty list, and still names the version
    proc = run("validate", "--json", STOP, "--action", "StopRecord", env=clean_env(home))
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == {
        "version": "2020-12-01",
        "action": "StopRecord",
        "actions": {str(STOP): "StopRecord"},
        "problems": [],
    }


def test_validate_tells_the_action_from_the_keys(home: Path, tmp_path: Path) -> None:
    env = clean_env(home)
    # only StartRecord takes Encode or RecordMode: a start body needs no --action
    proc = run("validate", CUSTOM, env=env)
    assert "as StartRecord (told from the keys)" in proc.stderr
    # a misspelt key: the action taking the most keys, and the stray key reported
    body = {"AppId": "a", "RoomId": "r", "TaskId": "t", "Layuot": {}, "Encode": {}}
    proc = run("validate", write_json(tmp_path / "typo.json", body), env=env)
    assert proc.returncode == 1
    assert "$.Layuot: schema.additionalProperties" in proc.stdout
    # keys several actions take: ask, never guess (no "no Vod" warning for a stop body)
    proc = run("validate", STOP, env=env)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "cannot tell which action" in proc.stderr
    assert "StopRecord" in proc.stderr and "--action" in proc.stderr
    assert "R28" not in proc.stderr
    # in 2022-06-01 StorageConfig is required for StartRecord: a body without it is no start
    only_update = {"AppId": "a", "RoomId": "r", "TaskId": "t", "TargetStreams": {}}
    path = write_json(tmp_path / "update.json", only_update)
    proc = run("validate", path, "--api-version", "2022-06-01", env=env)
    assert "as UpdateRecord (told from the keys)" in proc.stderr, proc.stderr


def test_validate_stdin(home: Path) -> None:
    env = clean_env(home)
    proc = run("validate", "-", env=env, stdin=CUSTOM.read_text(encoding="utf-8"))
    assert proc.returncode == 0
    assert proc.stdout.startswith("<stdin>: $.Vod: R28")
    proc = run("validate", "-", env=env, stdin=json.dumps(broken_body()))
    assert proc.returncode == 1
    assert "<stdin>: $.Bogus: schema.additionalProperties" in proc.stdout


def test_validate_missing_file_is_2(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    proc = run("validate", CUSTOM, missing, env=clean_env(home))
    assert proc.returncode == 2
    assert str(missing) in proc.stderr
    assert "no such file" in proc.stderr


def test_validate_not_json_is_2(home: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("{not json", encoding="utf-8")
    proc = run("validate", junk, env=clean_env(home))
    assert proc.returncode == 2
    assert f"{junk}: not JSON" in proc.stderr
    proc = run("validate", "-", env=clean_env(home), stdin="")
    assert proc.returncode == 2
    assert "<stdin>: not JSON" in proc.stderr


def test_validate_non_object_is_1(home: Path, tmp_path: Path) -> None:
    listy = write_json(tmp_path / "list.json", [1, 2])
    proc = run("validate", listy, env=clean_env(home))
    assert proc.returncode == 1
    assert "schema." in proc.stdout
    # the sending commands name JSON types, not Python's
    proc = run("start", "--local", listy, env=clean_env(home))
    assert proc.returncode == 1
    assert "must be a JSON object, not an array" in proc.stderr
    nothing = write_json(tmp_path / "null.json", None)
    proc = run("stop", "--dry-run", nothing, env=clean_env(home))
    assert proc.returncode == 1
    assert "not null" in proc.stderr and "NoneType" not in proc.stderr


# --------------------------------------------------------------------------------------------
# start: --local, --dry-run, credentials


def test_start_local_ok(home: Path) -> None:
    proc = run("start", "--local", CUSTOM, env=clean_env(home))
    assert proc.returncode == 0, proc.stderr
    envelope = json.loads(proc.stdout)
    assert envelope["Result"] == "ok"
    assert envelope["ResponseMetadata"]["Action"] == "StartRecord"
    assert envelope["ResponseMetadata"]["RequestId"]
    assert "R28" in proc.stderr  # the warning is shown, and does not block the send


def test_start_local_invalid_sends_nothing(home: Path, tmp_path: Path) -> None:
    bad = write_json(tmp_path / "bad.json", broken_body())
    proc = run("start", "--local", bad, env=clean_env(home))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert f"{bad}: $.Bogus: schema.additionalProperties" in proc.stderr
    assert "nothing sent" in proc.stderr
    assert "local simulator" not in proc.stderr  # rejected before anything was started
    # --json: the problems as JSON on stdout
    proc = run("start", "--local", "--json", bad, env=clean_env(home))
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert (report["version"], report["action"]) == ("2020-12-01", "StartRecord")
    assert any(p["rule"] == "schema.additionalProperties" for p in report["problems"])


def test_start_dry_run_never_shows_the_secret(home: Path) -> None:
    env = clean_env(
        home, VOLC_ACCESSKEY="AKLTvisibleKeyId", VOLC_SECRETKEY=SECRET, VOLC_SESSION_TOKEN=TOKEN
    )
    for extra in ([], ["-v"], ["--json"]):
        proc = run("start", "--dry-run", CUSTOM, *extra, env=env)
        assert proc.returncode == 0, proc.stderr
        for stream in (proc.stdout, proc.stderr):
            assert SECRET not in stream
            assert TOKEN not in stream
        if extra == ["--json"]:
            request = json.loads(proc.stdout)
            assert request["method"] == "POST"
            assert request["headers"]["Authorization"].startswith("HMAC-SHA256 ")
            assert request["headers"]["X-Security-Token"] == "<redacted>"
            assert json.loads(request["body"])["TaskId"] == "Your_TaskId"
        else:
            assert proc.stdout.startswith(
                "POST https://rtc.volcengineapi.com/?Action=StartRecord&Version=2020-12-01\n"
            )
            assert "Authorization: HMAC-SHA256 Credential=AKLTvisibleKeyId/" in proc.stdout
            assert "X-Security-Token: <redacted>" in proc.stdout
            assert '"TaskId":"Your_TaskId"' in proc.stdout
            assert "nothing sent" in proc.stderr
    # -v logs where the credentials came from, by name
    proc = run("-v", "start", "--dry-run", CUSTOM, env=env)
    assert "env:VOLC_ACCESSKEY" in proc.stderr
    assert SECRET not in proc.stderr


def test_get_dry_run_is_a_signed_get(home: Path) -> None:
    env = clean_env(home, VOLC_ACCESSKEY="AKLTvisibleKeyId", VOLC_SECRETKEY=SECRET)
    proc = run("get", "--dry-run", CUSTOM, "--region", "ap-southeast-1", env=env)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("GET https://rtc.volcengineapi.com/?Action=GetRecordTask&")
    assert "TaskId=Your_TaskId" in first
    assert "BusinessId" not in first  # keys GetRecordTask does not take are dropped
    assert "/ap-southeast-1/rtc/request" in proc.stdout
    assert SECRET not in proc.stdout + proc.stderr


def test_start_without_credentials_is_2(home: Path) -> None:
    proc = run("start", CUSTOM, env=clean_env(home))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "No Volcengine access key found" in proc.stderr
    assert "VOLC_ACCESSKEY" in proc.stderr
    proc = run("stop", "--dry-run", STOP, env=clean_env(home))
    assert proc.returncode == 2
    assert "No Volcengine access key found" in proc.stderr


def test_start_missing_or_bad_file_is_2(home: Path, tmp_path: Path) -> None:
    proc = run("start", "--local", tmp_path / "nope.json", env=clean_env(home))
    assert proc.returncode == 2
    assert "nope.json: no such file" in proc.stderr
    junk = tmp_path / "junk.json"
    junk.write_text("[1,", encoding="utf-8")
    proc = run("start", "--local", junk, env=clean_env(home))
    assert proc.returncode == 2
    assert "junk.json: not JSON" in proc.stderr


def test_start_bad_endpoint_is_2(home: Path) -> None:
    env = clean_env(home, VOLC_ACCESSKEY="AKLTvisibleKeyId", VOLC_SECRETKEY=SECRET)
    proc = run("start", CUSTOM, "--endpoint", "ftp://example.com", env=env)
    assert proc.returncode == 2
    assert "--endpoint" in proc.stderr


def test_start_unreachable_endpoint_is_2(home: Path) -> None:
    env = clean_env(home, VOLC_ACCESSKEY="AKLTvisibleKeyId", VOLC_SECRETKEY=SECRET)
    proc = run("start", CUSTOM, "--endpoint", f"http://127.0.0.1:{free_port()}", env=env)
    assert proc.returncode == 2
    assert "network" in proc.stderr
    assert proc.stdout == ""
    assert SECRET not in proc.stderr


# --------------------------------------------------------------------------------------------
# serve and the lifecycle against it


class Served:
    def __init__(self, proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        self.proc = proc
        self.lines = lines
        self.banner: list[str] = []

    def read_until(self, marker: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"serve printed no {marker!r}: {self.banner}"
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            assert line is not None, f"serve ended early: {self.banner}"
            self.banner.append(line)
            if marker in line:
                return

    @property
    def url(self) -> str:
        for line in self.banner:
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                return m.group(1)
        raise AssertionError(self.banner)

    def printed(self, name: str) -> str:
        for line in self.banner:
            m = re.match(rf"\s*{name}=(\S+)$", line)
            if m:
                return m.group(1)
        raise AssertionError(f"{name} not printed: {self.banner}")


@pytest.fixture
def served(home: Path) -> Iterator[Served]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtc_startrecord", "serve", "--port", str(free_port())],
        env=clean_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    server = Served(proc, lines)
    try:
        server.read_until("Ctrl-C")
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()
        if proc.stdout is not None:
            proc.stdout.close()


def test_serve_banner(served: Served) -> None:
    text = "\n".join(served.banner)
    assert served.url.startswith("http://127.0.0.1:")
    assert "not secrets" in text
    assert served.printed("VOLC_ACCESSKEY") == "AKLTsimulatorTestKey0001"
    assert served.printed("VOLC_SECRETKEY")
    assert served.printed("RTC_ENDPOINT") == served.url
    assert len(served.printed("RTC_SIMULATOR_TOKEN")) >= 20
    assert f"export RTC_ENDPOINT={served.url} " in text


def test_lifecycle_against_serve(served: Served, home: Path, tmp_path: Path) -> None:
    env = clean_env(
        home,
        VOLC_ACCESSKEY=served.printed("VOLC_ACCESSKEY"),
        VOLC_SECRETKEY=served.printed("VOLC_SECRETKEY"),
    )
    ep = ("--endpoint", served.url)

    proc = run("start", CUSTOM, *ep, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["Result"] == "ok"

    # the start body is reused for get: keys GetRecordTask does not take are ignored
    proc = run("get", CUSTOM, *ep, "--wait", "running", "--timeout", "5", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["Result"]["RecordTask"]["Status"] == 2
    assert "waiting for task Your_TaskId: status 2 (running)" in proc.stderr

    proc = run("update", UPDATE, *ep, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ResponseMetadata"]["Action"] == "UpdateRecord"

    proc = run("stop", STOP, *ep, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["Result"] == "ok"

    proc = run("get", STOP, *ep, "--wait", "3", "--timeout", "5", env=env)
    assert proc.returncode == 0, proc.stderr
    task = json.loads(proc.stdout)["Result"]["RecordTask"]
    assert task["Status"] == 3
    assert task["StopReason"]

    # waiting for a status the task can no longer reach: 1
    proc = run("get", STOP, *ep, "--wait", "running", "--timeout", "5", env=env)
    assert proc.returncode == 1
    assert "will not reach 2 (running)" in proc.stderr

    # stopping again: refused by the service
    proc = run("stop", STOP, *ep, env=env)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "InvalidParameter.ErrorActiveTaskNotFound" in proc.stderr
    assert "RequestId 2" in proc.stderr
    proc = run("stop", STOP, *ep, "--json", env=env)
    assert proc.returncode == 1
    error = json.loads(proc.stdout)["ResponseMetadata"]["Error"]
    assert error["Code"] == "InvalidParameter.ErrorActiveTaskNotFound"

    # a running task that never reaches the status within --timeout: 2
    other = custom_body() | {"TaskId": "second-task"}
    other_file = write_json(tmp_path / "other.json", other)
    assert run("start", other_file, *ep, env=env).returncode == 0
    proc = run("get", other_file, *ep, "--wait", "ended", "--timeout", "0.3", env=env)
    assert proc.returncode == 2
    assert "did not reach status 3 (ended) within 0.3s" in proc.stderr

    # an invalid body is never sent: the service does not know its task
    bad = broken_body() | {"TaskId": "never-sent"}
    bad_file = write_json(tmp_path / "bad.json", bad)
    proc = run("start", bad_file, *ep, env=env)
    assert proc.returncode == 1
    assert "nothing sent" in proc.stderr
    proc = run("get", bad_file, *ep, env=env)
    assert proc.returncode == 1
    assert "ErrorActiveTaskNotFound" in proc.stderr

    # wrong credentials: refused by the service (its gateway), 1
    wrong = dict(env, VOLC_SECRETKEY=SECRET)
    proc = run("get", STOP, *ep, env=wrong)
    assert proc.returncode == 1
    assert SECRET not in proc.stderr + proc.stdout

    # SIGTERM: a clean stop, exit 0
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(10) == 0
    assert served.proc.stderr is not None
    err = served.proc.stderr.read()
    assert "Traceback" not in err
    assert "stopped" in err
    # one line per request by default: method, Action, Version, status, RequestId, latency
    assert re.search(r"POST StartRecord 2020-12-01 -> 200 RequestId 2\w+ [\d.]+ ms", err), err
    assert re.search(r"POST StopRecord 2020-12-01 -> 404 RequestId 2\w+ [\d.]+ ms", err), err
    assert SECRET not in err


def test_serve_stops_on_ctrl_c(served: Served) -> None:
    served.proc.send_signal(signal.SIGINT)
    assert served.proc.wait(10) == 0
    assert served.proc.stderr is not None
    assert "Traceback" not in served.proc.stderr.read()


def test_serve_port_in_use_is_2(home: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = run("serve", "--port", str(port), env=clean_env(home), timeout=15)
    assert proc.returncode == 2
    assert "cannot listen" in proc.stderr


def test_serve_callback_secret_env_missing_is_2(home: Path) -> None:
    proc = run(
        "serve", "--callback-url", "http://127.0.0.1:9/cb", "--callback-secret-env", "CBS",
        env=clean_env(home), timeout=15,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "CBS" in proc.stderr
    proc = run("serve", "--callback-url", "http://127.0.0.1:9/cb", env=clean_env(home))
    assert proc.returncode == 2
    for bad in ("notaurl", "ftp://host/cb", "http://", "http://host:99999/"):
        proc = run("serve", "--callback-url", bad, "--callback-secret-env", "CBS",
                   env=clean_env(home, CBS=CB_SECRET), timeout=15)  # fmt: skip
        assert proc.returncode == 2, bad
        assert "is not an http:// or https:// URL" in proc.stderr
        assert "listening" not in proc.stdout


# --------------------------------------------------------------------------------------------
# preview


def test_preview_writes_svg(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "layout.svg"
    proc = run("preview", CUSTOM, "-o", out, "--names", env=clean_env(home))
    assert proc.returncode == 0, proc.stderr
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") == "860"
    regions = root.findall(".//svg:g[@class='region']", NS)
    assert len(regions) == len(custom_body()["Layout"]["CustomLayout"]["Regions"]) == 2
    assert {g.get("data-user-id") for g in regions} == {"Your_UserId_3", "Your_UserId_4"}
    # --names: one file name for a mixed recording, for a task starting now
    names = proc.stdout.splitlines()
    assert len(names) == 1
    assert names[0].startswith("Your_TaskId_Your_RoomId_")


def test_preview_to_stdout(home: Path) -> None:
    proc = run("preview", "-", "-o", "-", env=clean_env(home), stdin=CUSTOM.read_text("utf-8"))
    assert proc.returncode == 0, proc.stderr
    root = ET.fromstring(proc.stdout)
    assert len(root.findall(".//svg:g[@class='region']", NS)) == 2


def test_preview_out_of_canvas_still_drawn_but_1(home: Path, tmp_path: Path) -> None:
    body = custom_body()
    body["Layout"]["CustomLayout"]["Regions"][1]["LocationX"] = 0.9
    src = write_json(tmp_path / "wide.json", body)
    out = tmp_path / "wide.svg"
    proc = run("preview", src, "-o", out, env=clean_env(home))
    assert proc.returncode == 1
    assert "$.Layout.CustomLayout.Regions[1]" in proc.stderr
    root = ET.parse(out).getroot()  # written anyway, to show the problem
    assert len(root.findall(".//svg:g[@class='region']", NS)) == 2


def test_preview_without_custom_layout_is_1(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "auto.svg"
    proc = run("preview", AUTO, "-o", out, env=clean_env(home))
    assert proc.returncode == 1
    assert "cannot preview" in proc.stderr
    assert not out.exists()


def test_preview_io_errors_are_2(home: Path, tmp_path: Path) -> None:
    proc = run("preview", tmp_path / "nope.json", "-o", tmp_path / "x.svg", env=clean_env(home))
    assert proc.returncode == 2
    proc = run("preview", CUSTOM, "-o", tmp_path / "no" / "dir" / "x.svg", env=clean_env(home))
    assert proc.returncode == 2
    assert "cannot write" in proc.stderr


# --------------------------------------------------------------------------------------------
# verify-callback


def callback_file(tmp_path: Path, **changes: str) -> Path:
    body = callbacks.build_callback_body(
        "RecordStarted",
        {"AppId": "app1", "BusinessId": "biz", "RoomId": "room1", "TaskId": "task1", "Code": 0},
        app_id="app1",
        secret=CB_SECRET,
    )
    body.update(changes)
    return write_json(tmp_path / "callback.json", body)


def test_verify_callback_valid(home: Path, tmp_path: Path) -> None:
    path = callback_file(tmp_path)
    env = clean_env(home, CBS=CB_SECRET)
    proc = run("verify-callback", path, "--secret-env", "CBS", env=env)
    assert proc.returncode == 0, proc.stderr
    event = json.loads(proc.stdout)
    # the API's own keys, as received, with EventData decoded and no Signature
    assert event["EventType"] == "RecordStarted"
    assert event["AppId"] == "app1"
    assert event["EventData"]["TaskId"] == "task1"
    assert event["EventData"]["Code"] == 0
    assert "Signature" not in event
    assert not any("_" in key for key in event)
    assert CB_SECRET not in proc.stdout + proc.stderr
    # stdin, and an explicit freshness window the fresh body passes
    proc = run("verify-callback", "-", "--secret-env", "CBS", "--max-age", "600",
               env=env, stdin=path.read_text("utf-8"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_verify_callback_saved_body_has_no_age_check(home: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    old = datetime.now(UTC) - timedelta(days=3)
    body = callbacks.build_callback_body(
        "RecordStarted",
        {"AppId": "app1", "RoomId": "room1", "TaskId": "task1", "Code": 0},
        app_id="app1",
        secret=CB_SECRET,
        event_time=old,
    )
    path = write_json(tmp_path / "old.json", body)
    env = clean_env(home, CBS=CB_SECRET)
    assert run("verify-callback", path, "--secret-env", "CBS", env=env).returncode == 0
    proc = run("verify-callback", path, "--secret-env", "CBS", "--max-age", "600", env=env)
    assert proc.returncode == 1
    assert "StaleEvent" in proc.stderr


def test_verify_callback_tampered_is_1(home: Path, tmp_path: Path) -> None:
    good = callback_file(tmp_path)
    body = json.loads(good.read_text("utf-8"))
    body["EventData"] = body["EventData"].replace("room1", "room2")
    tampered = write_json(tmp_path / "tampered.json", body)
    env = clean_env(home, CBS=CB_SECRET)
    proc = run("verify-callback", tampered, "--secret-env", "CBS", env=env)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "SignatureMismatch" in proc.stderr
    # the wrong secret, too
    proc = run("verify-callback", good, "--secret-env", "CBS", env=clean_env(home, CBS="other"))
    assert proc.returncode == 1
    # JSON that is no callback is an invalid callback (1) ...
    listy = write_json(tmp_path / "list.json", [1])
    proc = run("verify-callback", listy, "--secret-env", "CBS", env=env)
    assert proc.returncode == 1
    assert "MalformedCallback" in proc.stderr
    # ... but a file that is not JSON at all is 2, as for every command
    junk = tmp_path / "junk.json"
    junk.write_text("<html>", encoding="utf-8")
    proc = run("verify-callback", junk, "--secret-env", "CBS", env=env)
    assert proc.returncode == 2
    assert "junk.json: not JSON" in proc.stderr


def test_verify_callback_usage_errors_are_2(home: Path, tmp_path: Path) -> None:
    path = callback_file(tmp_path)
    proc = run("verify-callback", path, "--secret-env", "CBS", env=clean_env(home))
    assert proc.returncode == 2
    assert "CBS is not set" in proc.stderr
    proc = run("verify-callback", path, "--secret-env", "CBS", env=clean_env(home, CBS=""))
    assert proc.returncode == 2
    proc = run("verify-callback", tmp_path / "nope.json", "--secret-env", "CBS",
               env=clean_env(home, CBS=CB_SECRET))  # fmt: skip
    assert proc.returncode == 2
    assert "no such file" in proc.stderr


# --------------------------------------------------------------------------------------------
# In-process details


def test_main_in_process_validate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = copy.deepcopy(broken_body())
    path = write_json(tmp_path / "bad.json", bad)
    assert cli.main(["validate", str(path), "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)
    assert problems


@pytest.mark.parametrize(
    ("text", "status"),
    [("running", 2), ("RUNNING", 2), ("ended", 3), ("3", 3), ("failed", 4), ("not-started", 1),
     ("unknown_error", 0), ("0", 0)],
)  # fmt: skip
def test_parse_status(text: str, status: int) -> None:
    assert cli_wait.parse_status(text) == status
