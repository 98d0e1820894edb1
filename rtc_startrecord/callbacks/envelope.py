"""The callback envelope: reading a body into its fields, and each field's documented format.

Internal to `rtc_startrecord.callbacks` (which re-exports the public names). Nothing here sees the
secret. Every refusal is a `MalformedCallback` raised outside of any ``except`` block, so it
carries no chained exception (a `UnicodeDecodeError`, say, would hold the whole body).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Final, NoReturn

from ..errors import json_type
from ..spec import API_VERSIONS
from .errors import MalformedCallback, UnsupportedBody, snippet

__all__ = ["NONCE_KEYS", "SIGNED_FIELDS", "Body"]

Body = bytes | bytearray | memoryview | str | Mapping[str, Any]

SIGNED_FIELDS: Final = ("EventType", "EventData", "EventTime", "EventId", "AppId", "Version")
"""Body keys whose values are signed, besides the nonce (``Nonce`` or ``Noce``) and the secret."""
NONCE_KEYS: Final = ("Nonce", "Noce")
"""The two spellings of the nonce key; ``Nonce`` wins when a body carries both."""

ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_@.\-]{1,128}", re.ASCII)
"""The ID naming rule (spec/common.yaml ``Id``), applied to AppId and EventId (fullmatch)."""
EVENT_TYPE_PATTERN: Final = re.compile(r"[A-Z][A-Za-z0-9]{0,63}", re.ASCII)
"""An EventType: the known ones (RecordStarted, ...) and any future one of the same form."""
NONCE_PATTERN: Final = re.compile(r"[0-9]{1,4}", re.ASCII)
"""The nonce: documented as a 4-digit random number; 1 to 4 digits (it may not be zero-padded)."""
_DATE_PATTERN: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")

FORMATS: Final = {
    "EventType": "a capital letter, then up to 63 letters and digits",
    "EventTime": "an RFC 3339 date-time with an offset",
    "EventId": "1 to 128 letters, digits or _ @ . -",
    "AppId": "1 to 128 letters, digits or _ @ . -",
    "Version": "a known API version or a YYYY-MM-DD date",
    "Nonce": "1 to 4 ASCII digits",
}
"""Each envelope field's documented format, as error messages describe it (EventData: JSON)."""


class _JsonRefused(ValueError):
    """JSON that `json` would read but a callback must not hold (internal)."""


def _refuse_constant(name: str) -> NoReturn:
    raise _JsonRefused(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _JsonRefused(f"duplicate key {snippet(key)}")
        out[key] = value
    return out


def _json_reason(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, _JsonRefused):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return f"an unreadable value ({type(exc).__name__}: a number with too many digits?)"


def loads_json(text: str, what: str, *, unique_keys: bool = False) -> Any:
    """``json.loads(text)``, refusing NaN and Infinity (and duplicate keys when ``unique_keys``);
    `MalformedCallback` "``what`` is not JSON: ..." for anything unreadable."""
    problem: str | None = None
    value: Any = None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_keys if unique_keys else None,
            parse_constant=_refuse_constant,
        )
    except (ValueError, RecursionError) as exc:
        problem = _json_reason(exc)
    if problem is not None:
        raise MalformedCallback(f"{what} is not JSON: {problem}")
    return value


def _body_kind(body: object) -> str | None:
    try:
        if isinstance(body, bytes | bytearray | memoryview):
            return "bytes"
        if isinstance(body, str):
            return "str"
        if isinstance(body, Mapping):
            return "mapping"
    except Exception:  # an object whose __class__ lies or raises
        return None
    return None


def copy_mapping(value: object, what: str = "callback body") -> dict[str, Any]:
    """A plain dict copy of a mapping with str keys (exact str), or `MalformedCallback`; the
    mapping's own code may raise anything, which is reported by type only."""
    problem: str | None = None
    out: dict[str, Any] = {}
    try:
        if not isinstance(value, Mapping):
            problem = f"{what} is not a JSON object (got {json_type(value)})"
        else:
            for key in value:
                if not isinstance(key, str):
                    problem = f"{what} has a non-string key"
                    break
                out[str.__str__(key)] = value[key]
    except Exception as exc:
        problem = f"{what} could not be read as a mapping ({type(exc).__name__})"
    if problem is not None:
        raise MalformedCallback(problem)
    return out


