"""Receive RTC recording callbacks: verify each one, then act on it.

    export RTC_CALLBACK_SECRET=...              # the secret set in the RTC console
    python examples/callback_receiver.py --port 9000
    # try it with the simulator, in another terminal:
    rtc-startrecord serve --callback-url http://127.0.0.1:9000/ \
        --callback-secret-env RTC_CALLBACK_SECRET

`callbacks.make_wsgi_app` checks the signature and the age of each event, drops duplicates (by
EventId) and answers 200 only after the handler returns, so RTC delivers again if it fails. Any
WSGI server works (gunicorn, waitress, ...); the standard library's is enough for a try.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from rtc_startrecord import callbacks


def handle(event: callbacks.Event) -> None:
    """Your code: here, one line per event, and the files of a stopped task."""
    print(f"{event.event_type} {event.event_id}", flush=True)
    if isinstance(event.data, callbacks.RecordStopped):
        for f in event.data.record_file_list:
            where = f.get("ObjectKey") or f.get("Vid")
            print(f"  file {where}: {f.get('Duration')} ms", flush=True)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # no access log on stderr
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    secret = os.environ.get("RTC_CALLBACK_SECRET")
    if not secret:
        sys.exit("export RTC_CALLBACK_SECRET (the callback secret) first")
    app = callbacks.make_wsgi_app(handle, secret=secret)
    with make_server("127.0.0.1", args.port, app, handler_class=QuietHandler) as server:
        print(f"receiving callbacks on http://127.0.0.1:{args.port}/", flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: a clean stop
            server.serve_forever()


if __name__ == "__main__":
    main()
