"""Access key credentials and where to find them.

`Credentials.from_env` follows the chain of ``design/decisions.md`` ("Credentials and secrets"),
first match wins:

1. ``VOLC_ACCESSKEY`` + ``VOLC_SECRETKEY`` (the official ``volcengine`` SDK's names), with an
   optional ``VOLC_SESSION_TOKEN`` (our addition; the SDK itself reads no token variable);
2. ``~/.volc/credentials``, an INI file: section ``[default]``, keys ``access_key_id`` and
   ``secret_access_key`` (optional ``session_token``);
3. ``~/.volc/config``, JSON: keys ``ak`` and ``sk`` (optional ``session_token``);
4. ``VOLCENGINE_ACCESS_KEY`` + ``VOLCENGINE_SECRET_KEY`` (optional ``VOLCENGINE_SESSION_TOKEN``),
   the newer SDK's and ``ve`` CLI's names;
5. ``~/.volcengine/config.json``, JSON: flat keys ``access_key_id`` / ``secret_access_key``
   (optional ``session_token``), else flat ``ak`` / ``sk``, else the ``ve`` CLI layout
   ``{"current": NAME, "profiles": {NAME: {"access-key", "secret-key", "session-token"}}}``.

A variable or key set to the empty string counts as unset, and a place holding only half of a key
pair is skipped (the `CredentialsNotFound` message says so). The winning place is logged by name
(never by value) on the ``rtc_startrecord`` logger at DEBUG and kept in `Credentials.source`.
"""

from __future__ import annotations

import configparser
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import attrs

from .errors import RtcError

__all__ = [
    "DEFAULT_REGION",
    "Credentials",
    "CredentialsNotFound",
    "resolve_region",
]

DEFAULT_REGION = "cn-north-1"
_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

logger = logging.getLogger("rtc_startrecord")


class CredentialsNotFound(RtcError):
    """No place in the credential chain held a complete access key pair."""

    def __init__(self, looked: list[str]) -> None:
        self.looked = list(looked)
        lines = ["No Volcengine access key found. Looked in, in this order:"]
        lines.extend(f"  {i}. {place}" for i, place in enumerate(self.looked, 1))
        lines.append(
            "Pass Credentials(access_key_id, secret_access_key) explicitly, or export "
            "VOLC_ACCESSKEY and VOLC_SECRETKEY (or VOLCENGINE_ACCESS_KEY and "
            "VOLCENGINE_SECRET_KEY), or write ~/.volc/credentials with a [default] section "
            "holding access_key_id and secret_access_key. Keys are managed in the Volcengine "
            "console under IAM > Access keys."
        )
        super().__init__("\n".join(lines))


def _empty_to_none(value: str | None) -> str | None:
    return value or None