def load_body(body: object) -> dict[str, Any]:
    """The fields of a callback body (bytes as UTF-8 JSON, str as JSON, or a mapping), as a plain
    dict with str keys. `UnsupportedBody` for another type, `MalformedCallback` when unreadable."""
    kind = _body_kind(body)
    if kind is None:
        raise UnsupportedBody(
            f"callback body must be bytes, str or a mapping, not {type(body).__name__}"
        )
    if kind == "mapping":
        return copy_mapping(body)
    text, problem = _text_of(body)
    if text is None:
        raise MalformedCallback(problem or "callback body could not be read")
    return copy_mapping(loads_json(text, "callback body", unique_keys=True))


def _text_of(body: object) -> tuple[str | None, str | None]:
    """(text, None) for a str or UTF-8 bytes-like body, else (None, what is wrong)."""
    try:
        if isinstance(body, str):
            return str.__str__(body), None
        if isinstance(body, bytes | bytearray | memoryview):
            return bytes(body).decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, f"callback body is not UTF-8 ({exc.reason} at byte {exc.start})"
    except Exception as exc:  # a bytes-like object whose buffer cannot be read
        return None, f"callback body could not be read ({type(exc).__name__})"
    return None, "callback body could not be read"


def _string_field(fields: Mapping[str, Any], key: str) -> str:
    value = fields.get(key)
    if value is None:
        raise MalformedCallback(f"callback body: field {key!r} is missing (or null)")
    if not isinstance(value, str):
        raise MalformedCallback(
            f"callback body: field {key!r} is not a string (got {json_type(value)})"
        )
    value = str.__str__(value)  # an exact str, whatever a subclass overrides
    if _SURROGATE.search(value):
        raise MalformedCallback(
            f"callback body: field {key!r} holds a lone surrogate (a \\ud800-\\udfff escape), "
            "which has no UTF-8 form and cannot be signed"
        )
    return value


def nonce_key(fields: Mapping[str, Any]) -> str:
    """The nonce's key in ``fields``: ``Nonce`` if present, else ``Noce``."""
    for key in NONCE_KEYS:
        if key in fields:
            return key
    raise MalformedCallback("callback body: field 'Nonce' (or 'Noce') is missing")


def signed_values(fields: Mapping[str, Any]) -> dict[str, str]:
    """The seven signed values, as exact strs without lone surrogates, keyed by field name (the
    nonce under ``Nonce`` whatever its spelling). `MalformedCallback` when one is missing or not a
    string. Formats are not checked here (see `format_problem`)."""
    values = {key: _string_field(fields, key) for key in SIGNED_FIELDS}
    values["Nonce"] = _string_field(fields, nonce_key(fields))
    return values


def _valid_version(value: str) -> bool:
    if value in API_VERSIONS:
        return True
    m = _DATE_PATTERN.fullmatch(value)
    if m is None:
        return False
    try:
        date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return False
    return True


def format_problem(key: str, value: str) -> str | None:
    """None when ``value`` has the documented format of envelope field ``key`` (EventType,
    EventId, AppId, Version, Nonce; EventTime is read by `parse_event_time`, EventData is any
    JSON text), else what is wrong, for a message."""
    ok: bool
    if key == "EventType":
        ok = EVENT_TYPE_PATTERN.fullmatch(value) is not None
    elif key in ("EventId", "AppId"):
        ok = ID_PATTERN.fullmatch(value) is not None
    elif key == "Version":
        ok = _valid_version(value)
    elif key in NONCE_KEYS:
        ok = NONCE_PATTERN.fullmatch(value) is not None
    else:
        return None
    if ok:
        return None
    return f"field {key!r} is not {FORMATS['Nonce' if key == 'Noce' else key]}: {snippet(value)}"


def expected_app_ids(app_ids: Iterable[str] | None) -> frozenset[str] | None:
    """``app_ids`` as a frozenset, checked: None (any AppId), or a non-empty collection of AppIds
    under the ID naming rule. TypeError or ValueError otherwise (a configuration mistake)."""
    if app_ids is None:
        return None
    if isinstance(app_ids, str | bytes | bytearray):
        raise TypeError("app_ids must be a collection of AppIds, not a single string")
    ids = frozenset(app_ids)
    if not ids:
        raise ValueError("app_ids must not be empty (None accepts any AppId)")
    for app_id in ids:
        if not isinstance(app_id, str) or ID_PATTERN.fullmatch(app_id) is None:
            raise ValueError(
                f"app_ids: {app_id!r} is not an AppId (1 to 128 letters, digits or _ @ . -)"
            )
    return ids
