"""Volcengine OpenAPI "V4" request signing (HMAC-SHA256): the client signer and a server verifier.

The signer reproduces the official Python SDK (``volcengine`` 1.0.229, ``SignerV4.sign``) byte for
byte, quirks included (see ``reference/signing-v4.md`` section 5):

* header selection is case-sensitive: exactly ``Content-Type``, ``Content-Md5``, ``Host`` or a name
  starting with ``X-`` is signed; other spellings are sent but not signed (Q1, Q2);
* header values are signed untrimmed (Q3);
* the host loses its port only when the text between the first and second ``:`` is ``80`` or
  ``443`` (Q4);
* the query is sorted by raw key; a repeated key keeps its values in the given order (Q5, Q6);
* the path is encoded as raw text (``%`` becomes ``%25``) and the method is used as given (Q7);
* a non-GET request without a header spelled exactly ``Content-Type`` gets the SDK's default form
  ``Content-Type``; an empty path is signed as ``/`` (Q8);
* ``X-Content-Sha256`` is always sent and signed (Q9).

Headers the signer owns (``Host``, ``X-Date``, ``X-Content-Sha256``, ``X-Security-Token`` and
``Authorization``) replace any caller header of the same name, compared case-insensitively, so a
request never carries two of them.

The derived signing key is cached per (secret, date, region, service) in a small bounded cache that
never shows its contents in a repr.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, NamedTuple
from urllib.parse import quote

if TYPE_CHECKING:
    from .signing_verify import GATEWAY_ERRORS, SignatureError, VerifyResult, verify

__all__ = [
    "ALGORITHM",
    "DEFAULT_FORM_CONTENT_TYPE",
    "GATEWAY_ERRORS",
    "SignatureError",
    "SigningResult",
    "VerifyResult",
    "canonical_query_string",
    "canonical_uri",
    "select_headers",
    "sign",
    "sign_details",
    "signing_host",
    "verify",
    "x_date_now",
]

ALGORITHM: Final = "HMAC-SHA256"
DEFAULT_FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded; charset=utf-8"

_AUTH_PREFIX: Final = ALGORITHM + " "
_SCOPE_TERMINATOR: Final = "request"
_X_DATE_RE: Final = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_SCOPE_DATE_RE: Final = re.compile(r"[0-9]{8}")
_SIGNED_EXACT: Final = frozenset({"Content-Type", "Content-Md5", "Host"})
_SIGNER_OWNED: Final = frozenset(
    {"host", "x-date", "x-content-sha256", "x-security-token", "authorization"}
)
_EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
_sha256 = hashlib.sha256


# --------------------------------------------------------------------------------------------------
# Encoding helpers


@lru_cache(maxsize=2048)
def _quote_query(text: str) -> str:
    # urllib's unreserved set is exactly A-Z a-z 0-9 - _ . ~ (Python >= 3.7); hex is upper-case.
    return quote(text, safe="")


@lru_cache(maxsize=256)
def _quote_path(text: str) -> str:
    return quote(text, safe="/")


def canonical_uri(path: str) -> str:
    """The canonical URI of a raw path: UTF-8 percent-encoding keeping ``/``; empty -> ``/``."""
    return _quote_path(path) if path else "/"


def canonical_query_string(query: Iterable[tuple[str, str]]) -> str:
    """The canonical query: raw-key order, repeated keys in given order, RFC 3986 quoting."""
    if type(query) is list or type(query) is tuple:
        try:
            return _canonical_query_cached(tuple(query))
        except TypeError:  # unhashable pairs (say lists from JSON): no caching
            pass
    return _canonical_query(query)


@lru_cache(maxsize=256)
def _canonical_query_cached(query: tuple[tuple[str, str], ...]) -> str:
    return _canonical_query(query)


def _canonical_query(query: Iterable[tuple[str, str]]) -> str:
    groups: dict[str, list[str]] = {}
    for key, value in query:
        values = groups.get(key)
        if values is None:
            groups[key] = [value]
        else:
            values.append(value)
    if not groups:
        return ""
    q = _quote_query
    return "&".join([f"{q(k)}={q(v)}" for k in sorted(groups) for v in groups[k]])


def signing_host(host: str) -> str:
    """The host as signed: drop the port only when it is exactly ``80`` or ``443`` (naive split)."""
    if ":" in host:
        parts = host.split(":", 2)
        if parts[1] in ("80", "443"):
            return parts[0]
    return host


_X_DATE_FORMAT: Final = "%Y%m%dT%H%M%SZ"
# The last whole second formatted and its text: every signature within one second reuses it.
_last_x_date: tuple[int, str] = (-1, "")


def x_date_now(now: float | None = None) -> str:
    """The current UTC time (or ``now``, a Unix time) as ``YYYYMMDDTHHMMSSZ``."""
    global _last_x_date
    t = time.time() if now is None else now
    if not 0 <= t < 1e11:  # before 1970 (gmtime floors, int() would not), or not a time at all
        return time.strftime(_X_DATE_FORMAT, time.gmtime(t))
    second = int(t)
    last = _last_x_date
    if last[0] == second:
        return last[1]
    text = time.strftime(_X_DATE_FORMAT, time.gmtime(second))
    _last_x_date = (second, text)
    return text


# --------------------------------------------------------------------------------------------------
# Signing key cache


_TRANS_36: Final = bytes(x ^ 0x36 for x in range(256))
_TRANS_5C: Final = bytes(x ^ 0x5C for x in range(256))
_SHA256_BLOCK: Final = 64


class _PreparedKey:
    """A derived signing key as precomputed HMAC-SHA256 inner/outer states (RFC 2104).

    Copying two primed hash states is several times faster than ``hmac.new`` per signature. The
    repr shows nothing of the key.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        # Derived keys are 32 bytes, shorter than the SHA-256 block: zero-pad, no pre-hash.
        padded = key.ljust(_SHA256_BLOCK, b"\0")
        self._inner = _sha256(padded.translate(_TRANS_36))
        self._outer = _sha256(padded.translate(_TRANS_5C))

    def __repr__(self) -> str:
        return "<prepared signing key>"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a signing key cannot be pickled")

    def hexdigest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


