"""Depth Image messages of one bag topic, for `dsr profile --bag` (the node's per-frame path on a robot's frames)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from dsr_ros.ros.bag import IMAGE, BagError, open_bag, read_messages
from dsr_ros.ros.image import ImageError, image_to_array


def read_depth_frames(path: str | Path, topic: str, limit: int = 200) -> list[Any]:
    """Up to `limit` deserialised Image messages of `topic`, each checked to decode as depth."""
    from rosbags.typesys import Stores, get_typestore

    typestore = get_typestore(Stores.ROS2_HUMBLE)
    path = Path(path)
    if not path.exists():
        raise BagError(f"bag {path} does not exist")
    frames: list[Any] = []
    with open_bag(path) as reader:
        connections = [c for c in reader.connections if c.topic == topic and c.msgtype == IMAGE]
        if not connections:
            raise BagError(f"no {IMAGE} topic {topic} in {path}")
        for _, _, raw in read_messages(reader, connections):
            frames.append(typestore.deserialize_cdr(raw, IMAGE))
            if len(frames) >= limit:
                break
    if not frames:
        raise BagError(f"topic {topic} in {path} holds no messages")
    try:
        for message in frames:
            image_to_array(message)
    except ImageError as exc:
        raise BagError(f"{topic} in {path}: {exc}") from None
    return frames