def _non_empty_str(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{attribute.name} is empty")


def _header_safe(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """The access key id and the session token travel in headers (Authorization,
    X-Security-Token): a character outside printable ASCII would make the HTTP library refuse
    the request with the value in its message, or send a broken header. The error names the
    position and the character, never the value."""
    if not isinstance(value, str):
        return  # None (no token), or a type the other validator refuses
    for i, ch in enumerate(value):
        if not "!" <= ch <= "~":
            raise ValueError(
                f"{attribute.name} has a character that cannot go in an HTTP header at position "
                f"{i} (U+{ord(ch):04X}); check where it was copied from (a stray newline or space "
                "from a file or variable?)"
            )


def _utf8(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """The secret enters HMAC as UTF-8: bytes that were not UTF-8 (kept by Python as lone
    surrogates, from an environment variable or a file) are named by position, not shown."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"{attribute.name} is not UTF-8 text (position {exc.start}); check where it was "
                "copied from"
            ) from None


@attrs.frozen(repr=False)
class Credentials:
    """An access key pair (and optional STS session token).

    Its repr and str show the access key id and `source` only; it refuses to be pickled, so the
    secret cannot leak into a pickle, a cache or a multiprocessing queue by accident. An empty
    ``session_token`` is stored as None.
    """

    access_key_id: str = attrs.field(validator=[_non_empty_str, _header_safe])
    secret_access_key: str = attrs.field(validator=[_non_empty_str, _utf8])
    session_token: str | None = attrs.field(
        default=None, converter=_empty_to_none, validator=_header_safe
    )
    source: str = attrs.field(default="explicit", kw_only=True)
    """Where these came from: ``explicit``, ``env:VOLC_ACCESSKEY``, ``file:~/.volc/credentials``,
    ``file:~/.volc/config``, ``env:VOLCENGINE_ACCESS_KEY`` or ``file:~/.volcengine/config.json``."""

    def __repr__(self) -> str:
        token = ", session_token=<set>" if self.session_token else ""
        return (
            f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key=<hidden>"
            f"{token}, source={self.source!r})"
        )

    __str__ = __repr__

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("Credentials cannot be pickled: that would write the secret access key")

    def __reduce__(self) -> NoReturn:
        raise TypeError("Credentials cannot be pickled: that would write the secret access key")

    def __getstate__(self) -> NoReturn:
        raise TypeError("Credentials cannot be pickled: that would write the secret access key")

    def __copy__(self) -> Credentials:
        return self

    def __deepcopy__(self, memo: object) -> Credentials:
        return self

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, home: Path | None = None
    ) -> Credentials:
        """Find credentials along the chain in the module docstring (first complete pair wins).

        ``environ`` defaults to ``os.environ``; ``home`` to ``$HOME`` from ``environ``, else
        `Path.home`. Raises `CredentialsNotFound`, listing every place looked, when none has a pair.
        """
        env = os.environ if environ is None else environ
        if home is None:
            home_env = env.get("HOME")
            home = Path(home_env) if home_env else Path.home()
        # The chain, in order (decisions.md): each step returns Credentials or what it saw.
        chain: list[Callable[[], Credentials | str]] = [
            lambda: _from_env_pair(
                env, "VOLC_ACCESSKEY", "VOLC_SECRETKEY", "VOLC_SESSION_TOKEN", "env:VOLC_ACCESSKEY"
            ),
            lambda: _from_volc_credentials(home / ".volc" / "credentials"),
            lambda: _from_volc_config(home / ".volc" / "config"),
            lambda: _from_env_pair(
                env,
                "VOLCENGINE_ACCESS_KEY",
                "VOLCENGINE_SECRET_KEY",
                "VOLCENGINE_SESSION_TOKEN",
                "env:VOLCENGINE_ACCESS_KEY",
            ),
            lambda: _from_volcengine_config(home / ".volcengine" / "config.json"),
        ]
        looked: list[str] = []
        for step in chain:
            found = step()
            if isinstance(found, Credentials):
                return _won(found)
            looked.append(found)
        raise CredentialsNotFound(looked)


def resolve_region(explicit: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The region: ``explicit`` if given, else ``$VOLC_REGION``, else ``cn-north-1``."""
    env = os.environ if environ is None else environ
    region = explicit or env.get("VOLC_REGION") or DEFAULT_REGION
    if not _REGION.fullmatch(region):  # it is signed and sent: a stray newline breaks a header
        where = "region" if explicit else "VOLC_REGION"
        raise ValueError(
            f"{where} {region!r} is not a region name (lower-case letters, digits and '-', "
            "such as cn-north-1)"
        )
    return region


# --------------------------------------------------------------------------------------------------
# Each finder returns Credentials, or a line for the not-found message (never a value).


def _won(credentials: Credentials) -> Credentials:
    logger.debug("credentials found in %s", credentials.source)
    return credentials


def _pair(
    ak: object, sk: object, token: object, source: str, what: str, ak_name: str, sk_name: str
) -> Credentials | str:
    ak = ak if isinstance(ak, str) and ak else None
    sk = sk if isinstance(sk, str) and sk else None
    if ak and sk:
        try:
            return Credentials(
                ak, sk, token if isinstance(token, str) and token else None, source=source
            )
        except ValueError as exc:  # a value no request can carry: say where it was found
            raise ValueError(f"{what}: {exc}") from None
    if ak or sk:
        have, missing = (ak_name, sk_name) if ak else (sk_name, ak_name)
        return f"{what}: {have} is set but {missing} is missing or empty; skipped"
    return f"{what}: not set"


def _from_env_pair(
    env: Mapping[str, str], ak_var: str, sk_var: str, token_var: str, source: str
) -> Credentials | str:
    what = f"environment variables {ak_var} and {sk_var} (optional {token_var})"
    return _pair(env.get(ak_var), env.get(sk_var), env.get(token_var), source, what, ak_var, sk_var)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _from_volc_credentials(path: Path) -> Credentials | str:
    what = f"{path} (INI, [default] access_key_id and secret_access_key)"
    try:
        text = _read_text(path)
        if text is None:
            return f"{what}: no such file"
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text, source=str(path))
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        logger.debug("cannot read %s: %s", path, type(exc).__name__)
        return f"{what}: unreadable ({type(exc).__name__}); skipped"
    if not parser.has_section("default"):
        return f"{what}: no [default] section"
    section = parser["default"]
    return _pair(
        section.get("access_key_id"),
        section.get("secret_access_key"),
        section.get("session_token"),
        "file:~/.volc/credentials",
        what,
        "access_key_id",
        "secret_access_key",
    )


def _load_json(path: Path, what: str) -> dict[str, Any] | str:
    try:
        text = _read_text(path)
        if text is None:
            return f"{what}: no such file"
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        logger.debug("cannot read %s: %s", path, type(exc).__name__)
        return f"{what}: unreadable ({type(exc).__name__}); skipped"
    if not isinstance(data, dict):
        return f"{what}: not a JSON object; skipped"
    return data


def _from_volc_config(path: Path) -> Credentials | str:
    what = f"{path} (JSON, keys ak and sk)"
    data = _load_json(path, what)
    if isinstance(data, str):
        return data
    return _pair(
        data.get("ak"),
        data.get("sk"),
        data.get("session_token"),
        "file:~/.volc/config",
        what,
        "ak",
        "sk",
    )


def _from_volcengine_config(path: Path) -> Credentials | str:
    what = (
        f"{path} (JSON, keys access_key_id and secret_access_key, or ak and sk, "
        "or the ve CLI's current profile)"
    )
    data = _load_json(path, what)
    if isinstance(data, str):
        return data
    source = "file:~/.volcengine/config.json"
    candidates: list[tuple[object, object, object, str, str]] = [
        (
            data.get("access_key_id"),
            data.get("secret_access_key"),
            data.get("session_token"),
            "access_key_id",
            "secret_access_key",
        ),
        (data.get("ak"), data.get("sk"), data.get("session_token"), "ak", "sk"),
    ]
    profiles = data.get("profiles")
    current = data.get("current")
    if isinstance(profiles, dict) and isinstance(current, str):
        profile = profiles.get(current)
        if isinstance(profile, dict):
            candidates.append(
                (
                    profile.get("access-key"),
                    profile.get("secret-key"),
                    profile.get("session-token"),
                    f"profiles.{current}.access-key",
                    f"profiles.{current}.secret-key",
                )
            )
    result: Credentials | str = f"{what}: no key pair in it"
    for ak, sk, token, ak_name, sk_name in candidates:
        found = _pair(ak, sk, token, source, what, ak_name, sk_name)
        if isinstance(found, Credentials):
            return found
        if not found.endswith("not set"):
            result = found
    return result
