"""V4 signing: every shared vector, the SDK quirks, and the server-side verifier."""

from __future__ import annotations

import calendar
import json
import time
from pathlib import Path
from typing import Any

import pytest

from rtc_startrecord import signing
from rtc_startrecord.signing import SignatureError, sign, sign_details, verify, x_date_now

HERE = Path(__file__).resolve().parent
VECTORS_COPY = HERE / "data" / "signing-v4.json"
VECTORS_SHARED = HERE.parents[1] / "shared" / "vectors" / "signing-v4.json"


def _load_vectors() -> list[dict[str, Any]]:
    # The copy beside the tests is authoritative, so the suite never silently skips.
    if not VECTORS_COPY.is_file():
        raise FileNotFoundError(f"signing vectors missing: {VECTORS_COPY}")
    data = json.loads(VECTORS_COPY.read_text(encoding="utf-8"))
    vectors: list[dict[str, Any]] = [*data["vectors"], *data.get("sdk_quirk_vectors", [])]
    assert vectors, "no vectors in the file"
    return vectors


VECTORS = _load_vectors()
IDS = [v["id"] for v in VECTORS]

AK = "AKLTexampleAccessKeyId"
SK = "ExampleSecretAccessKey=="
HOST = "rtc.volcengineapi.com"
QUERY = [("Action", "StartRecord"), ("Version", "2020-12-01")]
X_DATE = "20201201T093000Z"
NOW = float(calendar.timegm(time.strptime(X_DATE, "%Y%m%dT%H%M%SZ")))


def test_vectors_copy_matches_shared_file() -> None:
    if not VECTORS_SHARED.is_file():
        pytest.skip("shared/ is not beside this checkout; the copy in tests/data is used")
    assert json.loads(VECTORS_COPY.read_text(encoding="utf-8")) == json.loads(
        VECTORS_SHARED.read_text(encoding="utf-8")
    ), "tests/data/signing-v4.json is stale: copy shared/vectors/signing-v4.json again"


def _sign_vector(vector: dict[str, Any]) -> signing.SigningResult:
    i = vector["inputs"]
    return sign_details(
        i["method"],
        i["host"],
        i["path"],
        [(k, v) for k, v in i["query"]],
        i["headers"],
        i["body"].encode("utf-8"),
        access_key_id=i["access_key_id"],
        secret_access_key=i["secret_access_key"],
        region=i["region"],
        service=i["service"],
        x_date=i["x_date"],
        session_token=i["session_token"],
    )


def _header_items(headers: dict[str, str]) -> list[tuple[str, str]]:
    return sorted((name.lower(), value) for name, value in headers.items())


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_intermediates(vector: dict[str, Any]) -> None:
    result = _sign_vector(vector)
    expected = vector["expected"]
    assert result.canonical_request == expected["canonical_request"]
    assert result.signed_headers == expected["signed_headers"]
    assert result.credential_scope == expected["credential_scope"]
    assert result.string_to_sign == expected["string_to_sign"]
    assert result.signature == expected["signature"]
    assert result.authorization == expected["authorization"]
    assert result.x_content_sha256 == expected["x_content_sha256"]
    assert _header_items(result.headers) == _header_items(expected["headers"])


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_sign_returns_the_vector_headers(vector: dict[str, Any]) -> None:
    i = vector["inputs"]
    headers = sign(
        i["method"],
        i["host"],
        i["path"],
        [(k, v) for k, v in i["query"]],
        i["headers"],
        i["body"].encode("utf-8"),
        access_key_id=i["access_key_id"],
        secret_access_key=i["secret_access_key"],
        region=i["region"],
        service=i["service"],
        x_date=i["x_date"],
        session_token=i["session_token"],
    )
    assert _header_items(headers) == _header_items(vector["expected"]["headers"])


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_wire_request_verifies(vector: dict[str, Any]) -> None:
    i = vector["inputs"]
    expected = vector["expected"]
    path, _, raw_query = expected["wire_request_target"].partition("?")
    now = float(calendar.timegm(time.strptime(i["x_date"], "%Y%m%dT%H%M%SZ")))
    result = verify(
        i["method"],
        path,
        raw_query,
        expected["headers"],
        i["body"].encode("utf-8"),
        lookup_secret={i["access_key_id"]: i["secret_access_key"]}.get,
        region=i["region"],
        service=i["service"],
        now=now,
    )
    assert result.access_key_id == i["access_key_id"]
    assert result.credential_scope == expected["credential_scope"]
    assert ";".join(result.signed_headers) == expected["signed_headers"]
    assert result.session_token == i["session_token"]


