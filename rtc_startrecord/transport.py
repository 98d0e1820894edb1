"""The sync shell of a call's attempts: the urllib3 pool, the limiter wait, the sleeps.

urllib3 keeps the connection pool, the timeouts and the proxies; its own `Retry` cannot re-sign
each attempt with a fresh X-Date nor read the RTC envelope, so the retry rules live in
`attempts.attempt_steps` (shared with the async shell, `transport_async`), and this module only
performs the steps it asks for. This layer knows bytes and headers, never the models.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from .attempts import (
    DEFAULT_MAX_RESPONSE_BYTES,
    RETRY_AFTER_CAP,
    Acquire,
    Answer,
    Exchange,
    Failure,
    Outcome,
    RetryPolicy,
    Send,
    TooLarge,
    attempt_steps,
    encode_query,
    parse_envelope,
    retry_after_seconds,
)
from .bounded_read import READ_CHUNK, AnswerTooLarge, read_capped, set_read_deadline
from .errors import RtcError
from .http_fast import use_fast_headers
from .ratelimit import Limiter, RateLimiter

# The sans-I/O names, importable from here as before this module became a shell.
__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "READ_CHUNK",
    "RETRY_AFTER_CAP",
    "AnswerTooLarge",
    "Exchange",
    "RetryPolicy",
    "Signer",
    "Transport",
    "attempt_timeout",
    "encode_query",
    "parse_envelope",
    "read_capped",
    "retry_after_seconds",
]

log = logging.getLogger("rtc_startrecord")

# Sign one attempt: (method, host, path, query, headers, body) -> every header to send.
Signer = Callable[
    [str, str, str, Sequence[tuple[str, str]], Mapping[str, str], bytes], dict[str, str]
]


# What urllib3 builds from `retries=False` on every call (Retry.from_int), built once.
_NO_RETRY = urllib3.Retry(total=False, redirect=False)


class Transport:
    """One connection pool (keep-alive) for one endpoint, shared by a client and its copies.

    Every attempt first waits for the limiter: ``limiter`` when given (any `Limiter`: a
    `RateLimiter`, a `rtc_startrecord.ratelimit_redis.RedisRateLimiter` shared by a fleet, or
    one's own), which then replaces ``qps``; else a `RateLimiter` of ``qps`` per second, or none
    when ``qps`` is None or 0. The wait counts against the call's deadline.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        timeout: float | urllib3.Timeout,
        qps: float | None,
        proxy: str | None = None,
        pool_maxsize: int = 10,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        limiter: Limiter | None = None,
    ) -> None:
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be at least 1")
        self.max_response_bytes = max_response_bytes
        self.closed = False
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "endpoint must be an http(s) URL such as https://rtc.volcengineapi.com, "
                f"got {endpoint!r}"
            )
        self.endpoint = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.netloc  # what the Host header carries, and so what is signed
        self.timeout = attempt_timeout(timeout)
        pool_kw: dict[str, Any] = {"maxsize": pool_maxsize, "retries": False, "block": False}
        self._pool: urllib3.PoolManager = (
            urllib3.ProxyManager(proxy, **pool_kw) if proxy else urllib3.PoolManager(**pool_kw)
        )
        # Without a proxy, one endpoint means one connection pool: call it directly and skip the
        # manager's per-request URL parsing and pool-key lookup (a third of the client's time).
        self._use_direct = proxy is None
        self._direct: urllib3.HTTPConnectionPool | None = None
        if limiter is not None and not callable(getattr(limiter, "acquire", None)):
            raise TypeError(
                f"limiter must have an acquire(timeout) method, got {type(limiter).__name__}"
            )
        self.limiter: Limiter | None = (
            limiter if limiter is not None else RateLimiter(qps) if qps else None
        )
        self._rng = rng or random.Random()
        self._sleep = sleep

    def close(self) -> None:
        """Close every pooled connection; later calls raise ClientClosed and send nothing."""
        self.closed = True
        self._pool.clear()
        self._direct = None

    def _send(
        self,
        method: str,
        target: str,
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout: urllib3.Timeout,
    ) -> urllib3.BaseHTTPResponse:
        """One HTTP exchange, no retries: straight to the endpoint's pool, or through the proxy."""
        kwargs: dict[str, Any] = {
            "body": body or None,
            "headers": headers,
            "timeout": timeout,
            "retries": _NO_RETRY,
            "redirect": False,
            "preload_content": False,  # read by read_capped: bounded in size and in time
            "decode_content": True,
        }
        if not self._use_direct:
            return self._pool.request(method, url, **kwargs)
        if self._direct is None:
            # http_fast: the stdlib's header parsing without its email parser for plain
            # headers, and a small body sent with its headers in one write (no proxy only).
            self._direct = use_fast_headers(self._pool.connection_from_url(self.endpoint))
        return self._direct.urlopen(method, target, assert_same_host=False, **kwargs)

    def exchange(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        *,
        signer: Signer,
        policy: RetryPolicy,
        timeout: urllib3.Timeout | None = None,
        action: str = "",
    ) -> Exchange:
        """Send with retries; return the final enveloped answer or raise TransportError.

        The retry rules are `attempts.attempt_steps`; this only performs its steps."""
        target = f"{path}?{encode_query(tuple(query))}"
        url = f"{self.endpoint}{target}"
        per_attempt = timeout or self.timeout
        steps = attempt_steps(
            sign=lambda: signer(method, self.host, path, query, headers, body),
            policy=policy,
            limited=self.limiter is not None,
            is_closed=lambda: self.closed,
            endpoint=self.endpoint,
            max_response_bytes=self.max_response_bytes,
            rng=self._rng,
            action=action or method,
        )
        step = next(steps)
        try:
            while True:
                if isinstance(step, Send):
                    outcome = self._attempt(method, target, url, body, step, per_attempt)
                    step = steps.send(outcome)
                elif isinstance(step, Acquire):
                    assert self.limiter is not None
                    try:
                        self.limiter.acquire(timeout=step.timeout)
                    except RtcError as exc:  # refused: the steps turn it into the call's error
                        step = steps.throw(exc)
                    else:
                        step = steps.send(None)
                else:
                    self._sleep(step.seconds)
                    step = steps.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _attempt(
        self,
        method: str,
        target: str,
        url: str,
        body: bytes,
        step: Send,
        timeout: urllib3.Timeout,
    ) -> Outcome:
        """One HTTP exchange, its answer read within the cap and the deadline; urllib3's
        exceptions told apart by whether the request can have reached the service."""
        deadline = time.monotonic() + step.remaining
        set_read_deadline(deadline)  # the head too, not only the body (http_fast)
        try:
            resp = self._send(
                method, target, url, body, step.headers, _within(timeout, step.remaining)
            )
            try:
                data = read_capped(resp, deadline, self.max_response_bytes)
            finally:
                resp.release_conn()
        except AnswerTooLarge:
            return TooLarge()
        except (NewConnectionError, ConnectTimeoutError) as exc:
            return Failure(sent=False, reason=_reason(exc))
        except (ReadTimeoutError, ProtocolError, HTTPError, OSError) as exc:
            return Failure(sent=True, reason=_reason(exc))
        finally:
            set_read_deadline(None)
        return Answer(resp.status, resp.headers, data)


def attempt_timeout(timeout: float | urllib3.Timeout) -> urllib3.Timeout:
    """One attempt's timeouts from the client's `timeout`: seconds mean that long to read and
    at most 10 s of it to connect (both shells read the connect and read parts)."""
    if isinstance(timeout, urllib3.Timeout):
        return timeout
    return urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)


def _within(timeout: urllib3.Timeout, remaining: float) -> urllib3.Timeout:
    """The attempt's timeout, cut so that the attempt ends within the call's total budget."""
    remaining = max(remaining, 0.001)
    total = timeout.total
    if isinstance(total, (int, float)):
        if total <= remaining:
            return timeout
    else:
        connect, read = timeout.connect_timeout, timeout.read_timeout
        if (
            isinstance(connect, (int, float))
            and isinstance(read, (int, float))
            and connect + read <= remaining
        ):
            return timeout  # the common case: no copy per call
    bounded = timeout.clone()
    bounded.total = remaining
    return bounded


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc)
