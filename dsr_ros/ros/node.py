"""The rclpy node `upsample_node`: a thin shell over NodeCore (ROS Humble and Jazzy).

Subscribes `depth/image_raw` (or `depth/image_raw/compressedDepth`) and `depth/camera_info` (relative,
remappable), publishes
`depth_upsampled/image_raw`, `depth_upsampled/camera_info` and optionally `depth_upsampled/points`,
plus /diagnostics. rclpy is imported inside functions so this module imports without ROS.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from dsr_ros.ros.core import REASONS, CoreOptions, FrameResult, NodeCore
from dsr_ros.ros.diagnostics import NodeStats
from dsr_ros.ros.loading import make_upsampler, torch_threads
from dsr_ros.ros.messages import rclpy_factory
from dsr_ros.ros.pairing import InfoCache, stamp_ns
from dsr_ros.ros.params import PARAMS, SPECS, ConfigError, ParamSpec, depth_range, validate
from dsr_ros.ros.throttle import Throttle
from dsr_ros.ros.worker import LatestWorker

NODE_NAME = "upsample_node"
IN_IMAGE, IN_INFO = "depth/image_raw", "depth/camera_info"
IN_COMPRESSED = IN_IMAGE + "/compressedDepth"  # image_transport's sub-topic naming
OUT_IMAGE, OUT_INFO, OUT_POINTS = "depth_upsampled/image_raw", "depth_upsampled/camera_info", "depth_upsampled/points"
NO_INFO_AFTER = 10  # consecutive frames without a paired CameraInfo before warning that intrinsics are missing
INFO_WAIT_S = 0.05  # how long a frame waits for its CameraInfo still in flight (only once CameraInfo flows)
ROS_OWN_PARAMS = ("use_sim_time", "start_type_description_service")  # declared by rclpy itself


def undeclared_overrides(node: Any) -> list[str]:
    """Names given in params files or -p that the node never declared (misspellings are silently ignored by ROS)."""
    overrides = getattr(node, "_parameter_overrides", {})  # rclpy keeps them here; no public accessor exists
    return sorted(name for name in overrides if name not in SPECS and name not in ROS_OWN_PARAMS
                  and not name.startswith("qos_overrides."))


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
        for name in undeclared_overrides(node):
            self.log.warning(f"parameter '{name}' is set but {NODE_NAME} has no such parameter (ignored); "
                             f"known: {', '.join(SPECS)}")
        self.config = validate({spec.name: node.get_parameter(spec.name).value for spec in PARAMS})
        cfg = self.config
        upsampler = _load_upsampler(cfg)
        self.core = NodeCore(upsampler, rclpy_factory(), self._options(cfg))
        self.stats = NodeStats()
        self.throttle = Throttle(cfg["warn_period"])
        self.infos = InfoCache(capacity=16, tolerance_s=cfg["camera_info_tolerance"])
        self.frames_without_info = 0
        self._publishing = threading.Lock()  # held while publishing; shutdown takes it to stop publishing for good
        self._closed = False

        sub_qos = _qos(cfg["qos_sub_reliability"], cfg["qos_depth"])
        pub_qos = _qos(cfg["qos_pub_reliability"], cfg["qos_depth"])
        from diagnostic_msgs.msg import DiagnosticArray
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

        self.pub_image = node.create_publisher(Image, OUT_IMAGE, pub_qos)
        self.pub_info = node.create_publisher(CameraInfo, OUT_INFO, pub_qos)
        self.pub_points = node.create_publisher(PointCloud2, OUT_POINTS, pub_qos)
        self.pub_diag = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.worker = LatestWorker(self._process, on_error=self._on_worker_error)
        self.worker.start()
        self.sub_info = node.create_subscription(CameraInfo, IN_INFO, self._on_info, sub_qos)
        compressed = cfg["input_transport"] == "compressedDepth"
        self.sub_image = node.create_subscription(CompressedImage if compressed else Image,
                                                  IN_COMPRESSED if compressed else IN_IMAGE, self._on_image, sub_qos)
        node.create_timer(cfg["diagnostics_period"], self._publish_diagnostics)
        node.add_on_set_parameters_callback(self._on_set_parameters)
        engine, card = upsampler.engine, upsampler.model_card
        self.log.info(
            f"×{upsampler.scale} {card.variant}{_specialist_note(card)} on {engine.name}/{engine.device}/{engine.precision}, "
            f"{torch_threads()} CPU threads; "
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
        info = self.infos.wait_match(stamp_ns(msg.header.stamp), INFO_WAIT_S)
        if info is not None:
            self.frames_without_info = 0
        else:
            self.frames_without_info += 1
            if self.frames_without_info >= NO_INFO_AFTER:
                heard = "none received" if not len(self.infos) else "none within camera_info_tolerance of the image stamps"
                self._warn("no_camera_info", f"no CameraInfo for the depth frames on {self.sub_info.topic_name} "
                           f"({heard}): publishing depth without camera_info or points (remap depth/camera_info "
                           "to the camera's camera_info topic)")
        result = self.core.process(msg, info)
        if not result.ok:
            self.stats.on_result(result)
            self._warn(result.reason, f"skipped depth frame ({REASONS[result.reason]}): {result.detail}")
            return
        publish_ms = self._publish(result)
        if publish_ms is None:
            return
        self.stats.on_result(result, publish_ms, (time.perf_counter() - received) * 1000.0)
        for kind, text in result.notes.items():
            self._warn(kind, text)

    def _on_worker_error(self, err: BaseException) -> None:
        self._warn("worker_error", f"frame processing failed: {type(err).__name__}: {err}")

    def _publish(self, result: FrameResult) -> float | None:
        """Publish the frame's outputs; milliseconds spent, or None once shutdown began (nothing published)."""
        with self._publishing:
            if self._closed:
                return None
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

    def close(self, timeout_s: float = 2.0) -> bool:
        """Stop publishing for good, then let the worker finish (or abandon) the frame in progress.

        Called before the node is destroyed: a frame still running afterwards finds publishing closed
        instead of a destroyed publisher. Returns False when a frame was abandoned mid-inference.
        """
        with self._publishing:
            self._closed = True
        return self.worker.stop(timeout_s)


