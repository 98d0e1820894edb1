"""``verify-callback``: check a saved callback body's signature and print the parsed event."""

from __future__ import annotations

import argparse
from typing import Any

from .io import (
    EXIT_OK,
    EXIT_REJECTED,
    PROG,
    CliError,
    decode_json,
    display_name,
    dump,
    env_secret,
    err,
    out,
    read_bytes,
)

__all__ = ["cmd_verify_callback"]

# With --max-age, an event stamped further ahead than this is refused too (a skewed clock).
MAX_FUTURE = 300.0


def cmd_verify_callback(args: argparse.Namespace) -> int:
    from ..callbacks import CallbackError, parse

    secret = env_secret(args.secret_env, "--secret-env")
    name = display_name(args.file)
    raw = read_bytes(args.file)
    received = decode_json(name, raw)  # not JSON: exit 2, as for every command
    max_future = None if args.max_age is None else MAX_FUTURE
    try:
        event = parse(raw, secret=secret, max_age=args.max_age, max_future=max_future)
    except CallbackError as exc:
        raise CliError(f"{name}: invalid callback ({type(exc).__name__}): {exc}",
                       EXIT_REJECTED) from None  # fmt: skip
    out(dump(_as_received(received, event.raw_event_data)))
    err(f"{PROG}: {name}: valid {event.event_type} callback, EventId {event.event_id}")
    return EXIT_OK


def _as_received(received: Any, raw_event_data: str) -> dict[str, Any]:
    """The callback as it came, in the API's keys, with EventData decoded (a JSON string in the
    body) and without the Signature (checked; it says nothing more)."""
    import json

    shown: dict[str, Any] = {k: v for k, v in received.items() if k != "Signature"}
    try:
        shown["EventData"] = json.loads(raw_event_data)
    except ValueError:
        shown["EventData"] = raw_event_data
    return shown