# --------------------------------------------------------------------------------------------------
# Quirks (reference/signing-v4.md section 5), checked structurally


def _details(**overrides: Any) -> signing.SigningResult:
    args: dict[str, Any] = {
        "method": "POST",
        "host": HOST,
        "path": "/",
        "query": QUERY,
        "headers": {"Content-Type": "application/json"},
        "body": b"{}",
    }
    args.update(overrides)
    return sign_details(
        args["method"],
        args["host"],
        args["path"],
        args["query"],
        args["headers"],
        args["body"],
        access_key_id=AK,
        secret_access_key=SK,
        region="cn-north-1",
        service="rtc",
        x_date=X_DATE,
    )


def test_q1_lower_case_content_type_is_not_signed_and_form_default_is_added() -> None:
    result = _details(headers={"content-type": "application/json", "x-custom": "1"})
    assert result.signed_headers == "content-type;host;x-content-sha256;x-date"
    assert "content-type:application/x-www-form-urlencoded; charset=utf-8\n" in (
        result.canonical_request
    )
    assert result.headers["content-type"] == "application/json"
    assert result.headers["Content-Type"] == signing.DEFAULT_FORM_CONTENT_TYPE


def test_q1_custom_x_header_is_signed() -> None:
    result = _details(headers={"Content-Type": "application/json", "X-Custom": " a  b "})
    assert result.signed_headers == "content-type;host;x-content-sha256;x-custom;x-date"
    assert "\nx-custom: a  b \n" in result.canonical_request  # Q3: untrimmed


def test_q2_only_content_md5_spelling_is_signed() -> None:
    assert "content-md5" in _details(headers={"Content-Md5": "x"}).signed_headers
    assert "content-md5" not in _details(headers={"Content-MD5": "x"}).signed_headers


@pytest.mark.parametrize(
    ("host", "signed"),
    [
        ("rtc.volcengineapi.com:443", "rtc.volcengineapi.com"),
        ("rtc.volcengineapi.com:80", "rtc.volcengineapi.com"),
        ("127.0.0.1:8080", "127.0.0.1:8080"),
        ("[::1]:443", "[::1]:443"),
    ],
)
def test_q4_host_port_rule(host: str, signed: str) -> None:
    result = _details(host=host)
    assert f"\nhost:{signed}\n" in result.canonical_request
    assert result.headers["Host"] == host


def test_q5_raw_key_order_and_q6_repeated_keys() -> None:
    result = _details(
        query=[("a[", "1"), ("aZ", "2"), ("é", "3"), ("z", "4"), ("k", "b"), ("k", "a")]
    )
    query_line = result.canonical_request.split("\n")[2]
    assert query_line == "aZ=2&a%5B=1&k=b&k=a&z=4&%C3%A9=3"


def test_q7_path_and_method_as_given() -> None:
    result = _details(method="post", path="/a%20b/ c//")
    lines = result.canonical_request.split("\n")
    assert lines[0] == "post"
    assert lines[1] == "/a%2520b/%20c//"


def test_q8_empty_path_and_get_without_content_type() -> None:
    result = _details(method="GET", path="", headers={}, body=b"")
    assert result.canonical_request.split("\n")[1] == "/"
    assert result.signed_headers == "host;x-content-sha256;x-date"
    assert "Content-Type" not in result.headers


def test_q8_post_without_content_type_gets_the_form_default() -> None:
    result = _details(headers={})
    assert result.headers["Content-Type"] == signing.DEFAULT_FORM_CONTENT_TYPE
    assert result.signed_headers.startswith("content-type;")


