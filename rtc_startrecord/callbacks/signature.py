"""The callback signature (fact sheet §9): plain SHA-256 over the sorted, concatenated values.

Internal to `rtc_startrecord.callbacks` (which re-exports `compute_signature`). The secret is
checked once (a str, non-empty, valid Unicode) and hashed on its own, so no encoding error, message
or argument here can hold it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any, Final

from .envelope import copy_mapping, signed_values
from .errors import MalformedCallback, SignatureMismatch

__all__ = ["compute_signature"]

_HEX64: Final = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")


def check_secret(secret: object) -> None:
    """TypeError unless ``secret`` is a str; ValueError when it is empty or holds a lone
    surrogate (no UTF-8 form). Neither message quotes it."""
    if not isinstance(secret, str):
        raise TypeError(f"secret must be a str, not {type(secret).__name__}")
    if not secret:
        raise ValueError("secret must not be empty")
    if _SURROGATE.search(secret):
        raise ValueError("secret holds a lone surrogate; it has no UTF-8 form")


def signature_of(values: Mapping[str, str], secret: str) -> str:
    """Lowercase hex SHA-256 of the seven ``values`` and ``secret``, sorted as strings ascending
    and concatenated (each part is encoded on its own; every part is known to be encodable)."""
    parts = [*values.values(), secret]
    parts.sort()
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
    return digest.hexdigest()


def compute_signature(fields: Mapping[str, str], secret: str) -> str:
    """The §9 signature of a callback body: lowercase hex SHA-256.

    ``fields`` holds at least EventType, EventData, EventTime, EventId, AppId, Version and the
    nonce under ``Nonce`` or ``Noce`` (other keys, such as Signature, are ignored). The eight values
    (the seven and ``secret``) are sorted as strings ascending, concatenated and hashed as UTF-8.
    Raises `MalformedCallback` when a field is missing, not a string or holds a lone surrogate;
    TypeError or ValueError for a bad secret. Field formats are not checked.
    """
    check_secret(secret)
    return signature_of(signed_values(copy_mapping(fields, "callback fields")), secret)


def check_signature(fields: Mapping[str, Any], values: Mapping[str, str], secret: str) -> None:
    """`SignatureMismatch` unless ``fields["Signature"]`` (64 hex digits, any case) is the
    signature of ``values`` (from `signed_values`); `MalformedCallback` when it is missing or
    not a string. Constant-time."""
    provided = fields.get("Signature")
    if not isinstance(provided, str):
        raise MalformedCallback(
            "callback body: field 'Signature' is missing"
            if provided is None
            else "callback body: field 'Signature' is not a string"
        )
    if _HEX64.fullmatch(provided) is None:
        raise SignatureMismatch("callback Signature is not 64 hexadecimal digits")
    expected = signature_of(values, secret)
    if not hmac.compare_digest(expected, str.__str__(provided).lower()):
        raise SignatureMismatch(
            "callback signature does not match the body (wrong secret or a tampered field)"
        )
