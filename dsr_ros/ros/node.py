"""The rclpy node `upsample_node`: a thin shell over NodeCore (ROS Humble and Jazzy).

Subscribes `depth/image_raw` and `depth/camera_info` (relative, remappable), publishes
`depth_upsampled/image_raw`, `depth_upsampled/camera_info` and optionally `depth_upsampled/points`,
plus /diagnostics. rclpy is imported inside functions so this module imports without ROS.
"""
from __future__ import annotations

import sys
import time
from typing import Any

from dsr_ros.ros.core import REASONS, CoreOptions, FrameResult, NodeCore
from dsr_ros.ros.diagnostics import NodeStats
from dsr_ros.ros.loading import make_upsampler
from dsr_ros.ros.messages import rclpy_factory
from dsr_ros.ros.pairing import InfoCache, stamp_ns
from dsr_ros.ros.params import PARAMS, SPECS, ConfigError, ParamSpec, depth_range, validate
from dsr_ros.ros.throttle import Throttle
from dsr_ros.ros.worker import LatestWorker

NODE_NAME = "upsample_node"
IN_IMAGE, IN_INFO = "depth/image_raw", "depth/camera_info"
OUT_IMAGE, OUT_INFO, OUT_POINTS = "depth_upsampled/image_raw", "depth_upsampled/camera_info", "depth_upsampled/points"
NO_INFO_AFTER = 30  # frames without any CameraInfo before warning that intrinsics are missing


def _descriptor(spec: ParamSpec) -> Any:
    """rcl_interfaces ParameterDescriptor for a schema entry (type, description, range, read-only)."""
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType

    types = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
             float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}
    descriptor = ParameterDescriptor(
        name=spec.name,
        type=types[spec.type],
        description=spec.description,
        additional_constraints=spec.allowed(),
        read_only=not spec.dynamic,
    )
    if spec.minimum is not None and spec.maximum is not None:
        if spec.type is int:
            descriptor.integer_range = [IntegerRange(from_value=int(spec.minimum), to_value=int(spec.maximum), step=1)]
        else:
            descriptor.floating_point_range = [
                FloatingPointRange(from_value=float(spec.minimum), to_value=float(spec.maximum), step=0.0)
            ]
    return descriptor


