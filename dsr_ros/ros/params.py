"""The node's parameter schema: one table used to declare ROS parameters, validate them and test the YAML."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dsr_ros.camera import CONVENTIONS, SCALES
from dsr_ros.engine import BACKENDS, DEVICES, is_device
from dsr_ros.ros.core import OUTPUT_ENCODINGS
from dsr_ros.self_ensemble import SELF_ENSEMBLES

RELIABILITIES = ("best_effort", "reliable")
# How the LR depth was made, as a model trained with input kinds is told it (net/input_kind.py; the names are
# train/degrade.py's): anti-aliased resize, point-sampled resize, decimation, a stereo or time-of-flight sensor.
INPUT_KINDS = ("unknown", "bicubic", "bicubic_aliased", "nearest", "stereo", "tof")
TRANSPORTS = ("raw", "compressedDepth")


class ConfigError(ValueError):
    """Invalid node configuration; the message names every bad parameter and what is allowed."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: ROS type (bool, int, float, str), default, description and constraints."""

    name: str
    type: type
    default: Any
    description: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    dynamic: bool = False  # may change while running (the others need a restart)

    def allowed(self) -> str:
        """Human-readable constraint, used in error messages and ROS descriptors."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.minimum is not None and self.maximum is not None:
            return f"a {self.type.__name__} in [{self.minimum}, {self.maximum}]"
        if self.name == "device":
            return DEVICES
        return f"a {self.type.__name__}"

    def check(self, value: Any) -> str | None:
        """None when `value` is valid, else an error line naming the parameter and the allowed values."""
        # ROS parameters are strictly typed: an integer given for a double fails, as in rclpy.
        if isinstance(value, bool) != (self.type is bool) or not isinstance(value, self.type):
            hint = " (write it with a decimal point, e.g. 0.0)" if self.type is float and isinstance(value, int) else ""
            return f"parameter '{self.name}' must be {self.allowed()}, got {value!r}{hint}"
        bad = (
            (self.choices is not None and value not in self.choices)
            or (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
            or (self.name == "device" and not is_device(value))
        )
        return f"parameter '{self.name}' must be {self.allowed()}, got {value!r}" if bad else None


PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("model", str, "", "Path to a .safetensors weight file; empty: the shipped model for scale and variant"),
    ParamSpec("scale", int, 4, "Upsampling factor (ignored when model is set: the model card decides)", SCALES),
    ParamSpec("variant", str, "lite", "Shipped model variant (lite: real time at every scale)", ("lite",)),
    ParamSpec("device", str, "auto", "Device: auto (CUDA when available), cpu, cuda or cuda:N"),
    ParamSpec("backend", str, "auto", "Inference back end (auto picks the fastest available)", BACKENDS),
    ParamSpec("precision", str, "fp32", "Inference precision (fp16 on GPUs only)", ("fp32", "fp16")),
    ParamSpec("threads", int, 0, "CPU threads for inference and pre/postprocessing; 0: half the usable cores, "
              "at most 4 (more threads than free cores stalls every frame on a shared CPU)", None, 0, 256),
    ParamSpec("input_transport", str, "raw", "raw: sensor_msgs/Image on depth/image_raw; compressedDepth: "
              "image_transport's CompressedImage on depth/image_raw/compressedDepth (png or rvl)", TRANSPORTS),
    ParamSpec("camera_info_tolerance", float, 0.015, "Seconds a CameraInfo stamp may differ from the image's and "
              "still pair (nearest wins); frames without one are published without camera_info", None, 0.0, 1.0),
    ParamSpec("fill_holes", bool, False, "Fill invalid pixels in the output instead of keeping them invalid"),
    ParamSpec("self_ensemble", int, 1, "Average the network over this many mirrored copies of each frame (1 off, "
              "2 left-right, 4 also up-down): lower RMSE at edges, not under decimated input; that many or more times the inference",
              SELF_ENSEMBLES),
    ParamSpec("input_kind", str, "unknown", "How the input depth was made, for a model trained to be told (its card's "
              "input_kinds) or a shipped specialist for that kind (run instead): bicubic (anti-aliased resize), "
              "bicubic_aliased (point-sampled resize), nearest (decimation), stereo, tof; unknown: the mixed network",
              INPUT_KINDS),
    ParamSpec("min_depth", float, 0.0, "Sensor range near end in metres: nearer readings are invalid (never clipped)",
              None, 0.0, 1000.0),
    ParamSpec("max_depth", float, 0.0, "Sensor range far end in metres: farther readings are invalid; 0: no limit",
              None, 0.0, 1000.0),
    ParamSpec("output_encoding", str, "input", "Encoding of the output image ('input': same as input)",
              OUTPUT_ENCODINGS, dynamic=True),
    ParamSpec("publish_points", bool, False, "Also publish depth_upsampled/points (organised xyz)", dynamic=True),
    ParamSpec("cx_convention", str, "pixel_center", "Principal point scaling: pixel_center c'=(c+0.5)s-0.5, "
              "image_proc c'=s*c", CONVENTIONS, dynamic=True),
    ParamSpec("qos_sub_reliability", str, "best_effort", "Subscription reliability (best_effort accepts every "
              "publisher)", RELIABILITIES),
    ParamSpec("qos_pub_reliability", str, "reliable", "Publisher reliability (reliable serves every subscriber)",
              RELIABILITIES),
    ParamSpec("qos_depth", int, 5, "History depth of subscriptions and publishers", None, 1, 100),
    ParamSpec("diagnostics_period", float, 1.0, "Seconds between /diagnostics messages", None, 0.1, 60.0),
    ParamSpec("warn_period", float, 5.0, "Seconds between repeated warnings of the same kind", None, 0.1, 3600.0,
              dynamic=True),
)
SPECS: dict[str, ParamSpec] = {spec.name: spec for spec in PARAMS}


def validate(values: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with `values`, checked; ConfigError lists every problem at once."""
    errors = [f"unknown parameter '{name}'; known: {', '.join(SPECS)}" for name in values if name not in SPECS]
    merged = {spec.name: values.get(spec.name, spec.default) for spec in PARAMS}
    errors += [e for spec in PARAMS if (e := spec.check(merged[spec.name])) is not None]
    if not errors and merged["max_depth"] > 0.0 and merged["min_depth"] >= merged["max_depth"]:
        errors.append(f"parameter 'min_depth' ({merged['min_depth']}) must be below 'max_depth' ({merged['max_depth']})")
    if not errors and merged["max_depth"] == 0.0 and merged["min_depth"] != 0.0:
        errors.append("parameter 'min_depth' needs 'max_depth' > 0 (both 0.0: no range limit)")
    if errors:
        raise ConfigError("invalid configuration: " + "; ".join(errors))
    return merged


def depth_range(config: Mapping[str, Any]) -> tuple[float, float] | None:
    """The sensor's valid range (readings outside it are invalid), or None for no limit."""
    return (config["min_depth"], config["max_depth"]) if config["max_depth"] > 0.0 else None
