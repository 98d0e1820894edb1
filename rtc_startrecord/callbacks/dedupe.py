"""Deduplication of callback events: the `DedupeStore` interface, and `Deduplicator`, a
bounded, thread-safe in-memory store (re-exported by `rtc_startrecord.callbacks`; the store a
fleet of receivers shares is `RedisDeduplicator`, in `.dedupe_redis`).

How `make_wsgi_app` uses a store, per event: `claim` it; on `Claim.NEW` call the handler, then
`complete` (the event is marked done only after the handler returned) or, when the handler
raised, `release` (so the sender's retry is processed). `Claim.DUPLICATE` is answered 200 without
calling the handler, `Claim.BUSY` (another request holds the event) 409 with Retry-After.
"""

from __future__ import annotations

import enum
import threading
from collections import OrderedDict
from typing import Protocol, runtime_checkable

__all__ = ["Claim", "DedupeStore", "Deduplicator"]


class Claim(enum.StrEnum):
    """What `DedupeStore.claim` found."""

    NEW = "new"  # the caller now holds the event: complete() or release() it
    DUPLICATE = "duplicate"  # already processed
    BUSY = "busy"  # being processed by another request (of this or another replica)


@runtime_checkable
class DedupeStore(Protocol):
    """The small interface `make_wsgi_app` needs of a deduplicator (thread-safe).

    ``claim`` is atomic: of N concurrent claims of one new EventId, exactly one gets
    `Claim.NEW`. Any method may raise when its backend fails (the receiver answers 503 for a
    failed ``claim``, so the sender retries)."""

    def claim(self, event_id: str) -> Claim: ...

    def complete(self, event_id: str) -> None: ...

    def release(self, event_id: str) -> None: ...

    def __contains__(self, event_id: object) -> bool: ...  # processed (done), not in flight


class Deduplicator:
    """A bounded, thread-safe set of seen EventIds; the least recently seen are evicted first.

    A `DedupeStore` for one process: events being handled are kept apart (in flight, not
    counted in ``len`` nor ``in``) until `complete` or `release`."""

    def __init__(self, max_size: int = 10000) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValueError("max_size must be a positive integer")
        self._max_size = max_size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._flight_lock = threading.Lock()

    @property
    def max_size(self) -> int:
        return self._max_size

    def check_and_add(self, event_id: str) -> bool:
        """True if ``event_id`` was already seen (it becomes the most recent); otherwise record
        it and return False. Atomic: of N concurrent calls with one new id, exactly one is False."""
        with self._lock:
            if event_id in self._ids:
                self._ids.move_to_end(event_id)
                return True
            self._insert(event_id)
            return False

    def claim(self, event_id: str) -> Claim:
        """`Claim.BUSY` while ``event_id`` is in flight, `Claim.DUPLICATE` once seen, else put it
        in flight and return `Claim.NEW`."""
        with self._flight_lock:
            if event_id in self._in_flight:
                return Claim.BUSY
            if event_id in self:
                return Claim.DUPLICATE
            self._in_flight.add(event_id)
            return Claim.NEW

    def complete(self, event_id: str) -> None:
        """Mark a claimed event processed (`add`), and no longer in flight (even if that fails)."""
        try:
            self.add(event_id)
        finally:
            with self._flight_lock:
                self._in_flight.discard(event_id)

    def release(self, event_id: str) -> None:
        """Give up a claimed event unprocessed: a later delivery is `Claim.NEW` again."""
        with self._flight_lock:
            self._in_flight.discard(event_id)

    def add(self, event_id: str) -> None:
        """Record ``event_id`` as seen (most recent)."""
        with self._lock:
            if event_id in self._ids:
                self._ids.move_to_end(event_id)
            else:
                self._insert(event_id)

    def discard(self, event_id: str) -> None:
        """Forget ``event_id`` (say its processing failed and a retry should be processed)."""
        with self._lock:
            self._ids.pop(event_id, None)

    def _insert(self, event_id: str) -> None:
        self._ids[event_id] = None
        while len(self._ids) > self._max_size:
            self._ids.popitem(last=False)

    def __contains__(self, event_id: object) -> bool:
        with self._lock:
            return event_id in self._ids

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    def __repr__(self) -> str:
        return f"Deduplicator(max_size={self._max_size}, size={len(self)})"
