"""``rtc-startrecord``: the command line (also ``python -m rtc_startrecord``).

Results go to stdout, diagnostics to stderr; a user error never prints a traceback.

Exit codes (every command; the one table is `.io.EXIT_CODES`, shown by every ``--help`` and in
docs/cli.md):

* 0 -- success;
* 1 -- rejected: by validation, by the service or the simulator (``RtcApiError``, a signature
  it refused, a ``sim`` call it refused), or by a signature check (an invalid callback);
  ``get --wait`` seeing the task end or fail before the status;
* 2 -- usage, I/O, credentials or transport: bad arguments, a missing or unreadable file, a
  file that is not JSON, a body whose action ``validate`` cannot tell, no credentials or token,
  a network failure, ``get --wait`` running out of time;
* 130 -- interrupted (Ctrl-C), except ``serve``, for which Ctrl-C / SIGTERM is the normal stop (0).

Problems print as ``FILE: PATH: RULE: MESSAGE``, warnings with `` (warning)`` appended (the
format of `Problem.__str__`); ``validate --json`` prints ``{"version", "action", "actions",
"problems"}`` instead (``action`` the one action of every file, else null; ``actions`` each
file's), ``problems`` a list of ``{"file", "path", "rule", "message", "severity"}`` objects.

``--api-version`` (``validate``, ``start``, ``stop``, ``update``, ``get``, ``preview``) picks the
API version of the bodies: for validation, for the client, for the preview; default 2020-12-01.

Bucket credentials in a body (the properties the spec marks ``writeOnly``: ``AccessKey``,
``SecretKey``, ``SecurityToken`` of ``StorageConfig.CustomConfig``) are never printed: the
``--dry-run`` body, ``--json`` output, responses, problems and error messages show
``"<redacted>"`` in their place.

The package: `main` here; `.parser` the arguments; one module per command (`.validate`,
`.lifecycle` for start/stop/update/get with `.wait` for ``get --wait``, `.serve`, `.preview`,
`.callbacks` for verify-callback, `.sim` for the admin API of a running ``serve``); `.io` the
exit codes, input and output; `.logs` the logging.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..redaction import Redactor
from .io import EXIT_INTERRUPTED, EXIT_REJECTED, EXIT_USAGE, PROG, CliError, err
from .logs import CliLogFilter, log_to_stderr
from .parser import build_parser

__all__ = ["build_parser", "main"]


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
    if args.command == "get" and args.timeout is not None and args.wait is None:
        err(f"{PROG} get: error: --timeout goes with --wait")
        return EXIT_USAGE
    if args.command == "get" and args.wait is not None and args.timeout is None:
        args.timeout = 60.0
    return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    from ..errors import RtcError, TransportError

    redactor = Redactor()
    log_filter = CliLogFilter(redactor)
    args.redactor, args.log_filter = redactor, log_filter
    if getattr(args, "api_version", None) is None:
        from ..spec import DEFAULT_VERSION

        args.api_version = DEFAULT_VERSION
    with log_to_stderr(args.verbose, log_filter):
        try:
            code: int = args.func(args)
            return code
        except CliError as exc:
            err(f"{PROG}: error: {redactor.text(str(exc))}")
            return exc.code
        except KeyboardInterrupt:
            err(f"{PROG}: interrupted")
            return EXIT_INTERRUPTED
        except TransportError as exc:
            err(f"{PROG}: error: network: {redactor.text(str(exc))}")
            err(f"  {_attempts(exc.attempts)}; check --endpoint (or ${_endpoint_env()}), your "
                "network or proxy, and that the service (or 'rtc-startrecord serve') is "
                "running and reachable")  # fmt: skip
            if exc.ambiguous:
                err("  an attempt may have reached the service: check with 'get' before "
                    "sending it again")  # fmt: skip
            return EXIT_USAGE
        except RtcError as exc:  # CredentialsNotFound, RequestInvalid, ...
            from ..errors import RequestInvalid, WireFormatError

            err(f"{PROG}: error: {redactor.text(str(exc))}")
            rejected = isinstance(exc, RequestInvalid | WireFormatError)
            return EXIT_REJECTED if rejected else EXIT_USAGE
        except BrokenPipeError:
            _quiet_stdout()
            return EXIT_REJECTED
        except (OSError, ValueError) as exc:
            err(f"{PROG}: error: {redactor.text(str(exc))}")
            return EXIT_USAGE


def _attempts(n: int) -> str:
    return f"gave up after {n} attempt{'' if n == 1 else 's'}"


def _endpoint_env() -> str:
    from ..client import ENDPOINT_ENV

    return ENDPOINT_ENV


def _quiet_stdout() -> None:
    """After a closed pipe (``... | head``), stop Python complaining when it flushes stdout."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
