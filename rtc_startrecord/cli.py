"""``rtc-startrecord``: the command line (also ``python -m rtc_startrecord``).

Results go to stdout, diagnostics to stderr; a user error never prints a traceback.

Exit codes (every command):

* 0 -- success (``validate``: every body valid, warnings allowed; ``preview``: written, warnings
  allowed; ``verify-callback``: valid; ``get --wait``: the status was reached);
* 1 -- the input was rejected: validation errors, a service error (``RtcApiError``), an invalid
  callback, ``get --wait`` seeing the task end or fail before the status;
* 2 -- usage, I/O or transport errors: bad arguments, a missing or unreadable file, a file that
  is not JSON, no credentials, a network failure, ``get --wait`` running out of time;
* 130 -- interrupted (Ctrl-C), except ``serve``, for which Ctrl-C / SIGTERM is the normal stop (0).

Problems print as ``FILE: PATH: RULE: MESSAGE``, warnings with `` (warning)`` appended (the
format of `Problem.__str__`); ``--json`` prints ``{"version", "action", "problems"}`` instead,
``problems`` a list of ``{"file", "path", "rule", "message", "severity"}`` objects.

``--api-version`` (``validate``, ``start``, ``stop``, ``update``, ``get``, ``preview``) picks the
API version of the bodies: for validation, for the client, for the preview; default 2020-12-01.

Bucket credentials in a body (the properties the spec marks ``writeOnly``: ``AccessKey``,
``SecretKey``, ``SecurityToken`` of ``StorageConfig.CustomConfig``) are never printed: the
``--dry-run`` body, ``--json`` output, responses, problems and error messages show
``"<redacted>"`` in their place.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from .redaction import REDACTED, Redactor

if TYPE_CHECKING:
    from .errors import Problem, RtcApiError
    from .simulator import Simulator
    from .v2020_12_01 import RtcClient

__all__ = ["main"]

PROG = "rtc-startrecord"

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

STDIN_NAME = "<stdin>"

RECOMMENDED_VERSION = "2023-11-01"

STATUS_NAMES = {
    "unknown_error": 0,
    "unknown": 0,
    "not_started": 1,
    "running": 2,
    "ended": 3,
    "failed": 4,
}

log = logging.getLogger("rtc_startrecord.cli")


class CliError(Exception):
    """A user error: print the message to stderr and exit with `code` (no traceback)."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------------------------
# Output helpers


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _problem_line(name: str, p: Problem) -> str:
    return f"{name}: {p}"


def _problem_json(name: str, p: Problem) -> dict[str, str]:
    return {"file": name, "path": p.path, "rule": p.rule, "message": p.message,
            "severity": p.severity}  # fmt: skip


def _problems_json(version: str, action: str, problems: list[dict[str, str]]) -> str:
    return _dump({"version": version, "action": action, "problems": problems})


def _version_hint(body: Any, action: str, version: str) -> str | None:
    """When `body` has errors as `version` but none as other versions: which to use instead."""
    from . import spec
    from .validation import has_errors, validate

    fits = [
        other
        for other in spec.API_VERSIONS
        if other != version and not has_errors(validate(body, action=action, version=other))
    ]
    if not fits:
        return None
    return (
        f"the body is valid {action} for API version {', '.join(fits)}, not for {version}: "
        f"did you mean --api-version {fits[-1]}?"
    )


# --------------------------------------------------------------------------------------------
# Input helpers


def _display_name(path: str) -> str:
    return STDIN_NAME if path == "-" else path


def _read_bytes(path: str) -> bytes:
    """The bytes of FILE, or of stdin for ``-``; CliError (exit 2) naming the file on failure."""
    if path == "-":
        try:
            return sys.stdin.buffer.read()
        except OSError as exc:
            raise CliError(f"{STDIN_NAME}: cannot read: {exc.strerror or exc}") from None
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _load_json(path: str) -> Any:
    """FILE parsed as JSON; CliError (exit 2) naming the file when unreadable or not JSON."""
    name = _display_name(path)
    raw = _read_bytes(path)
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


