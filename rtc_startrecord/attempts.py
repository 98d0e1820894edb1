"""One call's attempts, without I/O: the retry policy, the deadline, ambiguity, backoff and the
reading of each answer, written once for the sync and the async transport.

`attempt_steps` is a generator that says what to do next and is told what happened:

    steps = attempt_steps(...)
    step = next(steps)              # Acquire | Send | Pause
    step = steps.send(outcome)      # after a Send: an Answer or a Failure; else None
    ...                             # StopIteration.value is the final Exchange

The shells (`transport.Transport` on urllib3, `transport_async.AsyncTransport` on httpx) only
wait for the limiter, put one request on the wire and read its answer within the cap, and sleep;
a limiter's refusal is thrown into the generator (`steps.throw(exc)`), which turns it into the
call's error. So every rule about when to retry, what counts as ambiguous and which error to
raise lives here, and both clients obey the same ones.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import math
import random
import re
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any
from urllib.parse import urlencode

import attrs
import orjson

from .errors import (
    ClientClosed,
    DeadlineExceeded,
    ResponseTooLarge,
    RtcError,
    TransportError,
    UnexpectedResponse,
)
from .ratelimit import RateLimitTimeout, backoff_delay

log = logging.getLogger("rtc_startrecord")

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "RETRY_AFTER_CAP",
    "Acquire",
    "Answer",
    "Exchange",
    "Failure",
    "Pause",
    "RetryPolicy",
    "Send",
    "TooLarge",
    "attempt_steps",
    "encode_query",
    "parse_envelope",
    "retry_after_seconds",
]

# The answers of this API are a few KiB; a generous cap keeps a hostile or broken server from
# making the client read without end (after decoding: a gzip bomb is capped too).
DEFAULT_MAX_RESPONSE_BYTES = 8 << 20
RETRY_AFTER_CAP = 30.0  # seconds; a longer Retry-After is honoured up to this
_DELAY_SECONDS = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,6})?")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How hard to try. Defaults in the spirit of openai-python: 3 attempts, full jitter."""

    max_attempts: int = 3
    total_timeout: float = 60.0  # seconds for all attempts and waits together
    backoff_base: float = 0.5
    backoff_cap: float = 8.0


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


# -- what the generator asks the shell to do ------------------------------------------------


@attrs.frozen
class Acquire:
    """Wait for the limiter at most `timeout` seconds (a refusal is thrown back in)."""

    timeout: float


@attrs.frozen
class Send:
    """Send the call's request with these signed headers; the answer must be read within
    `remaining` seconds (the call's deadline), so a trickling body cannot outlast it."""

    headers: dict[str, str]
    remaining: float


@attrs.frozen
class Pause:
    """Sleep before the next attempt."""

    seconds: float


# -- what the shell tells it back -------------------------------------------------------------


@attrs.frozen
class Answer:
    """An HTTP answer, its body read in full (decoded, within the size cap)."""

    status: int
    headers: Mapping[str, str]  # case-insensitive in both shells (urllib3's and httpx's)
    body: bytes


@attrs.frozen
class Failure:
    """No answer. `sent` is False when no connection was made (the request cannot have run)."""

    sent: bool
    reason: str


@attrs.frozen
class TooLarge:
    """The answer passed the size cap; the connection was dropped unread."""


Step = Acquire | Send | Pause
Outcome = Answer | Failure | TooLarge


@functools.lru_cache(maxsize=256)
def encode_query(query: tuple[tuple[str, str], ...]) -> str:
    """The query string sent (form encoding, as the official SDK sends it); memoized, since
    most calls send the same Action and Version."""
    return urlencode(query)


def parse_envelope(body: bytes) -> dict[str, Any] | None:
    """The RTC envelope, or None when the body is not one (an HTML 502 page, say)."""
    try:
        data = orjson.loads(body)  # a JSONDecodeError (a ValueError) on invalid UTF-8 too
    except ValueError:
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


