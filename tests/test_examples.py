"""Every example in examples/ run for real, as a user runs it: a subprocess, with `serve` on a
free loopback port where the example needs a service."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SECRET = "example-callback-secret-never-printed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VOLC_", "VOLCENGINE_", "RTC_")) and k != "HOME"
    }
    return env | {"HOME": str(home), "PYTHONIOENCODING": "utf-8"} | extra


class Process:
    """A background subprocess whose stdout and stderr lines are collected as they come."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, env=env, cwd=ROOT, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        self.out: queue.Queue[str] = queue.Queue()
        self.lines: list[str] = []
        self.err: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=lambda: self.err.extend(self.proc.stderr or []),
                         daemon=True).start()  # fmt: skip

    def _pump(self) -> None:
        for line in self.proc.stdout or []:
            self.out.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """The first stdout line from now on matching `pattern`."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {pattern!r} in {self.lines}; stderr: {self.err}"
            try:
                line = self.out.get(timeout=remaining)
            except queue.Empty:
                continue
            self.lines.append(line)
            m = re.search(pattern, line)
            if m:
                return m

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        assert "Traceback" not in "".join(self.err)


Serve = Callable[..., tuple[Process, dict[str, str]]]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """`rtc-startrecord serve`, and the environment its `export` line gives."""
    procs: list[Process] = []

    def start(*extra: str, env: dict[str, str] | None = None) -> tuple[Process, dict[str, str]]:
        argv = [sys.executable, "-m", "rtc_startrecord", "serve", "--port", str(free_port())]
        proc = Process([*argv, *extra], env or clean_env(tmp_path))
        procs.append(proc)
        exported = proc.wait_for(r"^\s+export (.+)$").group(1)
        proc.wait_for("Ctrl-C")
        pairs = dict(item.split("=", 1) for item in exported.split())
        return proc, clean_env(tmp_path, **pairs)

    yield start
    for p in procs:
        p.stop()


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, env=env, cwd=ROOT, text=True, capture_output=True, timeout=120)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def cli(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "rtc_startrecord", *map(str, args)], env)


def test_every_example_is_tested() -> None:
    tested = set(re.findall(r"examples/(\w+\.py)", Path(__file__).read_text(encoding="utf-8")))
    assert {p.name for p in EXAMPLES.glob("*.py")} <= tested
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for path in EXAMPLES.glob("*.py"):
        assert f"]({path.name})" in readme, path.name


def test_start_stop_against_serve(serve: Serve) -> None:
    _, env = serve()
    proc = run([sys.executable, "examples/start_stop.py"], env)
    assert proc.returncode == 0, proc.stderr
    assert "started: example_task status 2" in proc.stdout
    assert "stopped: StopByAPI" in proc.stdout
    durations = [int(d) for d in re.findall(r"^file: \S+ duration (\d+) ms", proc.stdout, re.M)]
    assert len(durations) == 1 and 60_000 <= durations[0] < 65_000, proc.stdout


def test_pytest_plugin_example(tmp_path: Path) -> None:
    proc = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "examples/test_with_plugin.py"], clean_env(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stdout
    assert "3 passed" in proc.stdout


def test_callback_receiver_with_serve(serve: Serve, tmp_path: Path) -> None:
    port = free_port()
    receiver = Process([sys.executable, "examples/callback_receiver.py", "--port", str(port)],
                       clean_env(tmp_path, RTC_CALLBACK_SECRET=SECRET))  # fmt: skip
    try:
        receiver.wait_for("receiving callbacks on")
        server, env = serve(
            "--callback-url", f"http://127.0.0.1:{port}/", "--callback-secret-env", "CBS",
            env=clean_env(tmp_path, CBS=SECRET),
        )  # fmt: skip
        body = tmp_path / "start.json"
        body.write_text(json.dumps({"AppId": "app1", "RoomId": "room1", "TaskId": "t1"}))
        assert (
            run([sys.executable, "-m", "rtc_startrecord", "start", str(body)], env).returncode == 0
        )
        assert (
            run([sys.executable, "-m", "rtc_startrecord", "stop", str(body)], env).returncode == 0
        )
        receiver.wait_for(r"^RecordStarted \S+$")
        receiver.wait_for(r"^RecordStopped \S+$")
        assert SECRET not in "".join(server.err) + "\n".join(server.lines)
    finally:
        receiver.stop()


def test_failed_callback_deliveries_are_warnings(serve: Serve, tmp_path: Path) -> None:
    """A receiver with another secret answers 401: serve says so, as a warning, by default."""
    port = free_port()
    receiver = Process([sys.executable, "examples/callback_receiver.py", "--port", str(port)],
                       clean_env(tmp_path, RTC_CALLBACK_SECRET="another-secret"))  # fmt: skip
    try:
        receiver.wait_for("receiving callbacks on")
        server, env = serve(
            "--callback-url", f"http://127.0.0.1:{port}/", "--callback-secret-env", "CBS",
            env=clean_env(tmp_path, CBS=SECRET),
        )  # fmt: skip
        body = tmp_path / "start.json"
        body.write_text(json.dumps({"AppId": "app1", "RoomId": "room1", "TaskId": "t1"}))
        assert (
            run([sys.executable, "-m", "rtc_startrecord", "start", str(body)], env).returncode == 0
        )
        deadline = time.monotonic() + 15
        pattern = r"WARNING: .*callback RecordStarted \(EventId \S+\) to \S+: attempt 1 of 3 failed"
        while not re.search(pattern, "".join(server.err)):
            assert time.monotonic() < deadline, server.err
            time.sleep(0.1)
        assert "HTTP 401" in "".join(server.err)
        assert SECRET not in "".join(server.err)
    finally:
        receiver.stop()


def test_validate_templates(tmp_path: Path) -> None:
    script = [sys.executable, "examples/validate_templates.py"]
    proc = run([*script, "examples/templates", "--api-version", "2023-11-01"], clean_env(tmp_path))
    assert proc.returncode == 0, proc.stdout
    assert "2 template(s), 0 error(s)" in proc.stdout
    # a broken template fails the step, naming the file, the path and the rule
    folder = tmp_path / "templates"
    shutil.copytree(EXAMPLES / "templates", folder)
    (folder / "StartRecord.broken.json").write_text(json.dumps({"AppId": "app 1"}))
    proc = run([*script, str(folder), "--api-version", "2023-11-01"], clean_env(tmp_path))
    assert proc.returncode == 1
    assert re.search(r"StartRecord\.broken\.json: \$\.AppId: schema\.pattern", proc.stdout)
    assert re.search(r"StartRecord\.broken\.json: \$\.RoomId: schema\.required", proc.stdout)
