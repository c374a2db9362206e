"""Per-key log throttling: one line per reason per period, with a count of what was held back."""
from __future__ import annotations

import time
from collections.abc import Callable


class Throttle:
    """Decides whether a message for `key` may be logged now; counts suppressed ones per key."""

    def __init__(self, period_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.period_s = period_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def check(self, key: str) -> int | None:
        """None when the message must be held back; else how many were held back since the last one."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.period_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._suppressed.pop(key, 0)
