"""Bag processing: run the node core over a ROS 2 bag (mcap or sqlite3) and write a new bag with the upsampled topics.

The depth topic may be raw (sensor_msgs/Image) or image_transport's compressedDepth (sensor_msgs/CompressedImage,
e.g. /camera/depth/image_raw/compressedDepth, as robots record). The input is only read. The output bag is
written inside a temporary sibling directory and moved into place on success, so its data file has its
final name.
"""
from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsr_ros.profiling import StageTimer, latency_stats
from dsr_ros.ros.core import REASONS, NodeCore
from dsr_ros.ros.pairing import InfoCache, stamp_ns

IMAGE, INFO, CLOUD = "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo", "sensor_msgs/msg/PointCloud2"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
COMPRESSED_SUFFIX = "/compressedDepth"  # image_transport's sub-topic of the compressedDepth transport
EXTRA_REASONS = {"deserialise": "message bytes could not be deserialised as the depth topic's type"}


class BagError(ValueError):
    """A bag cannot be processed (missing, unreadable or corrupt, wrong topics); the message says which and why."""


@contextmanager
def open_bag(path: Path) -> Iterator[Any]:
    """rosbags' Reader, opened; a bag it cannot open (missing, truncated, corrupt) is a BagError naming the path."""
    from rosbags.rosbag2 import Reader

    try:
        reader = Reader(path)
        reader.open()
    except Exception as exc:  # noqa: BLE001 - rosbags and its storage back ends raise many types for bad files
        raise BagError(f"{path}: not a readable ROS 2 bag: {exc}") from None
    try:
        yield reader
    finally:
        reader.close()


def read_messages(reader: Any, connections: Sequence[Any] = ()) -> Iterator[tuple[Any, int, bytes]]:
    """(connection, receive time ns, raw CDR) of `connections` (all when empty); unreadable data is a BagError."""
    messages = reader.messages(connections=connections)
    while True:
        try:
            item = next(messages)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - only rosbags' reading runs here, never our processing
            raise BagError(f"{reader.path}: bag data cannot be read (truncated or corrupt?): {exc}") from None
        yield item


def _namespace(depth_topic: str) -> str:
    """The depth image's parent namespace ('/camera/depth' for '/camera/depth/image_raw[/compressedDepth]')."""
    topic = depth_topic.rstrip("/").removesuffix(COMPRESSED_SUFFIX)
    parent = topic.rpartition("/")[0]
    if not parent:
        raise BagError(f"depth topic {depth_topic!r} needs a namespace, e.g. /camera/depth/image_raw")
    return parent


def upsampled_topic(depth_topic: str, leaf: str) -> str:
    """'/camera/depth/image_raw', 'camera_info' → '/camera/depth_upsampled/camera_info'."""
    return f"{_namespace(depth_topic)}_upsampled/{leaf}"


def sibling_info_topic(depth_topic: str) -> str:
    """image_transport's sibling rule: the camera_info topic in the image topic's namespace."""
    return f"{_namespace(depth_topic)}/camera_info"


@dataclass
class BagSummary:
    """What `dsr bag` did: frames seen, written, skipped by reason, and per-stage latency."""

    frames: int = 0
    upsampled: int = 0
    without_info: int = 0
    corrupt_infos: int = 0
    skipped: Counter = field(default_factory=Counter)
    timer: StageTimer = field(default_factory=StageTimer)

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        out = [f"depth frames: {self.frames}, upsampled: {self.upsampled}, skipped: {sum(self.skipped.values())}"]
        reasons = {**REASONS, **EXTRA_REASONS}
        out += [f"  skipped {n} × {reason} ({reasons.get(reason, reason)})" for reason, n in self.skipped.items()]
        if self.corrupt_infos:
            out.append(f"  ignored {self.corrupt_infos} CameraInfo messages that could not be deserialised")
        if self.without_info:
            out.append(f"  {self.without_info} frames had no CameraInfo: no camera_info written for them")
        stats = {stage: latency_stats(samples)["mean_ms"] for stage, samples in self.timer.history.items()}
        if stats:
            out.append("mean latency: " + ", ".join(f"{stage} {ms:.1f} ms" for stage, ms in stats.items()))
        return out


def _storage_plugin(src: Path, choice: str) -> Any:
    """The output storage: as requested, or the input's own (mcap when the input holds .mcap files)."""
    from rosbags.rosbag2 import StoragePlugin

    if choice == "auto":
        is_mcap = src.suffix == ".mcap" or (src.is_dir() and any(src.glob("*.mcap")))
        return StoragePlugin.MCAP if is_mcap else StoragePlugin.SQLITE3
    return StoragePlugin.MCAP if choice == "mcap" else StoragePlugin.SQLITE3


def _copy_connection(writer: Any, conn: Any, typestore: Any) -> Any:
    """Recreate a reader connection in the writer with its own definition, hash and QoS."""
    ext = conn.ext
    if conn.msgdef.data and conn.digest:
        return writer.add_connection(conn.topic, conn.msgtype, msgdef=conn.msgdef.data, rihs01=conn.digest,
                                     serialization_format=ext.serialization_format,
                                     offered_qos_profiles=ext.offered_qos_profiles)
    if conn.msgtype not in typestore.types:
        raise BagError(f"topic {conn.topic}: bag stores no definition of {conn.msgtype} and the typestore lacks it")
    return writer.add_connection(conn.topic, conn.msgtype, typestore=typestore,
                                 serialization_format=ext.serialization_format,
                                 offered_qos_profiles=ext.offered_qos_profiles)


