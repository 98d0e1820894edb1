"""What type checkers see of the API from a user's program: `mypy --strict` (run from the
repository, where mypy finds the packages through `mypy_path`) and, when it is installed,
pyright in strict mode."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "tests" / "data" / "typed_user_program.py"
GOLDEN = ROOT / "contract_tests" / "golden"
METHODS = {
    "StartRecord": "start_record",
    "StopRecord": "stop_record",
    "UpdateRecord": "update_record",
    "GetRecordTask": "get_record_task",
}


def mypy(path: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy")
    cmd = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), str(path)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=600)


def errors(result: subprocess.CompletedProcess[str], path: Path) -> dict[int, list[str]]:
    """mypy's error and note lines, by line number of `path`."""
    out: dict[int, list[str]] = {}
    for line in result.stdout.splitlines():
        if line.startswith(f"{path}:"):
            number, text = line[len(f"{path}:") :].split(":", 1)
            out.setdefault(int(number), []).append(text.strip())
    return out


def test_a_user_program_sees_the_whole_public_surface(tmp_path: Path) -> None:
    result = mypy(PROGRAM, tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_wrong_request_type_is_a_type_error(tmp_path: Path) -> None:
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


BAD = """\
import rtc_startrecord as rs
from rtc_startrecord.v2023_11_01 import StartRecordRequestDict

c = rs.RtcClient()
c.start_record(42)
c.start_record({"AppId": 1, "RoomId": "r", "TaskId": "t"})
c.start_record({"AppId": "a", "RoomId": "r", "TaskID": "t"})
c.start_record({"AppId": "a", "RoomId": "r", "TaskId": "t", "RecordMode": 2})
n = rs.RtcClient(version="2023-11-01")
n.start_record({"AppId": "a", "RoomId": "r", "TaskId": "t"})
body: StartRecordRequestDict = {"AppId": 1, "RoomId": "r", "TaskId": "t", "StorageConfig": {}}
typo: StartRecordRequestDict = {"AppId": "a", "RoomId": "r", "TaskID": "t", "StorageConfig": {}}
mode: rs.StartRecordRequestDict = {"AppId": "a", "RoomId": "r", "TaskId": "t", "RecordMode": 2}
c.call("StopRecord", {"AppId": "a", "RoomId": "r", "TaskId": "t"}).result.record_task
rs.StartRecrdRequest
rs.v2023_11_01.StartRecrdRequestDict
"""


def test_a_bad_dict_body_is_a_type_error_that_names_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(BAD)
    result = mypy(bad, tmp_path / "cache")
    found = errors(result, bad)
    assert result.returncode == 1
    expected = "StartRecordRequest | StartRecordRequestDict"
    # Passed straight to the method: mypy names the argument's type and the expected union.
    assert found[5] == [
        f'error: Argument 1 to "start_record" of "RtcClient" has incompatible type "int"; '
        f'expected "{expected}"  [arg-type]'
    ], found
    for line, inferred in (
        (6, "dict[str, object]"),
        (7, "dict[str, str]"),
        (8, "dict[str, object]"),
    ):
        assert found[line] == [
            f'error: Argument 1 to "start_record" of "RtcClient" has incompatible type '
            f'"{inferred}"; expected "{expected}"  [arg-type]'
        ], (line, found)
    assert 'incompatible type "dict[str, str]"' in found[10][0], found  # no StorageConfig (2023)
    # Annotated with the TypedDict: mypy names the key and the types.
    assert found[11] == [
        'error: Incompatible types (expression has type "int", TypedDict item "AppId" has type '
        '"str")  [typeddict-item]'
    ], found
    assert found[12] == [
        'error: Missing key "TaskId" for TypedDict "StartRecordRequestDict"  [typeddict-item]',
        'error: Extra key "TaskID" for TypedDict "StartRecordRequestDict"  [typeddict-unknown-key]',
    ], found
    assert found[13] == [
        'error: Incompatible types (expression has type "Literal[2]", TypedDict item '
        '"RecordMode" has type "Literal[0, 1] | RecordMode")  [typeddict-item]'
    ], found
    # call() with a literal action is typed like the method: a StopRecordResponse's result is
    # a str.
    assert 'Item "str" of "str | None" has no attribute "record_task"' in found[14][0], found
    # Unknown names are errors, not Any (the lazy loading is hidden from type checkers).
    assert any('Module has no attribute "StartRecrdRequest"' in e for e in found[15]), found
    assert any('has no attribute "StartRecrdRequestDict"' in e for e in found[16]), found
    assert set(found) == {5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16}, found


def golden_program() -> str:
    """Every documented request body of contract_tests/golden/, written as a dict literal
    passed to the matching method of the client of its version."""
    lines = ["import rtc_startrecord as rs", "", "from typing import assert_type", ""]
    for folder in sorted(p for p in GOLDEN.iterdir() if p.is_dir()):
        version = folder.name
        module = "v" + version.replace("-", "_")
        var = f"c_{module}"
        lines += [f"{var} = rs.RtcClient(version={version!r})"]
        for path in sorted(folder.glob("*.request*.json")):
            action = path.name.split(".", 1)[0]
            body = json.loads(path.read_text(encoding="utf-8"))
            response = f"rs.{module}.{action}Response"
            lines += [
                f"# {path.relative_to(ROOT)}",
                f"assert_type({var}.{METHODS[action]}({body!r}), {response})",
            ]
    return "\n".join(lines) + "\n"


def test_every_golden_body_type_checks_as_a_dict_literal(tmp_path: Path) -> None:
    program = tmp_path / "golden_bodies.py"
    text = golden_program()
    assert text.count("assert_type(") >= 4 * 4, text  # every action of every version
    program.write_text(text)
    result = mypy(program, tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr


def pyright() -> str | None:
    found = shutil.which("pyright", path=str(Path(sys.executable).parent))
    return found or shutil.which("pyright")


@pytest.mark.skipif(pyright() is None, reason="pyright is not installed")
def test_pyright_strict_sees_the_whole_public_surface(tmp_path: Path) -> None:
    program = tmp_path / PROGRAM.name
    shutil.copy(PROGRAM, program)
    (tmp_path / "pyrightconfig.json").write_text(
        json.dumps(
            {
                "typeCheckingMode": "strict",
                "pythonVersion": "3.11",
                "include": [program.name],
                "extraPaths": [str(ROOT), str(ROOT / "generated")],
            }
        )
    )
    exe = pyright()
    assert exe is not None
    cmd = [exe, "--pythonpath", sys.executable, "--outputjson"]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=False,
                            timeout=600)  # fmt: skip
    report = json.loads(result.stdout)
    problems = [
        f"{d['range']['start']['line'] + 1}: {d['message']}"
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]
    assert problems == [], "\n".join(problems)
    assert report["summary"]["filesAnalyzed"] == 1
