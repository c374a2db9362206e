"""Accuracy on held-out depth: RMSE (mm) of bicubic, bilinear and the model, and the papers' units.

The scenes are the fixed synthetic set or a real data set's test samples. The model is run
through the public Upsampler on float32 metres, i.e. the exact path users take; every figure is
reported under each evaluation degradation, and all methods are scored on the same pixels
(valid in the ground truth and predicted by every method).
"""
from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from dsr_ros.depth import fill_invalid
from dsr_ros.train.datasets import Sample
from dsr_ros.train.degrade import EVAL_DEGRADATIONS, degrade
from dsr_ros.train.paper_units import PaperUnits
from dsr_ros.train.synthetic import scene_for_seed
from dsr_ros.upsampler import Upsampler

METHODS = ("bicubic", "bilinear", "model")


def squared_error(prediction: np.ndarray, truth: np.ndarray) -> tuple[float, int]:
    """Sum of squared error and pixel count over pixels finite in both maps (any units)."""
    valid = np.isfinite(prediction) & np.isfinite(truth)
    diff = prediction[valid].astype(np.float64) - truth[valid]
    return float(np.sum(diff**2)), int(valid.sum())


def rmse_mm(prediction_m: np.ndarray, truth_m: np.ndarray) -> tuple[float, int]:
    """Sum of squared error (mm²) and pixel count over pixels valid in both maps."""
    return squared_error(prediction_m.astype(np.float64) * 1000.0, truth_m.astype(np.float64) * 1000.0)


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


def evaluate(upsampler: Upsampler, scenes: Iterable[np.ndarray | Sample], degradations: tuple[str, ...] = EVAL_DEGRADATIONS,
             progress: bool = False, units: PaperUnits | None = None) -> dict[str, dict[str, float]]:
    """{degradation: {method: RMSE mm}} over all scenes (pixel-weighted); with `units` also `<method>_<unit>`."""
    from tqdm import tqdm

    scale = upsampler.scale
    columns = [*METHODS, *(f"{m}_{units.unit}" for m in METHODS)] if units else list(METHODS)
    sums = {kind: dict.fromkeys(columns, 0.0) for kind in degradations}
    counts = {kind: dict.fromkeys(columns, 0) for kind in degradations}
    for i, scene in enumerate(tqdm(scenes, desc=f"eval x{scale}", disable=not progress, leave=False)):
        hr = scene.depth if isinstance(scene, Sample) else scene
        hr = hr[: hr.shape[0] - hr.shape[0] % scale, : hr.shape[1] - hr.shape[1] % scale]
        for kind in degradations:
            lr = degrade(hr, scale, kind, np.random.default_rng(i))
            predictions = {
                "bicubic": classical_upsample(lr, scale, cv2.INTER_CUBIC),
                "bilinear": classical_upsample(lr, scale, cv2.INTER_LINEAR),
                "model": upsampler.upsample(lr.astype(np.float32)),
            }
            scored = np.isfinite(hr) & np.logical_and.reduce([np.isfinite(p) for p in predictions.values()])
            truth = np.where(scored, hr, np.nan)
            for method, prediction in predictions.items():
                errors = {method: rmse_mm(prediction, truth)}
                if units:
                    errors[f"{method}_{units.unit}"] = squared_error(units.convert(prediction, scene),
                                                                     units.convert(truth, scene))
                for column, (sq, n) in errors.items():
                    sums[kind][column] += sq
                    counts[kind][column] += n
    return {kind: {c: float(np.sqrt(sums[kind][c] / max(counts[kind][c], 1))) for c in columns} for kind in degradations}


def format_table(table: dict[str, dict[str, float]], scale: int) -> str:
    """A Markdown table per degradation: RMSE in mm, the model's gain over bicubic, then any paper-unit columns."""
    extra = [c for c in next(iter(table.values())) if c not in METHODS]
    names = {"bicubic": "bicubic", "bilinear": "bilinear", "model": "DSRNet"}
    headers = [f"{names[c.rsplit('_', 1)[0]]} ({c.rsplit('_', 1)[1]})" for c in extra]
    lines = ["| " + " | ".join([f"x{scale} degradation", "bicubic", "bilinear", "DSRNet", "bicubic ÷ DSRNet", *headers]) + " |",
             "|" + "---|" * (5 + len(extra))]
    for kind, row in table.items():
        gain = row["bicubic"] / row["model"] if row["model"] > 0 else float("inf")
        cells = [kind, f"{row['bicubic']:.1f}", f"{row['bilinear']:.1f}", f"{row['model']:.1f}", f"{gain:.2f}×",
                 *(f"{row[c]:.2f}" for c in extra)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
