"""Organised xyz PointCloud2 from a depth image, laid out like sensor_msgs_py's create_cloud_xyz32."""
from __future__ import annotations

from typing import Any

import numpy as np

from dsr_ros.camera import Intrinsics
from dsr_ros.ros.messages import MessageFactory

POINT_STEP = 12  # three little-endian float32: x, y, z
FLOAT32 = 7  # sensor_msgs/PointField.FLOAT32


def depth_to_points(metres: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """H×W×3 float32 camera-frame points (x right, y down, z forward); NaN where depth is invalid."""
    height, width = metres.shape
    z = np.where(np.isfinite(metres) & (metres > 0), metres, np.nan).astype(np.float32)
    u = (np.arange(width, dtype=np.float32) - np.float32(intrinsics.cx)) / np.float32(intrinsics.fx)
    v = (np.arange(height, dtype=np.float32) - np.float32(intrinsics.cy)) / np.float32(intrinsics.fy)
    return np.stack([z * u[None, :], z * v[:, None], z], axis=-1)


def points_to_cloud(points: np.ndarray, header: Any, factory: MessageFactory) -> Any:
    """An organised (height × width) PointCloud2 with x, y, z float32 fields; is_dense False (NaNs inside)."""
    height, width, _ = points.shape
    fields = [factory.point_field(name=n, offset=4 * i, datatype=FLOAT32, count=1) for i, n in enumerate("xyz")]
    return factory.point_cloud2(
        header=header,
        height=height,
        width=width,
        fields=fields,
        is_bigendian=False,
        point_step=POINT_STEP,
        row_step=POINT_STEP * width,
        data=factory.buffer(np.ascontiguousarray(points, dtype="<f4")),
        is_dense=False,
    )
