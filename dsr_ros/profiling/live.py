"""Latency of the running node through DDS, measured as ros2_benchmark does, plus a memory soak.

A peer publishes synthetic depth frames (with CameraInfo) at a fixed rate to a real `upsample_node`
process and receives its output: frame rate, missed frames, publish → receive latency, frame-to-frame
jitter (|Δt_i − Δt_{i−1}| of arrivals), and the node process's CPU % and resident memory.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dsr_ros.profiling.runs import synthetic_frames
from dsr_ros.ros.live_peer import LivePeer, camera_info, depth_image, ros_header
from dsr_ros.ros.node_process import NodeProcess
from dsr_ros.ros.pairing import stamp_ns

SETTLE_S = 1.0  # after the last frame is sent, how long outputs may still arrive


@dataclass
class LiveRun:
    """One fixed-rate playback: what was sent, what came back and what the node process used."""

    rate_hz: float
    duration_s: float
    sent: int
    received: int
    latencies_ms: list[float] = field(repr=False)
    arrivals_s: list[float] = field(repr=False)
    cpu_percent: float
    rss_start_mib: float
    rss_end_mib: float

    @property
    def missed(self) -> int:
        return self.sent - self.received

    @property
    def missed_fraction(self) -> float:
        return self.missed / self.sent if self.sent else 0.0

    def metrics(self) -> dict[str, float]:
        """ros2_benchmark's figures for this run."""
        lat = np.asarray(self.latencies_ms) if self.latencies_ms else np.zeros(1)
        gaps = np.diff(np.asarray(self.arrivals_s))
        jitter = np.abs(np.diff(gaps)) * 1000.0 if gaps.size > 1 else np.zeros(1)
        span = self.arrivals_s[-1] - self.arrivals_s[0] if len(self.arrivals_s) > 1 else 0.0
        return {
            "playback_rate_hz": self.rate_hz,
            "mean_frame_rate_hz": (len(self.arrivals_s) - 1) / span if span > 0 else 0.0,
            "frames_sent": self.sent,
            "frames_missed": self.missed,
            "latency_min_ms": float(lat.min()),
            "latency_mean_ms": float(lat.mean()),
            "latency_p50_ms": float(np.percentile(lat, 50)),
            "latency_p99_ms": float(np.percentile(lat, 99)),
            "latency_max_ms": float(lat.max()),
            "jitter_mean_ms": float(jitter.mean()),
            "jitter_max_ms": float(jitter.max()),
            "node_cpu_percent": self.cpu_percent,
            "node_rss_start_mib": self.rss_start_mib,
            "node_rss_end_mib": self.rss_end_mib,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.metrics(), "latencies_ms": self.latencies_ms}


class FramePlayer:
    """Synthetic depth frames of one size, each published with a fresh stamp and a matching CameraInfo."""

    def __init__(self, height: int, width: int, encoding: str = "16UC1", count: int = 8) -> None:
        self.images = [depth_image(a, encoding, ros_header(0)) for a in synthetic_frames(height, width, encoding, count)]
        self.info = camera_info(width, height, ros_header(0), fx=0.8 * width, fy=0.8 * width)
        self._next = 0
        self._stamp = 0

    def publish(self, peer: LivePeer) -> None:
        image = self.images[self._next % len(self.images)]
        self._next += 1
        self._stamp = max(self._stamp + 1_000_000, time.time_ns())  # wall-clock stamps, strictly increasing
        image.header = self.info.header = ros_header(self._stamp)
        peer.publish(image, self.info)


def play(peer: LivePeer, node: NodeProcess, player: FramePlayer, rate_hz: float, duration_s: float,
         on_tick: Callable[[float], None] | None = None) -> LiveRun:
    """Publish at `rate_hz` for `duration_s`, then collect what arrived; counts only this run's frames."""
    peer.images.clear()
    peer.sent.clear()
    period, count = 1.0 / rate_hz, max(int(round(rate_hz * duration_s)), 1)
    rss_start, cpu_start, wall_start = node.rss_mib(), node.cpu_seconds(), time.perf_counter()
    for i in range(count):
        due = wall_start + i * period
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        player.publish(peer)
        if on_tick is not None:
            on_tick(time.perf_counter() - wall_start)
    time.sleep(SETTLE_S)
    cpu_percent = 100.0 * (node.cpu_seconds() - cpu_start) / (time.perf_counter() - wall_start)
    latencies = peer.latencies_ms()
    with peer.images.lock:
        arrivals = [t for m, t in zip(peer.images.messages, peer.images.times) if stamp_ns(m.header.stamp) in peer.sent]
    return LiveRun(rate_hz, duration_s, count, len(latencies), list(latencies.values()), arrivals, cpu_percent,
                   rss_start, node.rss_mib())