def test_signer_owned_headers_replace_caller_spellings() -> None:
    result = _details(headers={"Content-Type": "application/json", "x-date": "old", "HOST": "h"})
    assert [n for n in result.headers if n.lower() in ("x-date", "host")] == ["Host", "X-Date"]


def test_empty_session_token_counts_as_none() -> None:
    assert "X-Security-Token" not in _details().headers
    result = sign_details(
        "GET",
        HOST,
        "/",
        [],
        {},
        b"",
        access_key_id=AK,
        secret_access_key=SK,
        region="cn-north-1",
        service="rtc",
        x_date=X_DATE,
        session_token="",
    )
    assert "X-Security-Token" not in result.headers


def test_bad_x_date_is_rejected() -> None:
    with pytest.raises(ValueError, match="x_date"):
        _details_with_date("2020-12-01T09:30:00Z")


def _details_with_date(x_date: str) -> signing.SigningResult:
    return sign_details(
        "GET",
        HOST,
        "/",
        [],
        {},
        b"",
        access_key_id=AK,
        secret_access_key=SK,
        region="cn-north-1",
        service="rtc",
        x_date=x_date,
    )


def test_x_date_now_format() -> None:
    assert x_date_now(1640712206.9) == "20211228T172326Z"
    assert len(x_date_now()) == 16


def test_signing_key_cache_never_shows_keys() -> None:
    _details()
    cache = signing._KEY_CACHE
    text = repr(cache) + str(cache)
    key = signing._derive_signing_key(SK, X_DATE[:8], "cn-north-1", "rtc")
    assert key.hex() not in text
    assert repr(key) not in text
    assert SK not in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(cache)


def test_signing_key_cache_is_bounded() -> None:
    cache = signing._SigningKeyCache(maxsize=4)
    for day in range(10):
        cache.get(SK, f"202012{day + 10:02d}", "cn-north-1", "rtc")
    assert "4 of 4" in repr(cache)


# --------------------------------------------------------------------------------------------------
# Server side


def _signed_request(
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    body: bytes = b'{"AppId":"a"}',
    x_date: str = X_DATE,
    query: list[tuple[str, str]] | None = None,
    session_token: str | None = None,
    region: str = "cn-north-1",
    service: str = "rtc",
) -> dict[str, str]:
    return sign(
        method,
        HOST,
        "/",
        QUERY if query is None else query,
        {"Content-Type": "application/json"} if headers is None else headers,
        body,
        access_key_id=AK,
        secret_access_key=SK,
        region=region,
        service=service,
        x_date=x_date,
        session_token=session_token,
    )


def _verify(
    headers: dict[str, str],
    *,
    method: str = "POST",
    body: bytes = b'{"AppId":"a"}',
    raw_query: str = "Action=StartRecord&Version=2020-12-01",
    now: float = NOW,
    **kwargs: Any,
) -> signing.VerifyResult:
    return verify(
        method,
        "/",
        raw_query,
        headers,
        body,
        lookup_secret={AK: SK}.get,
        region=kwargs.pop("region", "cn-north-1"),
        service=kwargs.pop("service", "rtc"),
        now=now,
        **kwargs,
    )


def _expect(
    check: str, code: str, code_n: int, status: int, headers: dict[str, str], **kw: Any
) -> None:
    with pytest.raises(SignatureError) as info:
        _verify(headers, **kw)
    err = info.value
    assert (err.check, err.code, err.code_n, err.http_status) == (check, code, code_n, status)
    assert SK not in str(err)
    assert err.to_error() == {"Code": code, "CodeN": code_n, "Message": err.message}


def test_round_trip() -> None:
    result = _verify(_signed_request())
    assert result.access_key_id == AK
    assert result.signed_headers == ("content-type", "host", "x-content-sha256", "x-date")
    assert result.session_token is None


def test_round_trip_with_session_token_and_token_check() -> None:
    headers = _signed_request(session_token="tok")
    assert _verify(headers).session_token == "tok"
    assert _verify(headers, validate_token=lambda ak, t: t == "tok").access_key_id == AK
    _expect(
        "security_token",
        "InvalidSecretToken",
        100026,
        401,
        headers,
        validate_token=lambda ak, t: False,
    )


