"""``serve``: run the simulator on a local port until Ctrl-C or SIGTERM (both a clean stop, 0)."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

from .io import EXIT_OK, PROG, CliError, env_secret, err, out

if TYPE_CHECKING:
    from ..simulator import Simulator

__all__ = ["cmd_serve"]


def cmd_serve(args: argparse.Namespace) -> int:
    from ..simulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, Simulator
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
        if args.callback_url:
            out(f"callbacks: POST to {args.callback_url}, signed with ${args.callback_secret_env}")
        out("example:")
        out(f"  VOLC_ACCESSKEY={TEST_ACCESS_KEY_ID} VOLC_SECRETKEY={TEST_SECRET_ACCESS_KEY} "
            f"{PROG} start body.json --endpoint {sim.url} --region {sim.region}")  # fmt: skip
        out("press Ctrl-C to stop")
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sim.stop()
    err(f"{PROG}: simulator stopped")
    return EXIT_OK


def _stop_signals() -> list[signal.Signals]:
    wanted = [signal.SIGINT, signal.SIGTERM]
    if threading.current_thread() is not threading.main_thread():
        return []  # signal handlers can only be set from the main thread
    return wanted
