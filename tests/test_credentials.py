"""Credentials: the lookup chain, secrecy of repr/str/pickle, and the not-found message."""

from __future__ import annotations

import copy
import json
import logging
import pickle
from pathlib import Path

import pytest

from rtc_startrecord.credentials import (
    Credentials,
    CredentialsNotFound,
    resolve_region,
)

SECRET = "s3cr3t-VALUE-never-shown"
TOKEN = "sts-TOKEN-never-shown"


def _write_volc_credentials(home: Path, ak: str = "ak-ini", sk: str = SECRET) -> None:
    (home / ".volc").mkdir(exist_ok=True)
    (home / ".volc" / "credentials").write_text(
        f"[default]\naccess_key_id = {ak}\nsecret_access_key = {sk}\n", encoding="utf-8"
    )


def _write_volc_config(home: Path, ak: str = "ak-json", sk: str = SECRET) -> None:
    (home / ".volc").mkdir(exist_ok=True)
    (home / ".volc" / "config").write_text(json.dumps({"ak": ak, "sk": sk}), encoding="utf-8")


def _write_volcengine_config(home: Path, data: object) -> None:
    (home / ".volcengine").mkdir(exist_ok=True)
    (home / ".volcengine" / "config.json").write_text(json.dumps(data), encoding="utf-8")


VOLC_ENV = {"VOLC_ACCESSKEY": "ak-volc-env", "VOLC_SECRETKEY": SECRET}
VOLCENGINE_ENV = {"VOLCENGINE_ACCESS_KEY": "ak-volcengine-env", "VOLCENGINE_SECRET_KEY": SECRET}


def test_chain_order(tmp_path: Path) -> None:
    home = tmp_path
    _write_volcengine_config(home, {"access_key_id": "ak-ve-file", "secret_access_key": SECRET})
    assert Credentials.from_env({}, home).source == "file:~/.volcengine/config.json"

    creds = Credentials.from_env(VOLCENGINE_ENV, home)
    assert (creds.access_key_id, creds.source) == ("ak-volcengine-env", "env:VOLCENGINE_ACCESS_KEY")

    _write_volc_config(home)
    creds = Credentials.from_env(VOLCENGINE_ENV, home)
    assert (creds.access_key_id, creds.source) == ("ak-json", "file:~/.volc/config")

    _write_volc_credentials(home)
    creds = Credentials.from_env(VOLCENGINE_ENV, home)
    assert (creds.access_key_id, creds.source) == ("ak-ini", "file:~/.volc/credentials")

    creds = Credentials.from_env({**VOLC_ENV, **VOLCENGINE_ENV}, home)
    assert (creds.access_key_id, creds.source) == ("ak-volc-env", "env:VOLC_ACCESSKEY")
    assert creds.secret_access_key == SECRET
    assert creds.session_token is None


def test_session_tokens_from_env(tmp_path: Path) -> None:
    creds = Credentials.from_env({**VOLC_ENV, "VOLC_SESSION_TOKEN": TOKEN}, tmp_path)
    assert creds.session_token == TOKEN
    creds = Credentials.from_env({**VOLCENGINE_ENV, "VOLCENGINE_SESSION_TOKEN": TOKEN}, tmp_path)
    assert creds.session_token == TOKEN


def test_home_defaults_to_environ_home(tmp_path: Path) -> None:
    _write_volc_config(tmp_path)
    creds = Credentials.from_env({"HOME": str(tmp_path)})
    assert creds.source == "file:~/.volc/config"


def test_half_pairs_and_empty_values_are_skipped(tmp_path: Path) -> None:
    env = {"VOLC_ACCESSKEY": "ak-only", "VOLC_SECRETKEY": "", **VOLCENGINE_ENV}
    creds = Credentials.from_env(env, tmp_path)
    assert creds.source == "env:VOLCENGINE_ACCESS_KEY"
    with pytest.raises(CredentialsNotFound) as info:
        Credentials.from_env({"VOLC_ACCESSKEY": "ak-only"}, tmp_path)
    assert "VOLC_ACCESSKEY is set but VOLC_SECRETKEY is missing" in str(info.value)
    assert "ak-only" not in str(info.value)


def test_ini_without_default_section_and_bad_json_are_skipped(tmp_path: Path) -> None:
    (tmp_path / ".volc").mkdir()
    (tmp_path / ".volc" / "credentials").write_text("[other]\naccess_key_id=x\n", encoding="utf-8")
    (tmp_path / ".volc" / "config").write_text("{not json", encoding="utf-8")
    with pytest.raises(CredentialsNotFound) as info:
        Credentials.from_env({}, tmp_path)
    message = str(info.value)
    assert "no [default] section" in message
    assert "unreadable (JSONDecodeError)" in message


