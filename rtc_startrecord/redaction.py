"""Hiding bucket credentials: the values of the spec's writeOnly properties never reach output.

One implementation for every place that might echo a body: validation and wire-format messages
(jsonschema-rs and cattrs quote values, also inside a serialized parent object) and everything
the CLI prints. Redaction is by value and by key, so a secret is hidden wherever it is echoed.
"""

from __future__ import annotations

import json
import re
from contextlib import suppress
from typing import Any

import attrs

from . import spec
from .errors import Problem

__all__ = [
    "CROSS_VERSION_SECRET_KEYS",
    "REDACTED",
    "Redactor",
    "body_repr",
    "hide_echoes",
    "redact_problems",
]

REDACTED = "<redacted>"

#: Hidden in every version, beside the version's own `spec.secret_keys`: so that a body sent with
#: the wrong version (where these are unknown keys) still never shows them. A test keeps this
#: equal to the union of `spec.secret_keys` over all versions.
CROSS_VERSION_SECRET_KEYS = frozenset({"AccessKey", "SecretKey", "SecurityToken"})


def _leaf_strings(value: Any) -> list[str]:
    """Every non-empty string inside nested lists and dicts (keys included)."""
    found: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if node:
                found.append(node)
        elif isinstance(node, dict):
            stack.extend(k for k in node if isinstance(k, str))
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return found


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


class Redactor:
    """Hides the bucket credentials of the bodies read so far in everything the CLI prints.

    `learn(body)` records the values of the secret keys (the spec's writeOnly properties, see
    `rtc_startrecord.spec.secret_keys`) anywhere in a body; `data` replaces them in JSON data,
    `text` in messages (also a value quoted inside a serialized object), `problem` in a Problem.
    """

    def __init__(self) -> None:
        self.keys: frozenset[str] = CROSS_VERSION_SECRET_KEYS
        self.paths: list[str] = []  # where secrets were found, in reading order
        self._strings: list[str] = []
        self._others: list[str] = []  # JSON forms of non-string values under a secret key
        self._kv: re.Pattern[str] | None = None
        self._at_secret: re.Pattern[str] | None = None

    def learn(self, body: Any, version: str) -> None:
        keys = self.keys | spec.secret_keys(version)
        if keys != self.keys or self._kv is None:
            self.keys = keys
            names = "|".join(re.escape(k) for k in sorted(keys))
            # A quoted string, a flat array or object (its members may hold commas), or a bare
            # word; a deeper container is caught by its learned JSON form and its leaf strings.
            value = (
                r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'"
                r"|\[[^\[\]{}]*\]|\{[^\[\]{}]*\}|[^,}\]\s]+"
            )
            self._kv = re.compile(rf"(?P<key>([\"'])(?:{names})\2\s*:\s*)(?:{value})")
            self._at_secret = re.compile(rf"\.(?:{names})(?=$|[.\[])")
        self._walk(body, "$")

    def _walk(self, node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                here = f"{path}.{key}"
                if key in self.keys:
                    self.paths.append(here)
                    if isinstance(value, str):
                        if value:
                            self._strings.append(value)
                    else:
                        # A list or object where a string belongs: each string in it is as
                        # secret as the whole (a message may quote one member alone).
                        self._strings.extend(_leaf_strings(value))
                        with suppress(TypeError, ValueError):  # not JSON: nothing prints it
                            for ascii_only in (True, False):
                                self._others.append(
                                    json.dumps(
                                        value, separators=(",", ":"), ensure_ascii=ascii_only
                                    )
                                )
                else:
                    self._walk(value, here)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self._walk(value, f"{path}[{i}]")

    @property
    def found(self) -> bool:
        return bool(self.paths)

    def data(self, value: Any) -> Any:
        """A copy of JSON data with the value of every secret key replaced by "<redacted>"."""
        if isinstance(value, dict):
            return {k: REDACTED if k in self.keys else self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value

    def json(self, value: Any) -> str:
        """JSON data as the CLI prints it, secret keys and any echoed secret value hidden."""
        return self.text(_dump(self.data(value)))

    def text(self, text: str, *, at_secret: bool = False) -> str:
        """`text` with every secret value the bodies hold replaced by <redacted>."""
        if not self.paths:
            return text
        # Whole non-string values first, before their member strings are replaced inside them.
        for form in sorted(set(self._others), key=len, reverse=True):
            # A bare number or word is hidden only in a message about the secret itself (it
            # could be any other value too); an array or object form is distinctive anywhere.
            if at_secret or form[0] in "[{":
                text = re.sub(rf"(?<![\w.]){re.escape(form)}(?![\w.])", REDACTED, text)
        for secret in sorted(self._strings, key=len, reverse=True):
            forms = {
                json.dumps(secret),
                json.dumps(secret, ensure_ascii=False),
                repr(secret),
            }
            for form in sorted(forms, key=len, reverse=True):
                text = text.replace(form, f'"{REDACTED}"')
            if len(secret) >= 4:  # shorter ones only where quoted, not to garble other words
                text = text.replace(secret, REDACTED)
        if self._kv is not None:
            text = self._kv.sub(lambda m: f'{m.group("key")}"{REDACTED}"', text)
        return text

    def problem(self, p: Problem) -> Problem:
        at_secret = self._at_secret is not None and bool(self._at_secret.search(p.path))
        message = self.text(p.message, at_secret=at_secret)
        if message == p.message:
            return p
        return attrs.evolve(p, message=message)


def redact_problems(problems: list[Problem], body: Any, version: str) -> list[Problem]:
    """`problems` about `body` with every secret value of the body hidden in their messages."""
    redactor = Redactor()
    redactor.learn(body, version)
    if not redactor.found:
        return problems
    return [redactor.problem(p) for p in problems]


def body_repr(body: Any) -> str:
    """The repr of a wire body with the value of every secret key (of any version) hidden.

    For the attrs fields of objects that keep a request body (a simulator task, a migration):
    their reprs end up in logs, tracebacks and pytest's assertion output."""
    return repr(Redactor().data(body))


def hide_echoes(exc: BaseException, body: bytes, version: str) -> None:
    """Hide, in place, the bucket credentials of a sent request body wherever the error of its
    call repeats them: a service message quoting the body, a proxy page echoing it.

    The error path only (it parses the body again); a body without secrets leaves `exc` alone.
    """
    try:
        data = json.loads(body)
    except ValueError:
        return
    redactor = Redactor()
    redactor.learn(data, version)
    if not redactor.found:
        return
    exc.args = tuple(redactor.text(a) if isinstance(a, str) else a for a in exc.args)
    for name in ("message", "code"):  # RtcApiError's fields
        value = getattr(exc, name, None)
        if isinstance(value, str):
            setattr(exc, name, redactor.text(value))
    start = getattr(exc, "body_start", None)  # UnexpectedResponse: the answer's first bytes
    if isinstance(start, bytes):
        text = redactor.text(start.decode("utf-8", "replace"))
        exc.body_start = text.encode()  # type: ignore[attr-defined]
