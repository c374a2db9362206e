"""Message factories: the classes used to build output messages, so the core depends on neither rclpy nor rosbags."""
from __future__ import annotations

import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class MessageFactory:
    """Message classes (called with keyword fields) and how a byte buffer becomes a `uint8[]` field."""

    image: Callable[..., Any]
    point_cloud2: Callable[..., Any]
    point_field: Callable[..., Any]
    buffer: Callable[[np.ndarray], Any]


def rosbags_factory(typestore: Any) -> MessageFactory:
    """Factory over a rosbags typestore (its `uint8[]` fields are numpy uint8 arrays)."""
    types = typestore.types
    return MessageFactory(
        image=types["sensor_msgs/msg/Image"],
        point_cloud2=types["sensor_msgs/msg/PointCloud2"],
        point_field=types["sensor_msgs/msg/PointField"],
        buffer=lambda a: np.ascontiguousarray(a).view(np.uint8).reshape(-1),
    )


def rclpy_factory() -> MessageFactory:
    """Factory over rclpy's sensor_msgs; `uint8[]` as array('B'), the fast path of rosidl_python's setter."""
    from sensor_msgs.msg import Image, PointCloud2, PointField

    return MessageFactory(
        image=Image,
        point_cloud2=PointCloud2,
        point_field=PointField,
        buffer=lambda a: array.array("B", np.ascontiguousarray(a).tobytes()),
    )
