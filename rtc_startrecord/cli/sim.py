"""``sim``: drive a running ``serve`` from another terminal, through its admin API.

``sim tasks``, ``sim publish``, ``sim unpublish``, ``sim advance DURATION`` and
``sim faults [KIND]`` call ``/_simulator/api/...`` (`rtc_startrecord.simulator.admin`) at
``--endpoint`` (default ``$RTC_ENDPOINT``) with the run's token (``--token``, default
``$RTC_SIMULATOR_TOKEN``; ``serve`` prints both). Each prints the admin API's JSON answer.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import TYPE_CHECKING, Any

from .io import EXIT_OK, EXIT_REJECTED, PROG, CliError, dump, err, out

if TYPE_CHECKING:
    from ..simulator.admin_client import AdminClient

__all__ = ["STREAM_TYPES", "cmd_sim", "parse_duration", "parse_stream_type"]

STREAM_TYPES = {"main": 0, "screen": 1, "0": 0, "1": 1}
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|min|m|h|d)?\s*$")


def parse_duration(text: str) -> float:
    """``30``, ``30s``, ``1500ms``, ``5m``, ``2h``, ``1d``: seconds of simulated time."""
    m = _DURATION_RE.match(text.lower())
    if not m:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration; use seconds (30), or a number with ms, s, m, h or d "
            "(1500ms, 5m, 2h)"
        )
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def parse_stream_type(text: str) -> int:
    """``main`` (0) or ``screen`` (1)."""
    try:
        return STREAM_TYPES[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a stream type; use main (0) or screen (1)"
        ) from None


def _client(args: argparse.Namespace, *, needs_token: bool) -> AdminClient:
    from ..client import ENDPOINT_ENV
    from ..simulator.admin import TOKEN_ENV
    from ..simulator.admin_client import AdminClient

    endpoint = args.endpoint or os.environ.get(ENDPOINT_ENV)
    if not endpoint:
        raise CliError(f"no simulator to talk to: give --endpoint URL or set ${ENDPOINT_ENV} "
                       "to the URL 'rtc-startrecord serve' printed")  # fmt: skip
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if needs_token and not token:
        raise CliError(f"this command changes the simulation and needs the token "
                       f"'rtc-startrecord serve' printed: set ${TOKEN_ENV} "
                       "or give --token")  # fmt: skip
    try:
        return AdminClient(endpoint, token, timeout=args.timeout)
    except ValueError as exc:
        raise CliError(f"--endpoint: {exc}; give the URL 'rtc-startrecord serve' printed, "
                       "like http://127.0.0.1:8080") from None  # fmt: skip


def cmd_sim(args: argparse.Namespace) -> int:
    """Run one ``sim`` subcommand; its JSON answer to stdout, a one-line summary to stderr."""
    import urllib3

    from ..simulator.admin import AdminError

    what: str = args.sim_command
    needs_token = what in ("publish", "unpublish", "advance") or (
        what == "faults" and args.kind is not None
    )
    client = _client(args, needs_token=needs_token)
    try:
        with client:
            answer = _call(client, args)
    except AdminError as exc:
        err(f"{PROG}: sim {what}: refused by the simulator (HTTP {exc.status}): "
            f"{exc.code}: {exc.message}")  # fmt: skip
        return EXIT_REJECTED
    except urllib3.exceptions.HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc
        raise CliError(f"network: could not reach the simulator at {client.endpoint} (1 attempt, "
                       f"not retried): {reason}; check that 'rtc-startrecord serve' is running "
                       "and that --endpoint or $RTC_ENDPOINT is the URL it "
                       "printed") from None  # fmt: skip
    except ValueError as exc:
        raise CliError(f"{exc}; check --endpoint (or $RTC_ENDPOINT): it must be the URL "
                       "'rtc-startrecord serve' printed") from None  # fmt: skip
    out(dump(answer))
    summary = _summary(what, args, answer)
    if summary:
        err(f"{PROG}: {summary}")
    return EXIT_OK


def _call(client: AdminClient, args: argparse.Namespace) -> Any:
    what = args.sim_command
    if what == "tasks":
        return client.tasks()
    if what in ("publish", "unpublish"):
        body: dict[str, Any] = {
            "AppId": args.app_id,
            "RoomId": args.room_id,
            "UserId": args.user_id,
            "StreamType": args.stream_type,
        }
        if what == "publish":
            body.update({k: v for k, v in (("Width", args.width), ("Height", args.height)) if v})
        return client.request("POST", f"/{what}", body)
    if what == "advance":
        return client.request("POST", "/advance", {"Milliseconds": round(args.duration * 1000)})
    if args.kind is None:
        return client.faults()
    params: dict[str, Any] = {}
    if args.kind != "clear":
        params["Count"] = args.count
    if args.kind == "delay":
        if args.seconds is None:
            raise CliError("sim faults delay needs --seconds S (how long each request waits)")
        params["Seconds"] = args.seconds
    elif args.seconds is not None:
        raise CliError("--seconds goes with 'sim faults delay' only")
    if args.kind == "error":
        params["Status"] = 502 if args.status is None else args.status
    elif args.status is not None:
        raise CliError("--status goes with 'sim faults error' only")
    if args.kind == "clear" and args.count != 1:
        raise CliError("--count does not go with 'sim faults clear'")
    return client.add_fault(args.kind, **params)


def _summary(what: str, args: argparse.Namespace, answer: Any) -> str | None:
    if not isinstance(answer, dict):
        return None
    if what == "tasks":
        tasks = answer.get("Tasks") or []
        files = sum(len(t.get("RecordFileList") or []) for t in tasks if isinstance(t, dict))
        return f"{len(tasks)} task(s), {files} file(s)"
    if what == "advance":
        ended = answer.get("Ended") or []
        names = ", ".join(f"{t.get('TaskId')} ({t.get('StopReason')})" for t in ended)
        return f"clock moved {args.duration:g}s" + (f"; ended: {names}" if names else "")
    if what in ("publish", "unpublish"):
        return f"{what}ed {args.user_id} (StreamType {args.stream_type}) in room {args.room_id}"
    return f"{answer.get('Pending', 0)} fault(s) pending"
