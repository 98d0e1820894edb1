"""The argument parser of ``rtc-startrecord``: every command, its options and its help text."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from .callbacks import cmd_verify_callback
from .io import EXIT_USAGE, PROG
from .lifecycle import action_command
from .preview import cmd_preview
from .serve import cmd_serve
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


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
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
