"""The units the depth SR papers report RMSE in: NYU v2 in cm on its border crop, Middlebury in disparity."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dsr_ros.train.datasets import Sample

NYU_FRAME = (480, 640)
NYU_CROP = (slice(45, 471), slice(41, 601))  # rows 45:471, cols 41:601: the standard crop of the 480×640 frame


@dataclass(frozen=True)
class PaperUnits:
    """A unit (column suffix) and the map from depth in metres to it, NaN on pixels the protocol does not score."""

    unit: str
    convert: Callable[[np.ndarray, Sample], np.ndarray]


def nyu_cm(depth_m: np.ndarray, sample: Sample) -> np.ndarray:
    """Centimetres inside the standard NYU v2 crop (rows 45:471, cols 41:601 of 480×640), NaN outside it."""
    if depth_m.shape != NYU_FRAME:
        raise ValueError(f"{sample.name}: the NYU crop is defined on 480x640 frames, got {depth_m.shape[1]}x{depth_m.shape[0]}")
    out = np.full(depth_m.shape, np.nan, dtype=np.float64)
    out[NYU_CROP] = depth_m[NYU_CROP].astype(np.float64) * 100.0
    return out


def middlebury_disparity(depth_m: np.ndarray, sample: Sample) -> np.ndarray:
    """Disparity in the scene's pixels, d = f·B / Z − doffs, with the scene's own f·B and doffs."""
    if sample.focal_baseline is None:
        raise ValueError(f"{sample.name}: no stereo geometry (f·B) to convert depth to disparity")
    return sample.focal_baseline / depth_m.astype(np.float64) - sample.doffs


PAPER_UNITS = {"nyu": PaperUnits("cm", nyu_cm), "middlebury": PaperUnits("disp", middlebury_disparity)}
