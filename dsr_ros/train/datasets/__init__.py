"""Real RGB-D data sets as lists of samples: NYU Depth v2, Middlebury, folders of pairs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Sample:
    """One aligned pair: rgb H×W×3 float32 in [0, 1], depth H×W float32 metres (NaN invalid).

    Middlebury sets `disparity` and the scene's stereo geometry, d = focal_baseline / Z − doffs
    (focal_baseline in px·m, doffs in px), since the papers report its RMSE in disparity units.
    """

    rgb: np.ndarray
    depth: np.ndarray
    name: str
    disparity: np.ndarray | None = None
    focal_baseline: float | None = None
    doffs: float = 0.0


def rgb_from_uint(image: np.ndarray) -> np.ndarray:
    """uint8/uint16 H×W×3 RGB → float32 in [0, 1]."""
    return (image.astype(np.float32) / np.iinfo(image.dtype).max).astype(np.float32)


def check_aligned(rgb: np.ndarray, depth: np.ndarray, name: str) -> None:
    """Fail naming the sample when RGB and depth differ in size."""
    if rgb.shape[:2] != depth.shape:
        raise ValueError(f"{name}: rgb is {rgb.shape[1]}x{rgb.shape[0]} but depth is {depth.shape[1]}x{depth.shape[0]}")
