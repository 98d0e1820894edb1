"""Every command held to the one exit-code table (`rtc_startrecord.cli.io.EXIT_CODES`):

0 ok; 1 rejected by validation, by the service (or the simulator) or by a signature check;
2 usage, I/O, credentials or transport. The commands run in-process through `cli.main`, against
a real `Simulator` on loopback where they need a service; ``serve`` runs as a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rtc_startrecord import callbacks, cli
from rtc_startrecord.cli.io import EXIT_CODES
from rtc_startrecord.simulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, Simulator

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "contract_tests" / "golden" / "2020-12-01"
CUSTOM = GOLDEN / "StartRecord.request.custom_layout.json"
AUTO = GOLDEN / "StartRecord.request.auto_layout.json"
UPDATE = GOLDEN / "UpdateRecord.request.swap_regions.json"
STOP = GOLDEN / "StopRecord.request.stop.json"
CB_SECRET = "callback-secret-exit-codes"
COMMANDS = ["validate", "start", "stop", "update", "get", "serve", "preview", "verify-callback",
            "sim"]  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("VOLC_", "VOLCENGINE_", "RTC_")):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """A simulator, and the environment 'serve' tells users to export for it."""
    with Simulator(qps=None) as s:
        monkeypatch.setenv("VOLC_ACCESSKEY", TEST_ACCESS_KEY_ID)
        monkeypatch.setenv("VOLC_SECRETKEY", TEST_SECRET_ACCESS_KEY)
        monkeypatch.setenv("RTC_ENDPOINT", s.url)
        monkeypatch.setenv("RTC_SIMULATOR_TOKEN", s.admin_token)
        yield s


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> int:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    if code != 0:
        assert captured.err.strip(), f"exit {code} said nothing: {argv}"
    return code


# --------------------------------------------------------------------------------------------
# The table is the same everywhere


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_the_table(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert " ".join(EXIT_CODES.split()) in text


def test_docs_show_the_table() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for row in ("| 0 |", "| 1 |", "| 2 |", "| 130 |"):
        assert row in docs
    table = docs.split("## Commands")[1].split("###")[0]
    for command in COMMANDS:
        assert re.search(rf"[`/]{command}\b", table), command


def test_no_text_refers_to_documents_users_cannot_see(capsys: pytest.CaptureFixture[str]) -> None:
    texts = []
    for argv in ([], *([c] for c in COMMANDS), *(["sim", s] for s in
                 ("tasks", "publish", "unpublish", "advance", "faults"))):  # fmt: skip
        cli.main([*argv, "--help"])
        texts.append(capsys.readouterr().out)
    text = "\n".join(texts)
    for pattern in (r"open question", r"fact sheet", r"\bdoc \d+", "§", r"decisions\.md"):
        assert not re.search(pattern, text, re.IGNORECASE), pattern


# --------------------------------------------------------------------------------------------
# Each command


def test_validate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(capsys, "validate", CUSTOM) == 0
    assert main(capsys, "validate", STOP, "--action", "StopRecord") == 0
    assert main(capsys, "validate", write(tmp_path / "bad.json", {"AppId": 1, "Encode": 1})) == 1
    assert main(capsys, "validate", write(tmp_path / "list.json", [1])) == 1
    assert main(capsys, "validate", tmp_path / "missing.json") == 2
    assert main(capsys, "validate", write(tmp_path / "junk.json", "{nope")) == 2
    assert main(capsys, "validate", STOP) == 2  # which action? give --action
    assert main(capsys, "validate") == 2


def test_start(capsys: pytest.CaptureFixture[str], tmp_path: Path, sim: Simulator,
               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    assert main(capsys, "start", CUSTOM) == 0  # at $RTC_ENDPOINT
    assert main(capsys, "start", CUSTOM) == 1  # refused: TaskAlreadyExists
    assert main(capsys, "start", "--local", write(tmp_path / "b.json", {"AppId": "x"})) == 1
    assert main(capsys, "start", write(tmp_path / "junk.json", "[1,")) == 2
    assert main(capsys, "start", "--endpoint", f"http://127.0.0.1:{free_port()}", CUSTOM) == 2
    assert main(capsys, "start", "--endpoint", "ftp://x", CUSTOM) == 2
    monkeypatch.setenv("VOLC_SECRETKEY", "not-the-secret")
    assert main(capsys, "start", CUSTOM) == 1  # the service's signature check refused it
    monkeypatch.delenv("VOLC_SECRETKEY")
    monkeypatch.delenv("VOLC_ACCESSKEY")
    assert main(capsys, "start", CUSTOM) == 2  # no credentials


def test_transport_error_says_attempts_and_what_to_check(
    capsys: pytest.CaptureFixture[str], sim: Simulator
) -> None:
    sim.faults.drop(count=10)
    assert cli.main(["get", str(CUSTOM)]) == 2
    err = capsys.readouterr().err
    assert "gave up after 3 attempts" in err
    assert "--endpoint" in err and "RTC_ENDPOINT" in err


def test_stop_update_get(capsys: pytest.CaptureFixture[str], sim: Simulator) -> None:
    assert main(capsys, "get", CUSTOM) == 1  # no such task: refused by the service
    assert main(capsys, "start", CUSTOM) == 0
    assert main(capsys, "get", CUSTOM) == 0
    assert main(capsys, "get", CUSTOM, "--wait", "ended", "--timeout", "0.3") == 2  # timeout
    assert main(capsys, "update", UPDATE) == 0
    assert main(capsys, "stop", STOP) == 0
    assert main(capsys, "stop", STOP) == 1  # ErrorActiveTaskNotFound
    assert main(capsys, "update", UPDATE) == 1
    assert main(capsys, "get", CUSTOM, "--wait", "running", "--timeout", "5") == 1  # ended first
    assert main(capsys, "get", CUSTOM, "--timeout", "5") == 2  # usage


def test_answers_are_printed_as_received(
    capsys: pytest.CaptureFixture[str], sim: Simulator
) -> None:
    """Keys the response models do not know (a newer service's) are kept."""
    original = sim.app.envelope

    def envelope(action: str, version: str, result: Any) -> bytes:
        data = json.loads(original(action, version, result))
        data["ResponseMetadata"]["NewerKey"] = "kept"
        return json.dumps(data).encode()

    sim.app.envelope = envelope  # type: ignore[method-assign]
    assert cli.main(["start", str(CUSTOM)]) == 0
    assert json.loads(capsys.readouterr().out)["ResponseMetadata"]["NewerKey"] == "kept"
    # The last answer of a wait too, whether the wait succeeds or runs out of time.
    for wanted, code in (("running", 0), ("ended", 2)):
        assert cli.main(["get", str(CUSTOM), "--wait", wanted, "--timeout", "0.3"]) == code
        printed = json.loads(capsys.readouterr().out)
        assert printed["ResponseMetadata"]["NewerKey"] == "kept"
        assert printed["ResponseMetadata"]["Action"] == "GetRecordTask"


def test_serve(tmp_path: Path) -> None:
    def serve(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "rtc_startrecord", "serve", *argv],
                                env=env or dict(os.environ), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip

    proc = serve("--port", str(free_port()))
    assert proc.stdout is not None
    deadline = time.monotonic() + 20
    while "Ctrl-C" not in proc.stdout.readline():
        assert time.monotonic() < deadline
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = serve("--port", str(taken.getsockname()[1]))
        assert proc.wait(20) == 2
    env = dict(os.environ, CBS=CB_SECRET)
    proc = serve("--callback-url", "notaurl", "--callback-secret-env", "CBS", env=env)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert "not an http:// or https:// URL" in err


def test_preview(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(capsys, "preview", CUSTOM, "-o", tmp_path / "a.svg") == 0
    assert main(capsys, "preview", AUTO, "-o", tmp_path / "b.svg") == 1
    assert main(capsys, "preview", tmp_path / "missing.json", "-o", tmp_path / "c.svg") == 2
    assert main(capsys, "preview", CUSTOM) == 2


def test_verify_callback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = callbacks.build_callback_body(
        "RecordStarted", {"AppId": "app1", "RoomId": "r", "TaskId": "t", "Code": 0},
        app_id="app1", secret=CB_SECRET,
    )  # fmt: skip
    good = write(tmp_path / "good.json", body)
    tampered = write(tmp_path / "bad.json", body | {"EventType": "RecordStopped"})
    args = ("--secret-env", "CBS")
    monkeypatch.setenv("CBS", CB_SECRET)
    assert main(capsys, "verify-callback", good, *args) == 0
    assert main(capsys, "verify-callback", tampered, *args) == 1  # the signature check
    assert main(capsys, "verify-callback", write(tmp_path / "l.json", [1]), *args) == 1
    assert main(capsys, "verify-callback", write(tmp_path / "j.json", "<html>"), *args) == 2
    assert main(capsys, "verify-callback", tmp_path / "missing.json", *args) == 2
    monkeypatch.setenv("CBS", "another-secret")
    assert main(capsys, "verify-callback", good, *args) == 1  # a wrong secret: refused, 1
    monkeypatch.delenv("CBS")
    assert main(capsys, "verify-callback", good, *args) == 2  # no secret: credentials, 2


def test_sim(
    capsys: pytest.CaptureFixture[str], sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(capsys, "sim", "tasks") == 0
    assert main(capsys, "sim", "advance", "1s") == 0
    assert main(capsys, "sim", "advance", "1s", "--token", "wrong") == 1
    assert main(capsys, "sim", "faults", "error", "--status", "99") == 2
    assert main(capsys, "sim", "tasks", "--endpoint", f"http://127.0.0.1:{free_port()}") == 2
    monkeypatch.delenv("RTC_SIMULATOR_TOKEN")
    assert main(capsys, "sim", "advance", "1s") == 2
    monkeypatch.delenv("RTC_ENDPOINT")
    assert main(capsys, "sim", "tasks") == 2


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: write(p / "l.json", [1]), "not an array"),
        (lambda p: write(p / "n.json", "null"), "not null"),
        (lambda p: write(p / "s.json", '"text"'), "not a string"),
        (lambda p: write(p / "i.json", "3"), "not a number"),
        (lambda p: write(p / "b.json", "true"), "not a boolean"),
    ],
)
def test_messages_name_json_types(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make: Callable[[Path], Path], says: str
) -> None:
    assert cli.main(["start", "--local", str(make(tmp_path))]) == 1
    err = capsys.readouterr().err
    assert f"must be a JSON object, {says}" in err
    for python in ("NoneType", "list", "dict", "str", "int", "bool"):
        assert f"not {python}" not in err


