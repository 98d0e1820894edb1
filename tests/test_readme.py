"""The README's examples run as written (only those that need no real service)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rtc_startrecord import callbacks

pytest_plugins = ["pytester"]

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
BLOCKS: list[str] = re.findall(r"```python\n(.*?)```", README, flags=re.S)


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
