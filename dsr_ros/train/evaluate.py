"""Accuracy on held-out depth: RMSE (mm) of bicubic, bilinear and the model, and the papers' units.

The scenes are the fixed synthetic set or a real data set's test samples. The model is run
through the public Upsampler on float32 metres, i.e. the exact path users take; every figure is
reported under each evaluation degradation, and all methods are scored on the same pixels
(valid in the ground truth and predicted by every method).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import cv2
import numpy as np

from dsr_ros.depth import fill_invalid
from dsr_ros.train.datasets import Sample
from dsr_ros.train.degrade import EVAL_DEGRADATIONS, degrade
from dsr_ros.train.paper_units import PaperUnits
from dsr_ros.train.scenes3d import scene3d_for_seed
from dsr_ros.train.synthetic import scene_for_seed
from dsr_ros.upsampler import Upsampler

METHODS = ("bicubic", "bilinear", "model")


def squared_error(prediction: np.ndarray, truth: np.ndarray) -> tuple[float, int]:
    """Sum of squared error and pixel count over pixels finite in both maps (any units)."""
    valid = np.isfinite(prediction) & np.isfinite(truth)
    diff = prediction[valid].astype(np.float64) - truth[valid]
    return float(np.sum(diff**2)), int(valid.sum())


def classical_upsample(lr_m: np.ndarray, scale: int, interpolation: int) -> np.ndarray:
    """OpenCV resize of the hole-filled LR frame, holes restored (the baselines' fair treatment)."""
    valid = np.isfinite(lr_m)
    filled = fill_invalid(np.nan_to_num(lr_m), valid)
    h, w = lr_m.shape
    out = cv2.resize(filled, (w * scale, h * scale), interpolation=interpolation)
    out[~np.repeat(np.repeat(valid, scale, 0), scale, 1)] = np.nan
    return out


def heldout_scenes(count: int, size: int, seed: int, generator: str = "synthetic3d") -> list[Sample]:
    """The fixed held-out scenes: HR depth (metres, NaN where nothing was hit) and colour; v2 scenes unless named."""
    render = scene3d_for_seed if generator == "synthetic3d" else scene_for_seed
    scenes = [render(seed + i, size, size) for i in range(count)]
    return [Sample(rgb=scene.rgb, depth=scene.depth, name=f"{generator}-{seed + i}") for i, scene in enumerate(scenes)]


def _scene_arrays(scene: np.ndarray | Sample, scale: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(HR depth, colour or None) cropped to whole LR pixels."""
    hr, rgb = (scene.depth, scene.rgb) if isinstance(scene, Sample) else (scene, None)
    h, w = hr.shape[0] - hr.shape[0] % scale, hr.shape[1] - hr.shape[1] % scale
    return hr[:h, :w], (rgb[:h, :w] if rgb is not None else None)


def model_output(upsampler: Upsampler, lr: np.ndarray, rgb: np.ndarray | None) -> np.ndarray:
    """The Upsampler's output for an LR frame, with the scene's colour image when the model is guided by it."""
    if not upsampler.rgb_guided:
        return upsampler.upsample(lr.astype(np.float32))
    if rgb is None:
        raise ValueError("an RGB-guided model is evaluated on scenes with colour images (RGB-D samples)")
    return upsampler.upsample(lr.astype(np.float32), rgb=rgb)


@contextmanager
def told_kind(upsampler: Upsampler, kind: str, tell: bool = True) -> Iterator[None]:
    """Within the block, a model trained to be told its input kind is told `kind` (unknown if it has no such
    kind or `tell` is off); other models are left alone. The upsampler's own setting comes back after."""
    if not upsampler.input_kinds:
        yield
        return
    before = upsampler.input_kind
    upsampler.input_kind = kind if tell and kind in upsampler.input_kinds else None
    try:
        yield
    finally:
        upsampler.input_kind = before


EDGE_BAND_PX = 3  # pixels within this distance of a depth discontinuity are the edge band
EDGE_JUMP = 0.05  # neighbours whose depths differ by more than this fraction form a discontinuity
MAX_DEPTH_FOR_THIN = 10.0  # metres: holes stand in for surfaces at twice this when finding thin structures
OFF_FRACTION = 0.05  # a pixel is "off" when its error exceeds this fraction of its true depth


def edge_band(truth_m: np.ndarray, width: int = EDGE_BAND_PX) -> np.ndarray:
    """True within `width` pixels of a ground-truth depth discontinuity (a jump > 5 % between neighbours)."""
    filled = np.nan_to_num(truth_m, nan=0.0)
    jump = np.zeros(truth_m.shape, bool)
    for axis in (0, 1):
        a, b = np.swapaxes(filled, 0, axis)[:-1], np.swapaxes(filled, 0, axis)[1:]
        step = (np.abs(a - b) > EDGE_JUMP * np.minimum(a, b)) & (a > 0) & (b > 0)
        view = np.swapaxes(jump, 0, axis)
        view[:-1] |= step
        view[1:] |= step
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    return cv2.dilate(jump.astype(np.uint8), kernel) > 0


def beside_holes(truth_m: np.ndarray, scale: int) -> np.ndarray:
    """True within one LR pixel (`scale` HR pixels) of a pixel the truth lacks (stereo shadows, dropouts).

    On stereo-derived truth this is where nearly all of the error sits: the input there is hole-filled.
    """
    holes = (~np.isfinite(truth_m)).astype(np.uint8)
    return cv2.dilate(holes, np.ones((2 * scale + 1, 2 * scale + 1), np.uint8)) > 0


def thin_structures(truth_m: np.ndarray, width: int) -> np.ndarray:
    """True on valid pixels of near structures narrower than `width` px (a closing that removes them lifts depth > 20 %).

    Holes count as far, so a stick in front of a stereo shadow or sky still counts as thin.
    """
    far = np.where(np.isfinite(truth_m), truth_m, 2 * MAX_DEPTH_FOR_THIN).astype(np.float32)
    kernel = np.ones((width, width), np.uint8)
    closed = cv2.erode(cv2.dilate(far, kernel), kernel)
    return np.isfinite(truth_m) & (closed - far > 0.2 * far)


class ErrorSums:
    """Running sums for RMSE and MAE overall, in the edge band, in smooth regions and beside truth holes, and the 5 % share."""

    FIELDS = ("sq", "abs", "n", "edge_sq", "edge_n", "smooth_sq", "smooth_n", "hole_sq", "hole_n", "off")

    def __init__(self) -> None:
        self.sums = dict.fromkeys(self.FIELDS, 0.0)

    def add(self, prediction_m: np.ndarray, truth_m: np.ndarray, band: np.ndarray, beside_hole: np.ndarray) -> None:
        """Pixels finite in both maps; errors in mm."""
        valid = np.isfinite(prediction_m) & np.isfinite(truth_m)
        err = (prediction_m[valid].astype(np.float64) - truth_m[valid]) * 1000.0
        in_band, by_hole = band[valid], beside_hole[valid]
        s = self.sums
        s["sq"] += float(np.sum(err**2))
        s["abs"] += float(np.sum(np.abs(err)))
        s["n"] += err.size
        s["edge_sq"] += float(np.sum(err[in_band] ** 2))
        s["edge_n"] += int(in_band.sum())
        s["smooth_sq"] += float(np.sum(err[~in_band] ** 2))
        s["smooth_n"] += int((~in_band).sum())
        s["hole_sq"] += float(np.sum(err[by_hole] ** 2))
        s["hole_n"] += int(by_hole.sum())
        s["off"] += int(np.sum(np.abs(err) > OFF_FRACTION * truth_m[valid] * 1000.0))

    def summary(self) -> dict[str, float]:
        """rmse, mae, edge_rmse, smooth_rmse, hole_rmse (mm), hole_share and off5 (percent of pixels)."""
        s = self.sums
        n = max(s["n"], 1)
        return {"rmse": float(np.sqrt(s["sq"] / n)), "mae": s["abs"] / n,
                "edge_rmse": float(np.sqrt(s["edge_sq"] / max(s["edge_n"], 1))),
                "smooth_rmse": float(np.sqrt(s["smooth_sq"] / max(s["smooth_n"], 1))),
                "hole_rmse": float(np.sqrt(s["hole_sq"] / max(s["hole_n"], 1))), "hole_share": 100.0 * s["hole_n"] / n,
                "off5": 100.0 * s["off"] / n}


def evaluate_detailed(upsampler: Upsampler, scenes: Iterable[np.ndarray | Sample],
                      degradations: tuple[str, ...] = EVAL_DEGRADATIONS, progress: bool = False,
                      units: PaperUnits | None = None, tell_kind: bool = True) -> dict[str, dict[str, dict[str, float]]]:
    """{degradation: {method: {rmse, mae, edge_rmse, smooth_rmse, off5[, rmse_<unit>]}}}, pixel-weighted over scenes.

    Every method is scored on the same pixels: valid in the ground truth and predicted by all methods.
    A model trained to be told its input kind is told each degradation, or nothing without `tell_kind`.
    """
    from tqdm import tqdm

    scale = upsampler.scale
    sums = {kind: {m: ErrorSums() for m in METHODS} for kind in degradations}
    unit_sums = {kind: {m: [0.0, 0] for m in METHODS} for kind in degradations}
    for i, scene in enumerate(tqdm(scenes, desc=f"eval x{scale}", disable=not progress, leave=False)):
        hr, rgb = _scene_arrays(scene, scale)
        band, by_hole = edge_band(hr), beside_holes(hr, scale)
        for kind in degradations:
            lr = degrade(hr, scale, kind, np.random.default_rng(i))
            with told_kind(upsampler, kind, tell_kind):
                output = model_output(upsampler, lr, rgb)
            predictions = {
                "bicubic": classical_upsample(lr, scale, cv2.INTER_CUBIC),
                "bilinear": classical_upsample(lr, scale, cv2.INTER_LINEAR),
                "model": output,
            }
            scored = np.isfinite(hr) & np.logical_and.reduce([np.isfinite(p) for p in predictions.values()])
            truth = np.where(scored, hr, np.nan)
            for method, prediction in predictions.items():
                sums[kind][method].add(prediction, truth, band, by_hole)
                if units:
                    sq, n = squared_error(units.convert(prediction, scene), units.convert(truth, scene))
                    unit_sums[kind][method][0] += sq
                    unit_sums[kind][method][1] += n
    table = {kind: {m: sums[kind][m].summary() for m in METHODS} for kind in degradations}
    if units:
        for kind in degradations:
            for m in METHODS:
                sq, n = unit_sums[kind][m]
                table[kind][m][f"rmse_{units.unit}"] = float(np.sqrt(sq / max(n, 1)))
    return table


def evaluate(upsampler: Upsampler, scenes: Iterable[np.ndarray | Sample], degradations: tuple[str, ...] = EVAL_DEGRADATIONS,
             progress: bool = False, units: PaperUnits | None = None, tell_kind: bool = True) -> dict[str, dict[str, float]]:
    """{degradation: {method: RMSE mm}} over all scenes (pixel-weighted); with `units` also `<method>_<unit>`."""
    return rmse_table(evaluate_detailed(upsampler, scenes, degradations, progress, units, tell_kind))


def rmse_table(detailed: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """{degradation: {method: RMSE mm, method_<unit>: RMSE in paper units if any}} from a detailed table."""
    out = {}
    for kind, rows in detailed.items():
        out[kind] = {m: rows[m]["rmse"] for m in METHODS}
        for m in METHODS:
            out[kind].update({f"{m}_{k[5:]}": v for k, v in rows[m].items() if k.startswith("rmse_")})
    return out


def worst_scene(upsampler: Upsampler, scenes: list[np.ndarray | Sample], kind: str) -> tuple[int, np.ndarray, np.ndarray]:
    """(index, HR truth, model output) of the scene where the model's RMSE under `kind` is highest."""
    scale, worst = upsampler.scale, (-1.0, 0, None, None)
    for i, scene in enumerate(scenes):
        hr, rgb = _scene_arrays(scene, scale)
        with told_kind(upsampler, kind):
            out = model_output(upsampler, degrade(hr, scale, kind, np.random.default_rng(i)), rgb)
        sq, n = squared_error(out, hr)
        if n and np.sqrt(sq / n) > worst[0]:
            worst = (float(np.sqrt(sq / n)), i, hr, out)
    return worst[1], worst[2], worst[3]


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


def format_breakdown(table: dict[str, dict[str, dict[str, float]]], scale: int) -> str:
    """Where the error is: per degradation and method, RMSE and MAE overall, edge band, smooth and beside-hole RMSE, 5 % share."""
    names = {"bicubic": "bicubic", "bilinear": "bilinear", "model": "DSRNet", "general": "general DSRNet, told"}
    lines = [f"| x{scale} degradation | method | RMSE | MAE | edge-band RMSE | smooth RMSE | beside truth holes: RMSE (pixels) "
             "| off > 5 % | RMSE ÷ bicubic |",
             "|---|---|---|---|---|---|---|---|---|"]
    for kind, rows in table.items():
        for method, row in rows.items():
            ratio = row["rmse"] / rows["bicubic"]["rmse"] if rows["bicubic"]["rmse"] > 0 else float("nan")
            hole = f"{row['hole_rmse']:.1f} ({row['hole_share']:.1f} %)" if row["hole_share"] > 0 else "— (none)"
            lines.append(f"| {kind} | {names[method]} | {row['rmse']:.1f} | {row['mae']:.1f} | {row['edge_rmse']:.1f} | "
                         f"{row['smooth_rmse']:.1f} | {hole} | {row['off5']:.2f} % | {ratio:.3f} |")
    return "\n".join(lines)
