"""Running node statistics and their /diagnostics key-values (ros2_benchmark-style names), ROS-free."""
from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable

from dsr_ros.profiling import StageTimer, latency_stats
from dsr_ros.ros.core import FrameResult

WINDOW = 300  # frames kept for rate and latency percentiles


class NodeStats:
    """Thread-safe counters (received, published, dropped, skipped by reason) and windowed latencies."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, window: int = WINDOW) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._stamps: deque[float] = deque(maxlen=window)
        self.timer = StageTimer(keep=window)
        self.received = 0
        self.published = 0
        self.dropped = 0
        self.without_info = 0
        self.skipped: Counter[str] = Counter()
        self._last_received: float | None = None

    def on_received(self) -> None:
        with self._lock:
            self.received += 1
            self._last_received = self._clock()

    def on_dropped(self) -> None:
        with self._lock:
            self.dropped += 1

    def on_result(self, result: FrameResult, publish_ms: float = 0.0, total_ms: float | None = None) -> None:
        """Count a processed frame; successful ones feed the rate and per-stage latencies."""
        with self._lock:
            if not result.ok:
                self.skipped[result.reason] += 1
                return
            self.published += 1
            self.without_info += result.camera_info is None
            self._stamps.append(self._clock())
            for stage, ms in result.timings.items():
                self.timer.record(stage, ms)
            self.timer.record("publish", publish_ms)
            if total_ms is not None:
                self.timer.record("total", total_ms)

    def rate_hz(self) -> float:
        """Published frames per second over the window (0 until two frames)."""
        with self._lock:
            if len(self._stamps) < 2 or self._stamps[-1] <= self._stamps[0]:
                return 0.0
            return (len(self._stamps) - 1) / (self._stamps[-1] - self._stamps[0])

    def values(self) -> list[tuple[str, str]]:
        """Key-value pairs for a DiagnosticStatus."""
        rate = self.rate_hz()
        with self._lock:
            pairs = [
                ("frame_rate_hz", f"{rate:.2f}"),
                ("frames_received", str(self.received)),
                ("frames_published", str(self.published)),
                ("frames_dropped", str(self.dropped)),
                ("frames_skipped", str(sum(self.skipped.values()))),
                ("frames_without_camera_info", str(self.without_info)),
            ]
            pairs += [(f"skipped_{reason}", str(n)) for reason, n in sorted(self.skipped.items())]
            for stage, samples in self.timer.history.items():
                stats = latency_stats(samples)
                pairs += [(f"{stage}_p50_ms", f"{stats['p50_ms']:.2f}"), (f"{stage}_p99_ms", f"{stats['p99_ms']:.2f}")]
        return pairs

    def level(self, stale_s: float = 5.0) -> tuple[str, str]:
        """("OK" | "WARN", summary): WARN when no frame came for `stale_s` or none was published yet."""
        with self._lock:
            received, published, skipped = self.received, self.published, sum(self.skipped.values())
            last = self._last_received
        if last is None:
            return "WARN", "no depth frames received yet (check topic remapping and QoS)"
        if self._clock() - last > stale_s:
            return "WARN", f"no depth frame for {self._clock() - last:.1f} s"
        if published == 0:
            return "WARN", f"{received} frames received, none published ({skipped} skipped as bad input)"
        return "OK", f"{published} frames published"
