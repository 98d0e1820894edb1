"""The CLI's plumbing: exit codes, the user error, reading FILE or stdin, printing results.

Results go to stdout (`out`), diagnostics to stderr (`err`); a `CliError` is a user error that
`main` prints without a traceback and exits with its code.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import json_type

if TYPE_CHECKING:
    from ..errors import Problem

__all__ = [
    "EXIT_CODES",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "PROG",
    "STDIN_NAME",
    "CliError",
    "a_json_type",
    "decode_json",
    "display_name",
    "dump",
    "env_secret",
    "err",
    "json_type",
    "load_json",
    "load_object",
    "out",
    "plural",
    "problem_json",
    "problem_line",
    "problems_json",
    "read_bytes",
]

PROG = "rtc-startrecord"

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# The one exit-code table of every command (--help epilogs, docs/cli.md, tests).
EXIT_CODES = (
    "Exit codes (every command): 0 ok; 1 rejected: by validation, by the service or the "
    "simulator, or by a signature check (an invalid callback, a wrong key); 2 usage, I/O, "
    "credentials or transport: bad arguments, a missing or unreadable file, a file that is not "
    "JSON, no credentials or token, the network, a timeout; 130 interrupted."
)

STDIN_NAME = "<stdin>"


class CliError(Exception):
    """A user error: print the message to stderr and exit with `code` (no traceback)."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------------------------
# Output


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def a_json_type(value: Any) -> str:
    """`json_type` with its article: an array, an object, a string, a number, a boolean, null."""
    name = json_type(value)
    return name if name == "null" else f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def problem_line(name: str, p: Problem) -> str:
    return f"{name}: {p}"


def problem_json(name: str, p: Problem) -> dict[str, str]:
    return {"file": name, "path": p.path, "rule": p.rule, "message": p.message,
            "severity": p.severity}  # fmt: skip


def problems_json(version: str, action: str, problems: list[dict[str, str]]) -> str:
    return dump({"version": version, "action": action, "problems": problems})


# --------------------------------------------------------------------------------------------
# Input


def display_name(path: str) -> str:
    return STDIN_NAME if path == "-" else path


#: No request body comes near this (the largest valid StartRecord is about 10 KB); a larger
#: input is refused before it is parsed, so `/dev/zero` or a runaway pipe cannot fill memory.
MAX_INPUT_BYTES = 1 << 20


def read_bytes(path: str) -> bytes:
    """The bytes of FILE, or of stdin for ``-``; CliError (exit 2) naming the file on failure,
    or when it holds more than `MAX_INPUT_BYTES`."""
    name = display_name(path)
    try:
        if path == "-":
            if sys.stdin is None:
                raise CliError(f"{STDIN_NAME}: cannot read: standard input is closed")
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with Path(path).open("rb") as f:
                data = f.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise CliError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise CliError(
            f"{name}: larger than {MAX_INPUT_BYTES >> 20} MiB: not a request body this tool "
            "reads (check the file name)"
        )
    return data


def load_json(path: str) -> Any:
    """FILE parsed as JSON; CliError (exit 2) naming the file when unreadable or not JSON."""
    return decode_json(display_name(path), read_bytes(path))


def decode_json(name: str, raw: bytes) -> Any:
    """`raw` (the bytes of `name`) parsed as JSON; CliError (exit 2) when it is not JSON."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{name}: not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise CliError(f"{name}: not JSON this tool can read: nested too deeply") from None
    except ValueError as exc:  # Python's int limit: "Exceeds the limit (4300 digits) ..."
        raise CliError(f"{name}: not JSON this tool can read: {exc}".split(";")[0]) from None


def load_object(path: str) -> dict[str, Any]:
    """FILE as a JSON object (a request body); not an object is a rejection (exit 1)."""
    data = load_json(path)
    if not isinstance(data, dict):
        raise CliError(
            f"{display_name(path)}: the request body must be a JSON object, "
            f"not {a_json_type(data)}",
            EXIT_REJECTED,
        )
    return data


def env_secret(name: str, flag: str) -> str:
    """The secret in environment variable `name` (given with `flag`); unset or empty: exit 2."""
    value = os.environ.get(name)
    if not value:
        state = "is empty" if value == "" else "is not set"
        raise CliError(f"{flag}: environment variable {name} {state}; export the secret there")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8, kept by Python as lone surrogates
        raise CliError(
            f"{flag}: environment variable {name} is not UTF-8 text; export the secret as "
            "printed in the console"
        ) from None
    return value