def test_case_insensitive_header_lookup() -> None:
    headers = {k.lower(): v for k, v in _signed_request().items()}
    assert _verify(headers).access_key_id == AK


def test_missing_authorization() -> None:
    headers = _signed_request()
    del headers["Authorization"]
    _expect("authorization.missing", "MissingAuthenticationToken", 100003, 401, headers)


@pytest.mark.parametrize("auth", ["AWS4-HMAC-SHA256 Credential=x", "Bearer abc", "junk"])
def test_another_scheme_is_no_authentication_token(auth: str) -> None:
    headers = _signed_request()
    headers["Authorization"] = auth
    with pytest.raises(SignatureError) as info:
        _verify(headers)
    assert (info.value.check, info.value.code, info.value.code_n, info.value.http_status) == (
        "authorization.algorithm",
        "MissingAuthenticationToken",
        100003,
        401,
    )


@pytest.mark.parametrize(
    "auth",
    [
        "HMAC-SHA256 garbage",
        "HMAC-SHA256 Credential=a/b, SignedHeaders=host",
        "HMAC-SHA256 Credential=a, Credential=b, Signature=c",
    ],
)
def test_unparseable_authorization(auth: str) -> None:
    headers = _signed_request()
    headers["Authorization"] = auth
    with pytest.raises(SignatureError) as info:
        _verify(headers)
    assert (info.value.code, info.value.code_n, info.value.http_status) == (
        "InvalidAuthorization",
        100024,
        400,
    )


@pytest.mark.parametrize(
    "credential",
    [
        f"{AK}/20201201/cn-north-1/rtc",
        f"{AK}/20201201/cn-north-1/rtc/aws4_request",
        "/20201201/cn-north-1/rtc/request",
        f"{AK}/2020-12-01/cn-north-1/rtc/request",
        f"{AK}/20201201/cn-north-1/rtc/request/extra",
    ],
)
def test_bad_credential(credential: str) -> None:
    headers = _signed_request()
    auth = headers["Authorization"]
    start = auth.index("Credential=") + len("Credential=")
    headers["Authorization"] = auth[:start] + credential + auth[auth.index(",") :]
    _expect("credential.format", "InvalidCredential", 100025, 400, headers)


def test_empty_signature() -> None:
    headers = _signed_request()
    headers["Authorization"] = headers["Authorization"].rsplit("=", 1)[0] + "="
    _expect("signature.missing", "MissingSignature", 100005, 401, headers)


def test_missing_x_date() -> None:
    headers = _signed_request()
    del headers["X-Date"]
    _expect("x_date.missing", "MissingRequestInfo", 100004, 400, headers)


def test_unknown_access_key() -> None:
    headers = _signed_request()
    headers["Authorization"] = headers["Authorization"].replace(AK, "AKLTsomeoneElse")
    _expect("access_key", "InvalidAccessKey", 100009, 401, headers)


@pytest.mark.parametrize("x_date", ["20201201T093000", "20201301T093000Z", "2020120lT093000Z"])
def test_bad_x_date_format(x_date: str) -> None:
    headers = _signed_request()
    headers["X-Date"] = x_date
    _expect("x_date.format", "InvalidTimestamp", 100006, 400, headers)


def test_scope_date_differs_from_x_date() -> None:
    headers = _signed_request()
    headers["X-Date"] = "20201202T093000Z"
    _expect("x_date.scope", "InvalidTimestamp", 100006, 400, headers, now=NOW + 86400)


@pytest.mark.parametrize("minutes", [-16, 16])
def test_skew_beyond_15_minutes_is_rejected(minutes: int) -> None:
    _expect(
        "x_date.skew", "InvalidTimestamp", 100006, 400, _signed_request(), now=NOW + minutes * 60
    )


@pytest.mark.parametrize("minutes", [-14, 14])
def test_skew_within_15_minutes_is_accepted(minutes: int) -> None:
    assert _verify(_signed_request(), now=NOW + minutes * 60).access_key_id == AK


def test_skew_window_is_configurable() -> None:
    _expect(
        "x_date.skew", "InvalidTimestamp", 100006, 400, _signed_request(), now=NOW + 61, max_skew=60
    )
    assert _verify(_signed_request(), now=NOW + 3600, max_skew=7200).access_key_id == AK