class _SigningKeyCache:
    """A small, bounded, thread-safe cache of derived signing keys. Its repr never shows them."""

    __slots__ = ("_entries", "_lock", "_maxsize")

    def __init__(self, maxsize: int = 32) -> None:
        # Keyed by a digest of (secret, scope), so the secret itself is never held here.
        self._entries: dict[bytes, _PreparedKey] = {}
        self._lock = threading.Lock()
        self._maxsize = maxsize

    def __repr__(self) -> str:
        return f"<signing key cache: {len(self._entries)} of {self._maxsize} entries>"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("the signing key cache cannot be pickled")

    def get(self, secret: str, date: str, region: str, service: str) -> _PreparedKey:
        cache_key = hashlib.sha256(
            "\0".join((secret, date, region, service)).encode("utf-8", "surrogatepass")
        ).digest()
        prepared = self._entries.get(cache_key)
        if prepared is not None:
            return prepared
        prepared = _PreparedKey(_derive_signing_key(secret, date, region, service))
        with self._lock:
            if len(self._entries) >= self._maxsize:
                # Evict the oldest insertion (dicts keep insertion order).
                self._entries.pop(next(iter(self._entries)), None)
            self._entries[cache_key] = prepared
        return prepared

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    k = hmac.digest(secret.encode("utf-8"), date.encode("utf-8"), "sha256")
    k = hmac.digest(k, region.encode("utf-8"), "sha256")
    k = hmac.digest(k, service.encode("utf-8"), "sha256")
    return hmac.digest(k, _SCOPE_TERMINATOR.encode("ascii"), "sha256")


_KEY_CACHE: Final = _SigningKeyCache()


# --------------------------------------------------------------------------------------------------
# Client side


class SigningResult(NamedTuple):
    """Every intermediate of one signature (no secret and no derived key in here)."""

    canonical_request: str
    signed_headers: str
    credential_scope: str
    string_to_sign: str
    signature: str
    authorization: str
    x_content_sha256: str
    headers: dict[str, str]
    """Every header to send: Host, the caller's headers, X-Date, X-Security-Token, ..."""

    def __repr__(self) -> str:
        """Every field, with the session token (signed, so also in the canonical request) hidden."""
        token = self.headers.get("X-Security-Token")
        fields = []
        for name, value in zip(self._fields, self, strict=True):
            if token:  # hidden before repr, which would escape it past a search afterwards
                if isinstance(value, str):
                    value = value.replace(token, "<redacted>")
                elif isinstance(value, dict):
                    value = {k: v.replace(token, "<redacted>") for k, v in value.items()}
            fields.append(f"{name}={value!r}")
        return f"SigningResult({', '.join(fields)})"


