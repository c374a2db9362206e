"""Latency reports for `dsr profile`: per-run records, ratios, text table, JSON and a PNG plot."""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from dsr_ros.profiling import latency_stats

STAT_KEYS = ("mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms")


@dataclass
class ProfileRun:
    """What one back end measured: per-stage samples (ms), per-frame totals, and peak memory."""

    backend: str
    device: str
    input: tuple[int, int]
    stages: dict[str, list[float]]
    frame_ms: list[float]
    memory: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        """Frames per second from the mean frame latency (every stage, back to back)."""
        return 1000.0 / float(np.mean(self.frame_ms))

    def to_json(self) -> dict:
        """The issue-5 schema: backend, device, input [h, w], fps, stages {name: stats}; plus peak memory."""
        return {
            "backend": self.backend,
            "device": self.device,
            "input": list(self.input),
            "fps": self.fps,
            "stages": {name: latency_stats(samples) for name, samples in self.stages.items()},
            "memory": self.memory,
        }


def ratio_vs(run: ProfileRun, baseline: ProfileRun) -> float:
    """Median frame latency of `run` ÷ that of `baseline` (below 1: faster than the baseline)."""
    return float(np.median(run.frame_ms) / np.median(baseline.frame_ms))


def comparison_json(runs: list[ProfileRun], baseline: ProfileRun, key: str = "ratio_vs_torch") -> list[dict]:
    """A comparison's output: one schema entry per run, each with its latency ratio to `baseline` under `key`."""
    return [{**run.to_json(), key: ratio_vs(run, baseline)} for run in runs]


def write_json(data: dict | list, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def format_run(run: ProfileRun) -> str:
    """A small fixed-width table: one row per stage plus the whole frame."""
    lines = [f"{run.backend} on {run.device}, input {run.input[0]}x{run.input[1]}: {run.fps:.1f} fps",
             f"  {'stage':<12}" + "".join(f"{k[:-3]:>9}" for k in STAT_KEYS) + "   (ms)"]
    rows = {**run.stages, "frame": run.frame_ms}
    for name, samples in rows.items():
        stats = latency_stats(samples)
        lines.append(f"  {name:<12}" + "".join(f"{stats[k]:9.2f}" for k in STAT_KEYS))
    if run.memory:
        lines.append("  peak memory: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in run.memory.items()))
    return "\n".join(lines)


def count_macs(model: torch.nn.Module, height: int, width: int) -> int:
    """Multiply-accumulates for one N=1 frame (FLOPs counted by torch, halved), on the meta device: no compute."""
    channels = model.config.in_channels if hasattr(model, "config") else 1  # a DSRNet may take the mask too
    meta = copy.deepcopy(model).to("meta", torch.float32)
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        meta(torch.zeros(1, channels, height, width, device="meta"))
    return counter.get_total_flops() // 2


def plot_runs(runs: list[ProfileRun], path: Path) -> None:
    """Histogram of frame latency (left) and latency per frame over time (right), one colour per back end."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (hist, timeline) = plt.subplots(1, 2, figsize=(11, 4))
    for run in runs:
        label = f"{run.backend} (p50 {np.median(run.frame_ms):.1f} ms)"
        hist.hist(run.frame_ms, bins=30, alpha=0.6, label=label)
        timeline.plot(run.frame_ms, marker=".", linewidth=0.8, label=run.backend)
    hist.set(xlabel="frame latency (ms)", ylabel="frames", title="latency histogram")
    timeline.set(xlabel="frame", ylabel="latency (ms)", title="latency per frame")
    hist.legend()
    timeline.legend()
    h, w = runs[0].input
    fig.suptitle(f"dsr profile: input {h}x{w} on {runs[0].device}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
