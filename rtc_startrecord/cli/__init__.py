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

The package: `main` here; `.parser` the arguments; one module per command (`.validate`,
`.lifecycle` for start/stop/update/get with `.wait` for ``get --wait``, `.serve`, `.preview`,
`.callbacks` for verify-callback); `.io` the exit codes, input and output; `.logs` the logging.
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
    if getattr(args, "timeout", None) is not None and getattr(args, "wait", None) is None:
        err(f"{PROG} get: error: --timeout goes with --wait")
        return EXIT_USAGE
    if getattr(args, "wait", None) is not None and args.timeout is None:
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


def _quiet_stdout() -> None:
    """After a closed pipe (``... | head``), stop Python complaining when it flushes stdout."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
