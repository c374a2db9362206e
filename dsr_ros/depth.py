"""Depth frames as numpy arrays: encodings, units, invalid pixels, normalisation and filling.

Conventions (REP 118): `16UC1`/`mono16` are millimetres with 0 invalid; `32FC1` is metres with
NaN, ±inf or 0 invalid; a uint16 of 65535 is the saturation sentinel many drivers write
("too far" or "no return"), so it is invalid too, never a 65.5 m reading.

The network sees log(depth / reference) with the reference the frame's median valid depth
(`LogDepth`): k·depth gives the same input shifted by log k, which DSRNet passes through
exactly, and one far pixel can move the median by one rank at most.
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
#: uint16 sentinel for a saturated or missing reading: invalid, like 0.
SATURATED_MM = 65535
# Float depth beyond this (metres) is a corrupt value, not a measurement: treated as invalid.
MAX_VALID_M = 1000.0
#: Pixels sampled for a frame's reference depth (LogDepth.of); smaller frames use every pixel.
REFERENCE_SAMPLES = 16384
#: Network outputs are clipped to this many e-folds of the reference before exp (no overflow).
MAX_LOG_RATIO = 12.0


def check_depth_dtype(depth: np.ndarray) -> None:
    """Accept uint16 (mm) and float32 (m) only, so units are never guessed."""
    if depth.dtype not in (np.uint16, np.float32):
        raise TypeError(f"depth must be uint16 (millimetres) or float32 (metres), got {depth.dtype}")


def invalid_mask(depth: np.ndarray) -> np.ndarray:
    """True where the sensor gave no depth: 0 or 65535 for uint16; NaN, ±inf, <= 0 or absurdly far for float."""
    check_depth_dtype(depth)
    if depth.dtype == np.uint16:
        return (depth == 0) | (depth == SATURATED_MM)
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
        mm[(mm < 1) | (mm >= SATURATED_MM)] = 0
        return mm.astype(np.uint16)
    raise TypeError(f"output dtype must be uint16 or float32, got {dtype}")


NORMALISATION = {"mode": "log_median"}


def _median(values: np.ndarray) -> float:
    """np.median of a non-empty 1-D array, without its per-call overhead (the node calls it per frame)."""
    n = values.size
    low, high = (n - 1) // 2, n // 2
    part = np.partition(values, (low, high))
    return float(part[low] + part[high]) / 2.0


@dataclass(frozen=True)
class LogDepth:
    """The network's representation of one frame: log(depth / reference), reference in metres."""

    reference: float

    @classmethod
    def of(cls, metres: np.ndarray, valid: np.ndarray) -> LogDepth:
        """Reference = median of the valid depths (1 m for a frame with none).

        Large frames are sampled on a regular grid of about REFERENCE_SAMPLES pixels: the network
        passes a change of reference through exactly, so only robustness matters, not the exact value.
        """
        stride = max(1, int(np.ceil(np.sqrt(metres.size / REFERENCE_SAMPLES))))
        sampled = valid[..., ::stride, ::stride]
        if stride > 1 and sampled.any():
            return cls(_median(metres[..., ::stride, ::stride][sampled]))
        return cls(_median(metres[valid]) if valid.any() else 1.0)

    def encode(self, metres: np.ndarray) -> np.ndarray:
        """Depth in metres → log ratio to the reference (float32)."""
        return np.log(np.asarray(metres, dtype=np.float32) / np.float32(self.reference)).astype(np.float32)

    def decode(self, log_ratio: np.ndarray) -> np.ndarray:
        """Log ratio → depth in metres (float32), clipped to ±MAX_LOG_RATIO first."""
        clipped = np.clip(log_ratio, -MAX_LOG_RATIO, MAX_LOG_RATIO)
        return (np.exp(clipped) * np.float32(self.reference)).astype(np.float32)


def encode_frame(metres: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, LogDepth]:
    """One LR frame as the network's input: log ratio to its median, holes filled from neighbours.

    Works in one new float32 array (the node's hot path): invalid pixels are set to the reference
    before the log (torch's, 2x numpy's on float32), then to their nearest valid neighbour's value.
    """
    import torch  # here, not at the top: the ROS modules import this file and must load without torch

    norm = LogDepth.of(metres, valid)
    with np.errstate(invalid="ignore", over="ignore"):  # invalid pixels may be NaN or inf: overwritten next
        encoded = np.multiply(metres, np.float32(1.0 / norm.reference), dtype=np.float32)
    np.copyto(encoded, np.float32(1.0), where=~valid)
    torch.from_numpy(encoded).log_()
    return fill_invalid(encoded, valid, out=encoded), norm


def fill_invalid(values: np.ndarray, valid: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Replace invalid pixels by their nearest valid neighbour so convolutions see no holes.

    Writes into `out` (a new array if None; `values` itself is allowed). A frame without any valid
    pixel becomes zeros: there is nothing to copy from.
    """
    out = values.copy() if out is None else out
    if out is not values:
        np.copyto(out, values)
    if valid.all():
        return out
    if not valid.any():
        out.fill(0)
        return out
    invalid = ~valid
    _, labels = cv2.distanceTransformWithLabels(
        invalid.view(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    # distanceTransformWithLabels numbers the zero pixels (here: valid ones) in row-major order from 1.
    out[invalid] = values[valid][labels[invalid] - 1]
    return out


def upsample_mask(mask: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upsampling of a boolean mask: each LR pixel covers an s×s HR block."""
    return np.repeat(np.repeat(mask, scale, axis=-2), scale, axis=-1)
