"""``verify-callback``: check a saved callback body's signature and print the parsed event."""

from __future__ import annotations

import argparse

from .io import (
    EXIT_OK,
    EXIT_REJECTED,
    PROG,
    CliError,
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
    max_future = None if args.max_age is None else MAX_FUTURE
    try:
        event = parse(raw, secret=secret, max_age=args.max_age, max_future=max_future)
    except CallbackError as exc:
        raise CliError(f"{name}: invalid callback ({type(exc).__name__}): {exc}",
                       EXIT_REJECTED) from None  # fmt: skip
    out(dump(event.to_json_dict()))
    err(f"{PROG}: {name}: valid {event.event_type} callback, EventId {event.event_id}")
    return EXIT_OK
