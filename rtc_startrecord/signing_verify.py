"""The server side of V4 signing: verifying a request as the gateway does, for the simulator.

Split from `rtc_startrecord.signing` (the signer), which re-exports these names: the verifier
recomputes the signature with the signer's own canonical forms and key cache, and adds what
only a server needs (parsing the Authorization header, the clock-skew check, the gateway's
error codes).
"""

from __future__ import annotations

import calendar
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Final, NamedTuple, Protocol
from urllib.parse import unquote, unquote_plus

from .errors import RtcError
from .gateway import GATEWAY_ERRORS
from .signing import (
    _AUTH_PREFIX,
    _KEY_CACHE,
    _SCOPE_DATE_RE,
    _SCOPE_TERMINATOR,
    _X_DATE_RE,
    _sha256,
    _string_to_sign,
    canonical_query_string,
    canonical_uri,
    signing_host,
)

__all__ = ["GATEWAY_ERRORS", "SignatureError", "VerifyResult", "verify"]


# --------------------------------------------------------------------------------------------------
# Server side


class SignatureError(RtcError):
    """A request failed server-side signature verification.

    ``check`` names the failed check (a stable id such as ``"authorization.missing"``,
    ``"x_date.skew"`` or ``"signature"``); ``code``/``code_n``/``http_status`` are the gateway's
    answer for it. The message never holds a secret, a signature or a derived key.
    """

    def __init__(self, check: str, code: str, message: str) -> None:
        self.check = check
        self.code = code
        self.code_n, self.http_status = GATEWAY_ERRORS[code]
        self.message = message
        super().__init__(f"{code} ({check}): {message}")

    def to_error(self) -> dict[str, object]:
        """The ``ResponseMetadata.Error`` object for this failure."""
        return {"Code": self.code, "CodeN": self.code_n, "Message": self.message}


class VerifyResult(NamedTuple):
    """A request that passed verification."""

    access_key_id: str
    credential_scope: str
    signed_headers: tuple[str, ...]
    x_date: str
    session_token: str | None

    def __repr__(self) -> str:
        """Every field but the session token, which is shown only as set or not."""
        token = "<redacted>" if self.session_token is not None else "None"
        return (
            f"VerifyResult(access_key_id={self.access_key_id!r}, "
            f"credential_scope={self.credential_scope!r}, signed_headers={self.signed_headers!r}, "
            f"x_date={self.x_date!r}, session_token={token})"
        )


class _SupportsItems(Protocol):
    def items(self) -> Iterable[tuple[str, str]]: ...


_MISMATCH_MESSAGE: Final = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your Secret Access Key and signing method."
)


def _fail(check: str, code: str, message: str) -> SignatureError:
    return SignatureError(check, code, message)


def _parse_authorization(auth: str) -> tuple[str, str, str, str, list[str], str]:
    """-> (access key id, scope date, region, service, signed header names, signature)."""
    if not auth.startswith(_AUTH_PREFIX):
        # Another scheme (Bearer, AWS4-HMAC-SHA256, junk) carries no V4 token at all: 401, as for
        # a missing header (signing-v4.md section 6 allows either code); a malformed HMAC-SHA256
        # header is InvalidAuthorization (400) below.
        raise _fail(
            "authorization.algorithm",
            "MissingAuthenticationToken",
            f"Authorization must start with '{_AUTH_PREFIX}'.",
        )
    fields: dict[str, str] = {}
    for part in auth[len(_AUTH_PREFIX) :].split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name not in ("Credential", "SignedHeaders", "Signature") or name in fields:
            raise _fail(
                "authorization.format",
                "InvalidAuthorization",
                "Authorization must hold Credential=, SignedHeaders= and Signature= once each.",
            )
        fields[name] = value.strip()
    if len(fields) != 3:
        raise _fail(
            "authorization.format",
            "InvalidAuthorization",
            "Authorization must hold Credential=, SignedHeaders= and Signature= once each.",
        )
    credential = fields["Credential"].split("/")
    if (
        len(credential) != 5
        or credential[4] != _SCOPE_TERMINATOR
        or not all(credential[:4])
        or _SCOPE_DATE_RE.fullmatch(credential[1]) is None
    ):
        raise _fail(
            "credential.format",
            "InvalidCredential",
            "Credential must be AccessKeyId/YYYYMMDD/region/service/request.",
        )
    names = fields["SignedHeaders"].split(";")
    if not all(names) or names != sorted(set(names)) or any(n != n.lower() for n in names):
        raise _fail(
            "signed_headers.format",
            "InvalidAuthorization",
            "SignedHeaders must be a sorted, ';'-separated list of lower-case header names.",
        )
    signature = fields["Signature"]
    if not signature:
        raise _fail("signature.missing", "MissingSignature", "The signature is empty.")
    ak, date, region, service, _ = credential
    return ak, date, region, service, names, signature


