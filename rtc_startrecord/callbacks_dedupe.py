"""`Deduplicator`: a bounded, thread-safe set of seen EventIds (re-exported by
`rtc_startrecord.callbacks`)."""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["Deduplicator"]


class Deduplicator:
    """A bounded, thread-safe set of seen EventIds; the least recently seen are evicted first."""

    def __init__(self, max_size: int = 10000) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValueError("max_size must be a positive integer")
        self._max_size = max_size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

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