def _canonical_headers(signed: dict[str, str]) -> tuple[str, str]:
    """Lower-cased name -> value of the signed headers -> (canonical lines, signed list)."""
    names = sorted(signed)
    return "".join([f"{n}:{signed[n]}\n" for n in names]), ";".join(names)


def _string_to_sign(x_date: str, scope: str, canonical_request: str) -> str:
    digest = _sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{x_date}\n{scope}\n{digest}"


def select_headers(
    method: str, host: str, headers: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(the headers to send so far, the signed ones by lower-cased name) of the caller's
    headers: Host first, then the caller's except those the signer owns, then the SDK's default
    form Content-Type for a non-GET request without one. The SDK selects the signed headers by
    exact spelling (Q1, Q2), and a later spelling of the same lower-cased name wins."""
    out: dict[str, str] = {"Host": host}
    signed: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() not in _SIGNER_OWNED:
            out[name] = value
            if name in _SIGNED_EXACT or name.startswith("X-"):
                signed[name.lower()] = value
    if method != "GET" and "Content-Type" not in out:
        out["Content-Type"] = signed["content-type"] = DEFAULT_FORM_CONTENT_TYPE
    return out, signed


_last_valid_x_date = ""  # the last x_date that passed the check (most calls repeat it)


def sign_details(
    method: str,
    host: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    x_date: str,
    session_token: str | None = None,
) -> SigningResult:
    """Sign one request exactly as ``SignerV4.sign`` does and return every intermediate.

    ``query`` holds ``(key, value)`` string pairs in order (keys may repeat); ``headers`` the
    caller's headers in their spelling and order; ``body`` the exact bytes to send; ``x_date`` the
    request time as ``YYYYMMDDTHHMMSSZ``. An empty ``session_token`` counts as none.
    """
    global _last_valid_x_date
    if x_date != _last_valid_x_date:
        if _X_DATE_RE.fullmatch(x_date) is None:
            raise ValueError(f"x_date must look like 20201201T093000Z, got {x_date!r}")
        _last_valid_x_date = x_date
    body_hash = _sha256(body).hexdigest() if body else _EMPTY_SHA256

    out, signed = select_headers(method, host, headers)
    out["X-Date"] = signed["x-date"] = x_date
    if session_token:
        out["X-Security-Token"] = signed["x-security-token"] = session_token
    out["X-Content-Sha256"] = signed["x-content-sha256"] = body_hash
    signed["host"] = signing_host(host)

    canonical_headers, signed_headers = _canonical_headers(signed)
    canonical_request = "\n".join(
        (
            method,
            canonical_uri(path),
            canonical_query_string(query),
            canonical_headers,
            signed_headers,
            body_hash,
        )
    )
    date = x_date[:8]
    scope = f"{date}/{region}/{service}/{_SCOPE_TERMINATOR}"
    string_to_sign = _string_to_sign(x_date, scope, canonical_request)
    key = _KEY_CACHE.get(secret_access_key, date, region, service)
    signature = key.hexdigest(string_to_sign.encode("utf-8"))
    authorization = (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    out["Authorization"] = authorization
    return SigningResult(
        canonical_request,
        signed_headers,
        scope,
        string_to_sign,
        signature,
        authorization,
        body_hash,
        out,
    )


def sign(
    method: str,
    host: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    x_date: str,
    session_token: str | None = None,
) -> dict[str, str]:
    """Sign one request and return every header to send (see `sign_details`)."""
    return sign_details(
        method,
        host,
        path,
        query,
        headers,
        body,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        region=region,
        service=service,
        x_date=x_date,
        session_token=session_token,
    ).headers


# The verifier lives in signing_verify (it builds on this module); its names stay importable
# from here, loaded on first use so a client never imports the server side.
_VERIFIER_NAMES = frozenset({"GATEWAY_ERRORS", "SignatureError", "VerifyResult", "verify"})


def __getattr__(name: str) -> Any:
    if name in _VERIFIER_NAMES:
        from . import signing_verify

        return getattr(signing_verify, name)
    raise AttributeError(f"module 'rtc_startrecord.signing' has no attribute {name!r}")
