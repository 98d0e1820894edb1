"""The command line across API versions (--api-version), and bucket credentials never printed.

Run as users run it (``python -m rtc_startrecord ...`` in a subprocess) or through
``cli.main([...])``. The lifecycle and ``start --local`` tests need the simulator to answer every
version (each request's Version query parameter).
"""

from __future__ import annotations

import copy
import hashlib
import http.server
import json
import os
import queue
import re
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

import rtc_startrecord as rs
from rtc_startrecord import cli, redaction, spec
from rtc_startrecord.wire import dumps

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "contract_tests" / "golden"
LATEST = "2023-11-01"
G2311 = GOLDEN / LATEST
CUSTOM_2311 = G2311 / "StartRecord.request.custom_layout.json"  # TOS storage, pixel regions
UPDATE_2311 = G2311 / "UpdateRecord.request.swap_regions.json"
STOP_2311 = G2311 / "StopRecord.request.stop.json"

NS = {"svg": "http://www.w3.org/2000/svg"}

# The bucket credentials of an S3-compatible destination (2023-11-01 StorageConfig.CustomConfig).
SECRET_VALUES = ("AKLTSECRETKEYID", "TOPSECRETVALUE", "STSTOKENVALUE")
SECRET_STORAGE: dict[str, Any] = {
    "Type": 2,
    "CustomConfig": {
        "Vendor": 0,
        "Bucket": "b",
        "AccessKey": "AKLTSECRETKEYID",
        "SecretKey": "TOPSECRETVALUE",
        "SecurityToken": "STSTOKENVALUE",
        "Region": 0,
    },
}
SECRET_PATHS = [
    "$.StorageConfig.CustomConfig.AccessKey",
    "$.StorageConfig.CustomConfig.SecretKey",
    "$.StorageConfig.CustomConfig.SecurityToken",
]


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
        if not k.startswith(("VOLC_", "VOLCENGINE_")) and k != "HOME"
    }
    env["HOME"] = str(home)
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def signing_env(home: Path) -> dict[str, str]:
    return clean_env(home, VOLC_ACCESSKEY="AKLTvisibleKeyId", VOLC_SECRETKEY="not-a-real-secret")


def run(
    *args: str | Path, env: Mapping[str, str], timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "rtc_startrecord", *map(str, args)],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    return proc


def no_secret(*texts: str) -> None:
    for text in texts:
        for value in SECRET_VALUES:
            assert value not in text, f"{value} printed:\n{text}"


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def s3_body(task_id: str = "s3-task") -> dict[str, Any]:
    """The documented 2023-11-01 custom layout, stored in an S3-compatible bucket."""
    body = load(CUSTOM_2311)
    body["TaskId"] = task_id
    body["StorageConfig"] = copy.deepcopy(SECRET_STORAGE)
    return body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def normalized(text: str) -> str:
    return " ".join(text.split())


def minimal_start(version: str) -> Path:
    """A small valid StartRecord body of `version` (a golden file)."""
    if version == "2020-12-01":
        return GOLDEN / version / "StartRecord.request.custom_layout.json"
    return GOLDEN / version / "StartRecord.request.minimal_tos.json"


# --------------------------------------------------------------------------------------------
# --api-version: the flag, its help, its choices


VERSIONED = ["validate", "start", "stop", "update", "get", "preview"]


