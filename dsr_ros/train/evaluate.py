"""Accuracy on a fixed held-out synthetic set: RMSE (mm) of bicubic, bilinear and the model.

The model is run through the public Upsampler on float32 metres, i.e. the exact path users
take; every figure is reported under each evaluation degradation.
"""
from __future__ import annotations

import cv2
import numpy as np

from dsr_ros.depth import fill_invalid
from dsr_ros.train.degrade import EVAL_DEGRADATIONS, degrade
from dsr_ros.train.synthetic import scene_for_seed
from dsr_ros.upsampler import Upsampler

METHODS = ("bicubic", "bilinear", "model")


def rmse_mm(prediction_m: np.ndarray, truth_m: np.ndarray) -> tuple[float, int]:
    """Sum of squared error (mm²) and pixel count over pixels valid in both maps."""
    valid = np.isfinite(prediction_m) & np.isfinite(truth_m)
    diff = (prediction_m[valid] - truth_m[valid]) * 1000.0
    return float(np.sum(diff.astype(np.float64) ** 2)), int(valid.sum())


def classical_upsample(lr_m: np.ndarray, scale: int, interpolation: int) -> np.ndarray:
    """OpenCV resize of the hole-filled LR frame, holes restored (the baselines' fair treatment)."""
    valid = np.isfinite(lr_m)
    filled = fill_invalid(np.nan_to_num(lr_m), valid)
    h, w = lr_m.shape
    out = cv2.resize(filled, (w * scale, h * scale), interpolation=interpolation)
    out[~np.repeat(np.repeat(valid, scale, 0), scale, 1)] = np.nan
    return out


def heldout_scenes(count: int, size: int, seed: int) -> list[np.ndarray]:
    """The fixed held-out HR depth maps (metres)."""
    return [scene_for_seed(seed + i, size, size).depth for i in range(count)]


def evaluate(upsampler: Upsampler, scenes: list[np.ndarray], degradations: tuple[str, ...] = EVAL_DEGRADATIONS,
             progress: bool = False) -> dict[str, dict[str, float]]:
    """{degradation: {method: RMSE mm}} over all scenes (pixel-weighted)."""
    from tqdm import tqdm

    scale = upsampler.scale
    table: dict[str, dict[str, float]] = {}
    for kind in degradations:
        sums = dict.fromkeys(METHODS, 0.0)
        counts = dict.fromkeys(METHODS, 0)
        for i, hr in enumerate(tqdm(scenes, desc=f"eval {kind} x{scale}", disable=not progress, leave=False)):
            lr = degrade(hr, scale, kind, np.random.default_rng(i))
            predictions = {
                "bicubic": classical_upsample(lr, scale, cv2.INTER_CUBIC),
                "bilinear": classical_upsample(lr, scale, cv2.INTER_LINEAR),
                "model": upsampler.upsample(lr.astype(np.float32)),
            }
            for method, prediction in predictions.items():
                sq, n = rmse_mm(prediction, hr)
                sums[method] += sq
                counts[method] += n
        table[kind] = {m: float(np.sqrt(sums[m] / max(counts[m], 1))) for m in METHODS}
    return table


def format_table(table: dict[str, dict[str, float]], scale: int) -> str:
    """A Markdown table: one row per degradation, RMSE in mm, and the model's gain over bicubic."""
    lines = [f"| x{scale} degradation | bicubic | bilinear | DSRNet | bicubic ÷ DSRNet |", "|---|---|---|---|---|"]
    for kind, row in table.items():
        gain = row["bicubic"] / row["model"] if row["model"] > 0 else float("inf")
        lines.append(f"| {kind} | {row['bicubic']:.1f} | {row['bilinear']:.1f} | {row['model']:.1f} | {gain:.2f}× |")
    return "\n".join(lines)
