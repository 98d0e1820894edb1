"""`RequestSigner` (the client's signer) gives exactly what `signing.sign`, the reference, gives:
on every official vector and on generated requests (header spellings, session tokens, queries,
dates across midnight), and it hides its secret."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtc_startrecord.signer import RequestSigner
from rtc_startrecord.signing import sign

VECTORS_FILE = Path(__file__).resolve().parent / "data" / "signing-v4.json"
_DATA = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = [*_DATA["vectors"], *_DATA.get("sdk_quirk_vectors", [])]


def _reference(
    i: dict[str, Any], query: list[tuple[str, str]], headers: dict[str, str], body: bytes
) -> dict[str, str]:
    return sign(
        i["method"], i["host"], i["path"], query, headers, body,
        access_key_id=i["access_key_id"], secret_access_key=i["secret_access_key"],
        region=i["region"], service=i["service"], x_date=i["x_date"],
        session_token=i["session_token"],
    )  # fmt: skip


def _signer(i: dict[str, Any]) -> RequestSigner:
    return RequestSigner(
        access_key_id=i["access_key_id"],
        secret_access_key=i["secret_access_key"],
        region=i["region"],
        service=i["service"],
        session_token=i["session_token"],
    )


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_every_official_vector(vector: dict[str, Any]) -> None:
    i = vector["inputs"]
    query = [(k, v) for k, v in i["query"]]
    body = i["body"].encode("utf-8")
    got = _signer(i).sign(
        i["method"], i["host"], i["path"], query, i["headers"], body, x_date=i["x_date"]
    )
    assert list(got.items()) == list(_reference(i, query, i["headers"], body).items())
    assert got["Authorization"] == vector["expected"]["headers"]["Authorization"]


_HEADER_NAMES = st.sampled_from(
    ["Content-Type", "content-type", "Content-Md5", "X-Trace", "x-trace", "X-Date", "Host",
     "X-Security-Token", "Accept", "X-A", "X-Z", "Authorization", "X-Content-Sha256"]
)  # fmt: skip
_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=12)
_DATES = st.sampled_from(
    ["20201201T093000Z", "20201201T235959Z", "20201202T000000Z", "20231101T120000Z"]
)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["POST", "GET", "post"]),
    host=st.sampled_from(["rtc.volcengineapi.com", "127.0.0.1:8080", "h:443", "h:80:1"]),
    path=st.sampled_from(["/", "", "/a b", "/%7E"]),
    query=st.lists(st.tuples(_TEXT, _TEXT), max_size=4),
    headers=st.dictionaries(_HEADER_NAMES, _TEXT, max_size=5),
    body=st.binary(max_size=64),
    token=st.sampled_from([None, "", "STS-token/with=chars"]),
    dates=st.lists(_DATES, min_size=1, max_size=3),
)
def test_generated_requests_match_the_reference(
    method: str,
    host: str,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
    token: str | None,
    dates: list[str],
) -> None:
    i = {
        "method": method, "host": host, "path": path, "access_key_id": "AKLTid",
        "secret_access_key": "c2VjcmV0", "region": "cn-north-1", "service": "rtc",
        "session_token": token,
    }  # fmt: skip
    signer = _signer(i)
    for x_date in dates:  # one signer across dates: its cached key follows the date
        got = signer.sign(method, host, path, query, headers, body, x_date=x_date)
        want = _reference({**i, "x_date": x_date}, query, headers, body)
        assert list(got.items()) == list(want.items())


def test_templates_stay_bounded() -> None:
    signer = RequestSigner(
        access_key_id="AKLTid", secret_access_key="c2VjcmV0", region="r", service="rtc"
    )
    for n in range(500):
        signer.sign(
            "POST", "h", f"/{n}", [], {"Content-Type": "a"}, b"{}", x_date="20201201T093000Z"
        )
    assert len(signer._templates) <= 64


def test_the_secret_stays_hidden() -> None:
    signer = RequestSigner(
        access_key_id="AKLTid", secret_access_key="TopSecret==", region="r", service="rtc",
        session_token="SessionTok",
    )  # fmt: skip
    signer.sign("POST", "h", "/", [], {}, b"{}", x_date="20201201T093000Z")
    assert "TopSecret" not in repr(signer) and "SessionTok" not in repr(signer)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(signer)