@pytest.mark.parametrize(("region", "service"), [("ap-singapore-1", "rtc"), ("cn-north-1", "iam")])
def test_wrong_scope_region_or_service(region: str, service: str) -> None:
    _expect(
        "scope",
        "SignatureDoesNotMatch",
        100010,
        401,
        _signed_request(region=region, service=service),
    )


def test_one_byte_of_body_altered() -> None:
    headers = _signed_request(body=b'{"AppId":"a"}')
    _expect("body_hash", "SignatureDoesNotMatch", 100010, 401, headers, body=b'{"AppId":"b"}')
    # Without the hash header the recomputed signature still catches it.
    del headers["X-Content-Sha256"]
    with pytest.raises(SignatureError) as info:
        _verify(headers, body=b'{"AppId":"b"}')
    assert info.value.code == "SignatureDoesNotMatch"


def test_tampered_signature_query_and_header() -> None:
    headers = _signed_request()
    sig = headers["Authorization"][-64:]
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    bad = dict(headers, Authorization=headers["Authorization"][:-64] + flipped)
    _expect("signature", "SignatureDoesNotMatch", 100010, 401, bad)
    _expect(
        "signature",
        "SignatureDoesNotMatch",
        100010,
        401,
        headers,
        raw_query="Action=StopRecord&Version=2020-12-01",
    )
    _expect("signature", "SignatureDoesNotMatch", 100010, 401, dict(headers, Host="evil.example"))
    _expect("signature", "SignatureDoesNotMatch", 100010, 401, headers, method="PUT")


def test_non_ascii_signature_does_not_crash() -> None:
    headers = _signed_request()
    headers["Authorization"] = headers["Authorization"][:-64] + "é" * 64
    _expect("signature", "SignatureDoesNotMatch", 100010, 401, headers)


def test_host_and_x_date_must_be_signed() -> None:
    headers = _signed_request()
    headers["Authorization"] = headers["Authorization"].replace(
        "SignedHeaders=content-type;host;x-content-sha256;x-date",
        "SignedHeaders=content-type;x-content-sha256;x-date",
    )
    _expect("signed_headers.required", "SignatureDoesNotMatch", 100010, 401, headers)


def test_signed_header_absent_from_request() -> None:
    headers = _signed_request(headers={"Content-Type": "application/json", "X-Custom": "v"})
    del headers["X-Custom"]
    _expect("signed_headers.absent", "SignatureDoesNotMatch", 100010, 401, headers)


def test_extra_signed_header_verifies() -> None:
    headers = _signed_request(headers={"Content-Type": "application/json", "X-Custom": "v"})
    result = _verify(headers)
    assert "x-custom" in result.signed_headers
    # An unsigned extra header (Accept, User-Agent) changes nothing.
    assert _verify(dict(headers, Accept="*/*", **{"User-Agent": "x"})).access_key_id == AK


def test_get_without_content_type_verifies() -> None:
    headers = _signed_request(method="GET", headers={}, body=b"")
    assert "Content-Type" not in headers
    result = _verify(headers, method="GET", body=b"")
    assert result.signed_headers == ("host", "x-content-sha256", "x-date")


def test_query_is_form_decoded_then_re_encoded() -> None:
    query = [("Action", "GetRecordTask"), ("RoomId", "room 1+2"), ("UserId", "用户")]
    headers = _signed_request(method="GET", headers={}, body=b"", query=query)
    raw = "Action=GetRecordTask&RoomId=room+1%2B2&UserId=%E7%94%A8%E6%88%B7"
    assert _verify(headers, method="GET", body=b"", raw_query=raw).access_key_id == AK


def test_host_default_port_verifies() -> None:
    headers = sign(
        "POST",
        HOST + ":443",
        "/",
        QUERY,
        {"Content-Type": "application/json"},
        b"",
        access_key_id=AK,
        secret_access_key=SK,
        region="cn-north-1",
        service="rtc",
        x_date=X_DATE,
    )
    assert _verify(dict(headers, Host=HOST), body=b"").access_key_id == AK
