"""Every python example of the README runs as written: client snippets against a simulator that
the environment points them at (RTC_ENDPOINT and the VOLC_* credentials, as `serve` prints
them), the fixture example under pytest, the callback receiver with a signed event."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rtc_startrecord import callbacks

pytest_plugins = ["pytester"]

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
BLOCKS: list[str] = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def kind(block: str) -> str:
    if "def test_" in block:
        return "pytest"
    if "make_wsgi_app" in block:
        return "receiver"
    return "client"


CLIENT_BLOCKS = [i for i, block in enumerate(BLOCKS) if kind(block) == "client"]


def test_every_python_block_is_run_by_a_test() -> None:
    assert BLOCKS, "the README lost its python examples"
    kinds = [kind(block) for block in BLOCKS]
    assert kinds.count("pytest") == 1 and kinds.count("receiver") == 1, kinds
    assert len(CLIENT_BLOCKS) >= 3, kinds


@pytest.mark.parametrize("index", CLIENT_BLOCKS)
def test_a_client_snippet_runs_verbatim_against_the_simulator(
    index: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rtc_startrecord.simulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, Simulator

    for name in ("VOLC_SESSION_TOKEN", "VOLCENGINE_ACCESS_KEY", "VOLCENGINE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.volc of the machine's user
    with Simulator() as sim:
        monkeypatch.setenv("RTC_ENDPOINT", sim.url)
        monkeypatch.setenv("VOLC_ACCESSKEY", TEST_ACCESS_KEY_ID)
        monkeypatch.setenv("VOLC_SECRETKEY", TEST_SECRET_ACCESS_KEY)
        monkeypatch.setenv("VOLC_REGION", sim.region)
        code = compile(BLOCKS[index], f"README.md python block {index + 1}", "exec")
        exec(code, {"__name__": "__readme__"})  # our own README
        assert sim.tasks, "the snippet should start a task"
    assert "Traceback" not in capsys.readouterr().err


def block_with(marker: str) -> str:
    found = [b for b in BLOCKS if marker in b]
    assert len(found) == 1, f"the README should have one python block with {marker!r}"
    return found[0]


def test_the_fixture_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_example=block_with("def test_my_service_notices_idle_timeout"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_callback_receiver_example_accepts_a_signed_event(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RTC_CALLBACK_SECRET", "readme-secret")
    namespace: dict[str, object] = {}
    exec(block_with("make_wsgi_app"), namespace)  # our own README
    app = namespace["app"]
    assert callable(app)
    data = {"AppId": "a", "RoomId": "r", "TaskId": "t", "StopReason": "StopByAPI",
            "StartTime": 1, "EndTime": 2,
            "RecordFileList": [{"StartTime": 1, "Vid": "v0abc", "Duration": 1000}]}  # fmt: skip
    body = json.dumps(callbacks.build_callback_body("RecordStopped", data, app_id="a",
                                                    secret="readme-secret")).encode()  # fmt: skip
    from io import BytesIO
    from wsgiref.util import setup_testing_defaults

    environ: dict[str, object] = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)),
                                  "CONTENT_TYPE": "application/json",
                                  "wsgi.input": BytesIO(body)}  # fmt: skip
    setup_testing_defaults(environ)
    statuses: list[str] = []
    b"".join(app(environ, lambda status, headers, exc=None: statuses.append(status)))
    assert statuses[0].startswith("200")
    assert "file ready: v0abc 1000" in capsys.readouterr().out
