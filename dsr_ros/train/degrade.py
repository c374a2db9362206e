"""How a high-resolution depth map becomes a low-resolution sensor frame.

A real sensor is not one resampling kernel, so training mixes several and every accuracy figure
is reported under at least two: anti-aliased bicubic (the papers' protocol) and point-sampled
bicubic (OpenCV INTER_CUBIC downscaling, aliased). `nearest` is plain subsampling (`nearest_phase`: at a
random offset in the block); `sensor` adds depth-dependent noise, quantisation and holes on top of it. `stereo` and `tof` model the
two common depth sensors at their own (low) resolution: occlusion shadows, disparity quantisation
(error growing with z²) and speckle for stereo; flying pixels at edges, noise growing with
distance and multipath near concave corners for time of flight; both lose returns in blobs
(dark or specular surfaces) and beyond their range. Holes are the normal case, not an exception.

Ground truth with holes (real data sets) is hole-filled before resampling, so one invalid HR
pixel does not blank a whole kernel footprint; an LR pixel is invalid when most of its HR block is.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from dsr_ros.depth import fill_invalid

DEGRADATIONS = ("bicubic", "bicubic_aliased", "nearest", "nearest_phase", "sensor", "stereo", "tof")
EVAL_DEGRADATIONS = ("bicubic", "bicubic_aliased", "nearest", "stereo", "tof")


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


def nearest(hr: np.ndarray, scale: int, offset: tuple[int, int] | None = None) -> np.ndarray:
    """Every s-th pixel, at (row, column) `offset` in each block; default s//2, the block centre's pixel."""
    oy, ox = (scale // 2, scale // 2) if offset is None else offset
    h, w = hr.shape
    return np.ascontiguousarray(hr[oy : (h // scale) * scale : scale, ox : (w // scale) * scale : scale])


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


def _focal_px(shape: tuple[int, int], rng: np.random.Generator) -> float:
    """A plausible focal length in LR pixels (field of view 45-80 degrees)."""
    return float(rng.uniform(0.6, 1.2) * max(shape))


def _blobs(shape: tuple[int, int], rng: np.random.Generator, coverage: float) -> np.ndarray:
    """Smooth random blobs covering about `coverage` of the frame (missing returns on dark or shiny surfaces)."""
    if coverage <= 0:
        return np.zeros(shape, bool)
    cells = int(rng.integers(3, 9))
    noise = cv2.resize(rng.random((cells, cells)).astype(np.float32), shape[::-1], interpolation=cv2.INTER_CUBIC)
    return noise > np.quantile(noise, 1.0 - coverage)


def occlusion_shadow(disparity: np.ndarray) -> np.ndarray:
    """Pixels the right camera cannot see: a pixel further right lands at or left of them there (px disparity)."""
    right_x = np.arange(disparity.shape[1], dtype=np.float32)[None, :] - disparity
    left_of_next = np.minimum.accumulate(right_x[:, ::-1], axis=1)[:, ::-1]
    shadow = np.zeros(disparity.shape, bool)
    shadow[:, :-1] = left_of_next[:, 1:] < right_x[:, :-1] - 0.5
    return shadow


def truth_shadows(hr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """HR truth with stereo occlusion shadows made unknown (NaN), beside foreground edges on a random side.

    The depth of a stereo-derived data set (Middlebury, rendered stereo scenes) has no value there;
    its holes are hole-filled before resampling like any other (see `degrade`), so training on such
    truth teaches the network what those filled regions look like in its input. Baselines of 4-25 cm:
    the rigs that record ground truth (Middlebury's) are wider than a robot's sensor.
    """
    flip = bool(rng.random() < 0.5)
    depth = hr[:, ::-1] if flip else hr
    with np.errstate(divide="ignore", invalid="ignore"):
        disparity = _focal_px(hr.shape, rng) * float(rng.uniform(0.04, 0.25)) / np.nan_to_num(depth, nan=np.inf)
    shadow = occlusion_shadow(disparity.astype(np.float32))
    out = np.array(depth, dtype=np.float32)
    out[shadow] = np.nan
    return np.ascontiguousarray(out[:, ::-1] if flip else out)


def stereo(hr: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
    """An active stereo sensor at LR resolution: shadows left of foreground edges, quantised disparity, speckle."""
    lr = nearest(hr, scale).astype(np.float32)
    f, baseline = _focal_px(lr.shape, rng), float(rng.uniform(0.04, 0.12))
    disparity = f * baseline / lr
    shadow = occlusion_shadow(disparity)
    subpixel = float(rng.choice([4.0, 8.0, 16.0]))
    noisy = disparity + rng.normal(0.0, rng.uniform(0.02, 0.15), lr.shape).astype(np.float32)
    quantised = np.maximum(np.round(noisy * subpixel) / subpixel, 1.0 / subpixel)
    out = (f * baseline / quantised).astype(np.float32)
    speckle = cv2.dilate((rng.random(lr.shape) < rng.uniform(0.0, 0.01)).astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    holes = shadow | speckle | _blobs(lr.shape, rng, rng.uniform(0.0, 0.06)) | (out > rng.uniform(6.0, 12.0))
    out[holes] = np.nan
    return out


def time_of_flight(hr: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
    """A ToF sensor at LR resolution: pixel = mean over its footprint (flying pixels), noise ∝ z, multipath."""
    h, w = hr.shape
    lr = cv2.resize(hr, (w // scale, h // scale), interpolation=cv2.INTER_AREA).astype(np.float32)
    concave = np.maximum(lr - cv2.GaussianBlur(lr, (0, 0), 2.0), 0.0)
    lr = lr + rng.uniform(0.0, 0.5) * concave
    lr = lr + rng.normal(0.0, 1.0, lr.shape).astype(np.float32) * (rng.uniform(0.001, 0.008) * lr + 0.001)
    lr = np.round(lr * 1000.0) / 1000.0
    far_drop = (lr > rng.uniform(4.0, 9.0)) & (rng.random(lr.shape) < 0.7)
    holes = far_drop | _blobs(lr.shape, rng, rng.uniform(0.0, 0.06)) | (rng.random(lr.shape) < rng.uniform(0.0, 0.005))
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
    elif kind == "nearest_phase":  # decimation at any phase: image_proc keeps offset 0, `nearest` s//2
        rng = rng if rng is not None else np.random.default_rng(0)
        lr = nearest(hr, scale, (int(rng.integers(scale)), int(rng.integers(scale))))
    elif kind in ("sensor", "stereo", "tof"):
        model = {"sensor": sensor, "stereo": stereo, "tof": time_of_flight}[kind]
        lr = model(hr, scale, rng if rng is not None else np.random.default_rng(0))
    else:
        raise ValueError(f"degradation must be one of {', '.join(DEGRADATIONS)}, got {kind!r}")
    lr = lr.astype(np.float32)
    lr[lr <= 0] = np.nan
    return lr
