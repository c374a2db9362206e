"""Per-stage wall-clock timers and latency statistics (medians and tails, not just means)."""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

STAGES = ("decode", "preprocess", "infer", "postprocess", "encode", "publish")


def latency_stats(samples_ms: list[float] | np.ndarray) -> dict[str, float]:
    """mean, p50, p90, p99 and max of a list of latencies in milliseconds."""
    values = np.asarray(samples_ms, dtype=np.float64)
    if values.size == 0:
        return {"mean_ms": 0.0, "p50_ms": 0.0, "p90_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {
        "mean_ms": float(values.mean()),
        "p50_ms": float(p50),
        "p90_ms": float(p90),
        "p99_ms": float(p99),
        "max_ms": float(values.max()),
    }


class StageTimer:
    """Records how long each named stage of each frame took, in milliseconds."""

    def __init__(self, keep: int | None = None) -> None:
        self.keep = keep
        self.last: dict[str, float] = {}
        self.history: dict[str, list[float]] = defaultdict(list)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the body of a `with` block as stage `name`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.record(name, (time.perf_counter() - start) * 1000.0)

    def record(self, name: str, ms: float) -> None:
        self.last[name] = ms
        samples = self.history[name]
        samples.append(ms)
        if self.keep is not None and len(samples) > self.keep:
            del samples[: len(samples) - self.keep]

    def reset(self) -> None:
        self.last.clear()
        self.history.clear()

    def summary(self) -> dict[str, dict[str, float]]:
        """Statistics per stage, in the order stages were first seen."""
        return {name: latency_stats(samples) for name, samples in self.history.items()}