@pytest.mark.parametrize("command", VERSIONED)
def test_versioned_commands_take_api_version(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([command, "--help"]) == 0
    out = normalized(capsys.readouterr().out)
    assert "--api-version" in out
    for version in rs.API_VERSIONS:
        assert version in out
    assert "default: 2020-12-01" in out
    assert "Volcengine recommends 2023-11-01 for new code" in out


def test_serve_needs_no_api_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--help"]) == 0
    out = normalized(capsys.readouterr().out)
    assert "--api-version" not in out
    assert "every API version" in out


def test_top_level_help_names_the_versions(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = normalized(capsys.readouterr().out)
    assert ", ".join(rs.API_VERSIONS) in out
    assert "the default stays 2020-12-01" in out


def test_api_version_choices_are_the_spec_versions() -> None:
    assert rs.API_VERSIONS == spec.API_VERSIONS
    parser = cli.build_parser()
    args = parser.parse_args(["validate", "x.json"])
    assert args.api_version == spec.DEFAULT_VERSION == "2020-12-01"
    for version in rs.API_VERSIONS:
        assert parser.parse_args(["get", "x.json", "--api-version", version]).api_version == (
            version
        )


def test_unknown_api_version_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "x.json", "--api-version", "2021-01-01"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--api-version" in captured.err and "2021-01-01" in captured.err
    assert "2023-11-01" in captured.err  # the choices are listed


# --------------------------------------------------------------------------------------------
# validate per version


def golden_requests() -> list[tuple[str, Path]]:
    out = []
    for version in rs.API_VERSIONS:
        for path in sorted((GOLDEN / version).glob("*.request.*.json")):
            out.append((version, path))
    return out


@pytest.mark.parametrize(
    ("version", "path"), golden_requests(), ids=lambda v: v if isinstance(v, str) else v.name
)
def test_validate_golden_bodies_of_each_version(home: Path, version: str, path: Path) -> None:
    action = path.name.split(".")[0]
    proc = run("validate", "--json", "--api-version", version, "--action", action, path,
               env=clean_env(home))  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["version"] == version
    assert report["action"] == action
    assert all(p["severity"] == "warning" for p in report["problems"])
    assert f"(API version {version})" in proc.stderr


def test_validate_wrong_version_says_which_to_use(home: Path) -> None:
    # a 2023-11-01 body (StorageConfig, pixel regions) checked as the default 2020-12-01
    proc = run("validate", CUSTOM_2311, env=clean_env(home))
    assert proc.returncode == 1
    assert "$.StorageConfig: schema.additionalProperties" in proc.stdout
    assert "did you mean --api-version 2023-11-01?" in proc.stderr
    # and a start with the wrong version is not sent, with the same advice
    proc = run("start", "--dry-run", CUSTOM_2311, env=signing_env(home))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "nothing sent" in proc.stderr
    assert "did you mean --api-version 2023-11-01?" in proc.stderr
    proc = run("start", "--dry-run", "--api-version", LATEST, CUSTOM_2311, env=signing_env(home))
    assert proc.returncode == 0, proc.stderr


def test_dry_run_speaks_the_chosen_version(home: Path) -> None:
    for version in rs.API_VERSIONS:
        proc = run("start", "--dry-run", "--api-version", version, minimal_start(version),
                   env=signing_env(home))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        first = proc.stdout.splitlines()[0]
        assert first == f"POST https://rtc.volcengineapi.com/?Action=StartRecord&Version={version}"
        proc = run("get", "--dry-run", "--api-version", version, minimal_start(version),
                   env=signing_env(home))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        first = proc.stdout.splitlines()[0]
        assert first.startswith("GET https://rtc.volcengineapi.com/?Action=GetRecordTask&")
        assert f"Version={version}" in first
        # the start body is reused: keys GetRecordTask does not take are dropped
        assert "StorageConfig" not in proc.stdout


# --------------------------------------------------------------------------------------------
# Bucket credentials are never printed


def test_secret_keys_floor_is_the_spec_union() -> None:
    union = frozenset().union(*(spec.secret_keys(v) for v in rs.API_VERSIONS))
    assert union == redaction.CROSS_VERSION_SECRET_KEYS
    assert spec.secret_keys(LATEST) == {"AccessKey", "SecretKey", "SecurityToken"}


def test_dry_run_redacts_bucket_credentials(home: Path, tmp_path: Path) -> None:
    body = s3_body()
    path = write_json(tmp_path / "s3.json", body)
    env = signing_env(home)
    for extra in ([], ["-v"]):
        proc = run(*extra, "start", "--dry-run", "--api-version", LATEST, path, env=env)
        assert proc.returncode == 0, proc.stderr
        no_secret(proc.stdout, proc.stderr)
        assert proc.stdout.startswith(
            f"POST https://rtc.volcengineapi.com/?Action=StartRecord&Version={LATEST}\n"
        )
        shown = json.loads(proc.stdout.rstrip("\n").split("\n\n", 1)[1])
        assert shown["StorageConfig"]["CustomConfig"] == {
            "Vendor": 0, "Bucket": "b", "AccessKey": "<redacted>", "SecretKey": "<redacted>",
            "SecurityToken": "<redacted>", "Region": 0,
        }  # fmt: skip
        assert shown["Layout"] == body["Layout"]  # the rest is shown as sent
        assert "were redacted" in proc.stderr
        for secret_path in SECRET_PATHS:
            assert secret_path in proc.stderr
        # the headers sign the real body, not the one shown
        real = dumps(body)
        digest = re.search(r"^X-Content-Sha256: ([0-9a-f]{64})$", proc.stdout, re.MULTILINE)
        assert digest is not None
        assert digest.group(1) == hashlib.sha256(real).hexdigest()
        assert "nothing sent" in proc.stderr

    proc = run("start", "--dry-run", "--json", "--api-version", LATEST, path, env=env)
    assert proc.returncode == 0, proc.stderr
    no_secret(proc.stdout, proc.stderr)
    request = json.loads(proc.stdout)
    assert request["redacted"] == SECRET_PATHS
    assert "redacted" in request["note"]
    assert json.loads(request["body"])["StorageConfig"]["CustomConfig"]["SecretKey"] == (
        "<redacted>"
    )
    assert request["headers"]["X-Content-Sha256"] == hashlib.sha256(dumps(body)).hexdigest()


def test_dry_run_without_credentials_says_nothing_of_redaction(home: Path) -> None:
    proc = run("start", "--dry-run", "--api-version", LATEST, CUSTOM_2311, env=signing_env(home))
    assert proc.returncode == 0, proc.stderr
    assert "redacted" not in proc.stderr
    proc = run("start", "--dry-run", "--json", "--api-version", LATEST, CUSTOM_2311,
               env=signing_env(home))  # fmt: skip
    assert "redacted" not in json.loads(proc.stdout)


@pytest.mark.parametrize("as_json", [False, True])
def test_validate_never_quotes_bucket_credentials(
    home: Path, tmp_path: Path, as_json: bool
) -> None:
    env = clean_env(home)
    flags = ["--json"] if as_json else []
    valid = write_json(tmp_path / "valid.json", s3_body())
    proc = run("validate", *flags, "--api-version", LATEST, valid, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    no_secret(proc.stdout, proc.stderr)

    # a wrong type at $.StorageConfig.CustomConfig.SecretKey: reported, never quoted
    wrong = s3_body()
    wrong["StorageConfig"]["CustomConfig"]["SecretKey"] = 987654321
    bad = write_json(tmp_path / "bad.json", wrong)
    proc = run("validate", *flags, "--api-version", LATEST, bad, env=env)
    assert proc.returncode == 1
    no_secret(proc.stdout, proc.stderr)
    assert "987654321" not in proc.stdout + proc.stderr
    if as_json:
        problems = json.loads(proc.stdout)["problems"]
        (problem,) = [p for p in problems if p["severity"] == "error"]
        assert problem["path"] == "$.StorageConfig.CustomConfig.SecretKey"
        assert problem["rule"] == "schema.type"
        assert "string" in problem["message"]
    else:
        assert "$.StorageConfig.CustomConfig.SecretKey: schema.type: " in proc.stdout

    # a wrong type further up, whose message would quote the whole object
    listy = s3_body()
    listy["StorageConfig"] = [{"AccessKey": "AKLTSECRETKEYID", "SecretKey": "TOPSECRETVALUE"}]
    bad = write_json(tmp_path / "listy.json", listy)
    proc = run("validate", *flags, "--api-version", LATEST, bad, env=env)
    assert proc.returncode == 1
    no_secret(proc.stdout, proc.stderr)
    assert "$.StorageConfig" in proc.stdout

    # the same body checked as a version that does not know SecurityToken, or CustomConfig
    for version in rs.API_VERSIONS:
        proc = run("validate", *flags, "--api-version", version, valid, env=env)
        no_secret(proc.stdout, proc.stderr)


def test_rejected_start_never_quotes_bucket_credentials(home: Path, tmp_path: Path) -> None:
    wrong = s3_body()
    wrong["StorageConfig"]["CustomConfig"]["SecretKey"] = 987654321
    wrong["StorageConfig"]["CustomConfig"]["Vendor"] = "AKLTSECRETKEYID"  # a secret, echoed
    bad = write_json(tmp_path / "bad.json", wrong)
    for flags in ([], ["--json"], ["--dry-run"]):
        proc = run("start", *flags, "--api-version", LATEST, bad, env=signing_env(home))
        assert proc.returncode == 1
        no_secret(proc.stdout, proc.stderr)
        assert "987654321" not in proc.stdout + proc.stderr
        assert "nothing sent" in proc.stderr


class EchoService:
    """A fake service whose answers echo the request body (what a careless gateway might do)."""

    def __init__(self) -> None:
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                service.answer(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                service.answer(self, self.rfile.read(length))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        query = dict(
            kv.split("=", 1) for kv in handler.path.split("?", 1)[-1].split("&") if "=" in kv
        )
        meta: dict[str, Any] = {
            "RequestId": "echo-1", "Action": query.get("Action", ""),
            "Version": query.get("Version", ""), "Service": "rtc", "Region": "cn-north-1",
        }  # fmt: skip
        if query.get("Action") == "GetRecordTask":
            status = 200
            envelope: dict[str, Any] = {
                "ResponseMetadata": meta,
                "Result": {"RecordTask": {"StartTime": 1, "EndTime": 2, "Status": 3,
                                          "StopReason": "TOPSECRETVALUE", "RecordFileList": []}},
            }  # fmt: skip
        else:
            status = 400
            meta["Error"] = {"Code": "InvalidParameter", "Message": f"bad body {body.decode()}"}
            envelope = {"ResponseMetadata": meta}
        data = json.dumps(envelope).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def echo_service() -> Iterator[EchoService]:
    service = EchoService()
    try:
        yield service
    finally:
        service.close()


def test_service_answers_echoing_credentials_are_redacted(
    home: Path, tmp_path: Path, echo_service: EchoService
) -> None:
    path = write_json(tmp_path / "s3.json", s3_body())
    ep = ("--endpoint", echo_service.url, "--api-version", LATEST)
    env = signing_env(home)
    proc = run("start", path, *ep, env=env)
    assert proc.returncode == 1
    no_secret(proc.stdout, proc.stderr)
    assert "refused by the service: InvalidParameter: bad body" in proc.stderr
    assert "<redacted>" in proc.stderr
    proc = run("start", "--json", path, *ep, env=env)
    assert proc.returncode == 1
    no_secret(proc.stdout, proc.stderr)
    error = json.loads(proc.stdout)["ResponseMetadata"]["Error"]
    assert error["Code"] == "InvalidParameter"
    assert "<redacted>" in error["Message"]
    # get: the start body is reused; an answer that echoes a credential is printed without it
    for flags in ([], ["--wait", "ended", "--timeout", "5"], ["-v"]):
        proc = run("get", *flags, path, *ep, env=env)
        assert proc.returncode == 0, proc.stderr
        no_secret(proc.stdout, proc.stderr)
        assert json.loads(proc.stdout)["Result"]["RecordTask"]["StopReason"] == "<redacted>"


def test_redactor() -> None:
    r = redaction.Redactor()
    assert not r.found
    assert r.text("TOPSECRETVALUE") == "TOPSECRETVALUE"  # nothing learnt, nothing hidden
    r.learn({"StorageConfig": s3_body()["StorageConfig"], "Other": [{"SecretKey": 42}]}, LATEST)
    assert r.found
    assert r.paths == [*SECRET_PATHS, "$.Other[0].SecretKey"]
    assert r.data({"A": [{"SecretKey": "x", "B": 1}], "AccessKey": {"deep": 1}}) == {
        "A": [{"SecretKey": "<redacted>", "B": 1}],
        "AccessKey": "<redacted>",
    }
    assert r.text('x "TOPSECRETVALUE" y') == 'x "<redacted>" y'
    assert r.text("raw TOPSECRETVALUE.") == "raw <redacted>."
    assert r.text("{'SecretKey': 'anything else'}") == "{'SecretKey': \"<redacted>\"}"
    assert (
        r.text('{"SecurityToken":12,"Bucket":"b"}') == '{"SecurityToken":"<redacted>","Bucket":"b"}'
    )
    # a non-string value is hidden only in messages about a secret member (numbers are common)
    assert r.text("42 is not of type", at_secret=True) == "<redacted> is not of type"
    assert r.text("42 regions") == "42 regions"
    problem = rs.Problem(path="$.Other[0].SecretKey", rule="schema.type", message="42 is bad")
    assert r.problem(problem).message == "<redacted> is bad"
    # a short secret is hidden where quoted, and does not garble other words
    short = redaction.Redactor()
    short.learn({"CustomConfig": {"SecretKey": "ab"}}, LATEST)
    assert short.text('"ab" in about') == '"<redacted>" in about'


# --------------------------------------------------------------------------------------------
# start --local and the lifecycle, for every version (needs the multi-version simulator)


@pytest.mark.parametrize("version", rs.API_VERSIONS)
def test_start_local_every_version(home: Path, version: str) -> None:
    proc = run("start", "--local", "--api-version", version, minimal_start(version),
               env=clean_env(home))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    envelope = json.loads(proc.stdout)
    assert envelope["ResponseMetadata"]["Action"] == "StartRecord"
    assert envelope["ResponseMetadata"]["Version"] == version
    assert envelope["Result"] == "ok"


def test_start_local_never_prints_bucket_credentials(home: Path, tmp_path: Path) -> None:
    path = write_json(tmp_path / "s3.json", s3_body())
    for before, after in (([], []), ([], ["--json"]), (["-v"], [])):
        proc = run(*before, "start", "--local", *after, "--api-version", LATEST, path,
                   env=clean_env(home))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        no_secret(proc.stdout, proc.stderr)
        assert json.loads(proc.stdout)["Result"] == "ok"


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

    def printed(self, pattern: str) -> str:
        for line in self.banner:
            m = re.search(pattern, line)
            if m:
                return m.group(1)
        raise AssertionError(f"{pattern} not printed: {self.banner}")


@pytest.fixture
def served(home: Path) -> Iterator[Served]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtc_startrecord", "serve", "--port", str(free_port())],
        env=clean_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
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
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_serve_banner_names_the_versions(served: Served) -> None:
    assert served.printed(r"^API versions: (.*) \(") == ", ".join(rs.API_VERSIONS)


def test_lifecycle_2023_11_01_against_serve(served: Served, home: Path, tmp_path: Path) -> None:
    env = clean_env(
        home,
        VOLC_ACCESSKEY=served.printed(r"^\s*VOLC_ACCESSKEY=(\S+)$"),
        VOLC_SECRETKEY=served.printed(r"^\s*VOLC_SECRETKEY=(\S+)$"),
    )
    ep = ("--endpoint", served.printed(r"listening on (http://\S+)"), "--api-version", LATEST)
    s3 = write_json(tmp_path / "s3.json", s3_body())
    outputs: list[str] = []

    def cli_run(*args: str | Path, code: int = 0) -> subprocess.CompletedProcess[str]:
        proc = run(*args, *ep, env=env)
        outputs.extend((proc.stdout, proc.stderr))
        assert proc.returncode == code, f"{args}: {proc.stdout}\n{proc.stderr}"
        return proc

    # start with TOS storage, then with S3-compatible (CustomConfig) storage
    proc = cli_run("start", CUSTOM_2311)
    envelope = json.loads(proc.stdout)
    assert envelope["Result"] == "ok"
    assert envelope["ResponseMetadata"]["Version"] == LATEST
    proc = cli_run("start", s3)
    assert json.loads(proc.stdout)["Result"] == "ok"

    # 2023-11-01 answers a start of a running task with success and a note (R3)
    proc = cli_run("start", CUSTOM_2311)
    already = load(G2311 / "StartRecord.response.already_started.json")["Result"]
    assert json.loads(proc.stdout)["Result"] == already
    assert "was already running: this start changed nothing" in proc.stderr

    # get: the start bodies are reused (keys GetRecordTask does not take are ignored)
    for body in (CUSTOM_2311, s3):
        proc = cli_run("get", body, "--wait", "running", "--timeout", "5")
        assert json.loads(proc.stdout)["Result"]["RecordTask"]["Status"] == 2

    proc = cli_run("update", UPDATE_2311)
    assert json.loads(proc.stdout)["ResponseMetadata"]["Action"] == "UpdateRecord"
    # an update with ratio regions is not 2023-11-01: rejected before sending
    ratio = load(UPDATE_2311)
    for region in ratio["Layout"]["CustomLayout"]["Regions"]:
        region["WidthProportion"], region["HeightProportion"] = 0.5, 1.0
        region["LocationX"] = region["LocationX"] / 1280
        del region["Width"], region["Height"]
    ratio_file = write_json(tmp_path / "ratio.json", ratio)
    proc = cli_run("update", ratio_file, code=1)
    assert "nothing sent" in proc.stderr
    assert "did you mean --api-version" in proc.stderr

    for stop, start in ((STOP_2311, CUSTOM_2311), (s3, s3)):
        proc = cli_run("stop", stop)
        assert json.loads(proc.stdout)["Result"] == "ok"
        proc = cli_run("get", start, "--wait", "ended", "--timeout", "5")
        task = json.loads(proc.stdout)["Result"]["RecordTask"]
        assert task["Status"] == 3
        assert task["StopReason"]

    # stopping again: refused by the service
    proc = cli_run("stop", s3, code=1)
    assert "InvalidParameter.ErrorActiveTaskNotFound" in proc.stderr
    proc = cli_run("stop", "--json", s3, code=1)
    assert json.loads(proc.stdout)["ResponseMetadata"]["Error"]["Code"] == (
        "InvalidParameter.ErrorActiveTaskNotFound"
    )

    no_secret(*outputs)


# --------------------------------------------------------------------------------------------
# preview per version


def svg_regions(path: Path) -> list[tuple[int, int, int, int]]:
    root = ET.parse(path).getroot()
    out = []
    for g in root.findall("svg:g[@class='region']", NS):
        rect = g.find("svg:rect", NS)
        assert rect is not None
        out.append(tuple(int(rect.attrib[k]) for k in ("x", "y", "width", "height")))
    return out  # type: ignore[return-value]


def test_preview_pixel_regions_2023_11_01(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "layout.svg"
    proc = run("preview", CUSTOM_2311, "-o", out, "--names", "--api-version", LATEST,
               env=clean_env(home))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    root = ET.parse(out).getroot()
    assert (root.attrib["width"], root.attrib["height"]) == ("1280", "720")
    assert svg_regions(out) == [(0, 0, 640, 720), (640, 0, 640, 720)]
    labels = [t.text for t in root.findall("svg:g/svg:text", NS)]
    assert labels == ["Your_UserId_3 #0", "Your_UserId_4 #1 (screen)"]
    assert "regions in pixels" in proc.stderr
    # FileNameConfig: Prefix folders (TOS), Pattern, and the random suffix
    (name,) = proc.stdout.splitlines()
    assert re.fullmatch(r"directory1/directory2/Your_TaskId_Your_RoomId_\d{13}_000000_XXXXXXXX",
                        name), name  # fmt: skip


def test_preview_pixel_region_outside_canvas(home: Path, tmp_path: Path) -> None:
    body = load(CUSTOM_2311)
    body["Layout"]["CustomLayout"]["Regions"][1]["LocationX"] = 700
    path = write_json(tmp_path / "outside.json", body)
    out = tmp_path / "layout.svg"
    proc = run("preview", path, "-o", out, "--api-version", LATEST, env=clean_env(home))
    assert proc.returncode == 1  # R16: validation error, the drawing is still written
    assert (
        "preview warning: $.Layout.CustomLayout.Regions[1]: the region reaches outside the "
        "1280x720 canvas" in proc.stderr
    )
    assert "LocationX+Width <= 1280" in proc.stderr
    root = ET.parse(out).getroot()
    assert root.findall(".//svg:rect[@class='warning']", NS)


def test_preview_ratio_body_as_pixel_version_says_what_to_do(home: Path, tmp_path: Path) -> None:
    ratio = GOLDEN / "2022-06-01" / "StartRecord.request.custom_layout.json"
    out = tmp_path / "layout.svg"
    proc = run("preview", ratio, "-o", out, "--api-version", LATEST, env=clean_env(home))
    assert proc.returncode == 1
    assert "Width is missing; region not drawn" in proc.stderr
    assert "ratio regions are API versions 2020-12-01, 2022-06-01" in proc.stderr
    assert "did you mean --api-version 2022-06-01?" in proc.stderr
    # as its own version: ratios, drawn
    proc = run("preview", ratio, "-o", out, "--names", "--api-version", "2022-06-01",
               env=clean_env(home))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "regions in ratios" in proc.stderr
    assert len(svg_regions(out)) == 2
    prefix = "".join(f"{p}/" for p in load(ratio)["FileNameConfig"]["Prefix"])
    assert prefix and proc.stdout.startswith(prefix + "Your_TaskId_Your_RoomId_")


@pytest.mark.parametrize("version", rs.API_VERSIONS)
def test_preview_names_every_version(home: Path, version: str) -> None:
    path = GOLDEN / version / "StartRecord.request.custom_layout.json"
    proc = run("preview", path, "-o", "-", "--names", "--api-version", version,
               env=clean_env(home))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("<svg")
    assert len(svg_regions_of(proc.stdout)) == 2
    names = re.findall(r"^\S+_\d{13}_000000_XXXXXXXX$", proc.stderr, re.MULTILINE)
    assert len(names) == 1, proc.stderr
    body = load(path)
    prefix = body.get("FileNameConfig", {}).get("Prefix", [])
    assert names[0].startswith("".join(f"{p}/" for p in prefix) + "Your_TaskId_Your_RoomId_")


def svg_regions_of(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall("svg:g[@class='region']", NS)
