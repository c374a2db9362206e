"""CPU thread policy for inference: how many threads torch and OpenCV may use per process.

A robot's CPU is shared with drivers, SLAM and planners. Torch's default (one thread per core)
collapses when another process holds a core: every parallel region waits for its slowest
thread, so a busy core stalls each layer (199–381 ms per frame here against 48 ms with one
thread, BENCHMARKS.md). The default therefore leaves half the usable cores to the rest of the
robot, at most four (beyond that a lite DSRNet gains little).
"""
from __future__ import annotations

import os

MAX_DEFAULT_THREADS = 4


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a container's or taskset's), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_threads(cpus: int | None = None) -> int:
    """Half the usable CPUs, at least 1 and at most MAX_DEFAULT_THREADS."""
    cpus = usable_cpus() if cpus is None else cpus
    return max(1, min(MAX_DEFAULT_THREADS, cpus // 2))


def apply_threads(threads: int = 0) -> int:
    """Set torch's and OpenCV's thread counts (0: the default policy); returns the count used."""
    import cv2
    import torch

    if threads < 0:
        raise ValueError(f"threads must be >= 0 (0: automatic), got {threads}")
    count = threads or default_threads()
    torch.set_num_threads(count)
    cv2.setNumThreads(count)
    return count