@pytest.mark.parametrize(
    ("error", "says"),
    [
        ("TaskMayAlreadyExist", "already running: the first attempt most likely started it"),
        ("StopMayHaveSucceeded", "no longer running: the first attempt most likely stopped it"),
    ],
)
def test_ambiguous_outcomes_say_the_first_attempt_probably_worked(
    capsys: pytest.CaptureFixture[str], error: str, says: str
) -> None:
    import argparse

    from rtc_startrecord import errors
    from rtc_startrecord.cli.lifecycle import refused
    from rtc_startrecord.redaction import Redactor

    exc = getattr(errors, error)("InvalidParameter.TaskAlreadyExists", "exists", http_status=409,
                                 request_id="2026X", ambiguous=True)  # fmt: skip
    args = argparse.Namespace(redactor=Redactor(), json=False, api_version="2020-12-01")
    assert refused(args, "StartRecord", exc) == 1
    err = capsys.readouterr().err
    assert says in err
    assert "Check with 'get'" in err


def test_inputs_too_large_or_unreadable_are_named_errors(tmp_path: Path) -> None:
    """Exit 2 with the file named, no traceback: a 5,000-digit integer, an input past the cap
    (/dev/zero), closed standard input. The other files of the run are still checked."""
    ok = write(tmp_path / "ok.json", {"AppId": "a", "RoomId": "r", "TaskId": "t"})
    big = tmp_path / "bigint.json"
    big.write_text('{"AppId": "a", "RoomId": "r", "TaskId": "t", "BusinessId": ' + "9" * 5000 + "}")
    exe = [sys.executable, "-m", "rtc_startrecord", "validate", "--action", "StopRecord"]

    def run(*files: str, close_stdin: bool = False) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*exe, *files], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
            preexec_fn=(lambda: os.close(0)) if close_stdin else None,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        assert "rtc-startrecord: error: " in proc.stderr
        return proc

    assert "larger than 1 MiB" in run("/dev/zero").stderr
    assert "standard input is closed" in run("-", close_stdin=True).stderr
    proc = run(str(ok), str(big), str(ok))
    # the multi-file run named the bad file, and checked the other two
    assert f"{big}: not JSON this tool can read: Exceeds the limit (4300 digits)" in proc.stderr
    assert "checked 3 files" in proc.stderr and "1 unreadable" in proc.stderr


@pytest.mark.parametrize("seconds", ["1e10", "1e308", "1000001"])
def test_a_timeout_past_the_longest_taken_is_a_usage_error(
    seconds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["sim", "tasks", "--endpoint", "http://127.0.0.1:9", "--timeout", seconds])
    assert code == 2
    assert "longer than 1,000,000 seconds" in capsys.readouterr().err


def test_a_secret_variable_that_is_not_utf8_is_refused_at_startup(tmp_path: Path) -> None:
    env = {**os.environ, "CBS": "\udcff\udcfe"}  # the bytes ff fe, as Python keeps them
    proc = subprocess.run(
        [sys.executable, "-m", "rtc_startrecord", "serve", "--port", "0",
         "--callback-url", "http://127.0.0.1:9/cb", "--callback-secret-env", "CBS"],
        capture_output=True, text=True, timeout=30, env=env,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "environment variable CBS is not UTF-8 text" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_simulator_refuses_a_callback_secret_without_utf8_form() -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        Simulator(callback_url="http://127.0.0.1:9/cb", callback_secret="a\udcff")
