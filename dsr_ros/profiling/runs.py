"""Profiling runs: back-end specs, synthetic depth frames and the per-stage measurement of one back end over them.

Frames go through `NodeCore.process`, the function the node runs per frame, so the stages are the
node's: decode (Image → array), preprocess, infer, postprocess, encode (array → Image).
"""
from __future__ import annotations

import resource
import time
from typing import Any

import numpy as np
import torch

from dsr_ros.engine import BACKENDS
from dsr_ros.profiling import STAGES, StageTimer
from dsr_ros.profiling.report import ProfileRun
from dsr_ros.ros.core import NodeCore
from dsr_ros.ros.image import array_to_image
from dsr_ros.ros.messages import MessageFactory, rclpy_factory, rosbags_factory
from dsr_ros.upsampler import Upsampler

FLAGS = {"eager": {"channels_last": False}, "compile": {"compile": True}, "cuda_graphs": {"cuda_graphs": True},
         "channels_last": {"channels_last": True}}


def parse_spec(spec: str) -> tuple[str, dict[str, object]]:
    """`torch:compile` → ("torch", {"compile": True}); fails naming the allowed names."""
    name, *flags = spec.strip().split(":")
    if name not in BACKENDS:
        raise ValueError(f"unknown back end {name!r} in {spec!r}; choose from {', '.join(BACKENDS)}")
    options: dict[str, object] = {}
    for flag in flags:
        if flag not in FLAGS or name != "torch":
            raise ValueError(f"unknown option {flag!r} in {spec!r}; torch takes {', '.join(FLAGS)}")
        options.update(FLAGS[flag])
    return name, options


def synthetic_frames(height: int, width: int, encoding: str, count: int = 8, seed: int = 0) -> list[np.ndarray]:
    """Depth frames of the encoding's dtype: slanted floor, boxes, sensor noise and holes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = []
    for _ in range(count):
        metres = 1.0 + 3.0 * yy / max(height - 1, 1) + 0.2 * xx / max(width - 1, 1)
        for _box in range(3):
            y0, x0 = rng.integers(0, height), rng.integers(0, width)
            metres[y0:y0 + height // 4, x0:x0 + width // 4] = rng.uniform(0.5, 2.0)
        metres += rng.normal(0.0, 0.005, metres.shape).astype(np.float32)
        holes = rng.random(metres.shape) < 0.02
        if encoding == "16UC1":
            frame = np.round(metres * 1000).astype(np.uint16)
            frame[holes] = 0
        else:
            frame = metres.astype(np.float32)
            frame[holes] = np.nan
        frames.append(frame)
    return frames


def message_factory() -> MessageFactory:
    """The node's own message classes when rclpy is importable (what it publishes), rosbags' otherwise."""
    try:
        return rclpy_factory()
    except ImportError:
        from rosbags.typesys import Stores, get_typestore

        return rosbags_factory(get_typestore(Stores.ROS2_HUMBLE))


def depth_messages(frames: list[np.ndarray], encoding: str, factory: MessageFactory) -> list[Any]:
    """Image messages holding the frames, built like a driver's (header stamp 0, optical frame)."""
    header = factory.header(frame_id="camera_depth_optical_frame")
    return [array_to_image(frame, encoding, header, factory) for frame in frames]


def profile_backend(upsampler: Upsampler, label: str, messages: list[Any], factory: MessageFactory,
                    warmup: int, iterations: int, max_seconds: float | None) -> ProfileRun:
    """Run the node's per-frame path (NodeCore.process) on warm-up messages, then measure each stage."""
    core = NodeCore(upsampler, factory)
    timer = StageTimer()
    frame_ms: list[float] = []
    on_cuda = upsampler.engine.device.startswith("cuda")
    if on_cuda:
        torch.cuda.reset_peak_memory_stats()
    started = None
    for i in range(warmup + iterations):
        if i == warmup:
            timer.reset()
            started = time.perf_counter()
        t0 = time.perf_counter()
        result = core.process(messages[i % len(messages)])
        elapsed = (time.perf_counter() - t0) * 1000.0
        if not result.ok:
            raise ValueError(f"frame {i % len(messages)} skipped: {result.detail}")
        for name, ms in result.timings.items():
            timer.record(name, ms)
        if i >= warmup:
            frame_ms.append(elapsed)
            if max_seconds is not None and len(frame_ms) >= 3 and time.perf_counter() - started > max_seconds:
                break
    memory = {"host_peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    if on_cuda:
        memory["device_peak"] = torch.cuda.max_memory_allocated() / 2**20
    stages = {name: timer.history[name] for name in STAGES if name in timer.history}
    first = messages[0]
    return ProfileRun(label, upsampler.engine.device, (first.height, first.width), stages, frame_ms, memory)
