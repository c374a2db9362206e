"""The demo: a shipped model on a realistic v2 scene (a furnished room seen by a 640x480 camera).

One function renders the scene, degrades it every way the evaluation does, times the model and
draws LR | bicubic | DSRNet | ground truth | error map; the `dsr demo` command prints its results.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from dsr_ros.depth import from_metres, to_metres
from dsr_ros.train.degrade import EVAL_DEGRADATIONS, degrade
from dsr_ros.train.evaluate import classical_upsample, evaluate_detailed
from dsr_ros.train.scenes3d import render_scene3d
from dsr_ros.upsampler import Upsampler

DEMO_SEED = 2_000_106  # a furnished room (shelf, bicycle); not part of any training pool (seeds 0..) or held-out set (1000000..)
DEMO_SIZE = (480, 640)


@dataclass
class DemoResult:
    """RMSE table {degradation: {method: {rmse, ...}}}, median per-frame time and the picture written."""

    table: dict
    median_ms: float
    lr_shape: tuple[int, int]
    picture: Path


def demo_scene() -> np.ndarray:
    """The demo's HR depth (metres, NaN where nothing was hit): the same room every time."""
    return render_scene3d(np.random.default_rng(DEMO_SEED), *DEMO_SIZE, layout="room").depth


def error_figure(path: Path, panels: dict[str, np.ndarray], error: np.ndarray, title: str) -> None:
    """LR | bicubic | DSRNet | ground truth | error map, shared colour range and colour bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truth = panels["ground truth"]
    lo, hi = np.nanpercentile(truth, [1, 99])
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4 * (len(panels) + 1), 3.6), constrained_layout=True)
    for ax, (name, image) in zip(axes, panels.items(), strict=False):
        shown = ax.imshow(image, cmap="turbo", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(f"{name} {image.shape[1]}x{image.shape[0]}")
        ax.axis("off")
    fig.colorbar(shown, ax=axes[len(panels) - 1], fraction=0.046, label="depth (m)")
    err = axes[-1].imshow(error * 1000.0, cmap="magma", vmin=0, vmax=max(float(np.nanpercentile(error * 1000.0, 99)), 1.0))
    axes[-1].set_title("|DSRNet - truth|")
    axes[-1].axis("off")
    fig.colorbar(err, ax=axes[-1], fraction=0.046, label="error (mm)")
    fig.suptitle(title)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run_demo(upsampler: Upsampler, out_dir: str | Path, repeat: int = 5) -> DemoResult:
    """Score the model on the demo scene under each evaluation degradation, time it, draw the picture."""
    truth = demo_scene()
    s = upsampler.scale
    table = evaluate_detailed(upsampler, [truth], EVAL_DEGRADATIONS)
    lr = degrade(truth, s, "bicubic", np.random.default_rng(0))
    lr_mm = from_metres(lr, np.uint16)  # the camera's 16UC1 frame, as the node receives it
    upsampler.upsample(lr_mm)  # warm-up
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        sr = to_metres(upsampler.upsample(lr_mm))
        times.append((time.perf_counter() - start) * 1000.0)
    median_ms = float(np.median(times))
    bicubic = classical_upsample(lr, s, cv2.INTER_CUBIC)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    picture = out / "demo.png"
    rows = table["bicubic"]
    error_figure(picture, {"LR input": lr, "bicubic": bicubic, "DSRNet": sr, "ground truth": truth}, np.abs(sr - truth),
                 f"x{s}: bicubic RMSE {rows['bicubic']['rmse']:.0f} mm, DSRNet RMSE {rows['model']['rmse']:.0f} mm, "
                 f"{median_ms:.0f} ms/frame")
    return DemoResult(table=table, median_ms=median_ms, lr_shape=lr.shape, picture=picture)
