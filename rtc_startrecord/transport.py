"""Sending one signed request: the urllib3 pool, the retry loop and the client-side rate limit.

urllib3 keeps the connection pool, the timeouts and the proxies; its own `Retry` cannot re-sign
each attempt with a fresh X-Date nor read the RTC envelope, so the loop lives here. This layer
knows bytes, headers and the envelope's error code, never the models.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from .errors import (
    ClientClosed,
    DeadlineExceeded,
    ResponseTooLarge,
    RtcError,
    TransportError,
    UnexpectedResponse,
)
from .ratelimit import Limiter, RateLimiter, RateLimitTimeout, backoff_delay

log = logging.getLogger("rtc_startrecord")

# Sign one attempt: (method, host, path, query, headers, body) -> every header to send.
Signer = Callable[
    [str, str, str, Sequence[tuple[str, str]], Mapping[str, str], bytes], dict[str, str]
]


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How hard to try. Defaults in the spirit of openai-python: 3 attempts, full jitter."""

    max_attempts: int = 3
    total_timeout: float = 60.0  # seconds for all attempts and waits together
    backoff_base: float = 0.5
    backoff_cap: float = 8.0


# The answers of this API are a few KiB; a generous cap keeps a hostile or broken server from
# making the client read without end (after decoding: a gzip bomb is capped too).
DEFAULT_MAX_RESPONSE_BYTES = 8 << 20
READ_CHUNK = 64 << 10
RETRY_AFTER_CAP = 30.0  # seconds; a longer Retry-After is honoured up to this
_DELAY_SECONDS = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,6})?")


@attrs.frozen(kw_only=True)
class Exchange:
    """The final answer of a call, and what happened on the way."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    envelope: dict[str, Any]
    attempts: int
    ambiguous_before: bool  # an earlier attempt may have reached the service

    @property
    def error(self) -> dict[str, Any] | None:
        err = self.envelope.get("ResponseMetadata", {}).get("Error")
        return err if isinstance(err, dict) else None

    @property
    def request_id(self) -> str | None:
        rid = self.envelope.get("ResponseMetadata", {}).get("RequestId")
        return rid if isinstance(rid, str) else None


@functools.lru_cache(maxsize=256)
def encode_query(query: tuple[tuple[str, str], ...]) -> str:
    """The query string sent (form encoding, as the official SDK sends it); memoized, since
    most calls send the same Action and Version."""
    return urlencode(query)


def parse_envelope(body: bytes) -> dict[str, Any] | None:
    """The RTC envelope, or None when the body is not one (an HTML 502 page, say)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, dict) and isinstance(data.get("ResponseMetadata"), dict):
        return data
    return None


