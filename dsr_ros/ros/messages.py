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
    header: Callable[..., Any]  # std_msgs/Header from frame_id (stamp zero)


def rosbags_factory(typestore: Any) -> MessageFactory:
    """Factory over a rosbags typestore (its `uint8[]` fields are numpy uint8 arrays)."""
    types = typestore.types
    return MessageFactory(
        image=types["sensor_msgs/msg/Image"],
        point_cloud2=types["sensor_msgs/msg/PointCloud2"],
        point_field=types["sensor_msgs/msg/PointField"],
        buffer=lambda a: np.ascontiguousarray(a).view(np.uint8).reshape(-1),
        header=lambda frame_id="": types["std_msgs/msg/Header"](
            stamp=types["builtin_interfaces/msg/Time"](sec=0, nanosec=0), frame_id=frame_id),
    )


def rclpy_factory() -> MessageFactory:
    """Factory over rclpy's sensor_msgs; `uint8[]` as array('B'), the fast path of rosidl_python's setter.

    Large arrays are assigned after construction: passing `data=` to the constructor copies it
    element by element (0.5 ms for a 640x480 16UC1 frame here), the attribute setter does not.
    """
    from sensor_msgs.msg import Image, PointCloud2, PointField
    from std_msgs.msg import Header

    return MessageFactory(
        image=_assign_data_after(Image),
        point_cloud2=_assign_data_after(PointCloud2),
        point_field=PointField,
        buffer=_byte_array,
        header=lambda frame_id="": Header(frame_id=frame_id),
    )


def _byte_array(values: np.ndarray) -> array.array:
    """The array's bytes as array('B') in one copy."""
    out = array.array("B")
    out.frombytes(memoryview(np.ascontiguousarray(values)).cast("B"))
    return out


def _assign_data_after(message_class: Callable[..., Any]) -> Callable[..., Any]:
    def build(data: Any = None, **fields: Any) -> Any:
        message = message_class(**fields)
        if data is not None:
            message.data = data
        return message

    return build