class _Final(Exception):
    """Carries a retryable enveloped answer out of the loop when attempts run out."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange


def attempt_steps(
    *,
    sign: Callable[[], dict[str, str]],
    policy: RetryPolicy,
    limited: bool,
    is_closed: Callable[[], bool],
    endpoint: str,
    max_response_bytes: int,
    rng: random.Random,
    action: str,
) -> Generator[Step, Outcome | None, Exchange]:
    """The attempts of one call (see the module docstring). `sign()` signs one attempt afresh
    (a new X-Date each time); `limited` says whether to wait for a limiter first."""
    started = time.monotonic()
    budget = policy.total_timeout
    deadline = started + budget
    ambiguous = False
    last: Exception | None = None
    for attempt in range(1, policy.max_attempts + 1):
        if is_closed():
            raise ClientClosed("this client was closed; build a new one (nothing was sent)")
        if limited:
            try:
                yield Acquire(max(deadline - time.monotonic(), 0.0))
            except RateLimitTimeout:
                raise DeadlineExceeded(
                    budget, "the rate limiter", attempts=attempt - 1, ambiguous=ambiguous
                ) from None
            except TransportError as exc:  # a shared limiter failing closed: not sent
                exc.attempts = attempt - 1
                exc.ambiguous = exc.ambiguous or ambiguous
                raise
        headers = sign()
        t0 = time.monotonic()
        if t0 >= deadline:
            raise DeadlineExceeded(budget, "a retry", attempts=attempt - 1, ambiguous=ambiguous)
        outcome = yield Send(headers, deadline - t0)
        retry_after = 0.0
        if isinstance(outcome, TooLarge):
            raise ResponseTooLarge(max_response_bytes, attempts=attempt, ambiguous=True)
        if isinstance(outcome, Failure):
            ambiguous = ambiguous or outcome.sent  # written, then no answer: it may have run
            if time.monotonic() >= deadline:
                waiting = "the answer" if outcome.sent else "connecting"
                raise DeadlineExceeded(budget, waiting, attempts=attempt, ambiguous=ambiguous)
            message = (
                f"{action or 'the request'} to {endpoint} failed after sending: {outcome.reason}"
                if outcome.sent
                else f"cannot connect to {endpoint}: {outcome.reason}"
            )
            last = TransportError(message, attempts=attempt, ambiguous=ambiguous)
            log.debug("%s attempt %d: %s", action, attempt, message)
        elif isinstance(outcome, Answer):
            status, data = outcome.status, outcome.body
            envelope = parse_envelope(data)
            if log.isEnabledFor(logging.DEBUG):
                rid = envelope["ResponseMetadata"].get("RequestId") if envelope else None
                latency = (time.monotonic() - t0) * 1000
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
                    headers=outcome.headers,
                    body=data,
                    envelope=envelope,
                    attempts=attempt,
                    ambiguous_before=ambiguous,
                )
                if not _retryable_envelope(status, envelope):
                    return exchange
                last = _Final(exchange)
            elif status < 500 and status != 429:
                raise UnexpectedResponse(status, data[:200], attempts=attempt, ambiguous=ambiguous)
            else:
                last = UnexpectedResponse(status, data[:200], attempts=attempt, ambiguous=ambiguous)
            retry_after = retry_after_seconds(outcome.headers.get("Retry-After"))
        else:  # pragma: no cover - a shell that answers a Send with nothing is a bug
            raise TypeError(f"a Send must be answered with an outcome, got {outcome!r}")
        if attempt == policy.max_attempts:
            break
        backoff = backoff_delay(
            attempt - 1, base=policy.backoff_base, cap=policy.backoff_cap, rng=rng
        )
        delay = max(retry_after, backoff)
        if time.monotonic() + delay > deadline:
            log.debug("%s: total time budget of %.1fs spent", action, policy.total_timeout)
            break
        yield Pause(delay)
    assert last is not None
    if isinstance(last, _Final):
        return last.exchange
    if isinstance(last, RtcError):
        last.ambiguous = last.ambiguous or ambiguous
    raise last


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
