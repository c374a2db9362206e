"""An rclpy peer of a running `upsample_node`: publishes depth (and CameraInfo), records what comes back.

Outputs are matched to inputs by header stamp, so end-to-end latency is publish → receive on one clock.
rclpy is imported when a peer is made; everything runs in this process's own executor thread.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dsr_ros.depth import ENCODING_DTYPES
from dsr_ros.ros.pairing import stamp_ns


def ros_header(stamp: int, frame_id: str = "camera_depth_optical_frame") -> Any:
    """std_msgs/Header at `stamp` nanoseconds."""
    from std_msgs.msg import Header

    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = divmod(int(stamp), 1_000_000_000)
    return header


def depth_image(depth: np.ndarray, encoding: str, header: Any) -> Any:
    """sensor_msgs/Image of an H×W depth array (packed, little-endian)."""
    from sensor_msgs.msg import Image

    pixels = np.ascontiguousarray(depth, dtype=ENCODING_DTYPES[encoding].newbyteorder("<"))
    return Image(header=header, height=pixels.shape[0], width=pixels.shape[1], encoding=encoding, is_bigendian=0,
                 step=pixels.shape[1] * pixels.itemsize, data=pixels.tobytes())


def camera_info(width: int, height: int, header: Any, fx: float = 100.0, fy: float = 100.0) -> Any:
    """sensor_msgs/CameraInfo of a pinhole camera with the principal point at the image centre."""
    from sensor_msgs.msg import CameraInfo

    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    return CameraInfo(header=header, width=width, height=height, distortion_model="plumb_bob", d=[0.0] * 5,
                      k=[fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0], r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                      p=[fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0])


def compressed_image(fmt: str, data: bytes, header: Any) -> Any:
    """sensor_msgs/CompressedImage with the given format string and payload."""
    from sensor_msgs.msg import CompressedImage

    return CompressedImage(header=header, format=fmt, data=data)


PROBE_STAMP_NS = 1_000_000_000 * 1_000_000_000  # probe frames are stamped from 2001-09-09 on, apart from real ones
PROBE_PERIOD_S = 0.25


def _raw_probe(header: Any) -> Any:
    """A small flat 16UC1 frame at 1.5 m for the connection handshake."""
    return depth_image(np.full((12, 16), 1500, np.uint16), "16UC1", header)


def qos(reliability: str = "reliable", depth: int = 10) -> Any:
    """Keep-last volatile QoS with the given reliability."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    policy = ReliabilityPolicy.BEST_EFFORT if reliability == "best_effort" else ReliabilityPolicy.RELIABLE
    return QoSProfile(reliability=policy, history=HistoryPolicy.KEEP_LAST, depth=depth,
                      durability=DurabilityPolicy.VOLATILE)


@dataclass
class Received:
    """Messages seen on one topic, in arrival order, with their arrival times (perf_counter seconds)."""

    messages: list[Any] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, msg: Any) -> None:
        with self.lock:
            self.messages.append(msg)
            self.times.append(time.perf_counter())

    def snapshot(self) -> list[Any]:
        with self.lock:
            return list(self.messages)

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.times.clear()


