"""The argument parser of ``rtc-startrecord``: every command, its options and its help text."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from .callbacks import cmd_verify_callback
from .io import EXIT_CODES, EXIT_USAGE, PROG
from .lifecycle import action_command
from .migrate import add_parsers as add_migrate_parsers
from .preview import cmd_preview
from .serve import callback_url, cmd_serve
from .sim import cmd_sim, parse_duration, parse_stream_type
from .validate import cmd_validate
from .wait import parse_status

__all__ = ["RECOMMENDED_VERSION", "build_parser"]

RECOMMENDED_VERSION = "2023-11-01"


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


#: The longest --timeout taken.
MAX_SECONDS = 1_000_000


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    if value > MAX_SECONDS:  # urllib3 and the clock cannot hold a much later deadline
        raise argparse.ArgumentTypeError(
            f"{text!r} is longer than {MAX_SECONDS:,} seconds (about 11 days): give less"
        )
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _http_status(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an HTTP status") from None
    if not 200 <= value <= 599:
        raise argparse.ArgumentTypeError(f"{text!r} is not an HTTP status (200-599)")
    return value


def _epilog(here: str) -> str:
    """The one exit-code table, then what it means for this command."""
    return f"{EXIT_CODES} Here: {here}"


def _versions_text() -> str:
    from ..spec import API_VERSIONS, DEFAULT_VERSION

    return (
        f"API versions: {', '.join(API_VERSIONS)}. Volcengine recommends {RECOMMENDED_VERSION} "
        f"for new code; the default stays {DEFAULT_VERSION}, so existing bodies keep working."
    )


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from ..client import DEFAULT_ENDPOINT, ENDPOINT_ENV
    from ..spec import API_VERSIONS, DEFAULT_VERSION, operations

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
        epilog=EXIT_CODES,
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
        epilog=_epilog("0 every body valid (warnings allowed), 1 validation errors (a body "
        "that is JSON but not an object too), 2 a missing or unreadable file, a file that is "
        "not JSON, or a body whose action cannot be told from its keys (give --action)."),
    )  # fmt: skip
    p.add_argument("files", nargs="+", metavar="FILE", help="a JSON request body; - for stdin")
    p.add_argument("--action", choices=actions_known,
                   help="the action the bodies are for (default: told from each body's keys, "
                   "when only one action takes them; else give it)")  # fmt: skip
    p.add_argument("--json", action="store_true",
                   help="print {version, action, actions, problems}: action the one action of "
                   "every file (else null), actions each file's, problems a list of "
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
            "~/.volcengine/config.json (first found wins). " + _epilog(
                "0 the service answered with success, 1 the body failed validation (nothing "
                "sent) or the service refused it (its error code, including a signature it "
                "refused and a retry that met the task already running or already stopped), "
                "2 no credentials, an unreadable file or the network"
                + ("; with --wait, 1 when the task ended or failed first, 2 on timeout."
                   if command == "get" else ".")),
        )  # fmt: skip
        p.add_argument("file", metavar="FILE", help="the JSON request body; - for stdin")
        if command == "start":
            where = p.add_mutually_exclusive_group()
            where.add_argument("--endpoint", help=f"the service URL (default: ${ENDPOINT_ENV}, "
                               f"else {DEFAULT_ENDPOINT})")  # fmt: skip
            where.add_argument("--local", action="store_true",
                               help="start an embedded simulator for this one call (a demo; "
                               "it uses the simulator's test credentials)")  # fmt: skip
        else:
            p.add_argument("--endpoint", help=f"the service URL, or a running 'serve' "
                           f"(default: ${ENDPOINT_ENV}, else {DEFAULT_ENDPOINT})")  # fmt: skip
        p.add_argument("--region", help="the signing region (default: $VOLC_REGION or cn-north-1)")
        p.add_argument("--dry-run", action="store_true",
                       help="print the signed HTTP request and send nothing (session token and "
                       "bucket credentials in the body shown as <redacted>; the secret key is "
                       "never part of it)")  # fmt: skip
        p.add_argument("--json", action="store_true",
                       help="machine-readable output: validation problems as {version, action, "
                       "problems}, a service error as its error envelope on stdout")  # fmt: skip
        if command == "get":
            p.add_argument("--wait", type=parse_status, metavar="STATUS",
                           help="poll until the task reaches STATUS: a number 0-4 or a name "
                           "(unknown_error, not_started, running, ended, failed); progress on "
                           "stderr")  # fmt: skip
            p.add_argument("--timeout", type=_positive_float, metavar="S",
                           help="seconds to wait with --wait (default: 60)")  # fmt: skip
        p.set_defaults(func=action_command(action), action=action)

    # serve
    p = sub.add_parser(
        "serve", parents=[common], help="run the local simulator until interrupted",
        description="Run the simulator of the RTC recording API on a local port until Ctrl-C "
        "or SIGTERM. Prints its URL and its fixed test credentials (test values, not secrets). "
        "It answers every API version, as each request's Version query parameter says.",
        epilog=_epilog("0 stopped cleanly (Ctrl-C or SIGTERM), 2 a usage error (port in use, "
        "a --callback-url that is not an http(s) URL, the secret's variable not set)."),
    )  # fmt: skip
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=_port, default=0,
                   help="port to listen on (default: 0, a free port)")  # fmt: skip
    p.add_argument("--region", default="cn-north-1",
                   help="the region the simulator signs for (default: cn-north-1)")  # fmt: skip
    p.add_argument("--qps", type=_non_negative_float, default=60.0,
                   help="requests per second per access key, as the service (default: 60; "
                   "0 turns the limit off)")  # fmt: skip
    p.add_argument("--callback-url", metavar="URL", type=callback_url,
                   help="deliver recording callbacks to URL, an http:// or https:// URL (with "
                   "--callback-secret-env); failed deliveries are logged as warnings")  # fmt: skip
    p.add_argument("--callback-secret-env", metavar="NAME",
                   help="environment variable holding the callback signing secret "
                   "(never printed)")  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true",
                   help="do not log each request (by default one line per request on stderr: "
                   "method, Action, Version, HTTP status, RequestId, latency)")  # fmt: skip
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
        epilog=_epilog("0 written (warnings allowed), 1 the body has validation errors (SVG "
        "still written) or cannot be drawn (no custom layout), 2 usage or I/O error."),
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
        epilog=_epilog("0 valid, 1 invalid (the signature does not match, a malformed "
        "callback, too old), 2 usage or I/O error (a missing file, a file that is not JSON, "
        "the secret's variable not set)."),
    )  # fmt: skip
    p.add_argument("file", metavar="FILE", help="the callback's JSON body; - for stdin")
    p.add_argument("--secret-env", required=True, metavar="NAME",
                   help="environment variable holding the callback secret")  # fmt: skip
    p.add_argument("--max-age", type=_non_negative_float, metavar="S",
                   help="also refuse events older than S seconds (or more than 300 s in the "
                   "future); default: no freshness check")  # fmt: skip
    p.set_defaults(func=cmd_verify_callback)

    _add_sim(sub, common)
    add_migrate_parsers(sub)  # migrate, diff-versions (cli/migrate.py)
    return parser


def _add_sim(sub: argparse._SubParsersAction[_Parser], common: _Parser) -> None:
    from ..client import ENDPOINT_ENV
    from ..simulator.admin import TOKEN_ENV

    sim = sub.add_parser(
        "sim", parents=[common], help="drive a running 'serve': tasks, streams, clock, faults",
        description="Call the admin API of a running 'rtc-startrecord serve' (JSON under "
        "/_simulator/api/) from another terminal: list its tasks and their files, publish and "
        "unpublish streams, move its simulated clock, inject faults. Prints the JSON answer. "
        f"The endpoint is --endpoint or ${ENDPOINT_ENV}; calls that change the simulation need "
        f"the token 'serve' printed, --token or ${TOKEN_ENV}.",
        epilog=_epilog("0 done, 1 refused by the simulator (a wrong token, a bad value), "
        "2 usage, no endpoint or token, the simulator unreachable."),
    )  # fmt: skip
    kinds = sim.add_subparsers(dest="sim_command", metavar="SUBCOMMAND", parser_class=_Parser,
                               required=True)  # fmt: skip
    shared = _Parser(add_help=False)
    shared.add_argument("--endpoint", metavar="URL",
                        help=f"the simulator's URL, as 'serve' printed "
                        f"(default: ${ENDPOINT_ENV})")  # fmt: skip
    shared.add_argument("--token", metavar="T",
                        help=f"the run's admin token 'serve' printed (default: ${TOKEN_ENV}; the "
                        "variable keeps it out of your shell history)")  # fmt: skip
    shared.add_argument("--timeout", type=_positive_float, default=10.0, metavar="S",
                        help="seconds to wait for the simulator (default: 10)")  # fmt: skip
    epilog = _epilog("0 done, 1 refused by the simulator, 2 usage, no endpoint or token, "
                     "the simulator unreachable.")  # fmt: skip

    def add(name: str, help_text: str) -> _Parser:
        p: _Parser = kinds.add_parser(name, parents=[common, shared], help=help_text,
                                      description=help_text[0].upper() + help_text[1:] + ".",
                                      epilog=epilog)  # fmt: skip
        p.set_defaults(func=cmd_sim)
        return p

    add("tasks", "list every task: ids, API version, status, stop reason and files")
    for name, what in (("publish", "a user starts publishing a stream in a room"),
                       ("unpublish", "a user stops publishing a stream")):  # fmt: skip
        p = add(name, what)
        p.add_argument("--app-id", required=True, metavar="ID")
        p.add_argument("--room-id", required=True, metavar="ID")
        p.add_argument("--user-id", required=True, metavar="ID")
        p.add_argument("--stream-type", type=parse_stream_type, default=0, metavar="TYPE",
                       help="main (0, default) or screen (1)")  # fmt: skip
        if name == "publish":
            p.add_argument("--width", type=_positive_int, help="the stream's width (default 640)")
            p.add_argument("--height", type=_positive_int,
                           help="the stream's height (default 480)")  # fmt: skip
    p = add("advance", "move the simulated clock (idle timeouts and MaxRecordTime end tasks)")
    p.add_argument("duration", type=parse_duration, metavar="DURATION",
                   help="seconds (30) or a number with ms, s, m, h or d "
                   "(1500ms, 5m, 2h)")  # fmt: skip
    p = add("faults", "inject faults into the next API requests (no KIND: show them)")
    p.add_argument("kind", nargs="?", choices=("delay", "drop", "error", "throttle", "clear"),
                   metavar="KIND",
                   help="delay (--seconds), drop (close without answering), error (--status, "
                   "a proxy's HTML page), throttle (HTTP 429, FlowLimitExceeded), clear (drop "
                   "what is pending)")  # fmt: skip
    p.add_argument("--count", type=_positive_int, default=1,
                   help="how many requests get it (default: 1)")  # fmt: skip
    p.add_argument("--seconds", type=_non_negative_float, metavar="S",
                   help="delay: how long each request waits")  # fmt: skip
    p.add_argument("--status", type=_http_status, metavar="N",
                   help="error: the HTTP status (default: 502)")  # fmt: skip
