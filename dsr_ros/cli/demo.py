"""`dsr demo`: the shipped x4 model on a realistic v2 scene, as a picture and a table."""
from __future__ import annotations

import argparse

from dsr_ros.cli.common import CliError, add_runtime_arguments, apply_threads_argument


def run(args: argparse.Namespace) -> int:
    from dsr_ros.engine import EngineUnavailable
    from dsr_ros.train.demo import DEMO_SIZE, run_demo
    from dsr_ros.upsampler import Upsampler
    from dsr_ros.weights import WeightsError

    threads = apply_threads_argument(args)
    try:
        upsampler = Upsampler.from_pretrained(scale=4, device=args.device, backend=args.backend)
    except (WeightsError, EngineUnavailable, ValueError) as exc:
        raise CliError(str(exc)) from None
    result = run_demo(upsampler, args.out, args.repeat)
    s = upsampler.scale
    print(f"v2 room scene {DEMO_SIZE[1]}x{DEMO_SIZE[0]}, model {upsampler.model_card.variant} x{s} "
          f"({upsampler.engine.name} on {upsampler.engine.device}, {threads} CPU threads); RMSE in mm")
    print("| degradation | bicubic | bilinear | DSRNet |\n|---|---|---|---|")
    for kind, rows in result.table.items():
        print(f"| {kind} | " + " | ".join(f"{rows[m]['rmse']:.1f}" for m in ("bicubic", "bilinear", "model")) + " |")
    h, w = result.lr_shape
    print(f"per-frame time (median of {args.repeat}, {w}x{h} -> {w * s}x{h * s}): {result.median_ms:.1f} ms")
    print(f"wrote {result.picture}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the shipped x4 model on a realistic synthetic room and write a picture")
    p.add_argument("--out", default="demo_output", help="folder for demo.png")
    add_runtime_arguments(p)
    p.add_argument("--repeat", type=int, default=5, help="timed runs")
    p.set_defaults(func=run)
