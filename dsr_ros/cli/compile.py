"""`dsr compile`: build the TensorRT engine for a camera size ahead of time, into the engine cache.

The node then loads it in seconds instead of compiling for minutes on its first start (a
`--max-height`/`--max-width` range engine serves every input size inside it). Every build ends
with a parity check against PyTorch fp32 (TensorRT 10.3 on Jetson is known to give wrong outputs
for some networks): an engine that fails it is neither cached nor used.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from dsr_ros.cli.common import CliError, add_device_argument, add_model_arguments, model_from_args
from dsr_ros.engine.base import EngineUnavailable
from dsr_ros.engine.cache import ShapeRange, default_cache_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `dsr compile` to the `dsr` command."""
    parser = subparsers.add_parser("compile", help="build a TensorRT engine ahead of time (needs torch-tensorrt)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser, "compile a freshly initialised network of the variant (for latency work only)")
    parser.add_argument("--height", type=int, required=True, help="input (low-resolution) height in pixels")
    parser.add_argument("--width", type=int, required=True, help="input (low-resolution) width in pixels")
    parser.add_argument("--max-height", type=int, help="build a min/opt/max profile up to this height (default: static)")
    parser.add_argument("--max-width", type=int, help="build a min/opt/max profile up to this width (default: static)")
    parser.add_argument("--precision", choices=("fp16", "fp32"), default="fp32",
                        help="default fp32, like the node's `precision` parameter (set both to fp16 together)")
    add_device_argument(parser, default="cuda", help="CUDA device (default cuda)")
    parser.add_argument("--cache-dir", type=Path, help=f"engine cache (default {default_cache_dir()})")
    parser.set_defaults(func=run)


def shapes_from_args(args: argparse.Namespace, channels: int = 1) -> ShapeRange:
    """Static N=1 shape, or a range from 1×1 (min) through height×width (opt) to the max sizes.

    `channels`: the model's input channels (2 when it takes the validity mask).
    """
    if min(args.height, args.width) < 1:
        raise CliError(f"--height and --width must be >= 1, got {args.height}x{args.width}")
    opt = (1, channels, args.height, args.width)
    if args.max_height is None and args.max_width is None:
        return ShapeRange.static(opt)
    top = (1, channels, args.max_height or args.height, args.max_width or args.width)
    try:
        return ShapeRange.ranged((1, channels, 1, 1), opt, top)
    except ValueError as exc:
        raise CliError(f"--max-height/--max-width must be >= --height/--width: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from dsr_ros.engine.tensorrt_backend import PARITY_TOLERANCE, EngineRejected, TensorRTEngine

    logging.getLogger("dsr_ros").setLevel(logging.INFO)
    logging.basicConfig(format="%(asctime)s %(message)s")
    model, source = model_from_args(args)
    shapes = shapes_from_args(args, model.config.in_channels)
    try:
        engine = TensorRTEngine(model, device=args.device, precision=args.precision, shapes=shapes,
                                cache_dir=args.cache_dir)
    except EngineRejected as exc:
        raise CliError(f"{exc} (try --precision fp32)") from None
    except EngineUnavailable as exc:
        raise CliError(f"cannot compile a TensorRT engine: {exc}") from None
    print(f"engine: {engine.engine_path}\nweights: {source}\ninput: {shapes.tag()} ×{model.scale} {args.precision}")
    if engine.parity is None:
        print("loaded from the cache: it passed the parity check when it was built, and its content hash matches")
    else:
        print(f"parity vs PyTorch fp32: max relative error {engine.parity:.2e} "
              f"(tolerance {PARITY_TOLERANCE[args.precision]:.0e})")
    return 0
