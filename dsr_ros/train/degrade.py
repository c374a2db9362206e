"""How a high-resolution depth map becomes a low-resolution sensor frame.

A real sensor is not one resampling kernel, so training mixes several and every accuracy figure
is reported under at least two: anti-aliased bicubic (the papers' protocol) and point-sampled
bicubic (OpenCV INTER_CUBIC downscaling, aliased). `nearest` is plain subsampling; `sensor`
adds depth-dependent noise, quantisation and ToF/stereo-like holes on top of it.

Ground truth with holes (real data sets) is hole-filled before resampling, so one invalid HR
pixel does not blank a whole kernel footprint; an LR pixel is invalid when most of its HR block is.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from dsr_ros.depth import fill_invalid

DEGRADATIONS = ("bicubic", "bicubic_aliased", "nearest", "sensor")
EVAL_DEGRADATIONS = ("bicubic", "bicubic_aliased")


def bicubic_antialiased(hr: np.ndarray, scale: int) -> np.ndarray:
    """Anti-aliased bicubic downscaling (torch antialias=True, like PIL BICUBIC)."""
    h, w = hr.shape
    x = torch.from_numpy(np.ascontiguousarray(hr, dtype=np.float32))[None, None]
    lr = F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)
    return lr[0, 0].numpy()


def bicubic_aliased(hr: np.ndarray, scale: int) -> np.ndarray:
    """Point-sampled bicubic downscaling (OpenCV INTER_CUBIC): aliased, like many real pipelines."""
    h, w = hr.shape
    return cv2.resize(hr, (w // scale, h // scale), interpolation=cv2.INTER_CUBIC)


def nearest(hr: np.ndarray, scale: int) -> np.ndarray:
    """Every s-th pixel, offset to the block centre (a binned sensor without filtering)."""
    o = scale // 2
    h, w = hr.shape
    return np.ascontiguousarray(hr[o : (h // scale) * scale : scale, o : (w // scale) * scale : scale])


def sensor(hr: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
    """Nearest sampling plus noise growing with z², millimetre quantisation and holes (NaN)."""
    lr = nearest(hr, scale).astype(np.float32)
    sigma = rng.uniform(0.0005, 0.003) * lr**2
    lr = lr + rng.normal(0.0, 1.0, lr.shape).astype(np.float32) * sigma
    lr = np.round(lr * 1000.0) / 1000.0
    holes = rng.random(lr.shape) < rng.uniform(0.0, 0.03)
    edges = cv2.Sobel(lr, cv2.CV_32F, 1, 0, ksize=3) ** 2 + cv2.Sobel(lr, cv2.CV_32F, 0, 1, ksize=3) ** 2
    holes |= (edges > np.percentile(edges, 97)) & (rng.random(lr.shape) < 0.5)
    lr[holes] = np.nan
    return lr.astype(np.float32)


def degrade(hr: np.ndarray, scale: int, kind: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """LR depth in metres (NaN = hole) from HR depth in metres (NaN = unknown), by the named degradation."""
    valid = np.isfinite(hr)
    if not valid.all():
        lr = degrade(fill_invalid(np.nan_to_num(hr, nan=0.0, posinf=0.0, neginf=0.0), valid), scale, kind, rng)
        h, w = lr.shape
        lr[valid[: h * scale, : w * scale].reshape(h, scale, w, scale).mean(axis=(1, 3)) < 0.5] = np.nan
        return lr
    if kind == "bicubic":
        lr = bicubic_antialiased(hr, scale)
    elif kind == "bicubic_aliased":
        lr = bicubic_aliased(hr, scale)
    elif kind == "nearest":
        lr = nearest(hr, scale)
    elif kind == "sensor":
        lr = sensor(hr, scale, rng if rng is not None else np.random.default_rng(0))
    else:
        raise ValueError(f"degradation must be one of {', '.join(DEGRADATIONS)}, got {kind!r}")
    lr = lr.astype(np.float32)
    lr[lr <= 0] = np.nan
    return lr