def search_max_rate(peer: LivePeer, node: NodeProcess, player: FramePlayer, duration_s: float,
                    low_hz: float = 1.0, high_hz: float = 240.0, max_missed: float = 0.05,
                    steps: int = 6) -> tuple[float, list[LiveRun]]:
    """Highest playback rate with at most `max_missed` of frames missed (bisection on a log scale)."""
    runs: list[LiveRun] = []
    best = 0.0
    for _ in range(steps):
        rate = float(np.sqrt(low_hz * high_hz))
        run = play(peer, node, player, rate, duration_s)
        runs.append(run)
        if run.missed_fraction <= max_missed:
            best, low_hz = max(best, rate), rate
        else:
            high_hz = rate
    return best, runs


@dataclass
class SoakSample:
    """Node state at one moment of a soak."""

    elapsed_s: float
    rss_mib: float
    received: int
    alive: bool


def soak(peer: LivePeer, node: NodeProcess, player: FramePlayer, rate_hz: float, duration_s: float,
         sample_every_s: float = 5.0) -> tuple[LiveRun, list[SoakSample]]:
    """`play` for a long time, sampling the node's resident memory as it goes."""
    samples: list[SoakSample] = []

    def sample(elapsed: float) -> None:
        if not samples or elapsed - samples[-1].elapsed_s >= sample_every_s:
            alive = node.process.poll() is None
            samples.append(SoakSample(elapsed, node.rss_mib() if alive else 0.0, len(peer.images.times), alive))

    run = play(peer, node, player, rate_hz, duration_s, on_tick=sample)
    return run, samples


def memory_growth_mib(samples: list[SoakSample], warmup_fraction: float = 0.2) -> float:
    """Median resident memory of the soak's last fifth minus that of the fifth after warm-up.

    The first `warmup_fraction` is start-up. Medians of windows, not single samples: the allocator
    makes RSS swing by tens of MiB from one sample to the next without growing.
    """
    if len(samples) < 2:
        return 0.0
    first = min(int(len(samples) * warmup_fraction), len(samples) - 1)
    window = max(1, (len(samples) - first) // 5)
    start = [s.rss_mib for s in samples[first:first + window]]
    end = [s.rss_mib for s in samples[-window:]]
    return float(np.median(end) - np.median(start))


def format_run(run: LiveRun) -> str:
    m = run.metrics()
    return (f"{m['playback_rate_hz']:6.1f} Hz: {m['mean_frame_rate_hz']:6.1f} Hz out, {run.missed}/{run.sent} missed, "
            f"latency min/mean/p99/max {m['latency_min_ms']:.1f}/{m['latency_mean_ms']:.1f}/"
            f"{m['latency_p99_ms']:.1f}/{m['latency_max_ms']:.1f} ms, jitter mean {m['jitter_mean_ms']:.1f} ms, "
            f"node CPU {m['node_cpu_percent']:.0f} %, RSS {m['node_rss_start_mib']:.0f}→{m['node_rss_end_mib']:.0f} MiB")


def plot_live(runs: list[LiveRun], samples: list[SoakSample], path: Path) -> None:
    """Latency distribution per playback rate and, for a soak, resident memory over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 if samples else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4), squeeze=False)
    ax = axes[0][0]
    for run in runs:
        if run.latencies_ms:
            ax.hist(run.latencies_ms, bins=40, alpha=0.5, label=f"{run.rate_hz:.0f} Hz ({run.missed} missed)")
    ax.set_xlabel("publish → receive latency (ms)")
    ax.set_ylabel("frames")
    ax.legend()
    if samples:
        ax = axes[0][1]
        ax.plot([s.elapsed_s / 60 for s in samples], [s.rss_mib for s in samples])
        ax.set_xlabel("minutes")
        ax.set_ylabel("node resident memory (MiB)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report_json(runs: list[LiveRun], samples: list[SoakSample], max_rate_hz: float | None) -> dict[str, Any]:
    return {"runs": [r.to_json() for r in runs], "max_rate_hz": max_rate_hz,
            "soak": [asdict(s) for s in samples], "soak_growth_mib": memory_growth_mib(samples) if samples else None}