def _specialist_note(card: Any) -> str:
    """", the specialist for <kind> input" when the network serving is one (the node was told that kind)."""
    return f", the specialist for {card.specialist_kind} input" if card.specialist_kind else ""


def _load_upsampler(cfg: dict[str, Any]) -> Any:
    """The configured Upsampler; a weight file that cannot be used is a ConfigError naming 'model' (or 'scale'),
    an input kind its card does not list one naming 'input_kind'."""
    try:
        upsampler = make_upsampler(cfg["model"], cfg["scale"], cfg["variant"], cfg["device"], cfg["backend"],
                                   cfg["precision"], cfg["fill_holes"], depth_range(cfg), cfg["threads"],
                                   cfg["self_ensemble"])
    except (ValueError, OSError) as err:
        name = "model" if cfg["model"] else "scale"
        raise ConfigError(f"parameter '{name}' ({cfg[name]!r}): {' '.join(str(err).split())}") from err
    try:
        upsampler.input_kind = cfg["input_kind"]
    except ValueError as err:
        raise ConfigError(f"parameter 'input_kind' ({cfg['input_kind']!r}): {err}") from err
    return upsampler


def main(args: list[str] | None = None) -> int:
    """Entry point of `ros2 run dsr_ros upsample_node`: 0 after SIGINT/SIGTERM, 2 with one line on a bad configuration."""
    import rclpy
    from rclpy.exceptions import ParameterException
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=args)  # installs handlers that turn SIGINT and SIGTERM into a context shutdown
    node = rclpy.create_node(NODE_NAME)
    try:
        app = UpsampleNode(node)
    except (ConfigError, ParameterException, ValueError, OSError, RuntimeError) as err:
        node.get_logger().fatal(f"{NODE_NAME} cannot start: {' '.join(str(err).split())}")
        node.destroy_node()
        rclpy.try_shutdown()
        return 2
    finished = True
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        finished = app.close()
        if not finished:
            node.get_logger().info("shutdown: abandoning the frame in progress")
        node.destroy_node()
        rclpy.try_shutdown()
    if not finished:
        # A frame is still inside inference on the worker thread. Interpreter finalisation would tear
        # down torch's thread pools under it (std::terminate, SIGABRT), so leave without finalising:
        # publishing is closed and ROS is shut down, nothing is left to flush but our own streams.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
