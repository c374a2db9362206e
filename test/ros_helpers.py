"""Shared builders for the ROS tests: real sensor_msgs objects from rosbags' Humble typestore and a tiny DSRNet."""
from __future__ import annotations

import numpy as np
import torch
from rosbags.typesys import Stores, get_typestore

from dsr_ros.net import DSRNet, DSRNetConfig
from dsr_ros.ros.core import CoreOptions, NodeCore
from dsr_ros.ros.messages import rosbags_factory
from dsr_ros.upsampler import Upsampler

TS = get_typestore(Stores.ROS2_HUMBLE)
T = TS.types
FACTORY = rosbags_factory(TS)
ENCODING_DTYPES = {"16UC1": np.dtype("u2"), "mono16": np.dtype("u2"), "32FC1": np.dtype("f4")}


def header(sec: int = 12, nanosec: int = 345, frame_id: str = "camera_depth_optical_frame"):
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec), frame_id=frame_id)


def image_msg(depth: np.ndarray, encoding: str = "16UC1", pad: int = 0, bigendian: bool = False, hdr=None):
    """An Image with `pad` garbage bytes after each row, in the requested byte order."""
    dtype = ENCODING_DTYPES[encoding].newbyteorder(">" if bigendian else "<")
    rows = np.ascontiguousarray(depth, dtype=dtype).view(np.uint8).reshape(depth.shape[0], -1)
    padded = np.concatenate([rows, np.full((rows.shape[0], pad), 0xAB, np.uint8)], axis=1)
    return T["sensor_msgs/msg/Image"](
        header=hdr or header(), height=depth.shape[0], width=depth.shape[1], encoding=encoding,
        is_bigendian=int(bigendian), step=padded.shape[1], data=padded.reshape(-1).copy(),
    )


def info_msg(width: int, height: int, fx: float = 50.0, fy: float = 52.0, cx: float = 19.5, cy: float = 14.5,
             binning: tuple[int, int] = (0, 0), roi: tuple[int, int, int, int] = (0, 0, 0, 0), hdr=None):
    """A CameraInfo with P = [K | 0] and the given binning and ROI (x_offset, y_offset, width, height)."""
    k = np.array([fx, 0, cx, 0, fy, cy, 0, 0, 1], dtype=np.float64)
    p = np.array([fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0], dtype=np.float64)
    return T["sensor_msgs/msg/CameraInfo"](
        header=hdr or header(), height=height, width=width, distortion_model="plumb_bob",
        d=np.array([0.1, -0.2, 0.001, 0.002, 0.0]), k=k, r=np.eye(3).reshape(9), p=p,
        binning_x=binning[0], binning_y=binning[1],
        roi=T["sensor_msgs/msg/RegionOfInterest"](x_offset=roi[0], y_offset=roi[1], width=roi[2], height=roi[3],
                                                  do_rectify=False),
    )


def scene_mm(width: int = 20, height: int = 15, holes: bool = True) -> np.ndarray:
    """A slanted plane in millimetres with a few invalid (0) pixels."""
    yy, xx = np.mgrid[0:height, 0:width]
    depth = (1000 + 20 * xx + 10 * yy).astype(np.uint16)
    if holes:
        depth[min(2, height - 1), min(3, width - 1)] = depth[min(5, height - 1), min(7, width - 1)] = 0
    return depth


def tiny_model(scale: int = 2) -> DSRNet:
    """An untrained DSRNet small enough for a 2-core CI machine (output is not meaningful, only shaped)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    return DSRNet(DSRNetConfig(scale=scale, features=4, shallow=4, units=1))


def tiny_upsampler(scale: int = 2, **kwargs) -> Upsampler:
    return Upsampler.from_model(tiny_model(scale), **kwargs)


def tiny_core(scale: int = 2, **options) -> NodeCore:
    return NodeCore(tiny_upsampler(scale), FACTORY, CoreOptions(**options))
