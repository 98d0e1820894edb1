"""`migrate` between API versions, `rtc-startrecord migrate` and `diff-versions`, and the
examples of docs/migrating.md (checked against the code's output, so they cannot rot)."""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

import rtc_startrecord.cli as cli
from contract_tests import support
from contract_tests.test_properties import bodies
from rtc_startrecord import spec
from rtc_startrecord.migration import diff_versions, migrate
from rtc_startrecord.validation import validate

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "migrating.md"
V = spec.API_VERSIONS
OLD, NEW = V[0], V[-1]
VOD = {"AccountId": "200000000", "Space": "my-vod-space"}
REGIONS = "$.Layout.CustomLayout.Regions"


def _with_vod(body: dict[str, Any], action: str) -> dict[str, Any]:
    return {**body, "Vod": VOD} if action == "StartRecord" and "Vod" not in body else body


def _golden_requests() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, body in support.golden_files(OLD).items():
        action, kind, _ = name.split(".")
        if kind == "request":
            yield name, action, _with_vod(body, action)


GOLDEN = list(_golden_requests())


@pytest.mark.parametrize(("name", "action", "body"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_every_2020_golden_request_migrates_valid_and_back(
    name: str, action: str, body: dict[str, Any]
) -> None:
    forward = migrate(body, action=action, source=OLD, target=NEW)
    assert forward.ok, forward.problems
    assert list(validate(forward.body, action=action, version=NEW)) == list(forward.problems)
    back = migrate(forward.body, action=action, source=NEW, target=OLD)
    assert back.ok, back.problems
    assert _close(back.body, body, forward.body), (back.body, body)


def _close(back: Any, original: Any, pixels: Any) -> bool:
    """Equal, but for ratios that went through whole pixels (half a pixel of the canvas)."""
    if isinstance(original, dict):
        return (
            isinstance(back, dict)
            and back.keys() == original.keys()
            and all(_close(back[k], original[k], pixels) for k in original)
        )
    if isinstance(original, list):
        return (
            isinstance(back, list)
            and len(back) == len(original)
            and all(_close(b, o, pixels) for b, o in zip(back, original, strict=True))
        )
    if isinstance(original, float | int) and isinstance(back, float | int):
        return math.isclose(back, original, abs_tol=0.5 / 1920 + 1e-6)
    return bool(back == original)


def test_documented_custom_layout_becomes_two_430x340_halves() -> None:
    body = _with_vod(support.golden_files(OLD)["StartRecord.request.custom_layout"], "StartRecord")
    m = migrate(body, action="StartRecord", source=OLD, target=NEW)
    regions = m.body["Layout"]["CustomLayout"]["Regions"]
    assert [(r["LocationX"], r["LocationY"], r["Width"], r["Height"]) for r in regions] == [
        (0, 0, 430, 340),
        (430, 0, 430, 340),
    ]
    assert m.body["StorageConfig"] == {"Type": 1, "VodConfig": VOD}
    canvas = body["Layout"]["CustomLayout"]["Canvas"]
    for r, old in zip(regions, body["Layout"]["CustomLayout"]["Regions"], strict=True):
        assert r["Width"] == round(old["WidthProportion"] * canvas["Width"])
        assert r["LocationX"] == round(old["LocationX"] * canvas["Width"])


def test_the_reference_example_gives_the_migrated_golden() -> None:
    golden = support.golden_files(NEW)["StartRecord.request.migrated_2020_custom_layout"]
    source = copy.deepcopy(golden)
    source.pop("FileFormatConfig")
    source["Vod"] = source.pop("StorageConfig")["VodConfig"]
    source["RecordFileNamePattern"] = source.pop("FileNameConfig")["Pattern"]
    for r in source["Layout"]["CustomLayout"]["Regions"]:
        r["LocationX"] = r["LocationX"] / 860
        r["WidthProportion"], r["HeightProportion"] = r.pop("Width") / 860, r.pop("Height") / 340
    m = migrate(source, action="StartRecord", source=OLD, target=NEW)
    assert m.body == golden and list(m.body) == list(golden)


def test_no_vod_means_no_storage_a_note_and_a_problem() -> None:
    body = support.golden_files(OLD)["StartRecord.request.auto_layout"]
    m = migrate(body, action="StartRecord", source=OLD, target=NEW)
    assert "StorageConfig" not in m.body and not m.ok
    assert any(n.source == "$.Vod" and n.kind == "not_carried" for n in m.notes)
    assert any("StorageConfig" in p.message for p in m.problems if p.severity == "error")


def test_default_canvas_is_used_and_said() -> None:
    body = {
        "AppId": "a",
        "RoomId": "r",
        "TaskId": "t",
        "Vod": VOD,
        "TargetStreams": {"StreamList": [{"UserId": "u", "Index": 0}]},
        "Layout": {
            "LayoutMode": 2,
            "CustomLayout": {
                "Regions": [
                    {
                        "StreamIndex": 0,
                        "LocationX": 0.25,
                        "WidthProportion": 0.5,
                        "HeightProportion": 0.5,
                    }
                ]
            },
        },
    }
    m = migrate(body, action="StartRecord", source=OLD, target=NEW)
    region = m.body["Layout"]["CustomLayout"]["Regions"][0]
    assert (region["LocationX"], region["Width"], region["Height"]) == (160, 320, 240)
    assert any(n.kind == "default" and "640x480" in n.message for n in m.notes)


def test_main_video_stream_index_becomes_the_stream() -> None:
    body = {
        "AppId": "a",
        "RoomId": "r",
        "TaskId": "t",
        "Vod": VOD,
        "TargetStreams": {
            "StreamList": [
                {"UserId": "u1", "Index": 0},
                {"UserId": "u2", "Index": 1, "StreamType": 0},
            ]
        },
        "Layout": {"LayoutMode": 1, "MainVideoStreamIndex": 1},
    }
    m = migrate(body, action="StartRecord", source=OLD, target=NEW)
    assert m.body["Layout"] == {
        "LayoutMode": 1,
        "MainVideoStream": {"UserId": "u2", "Index": 1, "StreamType": 0},
    }
    assert m.ok, m.problems


def test_secrets_stay_out_of_notes() -> None:
    secret = "s3cr3t-value-xyz"
    body = {
        "AppId": "a",
        "RoomId": "r",
        "TaskId": "t",
        "StorageConfig": {
            "Type": 2,
            "CustomConfig": {
                "AccessKey": "AKxyz123",
                "SecretKey": secret,
                "Bucket": "b",
                "SecurityToken": secret + "tok",
            },
        },
    }
    m = migrate(body, action="StartRecord", source=NEW, target=OLD)
    text = "\n".join(str(n) for n in m.notes) + "\n".join(str(p) for p in m.problems)
    assert secret not in text and "AKxyz123" not in text
    assert any(n.source == "$.StorageConfig" and n.kind == "dropped" for n in m.notes)


def test_identity_and_models() -> None:
    body = _with_vod(support.golden_files(OLD)["StartRecord.request.custom_layout"], "StartRecord")
    same = migrate(body, action="StartRecord", source=OLD, target=OLD)
    assert same.body == body and same.notes == () and same.ok
    model = spec.operation("StartRecord", OLD).request_model
    import rtc_startrecord as rs

    from_model = migrate(rs.from_wire(model, body), target=NEW)
    assert from_model.body == migrate(body, action="StartRecord", source=OLD, target=NEW).body
    with pytest.raises(ValueError, match="source="):
        migrate(body, target=NEW)


def _covered(path: str, notes: list[str]) -> bool:
    return any(path == n or path.startswith((n + ".", n + "[")) for n in notes)


PAIRS = [(a, b) for a in V for b in V if a != b]


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_property_never_raises_and_every_field_is_carried_or_noted(
    source: str, target: str
) -> None:
    @settings(
        max_examples=20,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(bodies("StartRecord", GenerationMode.POSITIVE, source))
    def check(body: Any) -> None:
        m = migrate(body, action="StartRecord", source=source, target=target)
        after = set(_paths(m.body))
        noted = [n.source for n in m.notes]
        for path in _paths(body):
            assert path in after or _covered(path, noted), (path, m.notes)

    check()


def _paths(value: Any, path: str = "$") -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield f"{path}.{k}"
            yield from _paths(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, f"{path}[{i}]")


# -- the command line ---------------------------------------------------------------------------


def _golden_file(tmp_path: Path, with_vod: bool = True) -> Path:
    body = support.golden_files(OLD)["StartRecord.request.custom_layout"]
    path = tmp_path / "body.json"
    path.write_text(json.dumps({**body, "Vod": VOD} if with_vod else body), encoding="utf-8")
    return path


def test_cli_migrate_detects_and_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["migrate", str(_golden_file(tmp_path)), "--to", NEW])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out)["StorageConfig"]["Type"] == 1
    assert f"detected --from {OLD}" in captured.err and "note:" in captured.err


def test_cli_migrate_exit_1_without_storage_and_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _golden_file(tmp_path, with_vod=False)
    assert cli.main(["migrate", str(path), "--from", OLD, "--to", NEW, "--in-place"]) == 1
    assert "Width" in json.loads(path.read_text())["Layout"]["CustomLayout"]["Regions"][0]
    assert "StorageConfig" in capsys.readouterr().err


def test_cli_migrate_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate", str(tmp_path / "missing.json"), "--to", NEW]) == 2
    ambiguous = tmp_path / "ids.json"
    ambiguous.write_text(
        '{"AppId": "a", "RoomId": "r", "TaskId": "t", "Encode": {"VideoBitrate": 5}}'
    )
    code = cli.main(["migrate", str(ambiguous), "--to", V[1], "--json"])
    assert code in (1, 2)
    assert "Traceback" not in capsys.readouterr().err


def test_cli_diff_versions(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["diff-versions", OLD, NEW, "--breaking-only"]) == 1
    out = capsys.readouterr().out
    assert "StartRecord request $.Vod: removed (breaking)" in out
    assert cli.main(["diff-versions", OLD, OLD, "--breaking-only", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


# -- docs/migrating.md ------------------------------------------------------------------------


def _block(marker: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(rf"<!-- {marker} -->\s*```[a-z]*\n(.*?)```", text, re.S)
    assert found, f"docs/migrating.md has no block after <!-- {marker} -->"
    return found.group(1)


def doc_example() -> tuple[str, str, str]:
    """(migrated body, notes, change report) as docs/migrating.md shows them."""
    body = _with_vod(support.golden_files(OLD)["StartRecord.request.custom_layout"], "StartRecord")
    m = migrate(body, action="StartRecord", source=OLD, target=NEW)
    notes = "".join(f"{n}\n" for n in m.notes)
    report = "".join(f"{c}\n" for c in diff_versions(OLD, NEW))
    return json.dumps(m.body, indent=2) + "\n", notes, report


def test_docs_show_the_code_s_actual_output() -> None:
    body, notes, report = doc_example()
    assert _block("migrated-body") == body
    assert _block("migrated-notes") == notes
    assert _block("change-report") == report