def _load_infos(reader: Any, connections: list[Any], typestore: Any, summary: BagSummary) -> InfoCache:
    """All CameraInfo messages of the info topic, keyed by header stamp (kept as raw CDR to save memory)."""
    cache = InfoCache(capacity=None)
    if not connections:  # rosbags reads every topic when given no connections
        return cache
    for conn, _, raw in read_messages(reader, connections):
        try:
            cache.add(stamp_ns(typestore.deserialize_cdr(raw, conn.msgtype).header.stamp), raw)
        except Exception:  # noqa: BLE001 - a corrupt CameraInfo is counted; frames pair with the nearest good one
            summary.corrupt_infos += 1
    return cache


def process_bag(src: Path, dst: Path, depth_topic: str, info_topic: str | None, core: NodeCore,
                storage: str = "auto", progress: bool = True) -> BagSummary:
    """Copy every message of `src` into a new bag `dst` and add the upsampled image, camera_info (and points)."""
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore
    from tqdm import tqdm

    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise BagError(f"input bag {src} does not exist")
    if dst.exists():
        raise BagError(f"output {dst} exists already; choose a new path")
    if dst.resolve().is_relative_to(src.resolve()):
        raise BagError(f"output {dst} must not be inside the input bag {src}")
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    info_topic = info_topic or sibling_info_topic(depth_topic)
    out_topics = {leaf: upsampled_topic(depth_topic, leaf) for leaf in ("image_raw", "camera_info", "points")}
    summary = BagSummary()
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")  # holds dst.name while written
    try:
        with open_bag(src) as reader:
            depth_conns = [c for c in reader.connections if c.topic == depth_topic]
            if not depth_conns:
                images = sorted({c.topic for c in reader.connections if c.msgtype in (IMAGE, COMPRESSED)})
                raise BagError(f"no topic {depth_topic} in {src}; image topics: {', '.join(images) or 'none'}")
            if len({c.msgtype for c in depth_conns}) != 1 or depth_conns[0].msgtype not in (IMAGE, COMPRESSED):
                raise BagError(f"{depth_topic} is not a {IMAGE} or {COMPRESSED} (compressedDepth) topic")
            taken = sorted(set(out_topics.values()) & {c.topic for c in reader.connections})
            if taken:
                raise BagError(f"input bag already has {', '.join(taken)}; was it upsampled before?")
            info_conns = [c for c in reader.connections if c.topic == info_topic]
            if any(c.msgtype != INFO for c in info_conns):
                raise BagError(f"{info_topic} is not a {INFO} topic")
            infos = _load_infos(reader, info_conns, typestore, summary)
            tmp.mkdir()
            writer = Writer(tmp / dst.name, version=9, storage_plugin=_storage_plugin(src, storage))
            with writer:
                copies = {c.id: _copy_connection(writer, c, typestore) for c in reader.connections}
                out = OutputTopics(writer, typestore, out_topics)
                depth_ids = {c.id for c in depth_conns}
                total = sum(c.msgcount for c in depth_conns)
                with tqdm(total=total, unit="frame", desc="dsr bag", disable=not progress) as bar:
                    for conn, t_ns, raw in read_messages(reader):
                        writer.write(copies[conn.id], t_ns, raw)
                        if conn.id in depth_ids:
                            _upsample_one(raw, depth_conns[0].msgtype, t_ns, core, typestore, infos, out, summary)
                            bar.update(1)
        os.rename(tmp / dst.name, dst)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return summary


class OutputTopics:
    """The upsampled topics of the output bag; each connection is added when its first message is written."""

    def __init__(self, writer: Any, typestore: Any, topics: dict[str, str]) -> None:
        self.writer, self.typestore, self.topics = writer, typestore, topics
        self.types = {"image_raw": IMAGE, "camera_info": INFO, "points": CLOUD}
        self._connections: dict[str, Any] = {}

    def write(self, leaf: str, t_ns: int, msg: Any) -> None:
        msgtype = self.types[leaf]
        if leaf not in self._connections:
            self._connections[leaf] = self.writer.add_connection(self.topics[leaf], msgtype, typestore=self.typestore)
        self.writer.write(self._connections[leaf], t_ns, self.typestore.serialize_cdr(msg, msgtype))


def _upsample_one(raw: bytes, msgtype: str, t_ns: int, core: NodeCore, typestore: Any, infos: InfoCache,
                  out: OutputTopics, summary: BagSummary) -> None:
    """Run the core on one depth message and write its outputs at the input's receive time."""
    summary.frames += 1
    start = time.perf_counter()
    try:
        image = typestore.deserialize_cdr(raw, msgtype)
    except Exception:  # noqa: BLE001 - truncated or foreign bytes: skip and count, like any bad frame
        summary.skipped["deserialise"] += 1
        return
    info_raw = infos.match(stamp_ns(image.header.stamp))
    info = typestore.deserialize_cdr(info_raw, INFO) if info_raw is not None else None
    result = core.process(image, info)
    if not result.ok:
        summary.skipped[result.reason] += 1
        return
    summary.upsampled += 1
    for stage, ms in result.timings.items():
        summary.timer.record(stage, ms)
    summary.timer.record("total", (time.perf_counter() - start) * 1000.0)
    out.write("image_raw", t_ns, result.image)
    if result.camera_info is None:
        summary.without_info += 1
    else:
        out.write("camera_info", t_ns, result.camera_info)
    if result.cloud is not None:
        out.write("points", t_ns, result.cloud)
