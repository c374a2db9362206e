"""Pairs depth images with CameraInfo by header stamp: exact match, else the nearest within a tolerance.

An image whose nearest CameraInfo is further away than the tolerance has no CameraInfo: stale intrinsics
are never re-stamped and published as current.
"""
from __future__ import annotations

import bisect
import threading
import time
from typing import Any

DEFAULT_TOLERANCE_S = 0.015  # half a frame period at 30 Hz


def stamp_ns(stamp: Any) -> int:
    """builtin_interfaces/Time as integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


class InfoCache:
    """The most recent `capacity` items keyed by stamp (None: unbounded); thread-safe."""

    def __init__(self, capacity: int | None = 16, tolerance_s: float = DEFAULT_TOLERANCE_S) -> None:
        self.capacity = capacity
        self.tolerance_ns = int(round(tolerance_s * 1e9))
        self._stamps: list[int] = []
        self._items: dict[int, Any] = {}
        self._cond = threading.Condition()

    def __len__(self) -> int:
        return len(self._stamps)

    def add(self, stamp: int, item: Any) -> None:
        """Store `item` under `stamp`, replacing one with the same stamp and evicting the oldest beyond capacity."""
        with self._cond:
            if stamp not in self._items:
                bisect.insort(self._stamps, stamp)
            self._items[stamp] = item
            while self.capacity is not None and len(self._stamps) > self.capacity:
                del self._items[self._stamps.pop(0)]
            self._cond.notify_all()

    def _match_locked(self, stamp: int) -> Any:
        if stamp in self._items:
            return self._items[stamp]
        i = bisect.bisect_left(self._stamps, stamp)
        candidates = self._stamps[max(i - 1, 0): i + 1]
        if not candidates:
            return None
        nearest = min(candidates, key=lambda s: abs(s - stamp))
        return self._items[nearest] if abs(nearest - stamp) <= self.tolerance_ns else None

    def match(self, stamp: int) -> Any:
        """The item with exactly this stamp, else the nearest within the tolerance, else None."""
        with self._cond:
            return self._match_locked(stamp)

    def wait_match(self, stamp: int, timeout_s: float) -> Any:
        """As `match`, waiting up to `timeout_s` for a matching item still in flight (never when none arrived yet)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                found = self._match_locked(stamp)
                remaining = deadline - time.monotonic()
                if found is not None or not self._stamps or remaining <= 0:
                    return found
                if self._stamps[-1] > stamp + self.tolerance_ns:
                    return None  # later infos arrived already: this image's one is not coming
                self._cond.wait(remaining)