def _load_object(path: str) -> dict[str, Any]:
    data = _load_json(path)
    if not isinstance(data, dict):
        raise CliError(
            f"{_display_name(path)}: the request body must be a JSON object, "
            f"not {type(data).__name__}",
            EXIT_REJECTED,
        )
    return data


def _env_secret(name: str, flag: str) -> str:
    value = os.environ.get(name)
    if not value:
        state = "is empty" if value == "" else "is not set"
        raise CliError(f"{flag}: environment variable {name} {state}; export the secret there")
    return value


# --------------------------------------------------------------------------------------------
# Logging


class _DropClientValidationWarnings(logging.Filter):
    """The CLI prints validation warnings itself; drop the client's copies of them."""

    def filter(self, record: logging.LogRecord) -> bool:
        from .errors import Problem

        args = record.args
        return not (
            record.levelno == logging.WARNING
            and isinstance(args, tuple)
            and len(args) == 2
            and isinstance(args[1], Problem)
        )


class _RedactLogs(logging.Filter):
    """Hide the bodies' bucket credentials in log lines too (no log line should hold one)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if self.redactor.found:
            message = record.getMessage()
            cleaned = self.redactor.text(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


@contextmanager
def _logging(verbose: int, redactor: Redactor) -> Iterator[None]:
    logger = logging.getLogger("rtc_startrecord")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(name)s: %(message)s"))
    handler.addFilter(_DropClientValidationWarnings())
    handler.addFilter(_RedactLogs(redactor))
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


# --------------------------------------------------------------------------------------------
# validate


def cmd_validate(args: argparse.Namespace) -> int:
    from .validation import validate

    redactor: Redactor = args.redactor
    version: str = args.api_version
    found: list[dict[str, str]] = []
    errors = warnings = unreadable = 0
    for path in args.files:
        name = _display_name(path)
        try:
            body = _load_json(path)
        except CliError as exc:
            _err(f"{PROG}: error: {exc}")
            unreadable += 1
            continue
        redactor.learn(body, version)
        problems = [redactor.problem(p) for p in validate(body, action=args.action,
                                                          version=version)]  # fmt: skip
        for p in problems:
            if p.severity == "error":
                errors += 1
            else:
                warnings += 1
            if args.json:
                found.append(_problem_json(name, p))
            else:
                _out(_problem_line(name, p))
        if any(p.severity == "error" for p in problems):
            hint = _version_hint(body, args.action, version)
            if hint:
                _err(f"{name}: {hint}")
    if args.json:
        _out(_problems_json(version, args.action, found))
    files = len(args.files)
    unread = f", {unreadable} unreadable" if unreadable else ""
    _err(f"{PROG}: checked {files} file{'s' if files != 1 else ''} as {args.action} "
         f"(API version {version}): "
         f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}{unread}")  # fmt: skip
    if unreadable:
        return EXIT_USAGE
    return EXIT_REJECTED if errors else EXIT_OK


# --------------------------------------------------------------------------------------------
# The actions: start, stop, update, get


def _check_body(args: argparse.Namespace, name: str, body: dict[str, Any], action: str) -> None:
    """Validate before anything is built or sent: errors -> exit 1, warnings -> stderr."""
    from .validation import validate

    redactor: Redactor = args.redactor
    version: str = args.api_version
    problems = [redactor.problem(p) for p in validate(body, action=action, version=version)]
    if any(p.severity == "error" for p in problems):
        if args.json:
            _out(_problems_json(version, action, [_problem_json(name, p) for p in problems]))
        else:
            for p in problems:
                _err(_problem_line(name, p))
        hint = _version_hint(body, action, version)
        if hint:
            _err(f"{name}: {hint}")
        n = sum(p.severity == "error" for p in problems)
        raise CliError(f"{name}: {n} validation error{'s' if n != 1 else ''} for {action} "
                       f"(API version {version}); nothing sent; fix the body and run again",
                       EXIT_REJECTED)  # fmt: skip
    for p in problems:
        _err(_problem_line(name, p))


def _project(name: str, body: dict[str, Any], action: str, version: str) -> dict[str, Any]:
    """For StopRecord and GetRecordTask: keep only the keys the action takes.

    So the StartRecord body can be reused to stop or query its task. Other actions are unchanged.
    """
    if action not in ("StopRecord", "GetRecordTask"):
        return body
    from . import spec

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
    from .credentials import Credentials

    return Credentials.from_env()  # CredentialsNotFound -> exit 2 in main


def _client(args: argparse.Namespace, credentials: Any, endpoint: str) -> RtcClient:
    from .v2020_12_01 import RtcClient

    try:
        client: RtcClient = RtcClient(credentials, version=args.api_version, endpoint=endpoint,
                                      region=args.region, qps=None)  # fmt: skip
        return client
    except ValueError as exc:  # a malformed --endpoint
        raise CliError(f"--endpoint: {exc}; give a URL like https://rtc.volcengineapi.com or "
                       "the one 'serve' prints") from None  # fmt: skip


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


def _print_dry_run(
    client: RtcClient, action: str, body: dict[str, Any], as_json: bool, redactor: Redactor
) -> None:
    from .wire import dumps

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
        _out(_dump(shown))
        return
    _out(f"{prepared.method} {url}")
    for key, value in headers.items():
        _out(f"{key}: {value}")
    _out()
    if text:
        _out(text)
    if hidden:
        _err(f"{PROG}: dry run: {note}")
    _err(f"{PROG}: dry run: {action} (API version {client.version}) signed as above; "
         "nothing sent")  # fmt: skip


def _run_action(
    args: argparse.Namespace, client: RtcClient, action: str, body: dict[str, Any]
) -> int:
    from .errors import RtcApiError
    from .wire import to_wire

    try:
        response = client.call(action, body)
    except RtcApiError as exc:
        return _refused(args, action, exc)
    _out(args.redactor.json(to_wire(response)))
    if action == "StartRecord":
        from .outcomes import StartOutcome, start_outcome

        if start_outcome(response) is StartOutcome.ALREADY_RUNNING:
            _err(f"{PROG}: task {body.get('TaskId')} was already running: this start changed "
                 "nothing; use 'update' to change it, 'stop' to end it, or another TaskId for "
                 "a new task")  # fmt: skip
    return EXIT_OK


def _refused(args: argparse.Namespace, action: str, exc: RtcApiError) -> int:
    """A service error: code, message and RequestId to stderr (--json: the envelope to stdout)."""
    redactor: Redactor = args.redactor
    message = redactor.text(exc.message)
    _err(f"{PROG}: {action} refused by the service: {redactor.text(exc.code)}: {message}")
    _err(f"  HTTP {exc.http_status if exc.http_status is not None else '-'}, "
         f"RequestId {exc.request_id or '-'}")  # fmt: skip
    if exc.code == "InvalidActionOrVersion":
        _err(f"  the endpoint does not take {action} in API version {args.api_version}: "
             "check --endpoint, or pick the --api-version it speaks")  # fmt: skip
    if args.json:
        envelope = _error_envelope(exc)
        envelope["ResponseMetadata"]["Error"]["Message"] = message
        _out(redactor.json(envelope))
    return EXIT_REJECTED


def _action_command(action: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        name = _display_name(args.file)
        body = _load_object(args.file)
        args.redactor.learn(body, args.api_version)
        body = _project(name, body, action, args.api_version)
        _check_body(args, name, body, action)
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


def _run_local(args: argparse.Namespace, action: str, body: dict[str, Any]) -> int:
    from .credentials import resolve_region
    from .simulator import Simulator

    region = resolve_region(args.region)
    with Simulator(region=region) as sim:
        _err(f"{PROG}: local simulator at {sim.url} (stops when this command ends)")
        client = _client(args, sim.credentials, sim.url)
        with client:
            if args.dry_run:
                _print_dry_run(client, action, body, args.json, args.redactor)
                return EXIT_OK
            return _run_action(args, client, action, body)


def _parse_status(text: str) -> int:
    """``--wait``: a Status number (0-4) or its name (running, ended, failed, ...)."""
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    if key in STATUS_NAMES:
        return STATUS_NAMES[key]
    try:
        value = int(key)
    except ValueError:
        value = -1
    if value not in STATUS_NAMES.values():
        names = ", ".join(f"{v} {k}" for k, v in STATUS_NAMES.items() if k != "unknown")
        raise argparse.ArgumentTypeError(f"{text!r} is not a task status; use one of: {names}")
    return value


def _status_name(status: int) -> str:
    for k, v in STATUS_NAMES.items():
        if v == status:
            return k.replace("_", " ")
    return "?"


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


TERMINAL = frozenset({0, 3, 4})  # unknown error, ended, failed: a task never leaves these


def _wait(args: argparse.Namespace, client: RtcClient, body: dict[str, Any]) -> int:
    """Poll GetRecordTask until Status == --wait (0), the task ends first (1) or time runs out (2).

    Progress goes to stderr; the last GetRecordTask envelope to stdout in every case.
    """
    from .errors import RtcApiError
    from .wire import to_wire

    status: int = args.wait
    timeout: float = args.timeout
    redactor: Redactor = args.redactor
    task_id = body.get("TaskId")
    t0 = time.monotonic()
    delay, max_delay = 0.25, 2.0
    while True:
        try:
            response = client.get_record_task(body)
        except RtcApiError as exc:
            return _refused(args, "GetRecordTask", exc)
        elapsed = time.monotonic() - t0
        result = response.result
        raw_status = result.record_task.status if result is not None else None
        current = int(raw_status) if raw_status is not None else -1
        _err(f"waiting for task {task_id}: status {current} ({_status_name(current)}), "
             f"{elapsed:.1f}s elapsed")  # fmt: skip
        if current == status:
            _out(redactor.json(to_wire(response)))
            return EXIT_OK
        if current in TERMINAL:
            _out(redactor.json(to_wire(response)))
            reason = result.record_task.stop_reason if result is not None else None
            _err(f"{PROG}: task {task_id} reached status {current} ({_status_name(current)}"
                 f"{', ' + reason if reason else ''}) and will not reach {status} "
                 f"({_status_name(status)})")  # fmt: skip
            return EXIT_REJECTED
        remaining = timeout - elapsed
        if remaining <= 0:
            _out(redactor.json(to_wire(response)))
            _err(f"{PROG}: error: task {task_id} did not reach status {status} "
                 f"({_status_name(status)}) within {timeout:g}s")  # fmt: skip
            return EXIT_USAGE
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, max_delay)


# --------------------------------------------------------------------------------------------
# serve


def cmd_serve(args: argparse.Namespace) -> int:
    from .simulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, Simulator
    from .spec import API_VERSIONS

    callback_secret = None
    if args.callback_url is not None:
        if args.callback_secret_env is None:
            raise CliError("--callback-url needs --callback-secret-env NAME (the secret's "
                           "environment variable)")  # fmt: skip
        callback_secret = _env_secret(args.callback_secret_env, "--callback-secret-env")
    elif args.callback_secret_env is not None:
        raise CliError("--callback-secret-env goes with --callback-url")
    qps = args.qps if args.qps else None
    sim: Simulator = Simulator(
        host=args.host, port=args.port, region=args.region, qps=qps,
        callback_url=args.callback_url, callback_secret=callback_secret,
    )  # fmt: skip
    try:
        sim.start()
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in _stop_signals()}
    try:
        _out(f"rtc-startrecord simulator listening on {sim.url}")
        _out(f"region: {sim.region}   qps limit: {qps if qps else 'off'}")
        _out(f"API versions: {', '.join(API_VERSIONS)} (as each request's Version says)")
        _out("test credentials (fixed test values, not secrets; the simulator accepts only these):")
        _out(f"  VOLC_ACCESSKEY={TEST_ACCESS_KEY_ID}")
        _out(f"  VOLC_SECRETKEY={TEST_SECRET_ACCESS_KEY}")
        if args.callback_url:
            _out(f"callbacks: POST to {args.callback_url}, signed with ${args.callback_secret_env}")
        _out("example:")
        _out(f"  VOLC_ACCESSKEY={TEST_ACCESS_KEY_ID} VOLC_SECRETKEY={TEST_SECRET_ACCESS_KEY} "
             f"{PROG} start body.json --endpoint {sim.url} --region {sim.region}")  # fmt: skip
        _out("press Ctrl-C to stop")
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sim.stop()
    _err(f"{PROG}: simulator stopped")
    return EXIT_OK


def _stop_signals() -> list[signal.Signals]:
    wanted = [signal.SIGINT, signal.SIGTERM]
    if threading.current_thread() is not threading.main_thread():
        return []  # signal handlers can only be set from the main thread
    return wanted


# --------------------------------------------------------------------------------------------
# preview


def cmd_preview(args: argparse.Namespace) -> int:
    from .preview import PreviewError, preview_file_names, region_units, render_layout_svg
    from .validation import validate

    redactor: Redactor = args.redactor
    version: str = args.api_version
    name = _display_name(args.file)
    body = _load_object(args.file)
    redactor.learn(body, version)
    problems = [redactor.problem(p) for p in validate(body, action=args.action, version=version)]
    for p in problems:
        _err(_problem_line(name, p))
    errors = sum(p.severity == "error" for p in problems)
    if errors:
        hint = _version_hint(body, args.action, version)
        if hint:
            _err(f"{name}: {hint}")
    try:
        svg, warnings = render_layout_svg(body, version=version)
    except PreviewError as exc:
        raise CliError(
            f"{name}: cannot preview: {redactor.text(str(exc))}", EXIT_REJECTED
        ) from None
    for w in warnings:
        _err(f"{name}: preview warning: {redactor.text(w)}")
    if args.output == "-":
        sys.stdout.write(svg)
        sys.stdout.flush()
    else:
        try:
            Path(args.output).write_text(svg, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"{args.output}: cannot write: {exc.strerror or exc}; choose another "
                           "-o path, or - for stdout") from None  # fmt: skip
        _err(f"{PROG}: wrote {args.output} (API version {version}, regions in "
             f"{region_units(version)})")  # fmt: skip
    if args.names:
        now_ms = int(time.time() * 1000)
        try:
            names = preview_file_names(body, start_time_ms=now_ms, version=version)
        except (PreviewError, ValueError) as exc:
            raise CliError(f"{name}: cannot preview file names: {redactor.text(str(exc))}",
                           EXIT_REJECTED) from None  # fmt: skip
        for file_name in names:
            (_err if args.output == "-" else _out)(redactor.text(file_name))
    if errors:
        _err(f"{PROG}: {name}: {errors} validation error{'s' if errors != 1 else ''} "
             f"(API version {version}; the preview shows what was asked, not what the service "
             "would do)")  # fmt: skip
        return EXIT_REJECTED
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# verify-callback


def cmd_verify_callback(args: argparse.Namespace) -> int:
    from .callbacks import CallbackError, parse

    secret = _env_secret(args.secret_env, "--secret-env")
    name = _display_name(args.file)
    raw = _read_bytes(args.file)
    max_future = None if args.max_age is None else 300.0
    try:
        event = parse(raw, secret=secret, max_age=args.max_age, max_future=max_future)
    except CallbackError as exc:
        raise CliError(f"{name}: invalid callback ({type(exc).__name__}): {exc}",
                       EXIT_REJECTED) from None  # fmt: skip
    _out(_dump(event.to_json_dict()))
    _err(f"{PROG}: {name}: valid {event.event_type} callback, EventId {event.event_id}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# The parser


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a non-negative number")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return value


def _versions_text() -> str:
    from .spec import API_VERSIONS, DEFAULT_VERSION

    return (
        f"API versions: {', '.join(API_VERSIONS)}. Volcengine recommends {RECOMMENDED_VERSION} "
        f"for new code; the default stays {DEFAULT_VERSION}, so existing bodies keep working."
    )


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .client import DEFAULT_ENDPOINT
    from .spec import API_VERSIONS, DEFAULT_VERSION, operations

    actions_known = sorted(operations())
    common = _Parser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="debug logging to stderr (secrets are never logged)")  # fmt: skip
    versioned = _Parser(add_help=False)
    versioned.add_argument(
        "--api-version", choices=API_VERSIONS, default=DEFAULT_VERSION, metavar="V",
        help=f"the API version of the body and the request: {', '.join(API_VERSIONS)} "
        f"(default: {DEFAULT_VERSION}; Volcengine recommends {RECOMMENDED_VERSION} for new "
        "code). 2023-06-01 and later place custom-layout regions in pixels, older versions "
        "by ratios of the canvas",
    )  # fmt: skip

    parser = _Parser(
        prog=PROG,
        description="Validate, sign and send Volcengine RTC cloud-recording requests "
        "(StartRecord and its lifecycle), and run a local simulator of the service. "
        + _versions_text()
        + " Pick one with --api-version.",
        epilog="Exit codes: 0 ok; 1 rejected (validation, the service, an invalid callback); "
        "2 usage, I/O, credentials or transport error; 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="debug logging to stderr (secrets are never logged)")  # fmt: skip
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    # validate
    p = sub.add_parser(
        "validate", parents=[common, versioned], help="validate request bodies",
        description="Validate request bodies against the spec and the documented rules of one "
        "API version (--api-version). Prints every problem as 'FILE: PATH: RULE: MESSAGE' "
        "(warnings end with ' (warning)'). " + _versions_text(),
        epilog="Exit codes: 0 all valid (warnings allowed), 1 problems found, "
        "2 usage or I/O error (missing file, not JSON).",
    )  # fmt: skip
    p.add_argument("files", nargs="+", metavar="FILE", help="a JSON request body; - for stdin")
    p.add_argument("--action", choices=actions_known, default="StartRecord",
                   help="the action the bodies are for (default: StartRecord)")  # fmt: skip
    p.add_argument("--json", action="store_true",
                   help="print {version, action, problems}, problems a list of "
                   "{file, path, rule, message, severity}")  # fmt: skip
    p.set_defaults(func=cmd_validate)

    # the actions
    actions = [
        ("start", "StartRecord", "start a recording task"),
        ("stop", "StopRecord", "stop a recording task"),
        ("update", "UpdateRecord", "change a running task's streams and layout"),
        ("get", "GetRecordTask", "show a task's state and files"),
    ]
    for command, action, what in actions:
        extra = ""
        if action in ("StopRecord", "GetRecordTask"):
            extra = (" Keys the action does not take (say, the rest of the StartRecord body) are "
                     "ignored, so the start body can be reused.")  # fmt: skip
        p = sub.add_parser(
            command, parents=[common, versioned], help=f"{what} ({action})",
            description=f"{action}: {what}. Validates FILE (a JSON request body; - for stdin) "
            f"for the API version --api-version names, signs it and sends it; prints the "
            f"response envelope as JSON.{extra} " + _versions_text(),
            epilog="Credentials: VOLC_ACCESSKEY/VOLC_SECRETKEY, ~/.volc/credentials, "
            "~/.volc/config, VOLCENGINE_ACCESS_KEY/VOLCENGINE_SECRET_KEY, "
            "~/.volcengine/config.json (first found wins). Exit codes: 0 ok, 1 rejected by "
            "validation or by the service, 2 usage, I/O, credentials or transport error"
            + ("; get --wait: 1 when the task ended or failed first, 2 on timeout."
               if command == "get" else "."),
        )  # fmt: skip
        p.add_argument("file", metavar="FILE", help="the JSON request body; - for stdin")
        if command == "start":
            where = p.add_mutually_exclusive_group()
            where.add_argument("--endpoint", default=DEFAULT_ENDPOINT,
                               help=f"the service URL (default: {DEFAULT_ENDPOINT})")  # fmt: skip
            where.add_argument("--local", action="store_true",
                               help="start an embedded simulator for this one call (a demo; "
                               "it uses the simulator's test credentials)")  # fmt: skip
        else:
            p.add_argument("--endpoint", default=DEFAULT_ENDPOINT,
                           help=f"the service URL, or a running 'serve' "
                           f"(default: {DEFAULT_ENDPOINT})")  # fmt: skip
        p.add_argument("--region", help="the signing region (default: $VOLC_REGION or cn-north-1)")
        p.add_argument("--dry-run", action="store_true",
                       help="print the signed HTTP request and send nothing (session token and "
                       "bucket credentials in the body shown as <redacted>; the secret key is "
                       "never part of it)")  # fmt: skip
        p.add_argument("--json", action="store_true",
                       help="machine-readable output: validation problems as {version, action, "
                       "problems}, a service error as its error envelope on stdout")  # fmt: skip
        if command == "get":
            p.add_argument("--wait", type=_parse_status, metavar="STATUS",
                           help="poll until the task reaches STATUS: a number 0-4 or a name "
                           "(unknown_error, not_started, running, ended, failed); progress on "
                           "stderr")  # fmt: skip
            p.add_argument("--timeout", type=_positive_float, metavar="S",
                           help="seconds to wait with --wait (default: 60)")  # fmt: skip
        p.set_defaults(func=_action_command(action), action=action)

    # serve
    p = sub.add_parser(
        "serve", parents=[common], help="run the local simulator until interrupted",
        description="Run the simulator of the RTC recording API on a local port until Ctrl-C "
        "or SIGTERM. Prints its URL and its fixed test credentials (test values, not secrets). "
        "It answers every API version, as each request's Version query parameter says.",
        epilog="Exit codes: 0 stopped cleanly, 2 usage error (port in use, missing secret).",
    )  # fmt: skip
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=_port, default=0,
                   help="port to listen on (default: 0, a free port)")  # fmt: skip
    p.add_argument("--region", default="cn-north-1",
                   help="the region the simulator signs for (default: cn-north-1)")  # fmt: skip
    p.add_argument("--qps", type=_non_negative_float, default=60.0,
                   help="requests per second per access key, as the service (default: 60; "
                   "0 turns the limit off)")  # fmt: skip
    p.add_argument(
        "--callback-url",
        metavar="URL",
        help="deliver recording callbacks to URL (with --callback-secret-env)",
    )
    p.add_argument("--callback-secret-env", metavar="NAME",
                   help="environment variable holding the callback signing secret "
                   "(never printed)")  # fmt: skip
    p.set_defaults(func=cmd_serve)

    # preview
    p = sub.add_parser(
        "preview", parents=[common, versioned], help="draw the custom layout as SVG",
        description="Draw the mixed-stream canvas and regions (stream labels, z-order, alpha) of "
        "a StartRecord/UpdateRecord body with LayoutMode 2 as SVG. Regions are ratios of the "
        "canvas in 2020-12-01 and 2022-06-01 (WidthProportion, HeightProportion, LocationX/Y "
        "in [0, 1)) and pixels on it in 2023-06-01 and 2023-11-01 (Width, Height, LocationX, "
        "LocationY); --api-version says which. Validation problems and drawing warnings go to "
        "stderr; the SVG is still written when the body can be drawn.",
        epilog="Exit codes: 0 written (warnings allowed), 1 the body has validation errors "
        "(SVG still written) or cannot be drawn (no custom layout), 2 usage or I/O error.",
    )  # fmt: skip
    p.add_argument("file", metavar="FILE", help="the JSON request body; - for stdin")
    p.add_argument("-o", "--output", required=True, metavar="OUT.svg",
                   help="where to write the SVG; - for stdout")  # fmt: skip
    p.add_argument("--names", action="store_true",
                   help="also print the file names the body would produce, for a task "
                   "starting now (to stdout; to stderr when the SVG goes to stdout): from "
                   "RecordFileNamePattern in 2020-12-01, from FileNameConfig (Prefix, Pattern) "
                   "in later versions")  # fmt: skip
    p.add_argument("--action", choices=("StartRecord", "UpdateRecord"), default="StartRecord",
                   help="the action the body is for (default: StartRecord)")  # fmt: skip
    p.set_defaults(func=cmd_preview)

    # verify-callback
    p = sub.add_parser(
        "verify-callback", parents=[common], help="check a callback body's signature",
        description="Check the signature of a recording callback body and print the parsed "
        "event as JSON. Saved bodies are not checked for age unless --max-age is given.",
        epilog="Exit codes: 0 valid, 1 invalid (bad signature, malformed, too old), "
        "2 usage or I/O error (missing file, secret variable not set).",
    )  # fmt: skip
    p.add_argument("file", metavar="FILE", help="the callback's JSON body; - for stdin")
    p.add_argument("--secret-env", required=True, metavar="NAME",
                   help="environment variable holding the callback secret")  # fmt: skip
    p.add_argument("--max-age", type=_non_negative_float, metavar="S",
                   help="also refuse events older than S seconds (or more than 300 s in the "
                   "future); default: no freshness check")  # fmt: skip
    p.set_defaults(func=cmd_verify_callback)
    return parser


# --------------------------------------------------------------------------------------------
# main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if getattr(args, "timeout", None) is not None and getattr(args, "wait", None) is None:
        _err(f"{PROG} get: error: --timeout goes with --wait")
        return EXIT_USAGE
    if getattr(args, "wait", None) is not None and args.timeout is None:
        args.timeout = 60.0
    return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    from .errors import RtcError, TransportError

    redactor = Redactor()
    args.redactor = redactor
    if getattr(args, "api_version", None) is None:
        from .spec import DEFAULT_VERSION

        args.api_version = DEFAULT_VERSION
    with _logging(args.verbose, redactor):
        try:
            code: int = args.func(args)
            return code
        except CliError as exc:
            _err(f"{PROG}: error: {redactor.text(str(exc))}")
            return exc.code
        except KeyboardInterrupt:
            _err(f"{PROG}: interrupted")
            return EXIT_INTERRUPTED
        except TransportError as exc:
            _err(f"{PROG}: error: network: {redactor.text(str(exc))}")
            return EXIT_USAGE
        except RtcError as exc:  # CredentialsNotFound, RequestInvalid, ...
            from .errors import RequestInvalid, WireFormatError

            _err(f"{PROG}: error: {redactor.text(str(exc))}")
            rejected = isinstance(exc, RequestInvalid | WireFormatError)
            return EXIT_REJECTED if rejected else EXIT_USAGE
        except BrokenPipeError:
            _quiet_stdout()
            return EXIT_REJECTED
        except (OSError, ValueError) as exc:
            _err(f"{PROG}: error: {redactor.text(str(exc))}")
            return EXIT_USAGE


def _quiet_stdout() -> None:
    """After a closed pipe (``... | head``), stop Python complaining when it flushes stdout."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
