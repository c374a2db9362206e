"""CameraInfo arithmetic under upsampling: K, P, width, height, ROI and binning (REP 104).

Works on any object with sensor_msgs/CameraInfo's fields (rclpy messages, rosbags
dataclasses); new messages are built with the input's own classes, so no ROS import is needed.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

# "pixel_center": c' = (c + 0.5)·s − 0.5, exact for pixel-centre coordinates (Isaac ROS).
# "image_proc":   c' = s·c, what image_proc's resize does (off by (s − 1)/2 px).
CONVENTIONS = ("pixel_center", "image_proc")
#: The upsampling factors the package supports (DSRNet's projection geometry exists for these); the one
#: definition, kept here because ROS parameters, recipes and the network all need it without importing torch.
SCALES = (2, 4, 8, 16)


class CameraInfoError(ValueError):
    """A CameraInfo that cannot be scaled consistently (the message says which field and why)."""


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in the pixel grid of the image actually delivered (binning and ROI applied)."""

    fx: float
    fy: float
    cx: float
    cy: float


def scale_matrix(scale: float, convention: str = "pixel_center") -> np.ndarray:
    """3×3 map A from old to new pixel coordinates, so K' = A·K and P' = A·P."""
    if convention not in CONVENTIONS:
        raise CameraInfoError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    shift = (scale - 1.0) / 2.0 if convention == "pixel_center" else 0.0
    return np.array([[scale, 0.0, shift], [0.0, scale, shift], [0.0, 0.0, 1.0]])


def _binning(info: Any) -> tuple[int, int]:
    """Binning factors with REP 104's 0 meaning 1."""
    return max(int(info.binning_x), 1), max(int(info.binning_y), 1)


def _roi_is_full(roi: Any) -> bool:
    """REP 104: an all-zero ROI (or one with zero size) means the full resolution."""
    return int(roi.width) == 0 or int(roi.height) == 0


def expected_image_size(info: Any) -> tuple[int, int] | None:
    """(width, height) of the image this CameraInfo describes, or None when it carries no size."""
    bx, by = _binning(info)
    if _roi_is_full(info.roi):
        width, height = int(info.width), int(info.height)
    else:
        width, height = int(info.roi.width), int(info.roi.height)
    if width == 0 or height == 0:
        return None
    return width // bx, height // by


def image_intrinsics(info: Any) -> Intrinsics | None:
    """Intrinsics of the delivered image from P (K when P is unset), as image_geometry computes them.

    None for an uncalibrated camera (zero focal length).
    """
    p = np.asarray(info.p, dtype=np.float64).reshape(3, 4)
    m = p[:, :3] if p[0, 0] != 0.0 and p[1, 1] != 0.0 else np.asarray(info.k, dtype=np.float64).reshape(3, 3)
    if not (np.isfinite(m).all() and m[0, 0] > 0.0 and m[1, 1] > 0.0):
        return None
    bx, by = _binning(info)
    x0, y0 = (0, 0) if _roi_is_full(info.roi) else (int(info.roi.x_offset), int(info.roi.y_offset))
    return Intrinsics(fx=m[0, 0] / bx, fy=m[1, 1] / by, cx=(m[0, 2] - x0) / bx, cy=(m[1, 2] - y0) / by)


def scale_camera_info(info: Any, scale: int, convention: str = "pixel_center", header: Any = None) -> Any:
    """A new CameraInfo (same class as `info`) describing the image upsampled by an integer `scale`.

    Unbinned: K and P become A·K and A·P (see `scale_matrix`), width, height and ROI are scaled.
    Binned by b: when s divides b, binning becomes b/s and everything else is kept (exact under
    REP 104); otherwise the message cannot describe the result and CameraInfoError is raised.
    D, R and distortion model are kept; so is the header (stamp, frame_id) unless `header` is given
    (the node passes the depth image's header so image and info stamps match exactly).
    """
    if int(scale) != scale or scale < 1:
        raise CameraInfoError(f"scale must be a positive integer, got {scale!r}")
    scale = int(scale)
    bx, by = _binning(info)
    k = np.asarray(info.k, dtype=np.float64).reshape(3, 3)
    p = np.asarray(info.p, dtype=np.float64).reshape(3, 4)
    roi = info.roi
    if bx == 1 and by == 1:
        a = scale_matrix(scale, convention)
        k, p = a @ k, a @ p
        width, height = int(info.width) * scale, int(info.height) * scale
        roi_fields = {
            "x_offset": int(roi.x_offset) * scale,
            "y_offset": int(roi.y_offset) * scale,
            "width": int(roi.width) * scale,
            "height": int(roi.height) * scale,
        }
        binning_x, binning_y = int(info.binning_x), int(info.binning_y)
    elif bx % scale == 0 and by % scale == 0:
        width, height = int(info.width), int(info.height)
        roi_fields = {f: int(getattr(roi, f)) for f in ("x_offset", "y_offset", "width", "height")}
        binning_x, binning_y = bx // scale, by // scale
    else:
        raise CameraInfoError(
            f"binning_x={bx}, binning_y={by} is not divisible by scale {scale}: publish unbinned "
            "CameraInfo or use a scale that divides the binning"
        )
    new_roi = type(roi)(**roi_fields, do_rectify=bool(roi.do_rectify))
    return type(info)(
        header=info.header if header is None else header,
        height=height,
        width=width,
        distortion_model=info.distortion_model,
        d=copy.copy(info.d),
        k=k.reshape(9),
        r=copy.copy(info.r),
        p=p.reshape(12),
        binning_x=binning_x,
        binning_y=binning_y,
        roi=new_roi,
    )
