"""Depth frames as numpy arrays: encodings, units, invalid pixels, normalisation and filling.

Conventions (REP 118): `16UC1`/`mono16` are millimetres with 0 invalid; `32FC1` is metres with
NaN, ±inf or 0 invalid. The network only ever sees depth normalised to [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MM_ENCODINGS = ("16UC1", "mono16")
METRE_ENCODINGS = ("32FC1",)
SUPPORTED_ENCODINGS = MM_ENCODINGS + METRE_ENCODINGS
#: Pixel type of each encoding, in native byte order (messages say their own byte order).
ENCODING_DTYPES: dict[str, np.dtype] = {
    **dict.fromkeys(MM_ENCODINGS, np.dtype(np.uint16)), **dict.fromkeys(METRE_ENCODINGS, np.dtype(np.float32))
}
MAX_MM = 65535
# Float depth beyond this (metres) is a corrupt value, not a measurement: treated as invalid.
MAX_VALID_M = 1000.0
# Below this span (metres) a frame is treated as flat: normalisation would divide by ~0.
MIN_SPAN_M = 1e-3


def check_depth_dtype(depth: np.ndarray) -> None:
    """Accept uint16 (mm) and float32 (m) only, so units are never guessed."""
    if depth.dtype not in (np.uint16, np.float32):
        raise TypeError(f"depth must be uint16 (millimetres) or float32 (metres), got {depth.dtype}")


def invalid_mask(depth: np.ndarray) -> np.ndarray:
    """True where the sensor gave no depth: 0 for uint16; NaN, ±inf, <= 0 or absurdly far for float."""
    check_depth_dtype(depth)
    if depth.dtype == np.uint16:
        return depth == 0
    return ~np.isfinite(depth) | (depth <= 0) | (depth > MAX_VALID_M)


def to_metres(depth: np.ndarray) -> np.ndarray:
    """float32 metres with NaN wherever the input is invalid."""
    invalid = invalid_mask(depth)
    metres = depth.astype(np.float32) * (np.float32(1e-3) if depth.dtype == np.uint16 else np.float32(1))
    metres[invalid] = np.nan
    return metres


def from_metres(metres: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """Back to the caller's encoding: uint16 mm (invalid or out of range → 0) or float32 (NaN)."""
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        out = metres.astype(np.float32, copy=True)
        out[~np.isfinite(out) | (out <= 0)] = np.nan
        return out
    if dtype == np.uint16:
        mm = np.rint(np.nan_to_num(metres, nan=0.0, posinf=0.0, neginf=0.0) * 1000.0)
        mm[(mm < 1) | (mm > MAX_MM)] = 0
        return mm.astype(np.uint16)
    raise TypeError(f"output dtype must be uint16 or float32, got {dtype}")


@dataclass(frozen=True)
class Normalisation:
    """Affine map between metres and the network's [0, 1] range for one frame."""

    near: float
    far: float

    @classmethod
    def from_valid(cls, metres: np.ndarray, valid: np.ndarray, depth_range: tuple[float, float] | None = None) -> Normalisation:
        """From the frame's own valid range, or a fixed (near, far) range when configured."""
        if depth_range is not None:
            near, far = float(depth_range[0]), float(depth_range[1])
        elif valid.any():
            values = metres[valid]
            near, far = float(values.min()), float(values.max())
        else:
            near, far = 0.0, 1.0
        if far - near < MIN_SPAN_M:
            centre = 0.5 * (near + far)
            near, far = centre - MIN_SPAN_M / 2, centre + MIN_SPAN_M / 2
        return cls(near, far)

    def normalise(self, metres: np.ndarray) -> np.ndarray:
        return ((metres - self.near) / (self.far - self.near)).astype(np.float32)

    def denormalise(self, unit: np.ndarray) -> np.ndarray:
        return (unit * (self.far - self.near) + self.near).astype(np.float32)


def fill_invalid(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Replace invalid pixels by their nearest valid neighbour so convolutions see no holes."""
    if valid.all():
        return values
    if not valid.any():
        return np.zeros_like(values)
    _, labels = cv2.distanceTransformWithLabels(
        (valid == 0).astype(np.uint8) * 255, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    ys, xs = np.nonzero(valid)
    # distanceTransformWithLabels numbers the zero pixels (here: valid ones) in row-major order from 1.
    lookup = values[ys, xs]
    return lookup[labels - 1].astype(values.dtype)


def upsample_mask(mask: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upsampling of a boolean mask: each LR pixel covers an s×s HR block."""
    return np.repeat(np.repeat(mask, scale, axis=-2), scale, axis=-1)
