"""The rules of the later API versions, the version dimension of `validate`, and secrets."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import rtc_startrecord as rs
from rtc_startrecord import rules

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "contract_tests" / "golden"
V2022, V2306, V2311 = "2022-06-01", "2023-06-01", "2023-11-01"
SECRETS = ("AKLTSECRETKEYID", "TOPSECRETVALUE", "STSTOKENVALUE")


def golden(version: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / version / f"{name}.json").read_text("utf-8"))
    return data


def ids(problems: list[rs.Problem], severity: str | None = None) -> set[tuple[str, str]]:
    return {(p.rule, p.path) for p in problems if severity is None or p.severity == severity}


def tos(**extra: Any) -> dict[str, Any]:
    return {
        "AppId": "app1",
        "RoomId": "room1",
        "TaskId": "task1",
        "StorageConfig": {"Type": 0, "TosConfig": {"AccountId": "2000", "Bucket": "b"}},
        **extra,
    }


def custom_storage() -> dict[str, Any]:
    return {
        "Type": 2,
        "CustomConfig": {
            "Vendor": 0,
            "Region": 0,
            "Bucket": "b",
            "AccessKey": SECRETS[0],
            "SecretKey": SECRETS[1],
            "SecurityToken": SECRETS[2],
        },
    }


@pytest.mark.parametrize("version", rs.API_VERSIONS)
def test_every_version_has_a_rule_set_for_every_action(version: str) -> None:
    from rtc_startrecord import spec

    assert set(rules.RULES[spec.rule_set(version)]) == set(spec.operations(version))


def test_docs_rules_md_is_written_from_the_rule_table() -> None:
    assert (ROOT / "docs" / "rules.md").read_text("utf-8") == rules.markdown(), (
        "run: python -m rtc_startrecord.rules > docs/rules.md"
    )


@pytest.mark.parametrize("version", [V2022, V2306, V2311])
def test_storage_type_selects_its_sub_config(version: str) -> None:
    body = tos()
    body["StorageConfig"] = {"Type": 1, "TosConfig": {"AccountId": "2000", "Bucket": "b"}}
    problems = rs.validate(body, version=version)
    assert ("R29", "$.StorageConfig.VodConfig") in ids(problems, "error")
    assert ("R29", "$.StorageConfig.TosConfig") in ids(problems, "warning")
    assert not rs.validate(tos(), version=version)


@pytest.mark.parametrize("version", [V2022, V2306, V2311])
def test_storage_defaults_to_tos_and_veimagex_is_warned(version: str) -> None:
    body = tos()
    del body["StorageConfig"]["Type"]
    assert not rs.validate(body, version=version)
    body["StorageConfig"] = {"Type": 3, "VeImageXConfig": {"AccountId": "2000", "ServiceId": "s"}}
    assert ids(rs.validate(body, version=version)) == {("R30", "$.StorageConfig.Type")}


def test_sts_token_is_refused_for_kodo() -> None:
    storage = custom_storage()
    storage["CustomConfig"]["Vendor"] = 4
    problems = rs.validate(tos(StorageConfig=storage), version=V2311)
    assert ids(problems, "error") == {("R31", "$.StorageConfig.CustomConfig.SecurityToken")}
    storage["CustomConfig"]["Vendor"] = 0
    assert not rs.validate(tos(StorageConfig=storage), version=V2311)


@pytest.mark.parametrize("version", [V2022, V2306, V2311])
def test_audio_only_formats_need_audio_only_recording(version: str) -> None:
    body = tos(FileFormatConfig={"FileFormat": ["MP4", "M4A"]})
    assert ids(rs.validate(body, version=version), "error") == {
        ("R32", "$.FileFormatConfig.FileFormat[1]")
    }
    body["Control"] = {"MediaType": 1}
    assert not rs.validate(body, version=version)


def test_sync_upload_needs_hls() -> None:
    body = tos(Control={"EnableSyncUpload": True}, FileFormatConfig={"FileFormat": ["MP4"]})
    assert ids(rs.validate(body, version=V2311), "error") == {("R33", "$.Control.EnableSyncUpload")}
    body["FileFormatConfig"] = {"FileFormat": ["HLS"]}
    assert not rs.validate(body, version=V2311)


def test_max_silence_only_in_single_stream_mode_and_below_max_idle() -> None:
    body = tos(Control={"MaxSilenceSeconds": 600, "MaxIdleTime": 300})
    assert ids(rs.validate(body, version=V2311), "warning") == {
        ("R34", "$.Control.MaxSilenceSeconds")
    }
    assert len(rs.validate(body, version=V2311)) == 2  # mixed mode, and not below MaxIdleTime
    body["RecordMode"] = 1
    body["Control"]["MaxIdleTime"] = 900
    assert not rs.validate(body, version=V2311)


@pytest.mark.parametrize("version", [V2022, V2306, V2311])
def test_prefix_length_charset_and_storage_type(version: str) -> None:
    body = tos(FileNameConfig={"Prefix": ["a" * 64, "b" * 64]})
    assert ("R35", "$.FileNameConfig.Prefix") in ids(rs.validate(body, version=version), "error")
    body["FileNameConfig"] = {"Prefix": ["my_dir"]}
    assert ("schema.pattern", "$.FileNameConfig.Prefix[0]") in ids(
        rs.validate(body, version=version)
    )
    body["FileNameConfig"] = {"Prefix": ["dir1", "dir2"]}
    assert not rs.validate(body, version=version)
    body["StorageConfig"] = {"Type": 1, "VodConfig": {"AccountId": "2000", "Space": "s"}}
    assert ids(rs.validate(body, version=version)) == {("R35", "$.FileNameConfig.Prefix")}


def test_sei_uuid_goes_with_payload_type_5() -> None:
    body = tos(Control={"SEIConfig": {"SEIPayLoadType": 5}})
    problems = rs.validate(body, version=V2306)
    assert ("R36", "$.Control.SEIConfig.SEIPayloadUUID") in ids(problems, "error")
    assert ("R27", "$.Control.SEIConfig") in ids(problems, "warning")  # push-to-CDN only
    body["Control"]["SEIConfig"]["SEIPayloadUUID"] = "0123456789abcdef0123456789ABCDEF"
    assert not ids(rs.validate(body, version=V2306), "error")


def _pixel_layout(version: str) -> dict[str, Any]:
    body = golden(version, "StartRecord.request.custom_layout")
    assert not [p for p in rs.validate(body, version=version) if p.severity == "error"]
    return body


@pytest.mark.parametrize("version", [V2306, V2311])
def test_pixel_regions_must_stay_inside_the_canvas(version: str) -> None:
    body = _pixel_layout(version)
    custom = body["Layout"]["CustomLayout"]
    width = custom["Canvas"]["Width"]
    region = custom["Regions"][1]
    region["LocationX"] = width - region["Width"] + 2
    problems = rs.validate(body, version=version)
    assert ("R16", "$.Layout.CustomLayout.Regions[1]") in ids(problems, "error")
    assert "right edge" in next(p.message for p in problems if p.rule == "R16")


def test_pixel_regions_use_the_default_canvas_without_one() -> None:
    body = _pixel_layout(V2311)
    custom = body["Layout"]["CustomLayout"]
    del custom["Canvas"]
    for r in custom["Regions"]:
        r.update(LocationX=0, LocationY=0, Width=640, Height=480)
    assert not [p for p in rs.validate(body, version=V2311) if p.severity == "error"]
    custom["Regions"][0]["Height"] = 482  # past the 640x480 default
    assert ("R16", "$.Layout.CustomLayout.Regions[0]") in ids(rs.validate(body, version=V2311))


def test_corner_radius_is_push_only_in_2023_06_and_drawn_in_2023_11() -> None:
    for version, rule in ((V2306, "R27"), (V2311, "R37")):
        body = _pixel_layout(version)
        body["Layout"]["CustomLayout"]["Regions"][0]["CornerRadius"] = 1
        path = "$.Layout.CustomLayout.Regions[0].CornerRadius"
        assert (rule, path) in ids(rs.validate(body, version=version), "warning"), version
    body = _pixel_layout(V2311)
    body["Layout"]["CustomLayout"]["Regions"][0]["CornerRadius"] = 0.01
    assert not rs.validate(body, version=V2311)


def test_ratio_regions_in_2022_still_use_r16() -> None:
    body = _pixel_layout(V2022)  # ratio regions in this version
    body["Layout"]["CustomLayout"]["Regions"][1]["LocationX"] = 0.6
    assert ("R16", "$.Layout.CustomLayout.Regions[1]") in ids(rs.validate(body, version=V2022))


def test_a_2020_body_sent_as_2023_11_01_gets_clear_errors() -> None:
    body = json.loads(
        (GOLDEN / "2020-12-01" / "StartRecord.request.custom_layout.json").read_text("utf-8")
    )
    body["Vod"] = {"AccountId": "2000", "Space": "s"}
    found = ids(rs.validate(body, version=V2311), "error")
    assert ("schema.additionalProperties", "$.Vod") in found
    assert ("schema.required", "$.StorageConfig") in found
    for k in (0, 1):
        region = f"$.Layout.CustomLayout.Regions[{k}]"
        assert ("schema.additionalProperties", f"{region}.WidthProportion") in found
        assert ("schema.required", f"{region}.Width") in found


def test_version_must_be_known_and_agree_with_the_model() -> None:
    with pytest.raises(ValueError, match="2023-11-01"):
        rs.validate(tos(), version="2099-01-01")
    model = rs.from_wire(rs.v2023_11_01.StartRecordRequest, tos())
    assert rs.validate(model) == []
    with pytest.raises(ValueError, match="2023-11-01, not 2022-06-01"):
        rs.validate(model, version=V2022)


def test_the_default_version_is_2020_12_01_for_dicts() -> None:
    problems = rs.validate(tos())
    assert ("schema.additionalProperties", "$.StorageConfig") in ids(problems)


def test_bucket_secrets_never_appear_in_problems_reprs_or_wire_errors() -> None:
    body = tos(StorageConfig=custom_storage())
    model = rs.from_wire(rs.v2023_11_01.StartRecordRequest, body)
    text = repr(model) + str(model)
    bad = copy.deepcopy(body)
    cc = bad["StorageConfig"]["CustomConfig"]
    cc["SecretKey"] = SECRETS[1] * 40  # no maxLength, so make it a wrong type too
    cc["AccessKey"] = [SECRETS[0]]
    cc["SecurityToken"] = {"token": SECRETS[2]}
    problems = rs.validate(bad, version=V2311)
    assert {p.path for p in problems} >= {
        "$.StorageConfig.CustomConfig.AccessKey",
        "$.StorageConfig.CustomConfig.SecurityToken",
    }
    text += " ".join(str(p) for p in problems)
    with pytest.raises(rs.WireFormatError) as info:
        rs.from_wire(rs.v2023_11_01.StartRecordRequest, bad)
    text += str(info.value) + repr(info.value.problems)
    with pytest.raises(rs.RequestInvalid) as invalid:
        rs.RtcClient(rs.Credentials("ak", "sk"), version=V2311).prepare("StartRecord", bad)
    text += str(invalid.value)
    for secret in SECRETS:
        assert secret not in text
    assert model.storage_config is not None and model.storage_config.custom_config is not None
    assert model.storage_config.custom_config.secret_key == SECRETS[1]  # still there to send