class LivePeer:
    """A test/benchmark node talking to `upsample_node` under `namespace` over real DDS."""

    def __init__(self, namespace: str, pub_reliability: str = "best_effort", compressed: bool = False,
                 name: str = "dsr_live_peer") -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image

        self._rclpy = rclpy
        self.compressed = compressed
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        ns = namespace.rstrip("/")
        in_topic = f"{ns}/depth/image_raw" + ("/compressedDepth" if compressed else "")
        self.pub_image = self.node.create_publisher(CompressedImage if compressed else Image, in_topic,
                                                    qos(pub_reliability))
        self.pub_info = self.node.create_publisher(CameraInfo, f"{ns}/depth/camera_info", qos(pub_reliability))
        self.images, self.infos, self.points, self.diagnostics = Received(), Received(), Received(), Received()
        self.sent: dict[int, float] = {}
        self._subscribe(ns)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, name="dsr-live-peer", daemon=True)
        self._thread.start()

    def _subscribe(self, ns: str) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from sensor_msgs.msg import CameraInfo, Image, PointCloud2

        self.node.create_subscription(Image, f"{ns}/depth_upsampled/image_raw", self.images.add, qos("reliable"))
        self.node.create_subscription(CameraInfo, f"{ns}/depth_upsampled/camera_info", self.infos.add, qos("reliable"))
        self.node.create_subscription(PointCloud2, f"{ns}/depth_upsampled/points", self.points.add, qos("reliable"))
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.add, qos("reliable"))

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        try:
            self.executor.spin()
        except ExternalShutdownException:
            pass

    def wait_for_node(self, timeout_s: float = 30.0, probe: Callable[[Any], Any] | None = None) -> None:
        """Block until the node's subscription and output publisher are matched with ours, then until a
        probe frame has made the round trip: DDS matches each side on its own, so a graph that looks
        connected from here can still lose the node's first output to a subscription it has not matched.

        `probe` builds the frame to send from a header (default: a small 16UC1 Image); compressed peers
        pass one that builds a CompressedImage. Probe outputs are cleared before this returns.
        """
        if self.compressed and probe is None:
            raise ValueError("a compressed peer needs a probe that builds a CompressedImage")
        deadline = time.monotonic() + timeout_s
        output_topic = (self.pub_image.topic_name.replace("/depth/image_raw", "/depth_upsampled/image_raw")
                        .replace("/compressedDepth", ""))
        while not (self.pub_image.get_subscription_count() > 0 and self.node.count_publishers(output_topic) > 0):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no upsample_node subscribed to {self.pub_image.topic_name} within {timeout_s:.0f} s")
            time.sleep(0.05)
        self._round_trip(probe or _raw_probe, deadline)

    def _round_trip(self, probe: Callable[[Any], Any], deadline: float) -> None:
        """Send probe frames, a fresh stamp every PROBE_PERIOD_S, until the node's output for one arrives."""
        stamps: set[int] = set()
        next_send = 0.0
        while not any(stamp_ns(m.header.stamp) in stamps for m in self.images.snapshot()):
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"upsample_node is matched on {self.pub_image.topic_name} but answered none of "
                                   f"{len(stamps)} probe frames")
            if now >= next_send:
                stamp = PROBE_STAMP_NS + len(stamps) * 1_000_000_000
                stamps.add(stamp)
                self.pub_image.publish(probe(ros_header(stamp)))
                next_send = now + PROBE_PERIOD_S
            time.sleep(0.01)
        time.sleep(PROBE_PERIOD_S)  # outputs of earlier probes still in flight land before the clear
        self.images.clear()
        self.infos.clear()
        self.points.clear()

    def publish(self, image: Any, info: Any = None) -> None:
        """Publish one frame (its CameraInfo first when given), remembering the send time by stamp."""
        if info is not None:
            self.pub_info.publish(info)
        self.sent[stamp_ns(image.header.stamp)] = time.perf_counter()
        self.pub_image.publish(image)

    def wait_for(self, received: Received, count: int = 1, timeout_s: float = 10.0,
                 where: Callable[[Any], bool] | None = None) -> list[Any]:
        """At least `count` messages (satisfying `where`) on a topic; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = [m for m in received.snapshot() if where is None or where(m)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} messages within {timeout_s:.1f} s")
            time.sleep(0.01)

    def latencies_ms(self) -> dict[int, float]:
        """Stamp → publish-to-receive milliseconds of every output image whose input this peer sent."""
        with self.images.lock:
            pairs = list(zip(self.images.messages, self.images.times))
        return {s: (t - self.sent[s]) * 1000.0 for m, t in pairs if (s := stamp_ns(m.header.stamp)) in self.sent}

    def node_status(self, node_name: str) -> dict[str, str] | None:
        """The newest /diagnostics key-values of the status whose name starts with `node_name`."""
        for array in reversed(self.diagnostics.snapshot()):
            for status in array.status:
                if status.name.startswith(node_name):
                    return {kv.key: kv.value for kv in status.values}
        return None

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        self._rclpy.try_shutdown(context=self.context)
        self._thread.join(timeout=2.0)
