"""`RedisDeduplicator`: one `DedupeStore` shared by every receiver replica using the same Redis
(re-exported by `rtc_startrecord.callbacks`).

Two keys per EventId, under ``key_prefix``:

- ``<prefix>lease:<EventId>``: the in-flight lease, taken with ``SET NX PX lease_ttl`` by the
  replica that will run the handler, holding a token of that claim. A duplicate arriving at any
  replica while it exists gets `Claim.BUSY` (409 with Retry-After: retry later), and no handler
  call. If the replica dies mid-handler, the lease expires after ``lease_ttl`` seconds (default
  30 s) and the sender's next retry is processed.
- ``<prefix>done:<EventId>``: the done mark, written (``PX ttl``) only after the handler returned,
  in the same script that drops the lease; a delivery then gets `Claim.DUPLICATE` for ``ttl``
  seconds. Choose ``ttl`` at least as long as the sender keeps retrying (and at least the
  receiver's ``max_age``, beyond which `parse` refuses the event anyway).

A handler that raised releases the lease (only its own: the token must match), so the retry is
processed. A handler that runs longer than ``lease_ttl`` loses its lease: a duplicate may then run
concurrently; set ``lease_ttl`` above the handler's worst case.

Every command is bounded by ``redis_timeout`` (default 0.25 s) and never retried by redis-py
(see `rtc_startrecord.ratelimit_redis.BoundedRedis`). When Redis fails, `claim` raises: the
receiver answers 503 with Retry-After and does not call the handler (fail closed; the sender
retries). A failing `complete` is logged by the receiver; the event was processed, and the lease
runs out after ``lease_ttl``.
"""

from __future__ import annotations

import math
import threading
import uuid
from typing import TYPE_CHECKING, Final

from ..ratelimit_redis import DEFAULT_REDIS_TIMEOUT, BoundedRedis
from .dedupe import Claim

if TYPE_CHECKING:
    import redis

__all__ = ["DEFAULT_LEASE_TTL", "RedisDeduplicator"]

DEFAULT_LEASE_TTL: Final = 30.0
"""Seconds an in-flight lease lives unless completed or released."""

# KEYS: done, lease; ARGV: token, lease ms. -> 0 new (lease taken), 1 duplicate, 2 busy.
_CLAIM: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
return 2
"""
# KEYS: done, lease; ARGV: token, done ms. The done mark replaces the lease (if still ours).
_COMPLETE: Final = """
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""
# KEYS: lease; ARGV: token. Drop the lease only if it is still ours.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_CLAIMS: Final = {0: Claim.NEW, 1: Claim.DUPLICATE, 2: Claim.BUSY}


def _milliseconds(name: str, seconds: float) -> int:
    if isinstance(seconds, bool) or not (
        isinstance(seconds, (int, float)) and seconds > 0 and math.isfinite(seconds)
    ):
        raise ValueError(f"{name} must be a positive finite number of seconds, got {seconds!r}")
    return max(math.ceil(seconds * 1000), 1)


class RedisDeduplicator:
    """A `DedupeStore` in Redis, shared by receiver replicas: see the module's docstring.

    ``redis_client_or_url``: a `redis.Redis` or a ``redis://`` URL; ``key_prefix`` starts every
    key (e.g. ``"rtc:callbacks:"``); ``ttl``: seconds a processed EventId is remembered;
    ``lease_ttl``: seconds a claim lives while its handler runs.
    """

    def __init__(
        self,
        redis_client_or_url: redis.Redis | str,
        *,
        key_prefix: str,
        ttl: float,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        redis_timeout: float = DEFAULT_REDIS_TIMEOUT,
    ) -> None:
        if not isinstance(key_prefix, str) or not key_prefix:
            raise ValueError("key_prefix must be a non-empty string")
        self.key_prefix = key_prefix
        self.ttl = ttl
        self.lease_ttl = lease_ttl
        self._ttl_ms = _milliseconds("ttl", ttl)
        self._lease_ms = _milliseconds("lease_ttl", lease_ttl)
        self._redis = BoundedRedis(redis_client_or_url, timeout=redis_timeout)
        self._tokens: dict[str, str] = {}  # EventId -> the token of this process's claim
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"RedisDeduplicator(key_prefix={self.key_prefix!r}, ttl={self.ttl!r}, "
            f"lease_ttl={self.lease_ttl!r}, redis={self._redis!r})"
        )

    def close(self) -> None:
        """Close the Redis client it built from a URL (a client passed in is left open)."""
        self._redis.close()

    def _keys(self, event_id: str) -> list[str]:
        return [f"{self.key_prefix}done:{event_id}", f"{self.key_prefix}lease:{event_id}"]

    def claim(self, event_id: str) -> Claim:
        """Atomically across replicas: `Claim.DUPLICATE` if done, `Claim.BUSY` if leased, else
        take the lease and return `Claim.NEW`."""
        token = uuid.uuid4().hex
        found = _CLAIMS[
            int(self._redis.script(None, _CLAIM, self._keys(event_id), token, self._lease_ms))
        ]
        if found is Claim.NEW:
            with self._lock:
                self._tokens[event_id] = token
        return found

    def _token(self, event_id: str) -> str:
        with self._lock:
            return self._tokens.pop(event_id, "")

    def complete(self, event_id: str) -> None:
        """Mark ``event_id`` done for ``ttl`` seconds, dropping this process's lease."""
        token = self._token(event_id)
        self._redis.script(None, _COMPLETE, self._keys(event_id), token, self._ttl_ms)

    def release(self, event_id: str) -> None:
        """Drop this process's lease unprocessed: the next delivery is `Claim.NEW`."""
        token = self._token(event_id)
        if token:
            self._redis.script(None, _RELEASE, self._keys(event_id)[1:], token)

    def add(self, event_id: str) -> None:
        """Mark ``event_id`` done (as `Deduplicator.add`), whoever holds a lease."""
        self._redis.call(None, "SET", self._keys(event_id)[0], "1", "PX", self._ttl_ms)

    def discard(self, event_id: str) -> None:
        """Forget ``event_id`` (its done mark; a lease runs out on its own)."""
        self._redis.call(None, "DEL", self._keys(event_id)[0])

    def __contains__(self, event_id: object) -> bool:
        if not isinstance(event_id, str):
            return False
        return bool(self._redis.call(None, "EXISTS", self._keys(event_id)[0]))
