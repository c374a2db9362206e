"""Flicker benchmark: how much a static background changes while an object walks into the view.

A camera looks at a fixed v2 scene; over the sequence a person-sized object at 0.8 m moves in
from the left and a far reading (a window at 9 m) appears in the corner. For each pair of
consecutive frames we report the change of the upsampled depth on pixels whose input did not
change and that lie more than 16 LR pixels from any input change (mean, p99, max, in mm).

    python bench/stability.py render --out runs/stability_frames.npz   # needs this checkout
    python bench/stability.py measure --frames runs/stability_frames.npz --scale 4 [--json OUT]

`measure` uses only `Upsampler.from_pretrained(...).upsample`, so it also runs against older
checkouts (PYTHONPATH=OLD_CHECKOUT) to compare normalisation schemes on the same frames.
"""
from __future__ import annotations

import argparse
import json

import cv2
import numpy as np

MARGIN_LR = 16


def render_frames(out: str, frames: int = 12, width: int = 640, height: int = 480, seed: int = 2_000_100) -> None:
    """HR depth frames (metres): a fixed scene, an object entering, a far pixel from the middle of the run."""
    from dsr_ros.train.scenes3d import render_scene3d

    scene = render_scene3d(np.random.default_rng(seed), height, width, "room").depth
    scene = np.where(np.isfinite(scene), scene, 0.0).astype(np.float32)
    sequence = []
    for i in range(frames):
        depth = scene.copy()
        x = int(-120 + i * (width * 0.5) / frames)  # the object's right edge moves in from the left
        cv2.ellipse(depth, (x, height // 2), (60, 200), 0, 0, 360, 0.8, -1)
        if i >= frames // 2:
            depth[:8, -8:] = 9.0  # a window pixel block far away in the corner
        sequence.append(depth)
    np.savez_compressed(out, depth=np.stack(sequence))
    print(f"wrote {out}: {frames} frames {width}x{height}")


def measure(frames_file: str, scale: int, json_out: str | None) -> dict:
    from dsr_ros.upsampler import Upsampler

    up = Upsampler.from_pretrained(scale=scale, backend="torch")
    hr = np.load(frames_file)["depth"]
    lr = [cv2.resize(f, (f.shape[1] // scale, f.shape[0] // scale), interpolation=cv2.INTER_NEAREST) for f in hr]
    lr = [np.where(f > 0, f, np.nan).astype(np.float32) for f in lr]
    outputs = [up.upsample(f) for f in lr]
    changes = []
    kernel = np.ones((2 * MARGIN_LR + 1, 2 * MARGIN_LR + 1), np.uint8)
    for a, b, out_a, out_b in zip(lr[:-1], lr[1:], outputs[:-1], outputs[1:]):
        moved = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        static = cv2.dilate(moved.astype(np.uint8), kernel) == 0
        static_hr = np.repeat(np.repeat(static, scale, 0), scale, 1)
        diff = np.abs(out_b - out_a)[static_hr & np.isfinite(out_a) & np.isfinite(out_b)] * 1000.0
        changes.append(diff)
    all_changes = np.concatenate(changes)
    report = {"scale": scale, "frames": len(hr), "pixels": int(all_changes.size),
              "mean_mm": float(all_changes.mean()), "p99_mm": float(np.percentile(all_changes, 99)),
              "max_mm": float(all_changes.max()),
              "per_frame_mean_mm": [round(float(c.mean()), 3) for c in changes]}
    print(json.dumps(report, indent=1))
    if json_out:
        with open(json_out, "w") as handle:
            json.dump(report, handle, indent=1)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render")
    r.add_argument("--out", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--frames", required=True)
    m.add_argument("--scale", type=int, default=4)
    m.add_argument("--json")
    args = parser.parse_args()
    if args.command == "render":
        render_frames(args.out)
    else:
        measure(args.frames, args.scale, args.json)


if __name__ == "__main__":
    main()
