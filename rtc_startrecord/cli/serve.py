"""``serve``: run the simulator on a local port until Ctrl-C or SIGTERM (both a clean stop, 0).

It prints the URL, the test credentials and the run's admin token (for ``sim ...`` from another
terminal), then logs one line per API request on stderr (``--quiet``: none) and every failed
callback delivery as a warning.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .io import EXIT_OK, PROG, CliError, env_secret, err, out

if TYPE_CHECKING:
    from ..simulator import Simulator

__all__ = ["callback_url", "cmd_serve"]

log = logging.getLogger("rtc_startrecord.cli")


def callback_url(text: str) -> str:
    """``--callback-url``: an absolute http:// or https:// URL with a host."""
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http:// or https:// URL; give where your receiver listens, "
            "like http://127.0.0.1:9000/callbacks"
        )
    return text


def cmd_serve(args: argparse.Namespace) -> int:
    from ..client import ENDPOINT_ENV
    from ..simulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, Simulator
    from ..simulator.admin import TOKEN_ENV
    from ..spec import API_VERSIONS

    callback_secret = None
    if args.callback_url is not None:
        if args.callback_secret_env is None:
            raise CliError("--callback-url needs --callback-secret-env NAME (the secret's "
                           "environment variable)")  # fmt: skip
        callback_secret = env_secret(args.callback_secret_env, "--callback-secret-env")
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
        out(f"rtc-startrecord simulator listening on {sim.url}")
        out(f"region: {sim.region}   qps limit: {qps if qps else 'off'}")
        out(f"API versions: {', '.join(API_VERSIONS)} (as each request's Version says)")
        out("test credentials (fixed test values, not secrets; the simulator accepts only these):")
        out(f"  VOLC_ACCESSKEY={TEST_ACCESS_KEY_ID}")
        out(f"  VOLC_SECRETKEY={TEST_SECRET_ACCESS_KEY}")
        out("this run's endpoint and admin token (the token changes every run; 'sim' "
            "commands need it):")  # fmt: skip
        out(f"  {ENDPOINT_ENV}={sim.url}")
        out(f"  {TOKEN_ENV}={sim.admin_token}")
        if args.callback_url:
            out(f"callbacks: POST to {args.callback_url}, signed with ${args.callback_secret_env}")
        out("example, in another terminal:")
        out(f"  export {ENDPOINT_ENV}={sim.url} {TOKEN_ENV}={sim.admin_token} "
            f"VOLC_ACCESSKEY={TEST_ACCESS_KEY_ID} VOLC_SECRETKEY={TEST_SECRET_ACCESS_KEY} "
            f"VOLC_REGION={sim.region}")  # fmt: skip
        out(f"  {PROG} start body.json")
        out(f"  {PROG} sim publish --app-id APP --room-id ROOM --user-id USER")
        out(f"  {PROG} sim advance 60s && {PROG} sim tasks")
        out(f"admin API: {sim.admin_url} (loopback only)")
        out(f"dashboard: {sim.url}/_simulator/ (loopback only)")
        out("press Ctrl-C to stop")
        reported = 0
        with _request_log(not args.quiet):
            while not stop.wait(0.2):
                reported = _report_deliveries(sim, reported)
            _report_deliveries(sim, reported)
    except KeyboardInterrupt:
        pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sim.stop()
    err(f"{PROG}: simulator stopped")
    return EXIT_OK


@contextmanager
def _request_log(enabled: bool) -> Iterator[None]:
    """One stderr line per API request while the block runs (the simulator's request logger)."""
    from ..simulator.admin import REQUEST_LOGGER

    logger = logging.getLogger(REQUEST_LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(asctime)s %(message)s", "%H:%M:%S"))
    old = logger.level, logger.propagate
    if enabled:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    logger.propagate = False  # not twice (-v logs the package's debug lines on stderr too)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old[0])
        logger.propagate = old[1]


def _report_deliveries(sim: Simulator, reported: int) -> int:
    """Log the callback deliveries since the `reported` first: failures as warnings."""
    deliveries = sim.deliveries
    for d in deliveries[reported:]:
        if d.ok:
            log.info("callback %s (EventId %s) delivered, attempt %d, %.0f ms",
                     d.event_type, d.event_id, d.attempt, d.seconds * 1000)  # fmt: skip
            continue
        most = sim.callback_attempts
        log.warning("callback %s (EventId %s) to %s: attempt %d of %d failed: %s; %s",
                    d.event_type, d.event_id, sim.callback_url, d.attempt, most,
                    d.error or f"HTTP {d.status}",
                    "given up" if d.attempt >= most else "will retry")  # fmt: skip
    return len(deliveries)


def _stop_signals() -> list[signal.Signals]:
    wanted = [signal.SIGINT, signal.SIGTERM]
    if threading.current_thread() is not threading.main_thread():
        return []  # signal handlers can only be set from the main thread
    return wanted
