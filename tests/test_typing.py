"""What `mypy --strict` sees of the API from a user's program (run from the repository, where
mypy finds the packages through `mypy_path`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "tests" / "data" / "typed_user_program.py"


def mypy(path: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), str(path)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=600)


def test_a_user_program_sees_each_versions_types(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    result = mypy(PROGRAM, tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_wrong_request_type_is_a_type_error(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "import rtc_startrecord as rs\n"
        "from rtc_startrecord.v2023_11_01 import StopRecordRequest\n"
        "c = rs.RtcClient(version='2023-11-01')\n"
        "c.start_record(StopRecordRequest(app_id='a', room_id='r', task_id='t'))\n"
        "c.start_record(42)\n"
    )
    result = mypy(wrong, tmp_path / "cache")
    assert result.returncode == 1
    assert result.stdout.count('incompatible type "StopRecordRequest"') == 1, result.stdout
    assert 'incompatible type "int"' in result.stdout, result.stdout
