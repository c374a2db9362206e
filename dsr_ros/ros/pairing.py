"""Pairs depth images with CameraInfo by header stamp (exact match first, else the nearest in time)."""
from __future__ import annotations

import bisect
import threading
from typing import Any


def stamp_ns(stamp: Any) -> int:
    """builtin_interfaces/Time as integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


class InfoCache:
    """The most recent `capacity` items keyed by stamp (None: unbounded); thread-safe."""

    def __init__(self, capacity: int | None = 16) -> None:
        self.capacity = capacity
        self._stamps: list[int] = []
        self._items: dict[int, Any] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._stamps)

    def add(self, stamp: int, item: Any) -> None:
        """Store `item` under `stamp`, replacing one with the same stamp and evicting the oldest beyond capacity."""
        with self._lock:
            if stamp not in self._items:
                bisect.insort(self._stamps, stamp)
            self._items[stamp] = item
            while self.capacity is not None and len(self._stamps) > self.capacity:
                del self._items[self._stamps.pop(0)]

    def match(self, stamp: int) -> Any:
        """The item with exactly this stamp, else the one nearest in time, else None when empty."""
        with self._lock:
            if not self._stamps:
                return None
            if stamp in self._items:
                return self._items[stamp]
            i = bisect.bisect_left(self._stamps, stamp)
            candidates = self._stamps[max(i - 1, 0): i + 1]
            return self._items[min(candidates, key=lambda s: abs(s - stamp))]