def _retryable_envelope(status: int, envelope: dict[str, Any]) -> bool:
    err = envelope["ResponseMetadata"].get("Error")
    if not isinstance(err, dict):
        return False
    code = str(err.get("Code", ""))
    return status == 429 or status >= 500 or code.startswith("FlowLimitExceeded")


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
        self.timeout = (
            timeout
            if isinstance(timeout, urllib3.Timeout)
            else urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)
        )
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
            "retries": False,
            "redirect": False,
            "preload_content": False,  # read by _read_capped: bounded in size and in time
            "decode_content": True,
        }
        if not self._use_direct:
            return self._pool.request(method, url, **kwargs)
        if self._direct is None:
            self._direct = self._pool.connection_from_url(self.endpoint)
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
        """Send with retries; return the final enveloped answer or raise TransportError."""
        target = f"{path}?{encode_query(tuple(query))}"
        url = f"{self.endpoint}{target}"
        started = time.monotonic()
        deadline = started + policy.total_timeout
        ambiguous = False
        last: Exception | None = None
        budget = policy.total_timeout
        for attempt in range(1, policy.max_attempts + 1):
            if self.closed:
                raise ClientClosed("this client was closed; build a new one (nothing was sent)")
            if self.limiter is not None:
                try:
                    self.limiter.acquire(timeout=max(deadline - time.monotonic(), 0.0))
                except RateLimitTimeout:
                    raise DeadlineExceeded(
                        budget, "the rate limiter", attempts=attempt - 1, ambiguous=ambiguous
                    ) from None
                except TransportError as exc:  # a shared limiter failing closed: not sent
                    exc.attempts = attempt - 1
                    exc.ambiguous = exc.ambiguous or ambiguous
                    raise
            sent = signer(method, self.host, path, query, headers, body)
            t0 = time.monotonic()
            if t0 >= deadline:
                raise DeadlineExceeded(budget, "a retry", attempts=attempt - 1, ambiguous=ambiguous)
            try:
                resp = self._send(
                    method, target, url, body, sent, _within(timeout or self.timeout, deadline - t0)
                )
                try:
                    data = self._read_capped(resp, deadline)
                finally:
                    resp.release_conn()
            except _Overflow:
                raise ResponseTooLarge(
                    self.max_response_bytes, attempts=attempt, ambiguous=True
                ) from None
            except (NewConnectionError, ConnectTimeoutError) as exc:
                if time.monotonic() >= deadline:
                    raise DeadlineExceeded(
                        budget, "connecting", attempts=attempt, ambiguous=ambiguous
                    ) from None
                last = TransportError(
                    f"cannot connect to {self.endpoint}: {_reason(exc)}",
                    attempts=attempt,
                    ambiguous=ambiguous,
                )
                outcome = "connect-error"
            except (ReadTimeoutError, ProtocolError, HTTPError, OSError) as exc:
                ambiguous = True  # the request was (or may have been) written: it may have run
                if time.monotonic() >= deadline:
                    raise DeadlineExceeded(
                        budget, "the answer", attempts=attempt, ambiguous=True
                    ) from None
                last = TransportError(
                    f"{action or method} to {self.endpoint} failed after sending: {_reason(exc)}",
                    attempts=attempt,
                    ambiguous=True,
                )
                outcome = "read-error"
            else:
                status = resp.status
                envelope = parse_envelope(data)
                latency = (time.monotonic() - t0) * 1000
                rid = envelope["ResponseMetadata"].get("RequestId") if envelope else None
                log.debug(
                    "%s attempt %d: HTTP %d, RequestId %s, %.1f ms",
                    action,
                    attempt,
                    status,
                    rid,
                    latency,
                )
                if status >= 500:
                    ambiguous = True  # the service (or a proxy) failed after taking the request
                if envelope is not None:
                    exchange = Exchange(
                        status=status,
                        headers=dict(resp.headers),
                        body=data,
                        envelope=envelope,
                        attempts=attempt,
                        ambiguous_before=ambiguous,
                    )
                    if not _retryable_envelope(status, envelope):
                        return exchange
                    last = _Final(exchange)
                elif status < 500 and status != 429:
                    raise UnexpectedResponse(
                        status, data[:200], attempts=attempt, ambiguous=ambiguous
                    )
                else:
                    last = UnexpectedResponse(
                        status, data[:200], attempts=attempt, ambiguous=ambiguous
                    )
                outcome = f"HTTP {status}"
                retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
            if outcome in ("connect-error", "read-error"):
                log.debug("%s attempt %d: %s (%s)", action, attempt, outcome, last)
                retry_after = 0.0
            if attempt == policy.max_attempts:
                break
            backoff = backoff_delay(
                attempt - 1, base=policy.backoff_base, cap=policy.backoff_cap, rng=self._rng
            )
            delay = max(retry_after, backoff)
            if time.monotonic() + delay > deadline:
                log.debug("%s: total time budget of %.1fs spent", action, policy.total_timeout)
                break
            self._sleep(delay)
        assert last is not None
        if isinstance(last, _Final):
            return last.exchange
        if isinstance(last, RtcError):
            last.ambiguous = last.ambiguous or ambiguous
        raise last

    def _read_capped(self, resp: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
        """The decoded body, read in chunks: at most `max_response_bytes` (urllib3 >= 2.6 bounds
        the decompression of each read too), and each read bounded by the call's deadline (a
        per-read timeout alone lets a body trickle in a byte at a time forever)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the call's deadline passed while reading the answer")
            sock = getattr(getattr(resp, "connection", None), "sock", None)
            if sock is not None:
                current = sock.gettimeout()
                sock.settimeout(remaining if current is None else min(current, remaining))
            chunk = resp.read1(READ_CHUNK)  # one socket read at most: the deadline is seen
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_response_bytes:
                resp.close()  # the rest is never read; the connection is not reused
                raise _Overflow
            chunks.append(chunk)


class _Overflow(Exception):
    """The answer passed the size cap (turned into ResponseTooLarge by the loop)."""


class _Final(Exception):
    """Carries a retryable enveloped answer out of the loop when attempts run out."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange


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


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date (RFC 9110
    10.2.3), at most RETRY_AFTER_CAP. Anything else (NaN, negatives, garbage) counts as absent,
    with a debug line."""
    if not value:
        return 0.0
    text = value.strip()
    seconds: float | None = None
    if _DELAY_SECONDS.fullmatch(text):  # RFC 9110 says whole seconds; decimals are accepted
        seconds = float(text)
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            when = None
        if when is not None and when.tzinfo is not None:
            seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds is None or not math.isfinite(seconds):
        log.debug("ignoring a Retry-After of %r: neither seconds nor an HTTP date", value[:40])
        return 0.0
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)