def _parse_x_date(x_date: str) -> float:
    if _X_DATE_RE.fullmatch(x_date) is None:
        raise _fail("x_date.format", "InvalidTimestamp", "X-Date must look like 20201201T093000Z.")
    try:
        return float(calendar.timegm(time.strptime(x_date, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        raise _fail("x_date.format", "InvalidTimestamp", "X-Date is not a valid time.") from None


def _parse_query(raw_query: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for segment in raw_query.split("&"):
        if not segment:
            continue
        key, _, value = segment.partition("=")
        pairs.append((unquote_plus(key), unquote_plus(value)))
    return pairs


def verify(
    method: str,
    raw_path: str,
    raw_query_string: str,
    headers: Mapping[str, str] | _SupportsItems,
    body: bytes,
    *,
    lookup_secret: Callable[[str], str | None],
    region: str,
    service: str,
    now: float | None = None,
    max_skew: float = 900.0,
    validate_token: Callable[[str, str], bool] | None = None,
) -> VerifyResult:
    """Verify a received request's V4 signature, as the gateway does (signing-v4.md section 6).

    ``raw_path`` and ``raw_query_string`` are as received on the request line (the query without
    its ``?``; it is form-decoded, ``+`` meaning a space, then re-encoded). Header names are looked
    up case-insensitively; exactly the headers named in ``SignedHeaders`` are re-signed, so a
    client signing more (``X-Custom``) or fewer optional headers still verifies. The body hash comes
    from ``body``. ``lookup_secret(ak)`` returns the secret or None for an unknown key;
    ``validate_token(ak, token)``, when given, checks an ``X-Security-Token`` (otherwise the token
    is only returned in the result for the caller to check). ``now`` defaults to the wall clock.

    Returns a `VerifyResult`; raises `SignatureError` naming the failed check and carrying the
    gateway ``code``, ``code_n`` and ``http_status``.
    """
    received: dict[str, str] = {}
    for name, value in headers.items():
        received[name.lower()] = value

    auth = received.get("authorization")
    if not auth:
        raise _fail(
            "authorization.missing",
            "MissingAuthenticationToken",
            "The request carries no Authorization header.",
        )
    ak, scope_date, scope_region, scope_service, names, signature = _parse_authorization(auth)

    secret = lookup_secret(ak)
    if secret is None:
        raise _fail("access_key", "InvalidAccessKey", "The access key id is unknown or invalid.")
    token = received.get("x-security-token")
    if token is not None and validate_token is not None and not validate_token(ak, token):
        raise _fail(
            "security_token", "InvalidSecretToken", "The security token is invalid or expired."
        )

    x_date = received.get("x-date")
    if x_date is None:
        raise _fail("x_date.missing", "MissingRequestInfo", "The X-Date header is missing.")
    signed_at = _parse_x_date(x_date)
    if x_date[:8] != scope_date:
        raise _fail(
            "x_date.scope", "InvalidTimestamp", "The credential scope date differs from X-Date."
        )
    current = time.time() if now is None else now
    if abs(current - signed_at) > max_skew:
        raise _fail(
            "x_date.skew",
            "InvalidTimestamp",
            f"X-Date lies more than {max_skew:g} s from the server time: the signature has "
            "expired or lies in the future.",
        )

    if scope_region != region or scope_service != service:
        raise _fail(
            "scope",
            "SignatureDoesNotMatch",
            f"The credential scope must name region {region!r} and service {service!r}.",
        )
    if "host" not in names or "x-date" not in names:
        raise _fail(
            "signed_headers.required",
            "SignatureDoesNotMatch",
            "SignedHeaders must include host and x-date.",
        )

    lines: list[str] = []
    for name in names:
        got = received.get(name)
        if got is None:
            raise _fail(
                "signed_headers.absent",
                "SignatureDoesNotMatch",
                f"The signed header {name!r} is not in the request.",
            )
        lines.append(f"{name}:{signing_host(got) if name == 'host' else got}\n")

    body_hash = _sha256(body).hexdigest()
    claimed_hash = received.get("x-content-sha256")
    if claimed_hash is not None and claimed_hash != body_hash:
        raise _fail(
            "body_hash",
            "SignatureDoesNotMatch",
            "X-Content-Sha256 does not match the SHA-256 of the received body.",
        )

    canonical_request = "\n".join(
        (
            method,
            canonical_uri(unquote(raw_path)),
            canonical_query_string(_parse_query(raw_query_string)),
            "".join(lines),
            ";".join(names),
            body_hash,
        )
    )
    scope = f"{scope_date}/{scope_region}/{scope_service}/{_SCOPE_TERMINATOR}"
    string_to_sign = _string_to_sign(x_date, scope, canonical_request)
    key = _KEY_CACHE.get(secret, scope_date, scope_region, scope_service)
    expected = key.hexdigest(string_to_sign.encode("utf-8"))
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
        raise _fail("signature", "SignatureDoesNotMatch", _MISMATCH_MESSAGE)
    return VerifyResult(ak, scope, tuple(names), x_date, token)
