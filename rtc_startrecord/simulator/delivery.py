"""Callback delivery: the simulator POSTs the recording events to a URL, as the service does.

At least once, in order, from one background worker so that no API call waits for a receiver:
a delivery counts as done on HTTP 200 within the timeout; otherwise it is tried again with the
same EventId, at most `max_deliveries` times in all (3, as documented).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import attrs
import urllib3

from ..bounded_read import AnswerTooLarge, deadline_reads, read_capped, set_read_deadline
from ..callbacks import build_callback_body

log = logging.getLogger("rtc_startrecord.simulator")

_CLOSE_JOIN_SECONDS = 1.0


#: A callback receiver answers with a status; its body is read (and ignored) up to this.
MAX_ANSWER_BYTES = 64 << 10


@attrs.frozen(kw_only=True)
class Delivery:
    """One delivery attempt and its outcome."""

    event_type: str
    event_id: str
    attempt: int
    status: int | None  # HTTP status, None when no answer came
    ok: bool
    error: str | None
    seconds: float
    body: dict[str, str]


class Deliverer:
    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = 5.0,
        max_deliveries: int = 3,
        retry_delay: float = 1.0,
    ) -> None:
        self.url = url
        self._secret = secret
        self.timeout = timeout
        self.max_deliveries = max_deliveries
        self.retry_delay = retry_delay
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._queue: queue.Queue[dict[str, str] | None] = queue.Queue()
        self._pool = urllib3.PoolManager(retries=False)
        self._direct: Any = None
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtc-sim-callbacks", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"Deliverer(url={self.url!r}, deliveries={len(self.deliveries)})"

    def send(self, event_type: str, data: dict[str, Any], *, app_id: str) -> str:
        """Queue an event; returns its EventId. Never blocks."""
        body = build_callback_body(event_type, data, app_id=app_id, secret=self._secret)
        with self._lock:
            self._pending += 1
            self._idle.clear()
        self._queue.put(body)
        return body["EventId"]

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every queued event is delivered or given up."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Stop delivering, promptly: what is still queued or waiting for a retry is given up
        (call `wait_idle` first to let it finish). An attempt in flight ends on its own timeout,
        in the background, and is not retried."""
        self._closed.set()
        self._queue.put(None)
        self._thread.join(timeout=min(self.timeout + 1, _CLOSE_JOIN_SECONDS))
        self._pool.clear()

    def _run(self) -> None:
        while True:
            body = self._queue.get()
            if body is None:
                return
            try:
                if not self._closed.is_set():
                    self._deliver(body)
            except Exception:  # never let the worker die
                log.exception("callback delivery failed unexpectedly")
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.set()

    def _post(self, payload: bytes, deadline: float) -> int:
        """One attempt: the HTTP status, the whole answer read by `deadline` and within
        MAX_ANSWER_BYTES (a receiver that trickles or never ends its answer cannot hold the
        delivery thread or fill memory)."""
        if self._direct is None:  # its connections read the head within the deadline too
            self._direct = deadline_reads(self._pool.connection_from_url(self.url))
        parts = urlsplit(self.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        set_read_deadline(deadline)
        try:
            resp = self._direct.urlopen(
                "POST", target, body=payload, headers={"Content-Type": "application/json"},
                timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
                retries=False, redirect=False, preload_content=False, assert_same_host=False,
            )  # fmt: skip
            try:
                read_capped(resp, deadline, MAX_ANSWER_BYTES)
            finally:
                resp.release_conn()
            status: int = resp.status
            return status
        finally:
            set_read_deadline(None)

    def _deliver(self, body: dict[str, str]) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        for attempt in range(1, self.max_deliveries + 1):
            if self._closed.is_set():
                return
            t0 = time.monotonic()
            status: int | None = None
            error: str | None = None
            try:
                status = self._post(payload, t0 + self.timeout)
            except urllib3.exceptions.HTTPError as exc:
                error = str(getattr(exc, "reason", None) or exc)
            except AnswerTooLarge:
                error = f"the answer passed {MAX_ANSWER_BYTES >> 10} KiB"
            except TimeoutError:
                error = f"no whole answer within {self.timeout:g}s"
            seconds = time.monotonic() - t0
            ok = status == 200 and seconds <= self.timeout
            if status is not None and not ok and error is None:
                error = f"HTTP {status}" if status != 200 else f"answered after {seconds:.2f}s"
            record = Delivery(
                event_type=body["EventType"],
                event_id=body["EventId"],
                attempt=attempt,
                status=status,
                ok=ok,
                error=error,
                seconds=seconds,
                body=body,
            )
            with self._lock:
                self.deliveries.append(record)
            log.debug("callback %s #%d -> %s", body["EventType"], attempt, status or error)
            if ok:
                return
            if attempt < self.max_deliveries and self._closed.wait(self.retry_delay):
                return
