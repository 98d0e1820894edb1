"""`RequestSigner`: one client's signatures, with what repeats from call to call worked out once.

`signing.sign` is the reference: it takes everything as arguments and checks them, because the
CLI, the simulator's tests and users call it with arbitrary input. A client signs many requests
that differ only in their body, their X-Date and (for query actions) their query; everything
else (access key, region, service, host, the header names and so which headers are signed and
in what order) is fixed. `RequestSigner` keeps those fixed parts as a per-shape template: the
caller's headers to send, the sorted canonical header lines around the two values that change,
the signed-header list and the credential scope's tail, and the derived key of the current date.
Per call it hashes the body, joins one canonical request and computes one HMAC.

The output is `signing.sign`'s, byte for byte; tests/test_signer.py checks that over generated
requests, session tokens and header spellings included.

Its repr shows the access key id only; it cannot be pickled (it holds the secret and a derived
key).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from typing import Final

from .signing import (
    _EMPTY_SHA256,
    _KEY_CACHE,
    _SCOPE_TERMINATOR,
    ALGORITHM,
    _PreparedKey,
    canonical_query_string,
    canonical_uri,
    select_headers,
    signing_host,
)

__all__ = ["RequestSigner"]

_sha256 = hashlib.sha256
_MAX_TEMPLATES: Final = 64  # shapes of request one client sends: a few per action
_CHANGING: Final = frozenset({"x-date", "x-content-sha256"})  # signed, new in every call


class _Template:
    """What one request shape (method, host, path, header items) signs the same every time."""

    __slots__ = ("date_first", "head", "out", "parts", "signed_headers")

    def __init__(
        self,
        method: str,
        host: str,
        path: str,
        headers: Mapping[str, str],
        session_token: str | None,
    ) -> None:
        out, signed = select_headers(method, host, headers)
        if session_token:
            signed["x-security-token"] = session_token
        signed["host"] = signing_host(host)
        names = sorted([*signed, *_CHANGING])
        self.out = out
        self.signed_headers = ";".join(names)
        self.head = f"{method}\n{canonical_uri(path)}\n"
        # The canonical header lines, cut where the two changing values go: three fixed parts
        # (the last one also carries the signed-header list that follows the lines).
        parts, text = [], ""
        for n in names:
            if n in _CHANGING:
                parts.append(f"{text}{n}:")
                text = "\n"
            else:
                text += f"{n}:{signed[n]}\n"
        parts.append(f"{text}\n{self.signed_headers}\n")
        self.parts = (parts[0], parts[1], parts[2])
        self.date_first = names.index("x-date") < names.index("x-content-sha256")


class RequestSigner:
    """Signs the requests of one client: one access key, region, service and session token."""

    __slots__ = (
        "_access_key_id",
        "_credential_prefix",
        "_key",
        "_lock",
        "_region",
        "_secret",
        "_service",
        "_session_token",
        "_templates",
    )

    def __init__(
        self,
        *,
        access_key_id: str,
        secret_access_key: str,
        region: str,
        service: str,
        session_token: str | None = None,
    ) -> None:
        self._access_key_id = access_key_id
        self._secret = secret_access_key
        self._region = region
        self._service = service
        self._session_token = session_token or None
        self._credential_prefix = f"{ALGORITHM} Credential={access_key_id}/"
        self._key: tuple[str, _PreparedKey] | None = None  # (date, key) of the last date signed
        self._templates: dict[tuple[object, ...], _Template] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<RequestSigner access_key_id={self._access_key_id!r} region={self._region!r}>"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a RequestSigner holds a secret key and cannot be pickled")

    def _template(self, method: str, host: str, path: str, headers: Mapping[str, str]) -> _Template:
        key = (method, host, path, *headers.items())
        template = self._templates.get(key)
        if template is None:
            template = _Template(method, host, path, headers, self._session_token)
            with self._lock:
                if len(self._templates) >= _MAX_TEMPLATES:
                    self._templates.clear()
                self._templates[key] = template
        return template

    def _signing_key(self, date: str) -> _PreparedKey:
        cached = self._key
        if cached is not None and cached[0] == date:
            return cached[1]
        key = _KEY_CACHE.get(self._secret, date, self._region, self._service)
        self._key = (date, key)
        return key

    def sign(
        self,
        method: str,
        host: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        *,
        x_date: str,
    ) -> dict[str, str]:
        """Every header to send, as `signing.sign` gives them for the same request.

        `x_date` is the request time (`signing.x_date_now()`); it is not checked here, so give
        only `YYYYMMDDTHHMMSSZ`."""
        t = self._template(method, host, path, headers)
        body_hash = _sha256(body).hexdigest() if body else _EMPTY_SHA256
        first, middle, last = t.parts
        one, two = (x_date, body_hash) if t.date_first else (body_hash, x_date)
        canonical_request = (
            f"{t.head}{canonical_query_string(query)}\n{first}{one}{middle}{two}{last}{body_hash}"
        )
        date = x_date[:8]
        scope = f"{date}/{self._region}/{self._service}/{_SCOPE_TERMINATOR}"
        digest = _sha256(canonical_request.encode("utf-8")).hexdigest()
        signature = self._signing_key(date).hexdigest(
            f"{ALGORITHM}\n{x_date}\n{scope}\n{digest}".encode()
        )
        out = t.out.copy()
        out["X-Date"] = x_date
        if self._session_token:
            out["X-Security-Token"] = self._session_token
        out["X-Content-Sha256"] = body_hash
        out["Authorization"] = (
            f"{self._credential_prefix}{scope}, SignedHeaders={t.signed_headers}, "
            f"Signature={signature}"
        )
        return out