@pytest.mark.parametrize(
    "data",
    [
        {"access_key_id": "ak-file", "secret_access_key": SECRET},
        {"ak": "ak-file", "sk": SECRET},
        {
            "current": "p1",
            "profiles": {"p1": {"access-key": "ak-file", "secret-key": SECRET, "mode": "ak"}},
        },
    ],
)
def test_volcengine_config_layouts(tmp_path: Path, data: object) -> None:
    _write_volcengine_config(tmp_path, data)
    creds = Credentials.from_env({}, tmp_path)
    assert (creds.access_key_id, creds.secret_access_key) == ("ak-file", SECRET)


def test_not_found_message_lists_every_place_and_next_steps(tmp_path: Path) -> None:
    with pytest.raises(CredentialsNotFound) as info:
        Credentials.from_env({}, tmp_path)
    message = str(info.value)
    for place in (
        "VOLC_ACCESSKEY",
        "VOLC_SECRETKEY",
        str(tmp_path / ".volc" / "credentials"),
        str(tmp_path / ".volc" / "config"),
        "VOLCENGINE_ACCESS_KEY",
        "VOLCENGINE_SECRET_KEY",
        str(tmp_path / ".volcengine" / "config.json"),
    ):
        assert place in message
    assert message.index("VOLC_ACCESSKEY") < message.index(".volc/credentials")
    assert message.index(".volc/config") < message.index("VOLCENGINE_ACCESS_KEY")
    assert "Credentials(access_key_id, secret_access_key)" in message
    assert len(info.value.looked) == 5


def test_winning_source_is_logged_by_name(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="rtc_startrecord"):
        Credentials.from_env({**VOLC_ENV, "VOLC_SESSION_TOKEN": TOKEN}, tmp_path)
    assert "env:VOLC_ACCESSKEY" in caplog.text
    assert SECRET not in caplog.text
    assert TOKEN not in caplog.text


def test_repr_str_never_show_secret_or_token() -> None:
    creds = Credentials("AKLTexample", SECRET, TOKEN)
    for text in (repr(creds), str(creds), f"{creds}", repr([creds]), repr({"c": creds})):
        assert SECRET not in text
        assert TOKEN not in text
        assert "AKLTexample" in text
        assert "explicit" in text


def test_pickle_is_refused() -> None:
    creds = Credentials("AKLTexample", SECRET, TOKEN)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(creds, protocol=protocol)
    assert copy.copy(creds) is creds
    assert copy.deepcopy(creds) is creds


def test_explicit_credentials() -> None:
    creds = Credentials("ak", "sk")
    assert creds.source == "explicit"
    assert creds.session_token is None
    assert Credentials("ak", "sk", "").session_token is None
    assert Credentials("ak", "sk", source="env:VOLC_ACCESSKEY").source == "env:VOLC_ACCESSKEY"
    with pytest.raises(ValueError, match="secret_access_key"):
        Credentials("ak", "")
    with pytest.raises(TypeError):
        Credentials("ak", None)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        creds.access_key_id = "other"  # type: ignore[misc]


def test_resolve_region() -> None:
    assert resolve_region("ap-singapore-1", {"VOLC_REGION": "cn-beijing"}) == "ap-singapore-1"
    assert resolve_region(None, {"VOLC_REGION": "cn-beijing"}) == "cn-beijing"
    assert resolve_region(None, {}) == "cn-north-1"
    assert resolve_region(None, {"VOLC_REGION": ""}) == "cn-north-1"


def test_a_secret_that_is_not_utf8_is_named_not_shown() -> None:
    with pytest.raises(
        ValueError, match=r"secret_access_key is not UTF-8 text \(position 6\)"
    ) as e:
        Credentials("AKLTid", "s3cr3t\udcff")
    assert "s3cr3t" not in str(e.value)


def test_a_bad_value_in_a_credentials_file_names_the_file(tmp_path: Path) -> None:
    _write_volc_config(tmp_path, ak="ak with space")
    with pytest.raises(ValueError, match=r"\.volc/config .*access_key_id has a character") as e:
        Credentials.from_env({}, home=tmp_path)
    assert SECRET not in str(e.value)


def test_a_deeply_nested_config_file_is_skipped_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / ".volc").mkdir()
    (tmp_path / ".volc" / "config").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(CredentialsNotFound, match=r"unreadable \(RecursionError\); skipped"):
        Credentials.from_env({}, home=tmp_path)


@pytest.mark.parametrize("bad", ["cn-north-1\n", "CN North", "", "cn_north_1", "-x"])
def test_a_region_that_cannot_be_signed_is_refused(bad: str) -> None:
    if bad:
        with pytest.raises(ValueError, match="is not a region name"):
            resolve_region(bad, {})
        with pytest.raises(ValueError, match=r"VOLC_REGION .* is not a region name"):
            resolve_region(None, {"VOLC_REGION": bad})
    else:  # empty counts as unset
        assert resolve_region(bad, {"VOLC_REGION": ""}) == "cn-north-1"
    assert resolve_region("ap-southeast-1", {}) == "ap-southeast-1"
