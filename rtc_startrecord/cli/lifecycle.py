"""The actions: ``start``, ``stop``, ``update`` and ``get`` (``get --wait``: see `.wait`).

Each validates FILE for ``--api-version`` (`check_body`), then signs and sends it, or prints the
signed request (``--dry-run``), against ``--endpoint`` or an embedded simulator (``--local``).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..redaction import REDACTED
from .io import (
    EXIT_OK,
    EXIT_REJECTED,
    PROG,
    CliError,
    display_name,
    dump,
    err,
    load_object,
    out,
)
from .validate import check_body
from .wait import wait_for_status

if TYPE_CHECKING:
    from ..client_core import RawResponse
    from ..errors import RtcApiError
    from ..redaction import Redactor
    from ..v2020_12_01 import RtcClient

__all__ = ["action_command", "refused"]

log = logging.getLogger("rtc_startrecord.cli")


def action_command(action: str) -> Callable[[argparse.Namespace], int]:
    """The command that runs `action` (StartRecord, StopRecord, UpdateRecord, GetRecordTask)."""

    def run(args: argparse.Namespace) -> int:
        name = display_name(args.file)
        body = load_object(args.file)
        args.redactor.learn(body, args.api_version)
        body = _project(name, body, action, args.api_version)
        check_body(args, name, body, action)
        if getattr(args, "local", False):
            return _run_local(args, action, body)
        client = _client(args, _credentials(), args.endpoint)
        with client:
            if args.dry_run:
                _print_dry_run(client, action, body, args.json, args.redactor)
                return EXIT_OK
            if action == "GetRecordTask" and args.wait is not None:
                return _wait(args, client, body)
            return _run_action(args, client, action, body)

    return run


def _project(name: str, body: dict[str, Any], action: str, version: str) -> dict[str, Any]:
    """For StopRecord and GetRecordTask: keep only the keys the action takes.

    So the StartRecord body can be reused to stop or query its task. Other actions are unchanged.
    """
    if action not in ("StopRecord", "GetRecordTask"):
        return body
    from .. import spec

    op = spec.operation(action, version)
    schema = spec.bundle(version)["components"]["schemas"][op.request]
    keys = set(schema.get("properties", {}))
    dropped = sorted(k for k in body if k not in keys)
    if not dropped:
        return body
    log.debug("%s: %s takes only %s; ignoring %s", name, action, ", ".join(sorted(keys)),
              ", ".join(dropped))  # fmt: skip
    return {k: v for k, v in body.items() if k in keys}


def _credentials() -> Any:
    from ..credentials import Credentials

    return Credentials.from_env()  # CredentialsNotFound -> exit 2 in main


def _client(args: argparse.Namespace, credentials: Any, endpoint: str | None) -> RtcClient:
    from ..v2020_12_01 import RtcClient

    try:
        client: RtcClient = RtcClient(credentials, version=args.api_version, endpoint=endpoint,
                                      region=args.region, qps=None)  # fmt: skip
    except ValueError as exc:  # a malformed --endpoint
        raise CliError(f"--endpoint: {exc}; give a URL like https://rtc.volcengineapi.com or "
                       "the one 'serve' prints") from None  # fmt: skip
    return client


def answer_json(args: argparse.Namespace, raw: RawResponse) -> str:
    """The answer to print: the envelope as received (`call_raw`), redacted. Printed as
    received so that keys a newer service adds are kept (the response models drop keys they do
    not know)."""
    redactor: Redactor = args.redactor
    return redactor.json(raw.envelope)


def _run_local(args: argparse.Namespace, action: str, body: dict[str, Any]) -> int:
    from ..credentials import resolve_region
    from ..simulator import Simulator

    region = resolve_region(args.region)
    with Simulator(region=region) as sim:
        err(f"{PROG}: local simulator at {sim.url} (stops when this command ends)")
        client = _client(args, sim.credentials, sim.url)
        with client:
            if args.dry_run:
                _print_dry_run(client, action, body, args.json, args.redactor)
                return EXIT_OK
            return _run_action(args, client, action, body)


def _print_dry_run(
    client: RtcClient, action: str, body: dict[str, Any], as_json: bool, redactor: Redactor
) -> None:
    from ..wire import dumps

    prepared = client.prepare(action, body)
    headers = prepared.redacted_headers()
    text = prepared.body.decode("utf-8")
    if text and redactor.found:
        text = dumps(redactor.data(json.loads(text))).decode("utf-8")
    url = redactor.text(prepared.url)
    hidden = sorted(set(redactor.paths))
    note = (
        f"the values of {', '.join(hidden)} are credentials and were redacted (shown as "
        f'"{REDACTED}"); the signature and X-Content-Sha256 are of the real body'
    )
    if as_json:
        shown: dict[str, Any] = {"method": prepared.method, "url": url, "headers": headers,
                                 "body": text}  # fmt: skip
        if hidden:
            shown["redacted"] = hidden
            shown["note"] = note
        out(dump(shown))
        return
    out(f"{prepared.method} {url}")
    for key, value in headers.items():
        out(f"{key}: {value}")
    out()
    if text:
        out(text)
    if hidden:
        err(f"{PROG}: dry run: {note}")
    err(f"{PROG}: dry run: {action} (API version {client.version}) signed as above; "
        "nothing sent")  # fmt: skip


def _run_action(
    args: argparse.Namespace, client: RtcClient, action: str, body: dict[str, Any]
) -> int:
    from ..errors import RtcApiError

    try:
        raw = client.call_raw(action, body)
    except RtcApiError as exc:
        return refused(args, action, exc)
    response = raw.parsed
    out(answer_json(args, raw))
    if action == "StartRecord":
        from ..outcomes import StartOutcome, start_outcome

        if start_outcome(response) is StartOutcome.ALREADY_RUNNING:
            err(f"{PROG}: task {body.get('TaskId')} was already running: this start changed "
                "nothing; use 'update' to change it, 'stop' to end it, or another TaskId for "
                "a new task")  # fmt: skip
    return EXIT_OK


def _wait(args: argparse.Namespace, client: RtcClient, body: dict[str, Any]) -> int:
    from ..errors import RtcApiError

    try:
        return wait_for_status(args, client, body)
    except RtcApiError as exc:  # the progress so far stays printed
        return refused(args, "GetRecordTask", exc)


def refused(args: argparse.Namespace, action: str, exc: RtcApiError) -> int:
    """A service error: code, message and RequestId to stderr (--json: the envelope to stdout)."""
    from ..errors import StopMayHaveSucceeded, TaskMayAlreadyExist

    redactor: Redactor = args.redactor
    message = redactor.text(exc.message)
    if isinstance(exc, TaskMayAlreadyExist | StopMayHaveSucceeded):
        started = isinstance(exc, TaskMayAlreadyExist)
        err(f"{PROG}: {action}: the first attempt got no clear answer (the connection failed "
            "or the service answered 5xx), and the retry found the task "
            + ("already running: the first attempt most likely started it. "
               if started else "no longer running: the first attempt most likely stopped it. ")
            + "Check with 'get' before trying again.")  # fmt: skip
    err(f"{PROG}: {action} refused by the service: {redactor.text(exc.code)}: {message}")
    err(f"  HTTP {exc.http_status if exc.http_status is not None else '-'}, "
        f"RequestId {exc.request_id or '-'}")  # fmt: skip
    if exc.code == "InvalidActionOrVersion":
        err(f"  the endpoint does not take {action} in API version {args.api_version}: "
            "check --endpoint, or pick the --api-version it speaks")  # fmt: skip
    if args.json:
        envelope = _error_envelope(exc)
        envelope["ResponseMetadata"]["Error"]["Message"] = message
        out(redactor.json(envelope))
    return EXIT_REJECTED


def _error_envelope(exc: RtcApiError) -> dict[str, Any]:
    """The error envelope, rebuilt from the error's fields (the client keeps no raw copy)."""
    error: dict[str, Any] = {"Code": exc.code}
    if exc.code_n is not None:
        error["CodeN"] = exc.code_n
    error["Message"] = exc.message
    meta: dict[str, Any] = {"RequestId": exc.request_id or ""}
    if exc.action:
        meta["Action"] = exc.action
    meta["Error"] = error
    return {"ResponseMetadata": meta}
