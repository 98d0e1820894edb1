"""The wheel ships every API version of the table, found by package discovery."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from rtc_startrecord_models import VERSIONS

from rtc_startrecord import spec

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("git") is None, reason="copies the tracked files with git")
def test_the_wheel_ships_each_version_module_and_spec(tmp_path: Path) -> None:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")  # fmt: skip
    source = tmp_path / "src"
    for rel in filter(None, tracked):
        if (ROOT / rel).is_file():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, source / rel)
    out = tmp_path / "wheel"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps"]
    done = subprocess.run([*build, "-w", str(out), str(source)], capture_output=True, text=True,
                          check=False, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = out.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for version in spec.API_VERSIONS:
        module = VERSIONS[version]
        assert f"rtc_startrecord_models/{module}/models.py" in names
        assert f"rtc_startrecord_models/{module}/spec.json" in names
        assert f"rtc_startrecord/{module}.py" in names
    assert "rtc_startrecord/rules/__init__.py" in names and "rtc_startrecord/py.typed" in names