def _qos(reliability: str, depth: int) -> Any:
    """Keep-last volatile QoS with the configured reliability (best_effort subscriptions accept every publisher)."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    policy = ReliabilityPolicy.BEST_EFFORT if reliability == "best_effort" else ReliabilityPolicy.RELIABLE
    return QoSProfile(reliability=policy, history=HistoryPolicy.KEEP_LAST, depth=depth,
                      durability=DurabilityPolicy.VOLATILE)


class UpsampleNode:
    """Wires an rclpy Node to NodeCore: parameters, topics, newest-frame worker, warnings and diagnostics."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self.log = node.get_logger()
        for spec in PARAMS:
            node.declare_parameter(spec.name, spec.default, _descriptor(spec))
        self.config = validate({spec.name: node.get_parameter(spec.name).value for spec in PARAMS})
        cfg = self.config
        upsampler = make_upsampler(cfg["model"], cfg["scale"], cfg["variant"], cfg["device"], cfg["backend"],
                                   cfg["precision"], cfg["fill_holes"], depth_range(cfg))
        self.core = NodeCore(upsampler, rclpy_factory(), self._options(cfg))
        self.stats = NodeStats()
        self.throttle = Throttle(cfg["warn_period"])
        self.infos = InfoCache(capacity=16)
        self.frames_without_info = 0

        sub_qos = _qos(cfg["qos_sub_reliability"], cfg["qos_depth"])
        pub_qos = _qos(cfg["qos_pub_reliability"], cfg["qos_depth"])
        from diagnostic_msgs.msg import DiagnosticArray
        from sensor_msgs.msg import CameraInfo, Image, PointCloud2

        self.pub_image = node.create_publisher(Image, OUT_IMAGE, pub_qos)
        self.pub_info = node.create_publisher(CameraInfo, OUT_INFO, pub_qos)
        self.pub_points = node.create_publisher(PointCloud2, OUT_POINTS, pub_qos)
        self.pub_diag = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.worker = LatestWorker(self._process, on_error=self._on_worker_error)
        self.worker.start()
        self.sub_info = node.create_subscription(CameraInfo, IN_INFO, self._on_info, sub_qos)
        self.sub_image = node.create_subscription(Image, IN_IMAGE, self._on_image, sub_qos)
        node.create_timer(cfg["diagnostics_period"], self._publish_diagnostics)
        node.add_on_set_parameters_callback(self._on_set_parameters)
        engine = upsampler.engine
        self.log.info(
            f"×{upsampler.scale} {upsampler.model_card.variant} on {engine.name}/{engine.device}/{engine.precision}; "
            f"subscribing {self.sub_image.topic_name} ({cfg['qos_sub_reliability']}), "
            f"publishing {self.pub_image.topic_name} ({cfg['qos_pub_reliability']})"
        )

    @staticmethod
    def _options(cfg: dict[str, Any]) -> CoreOptions:
        return CoreOptions(publish_points=cfg["publish_points"], convention=cfg["cx_convention"],
                           output_encoding=cfg["output_encoding"])

    def _on_image(self, msg: Any) -> None:
        """Subscription callback: hand the frame to the worker; a frame still waiting is replaced (dropped)."""
        self.stats.on_received()
        if not self.worker.submit((msg, time.perf_counter())):
            self.stats.on_dropped()

    def _on_info(self, msg: Any) -> None:
        self.infos.add(stamp_ns(msg.header.stamp), msg)

    def _warn(self, key: str, text: str) -> None:
        """Rate-limited warning, one line per kind per warn_period, saying how many were held back."""
        held_back = self.throttle.check(key)
        if held_back is not None:
            suffix = f" ({held_back} similar since last warning)" if held_back else ""
            self.log.warning(text + suffix)

    def _process(self, item: tuple[Any, float]) -> None:
        """Worker thread: pair with CameraInfo, run the core, publish or explain the skip."""
        msg, received = item
        info = self.infos.match(stamp_ns(msg.header.stamp))
        if info is not None:
            self.frames_without_info = 0
        else:
            self.frames_without_info += 1
            if self.frames_without_info >= NO_INFO_AFTER:
                self._warn("no_camera_info", f"no CameraInfo on {self.sub_info.topic_name}: publishing "
                           "depth without camera_info or points (remap depth/camera_info)")
        result = self.core.process(msg, info)
        if not result.ok:
            self.stats.on_result(result)
            self._warn(result.reason, f"skipped depth frame ({REASONS[result.reason]}): {result.detail}")
            return
        publish_ms = self._publish(result)
        self.stats.on_result(result, publish_ms, (time.perf_counter() - received) * 1000.0)
        for note in result.notes:
            self._warn(note, note)

    def _on_worker_error(self, err: BaseException) -> None:
        self._warn("worker_error", f"frame processing failed: {type(err).__name__}: {err}")

    def _publish(self, result: FrameResult) -> float:
        """Publish the frame's outputs; returns milliseconds spent."""
        start = time.perf_counter()
        self.pub_image.publish(result.image)
        if result.camera_info is not None:
            self.pub_info.publish(result.camera_info)
        if result.cloud is not None:
            self.pub_points.publish(result.cloud)
        return (time.perf_counter() - start) * 1000.0

    def _publish_diagnostics(self) -> None:
        from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

        level, message = self.stats.level()
        engine = self.core.upsampler.engine
        status = DiagnosticStatus(
            level=DiagnosticStatus.OK if level == "OK" else DiagnosticStatus.WARN,
            name=f"{self.node.get_fully_qualified_name()}: depth upsampling",
            message=message,
            hardware_id=f"{engine.name}:{engine.device}",
            values=[KeyValue(key=k, value=v) for k, v in self.stats.values()],
        )
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.node.get_clock().now().to_msg()
        self.pub_diag.publish(array)

    def _on_set_parameters(self, params: list[Any]) -> Any:
        """Accept runtime changes of dynamic parameters when the whole configuration stays valid."""
        from rcl_interfaces.msg import SetParametersResult

        changed = {p.name: p.value for p in params}
        frozen = [name for name in changed if name in SPECS and not SPECS[name].dynamic]
        if frozen:
            return SetParametersResult(successful=False, reason=f"{', '.join(frozen)} can only be set at start-up")
        try:
            config = validate({**self.config, **changed})
        except ConfigError as err:
            return SetParametersResult(successful=False, reason=str(err))
        self.config = config
        self.core.options = self._options(config)
        self.throttle.period_s = config["warn_period"]
        return SetParametersResult(successful=True)

    def shutdown(self) -> None:
        """Stop the worker (finishing the frame in progress) and destroy the node."""
        self.worker.stop()
        self.node.destroy_node()


def main(args: list[str] | None = None) -> int:
    """Entry point of `ros2 run dsr_ros upsample_node`; exits 2 with the reason on a bad configuration."""
    import rclpy
    from rclpy.exceptions import ParameterException
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=args)
    node = rclpy.create_node(NODE_NAME)
    try:
        app = UpsampleNode(node)
    except (ConfigError, ParameterException, ValueError, OSError, RuntimeError) as err:
        node.get_logger().fatal(f"{NODE_NAME} cannot start: {err}")
        node.destroy_node()
        rclpy.shutdown()
        return 2
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        app.shutdown()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
