"""The node's own per-frame work, measured around a zero-cost engine (issue 12's ≤ 2 ms target).

`NodeCore.process` runs exactly as in upsample_node — message → array, preprocess, postprocess,
array → message with rclpy's own sensor_msgs/Image when rclpy is importable (rosbags' otherwise) —
but the network is replaced by an engine that returns its output without computing anything, so
what is left is decode + preprocess + postprocess + encode. Frames are realistic: a v2 room with
stereo shadows and dropouts, degraded to the input size.

    python bench/hot_path.py --scale 4 --height 120 --width 160 [--frames 400] [--json OUT]

Reports the median and p90 of each stage and of their sum ("overhead", inference excluded).
It also runs against an older checkout (`PYTHONPATH=<checkout> python bench/hot_path.py`), whose
stages may be named differently: every stage the core times is reported, inference excluded.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from dsr_ros.engine.base import InferenceEngine
from dsr_ros.profiling import latency_stats


class ZeroCostEngine(InferenceEngine):
    """Returns a constant log-ratio map of the right size: the cost of inference taken out."""

    name = "zero-cost"

    def __init__(self, scale: int, pad_multiple: int = 4) -> None:
        super().__init__(scale)
        self.pad_multiple = pad_multiple
        self._outputs: dict[tuple[int, ...], np.ndarray] = {}

    def infer(self, batch: np.ndarray) -> np.ndarray:
        n, c, h, w = batch.shape
        shape = (n, c, h * self.scale, w * self.scale)
        if shape not in self._outputs:
            self._outputs[shape] = np.zeros(shape, np.float32)
        out = self._outputs[shape]
        out.fill(0.0)  # callers own what infer returns and may write into it
        return out


def input_frames(height: int, width: int, scale: int, count: int = 8) -> list[np.ndarray]:
    """LR uint16 frames (mm) from v2 scenes through the stereo sensor model."""
    from dsr_ros.train.degrade import degrade
    from dsr_ros.train.scenes3d import render_scene3d

    frames = []
    for seed in range(count):
        rng = np.random.default_rng(5_000 + seed)
        scene = render_scene3d(rng, height * scale, width * scale, "room")
        lr = degrade(scene.depth, scale, "stereo", rng)
        frames.append(np.where(np.isfinite(lr), np.rint(lr * 1000), 0).clip(0, 65534).astype(np.uint16))
    return frames


def measure(scale: int, height: int, width: int, count: int, warmup: int = 20) -> dict:
    """Per-stage statistics of NodeCore.process over `count` frames after `warmup`."""
    from std_msgs.msg import Header

    from dsr_ros.net import DSRNet, DSRNetConfig
    from dsr_ros.ros.core import NodeCore
    from dsr_ros.ros.image import array_to_image
    from dsr_ros.ros.messages import rclpy_factory
    from dsr_ros.upsampler import Upsampler
    from dsr_ros.weights import card_for

    factory = rclpy_factory()  # the node's own message classes: what it decodes and publishes
    header = Header(frame_id="camera_depth_optical_frame")
    messages = [array_to_image(frame, "16UC1", header, factory) for frame in input_frames(height, width, scale)]
    card = card_for(DSRNet(DSRNetConfig(scale=scale)))
    core = NodeCore(Upsampler(ZeroCostEngine(scale), card), factory)
    stages: dict[str, list[float]] = {}
    for i in range(warmup + count):
        t0 = time.perf_counter()
        result = core.process(messages[i % len(messages)])
        total = (time.perf_counter() - t0) * 1000.0
        assert result.ok, result.detail
        if i < warmup:
            continue
        for name, ms in result.timings.items():
            if name not in ("infer", "total"):
                stages.setdefault(name, []).append(ms)
        stages.setdefault("overhead", []).append(total - result.timings["infer"])
    return {"scale": scale, "input": f"{width}x{height}", "output": f"{width * scale}x{height * scale}",
            "messages": type(messages[0]).__module__.split(".")[0], "frames": count,
            "stages": {name: latency_stats(v) for name, v in stages.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--height", type=int, default=120)
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, the node's on 2 cores)")
    parser.add_argument("--json", help="write the figures as JSON")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    report = measure(args.scale, args.height, args.width, args.frames)
    report["threads"] = args.threads
    print(f"x{report['scale']} {report['input']} → {report['output']} ({report['messages']} messages, "
          f"{report['frames']} frames, zero-cost engine, {args.threads} torch threads)")
    for name, s in report["stages"].items():
        print(f"  {name:12s} p50 {s['p50_ms']:6.2f} ms   p90 {s['p90_ms']:6.2f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
