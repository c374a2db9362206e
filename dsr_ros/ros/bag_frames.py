"""Depth frames of one bag topic as raw CDR bytes, plus the decoder a node would run on them.

`dsr profile --bag` measures the convert stage on exactly these bytes: CDR deserialisation and
Image → numpy, as the node and `dsr bag` do.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from dsr_ros.ros.bag import IMAGE, BagError, open_bag, read_messages
from dsr_ros.ros.image import image_to_array


def read_depth_frames(path: str | Path, topic: str, limit: int = 200) -> tuple[list[bytes], Callable[[bytes], np.ndarray]]:
    """Up to `limit` serialised Image messages of `topic`, and bytes → depth array."""
    from rosbags.typesys import Stores, get_typestore

    typestore = get_typestore(Stores.ROS2_HUMBLE)
    path = Path(path)
    if not path.exists():
        raise BagError(f"bag {path} does not exist")
    frames: list[bytes] = []
    with open_bag(path) as reader:
        connections = [c for c in reader.connections if c.topic == topic and c.msgtype == IMAGE]
        if not connections:
            raise BagError(f"no {IMAGE} topic {topic} in {path}")
        for _, _, raw in read_messages(reader, connections):
            frames.append(bytes(raw))
            if len(frames) >= limit:
                break
    if not frames:
        raise BagError(f"topic {topic} in {path} holds no messages")
    return frames, lambda raw: image_to_array(typestore.deserialize_cdr(raw, IMAGE))
