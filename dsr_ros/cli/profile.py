"""`dsr profile`: per-stage latency of the whole depth path on synthetic frames, one or several back ends.

Each frame goes through convert (message bytes → array, and the result back to bytes, as the
node does), preprocess, infer and postprocess (the Upsampler's own stages). After warm-up
frames, it reports mean/p50/p90/p99/max per stage, frames per second, peak memory and the
network's multiply-accumulate count. `--compare torch,onnxruntime` runs several back ends in one
process; ratios are median frame latency ÷ that of plain eager PyTorch (`torch:eager`:
contiguous NCHW, no compile), which is always measured as the baseline. Back-end specs take
options after colons: `torch:eager`, `torch:compile`, `torch:cuda_graphs`, `torch:channels_last`.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from dsr_ros.cli.common import CliError, add_device_argument, add_model_arguments, model_from_args
from dsr_ros.engine import BACKENDS, EngineUnavailable
from dsr_ros.net import DSRNet
from dsr_ros.profiling.report import comparison_json, count_macs, format_run, plot_runs, ratio_vs, write_json
from dsr_ros.profiling.runs import parse_spec, profile_backend, synthetic_frames
from dsr_ros.upsampler import Upsampler

BASELINE = "torch:eager"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `dsr profile` to the `dsr` command."""
    parser = subparsers.add_parser("profile", help="measure per-stage latency of back ends on synthetic frames or a bag",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser, "use a freshly initialised network of the variant (same latency as trained)")
    parser.add_argument("--height", type=int, default=120, help="input (low-resolution) height (default 120)")
    parser.add_argument("--width", type=int, default=160, help="input (low-resolution) width (default 160)")
    parser.add_argument("--backend", default="auto", help=f"one of {', '.join(BACKENDS)} (with :options for torch)")
    parser.add_argument("--compare", help="comma-separated back ends to run in one process, e.g. torch,onnxruntime")
    add_device_argument(parser, help="cpu, cuda, cuda:N or auto (default cpu)")
    parser.add_argument("--precision", choices=("fp32", "fp16"), default="fp32")
    parser.add_argument("--encoding", choices=("16UC1", "32FC1"), default="16UC1", help="synthetic frame encoding")
    parser.add_argument("--bag", type=Path, help="profile on the depth frames of a ROS 2 bag instead (convert = CDR decode)")
    parser.add_argument("--depth-topic", default="/camera/depth/image_raw", help="--bag: the depth Image topic")
    parser.add_argument("--warmup", type=int, default=5, help="frames run before measuring (default 5)")
    parser.add_argument("--iterations", type=int, default=50, help="frames measured (default 50)")
    parser.add_argument("--max-seconds", type=float, help="stop measuring a back end after this long (min 3 frames)")
    parser.add_argument("--threads", type=int, help="torch/onnxruntime CPU threads (default: torch's)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures as JSON")
    parser.add_argument("--plot", type=Path, metavar="PATH", help="write a latency histogram/timeline PNG")
    parser.set_defaults(func=run)


def build_upsampler(model: DSRNet, spec: str, args: argparse.Namespace) -> Upsampler:
    try:
        name, options = parse_spec(spec)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.threads and name == "onnxruntime":
        options["threads"] = args.threads
    try:
        return Upsampler.from_model(model, backend=name, device=args.device, precision=args.precision,
                                    engine_options=options)
    except (EngineUnavailable, ValueError) as exc:
        raise CliError(f"back end {spec!r}: {exc}") from None


def _frames(args: argparse.Namespace) -> tuple[list[bytes], Callable[[bytes], np.ndarray]]:
    """Serialised frames and their decoder: a bag's depth topic, or synthetic raw arrays."""
    if args.bag:
        from dsr_ros.ros.bag import BagError
        from dsr_ros.ros.bag_frames import read_depth_frames

        try:
            return read_depth_frames(args.bag, args.depth_topic, limit=args.warmup + args.iterations)
        except BagError as exc:
            raise CliError(str(exc)) from None
    shape, dtype = (args.height, args.width), np.dtype(np.uint16 if args.encoding == "16UC1" else np.float32)
    return synthetic_frames(args.height, args.width, args.encoding), lambda raw: np.frombuffer(raw, dtype).reshape(shape)


def run(args: argparse.Namespace) -> int:
    if min(args.height, args.width) < 1 or args.iterations < 1 or args.warmup < 0:
        raise CliError("--height/--width/--iterations must be >= 1 and --warmup >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    model, source = model_from_args(args)
    frames, decode = _frames(args)
    args.height, args.width = decode(frames[0]).shape
    macs = count_macs(model, args.height, args.width)
    params = sum(p.numel() for p in model.parameters())
    print(f"model: DSRNet ×{model.scale} ({source}), {params / 1e6:.2f} M parameters, "
          f"{macs / 1e9:.2f} GMAC per {args.height}x{args.width} frame, {torch.get_num_threads()} CPU threads")
    specs = [s.strip() for s in args.compare.split(",") if s.strip()] if args.compare else [args.backend]
    if args.compare and BASELINE not in specs:
        specs.insert(0, BASELINE)
    upsamplers = [(spec, build_upsampler(model, spec, args)) for spec in specs]
    runs = []
    for spec, upsampler in upsamplers:
        label = upsampler.engine.name if spec == "auto" else spec
        run_ = profile_backend(upsampler, label, frames, decode, args.warmup, args.iterations, args.max_seconds)
        runs.append(run_)
        print(format_run(run_))
    if args.compare:
        baseline = runs[specs.index(BASELINE)]
        for run_ in runs:
            print(f"{run_.backend:>20}: p50 frame {np.median(run_.frame_ms):8.2f} ms, "
                  f"{ratio_vs(run_, baseline):.2f}x the latency of {BASELINE}")
    if args.json:
        write_json(comparison_json(runs, runs[specs.index(BASELINE)]) if args.compare else runs[0].to_json(), args.json)
    if args.plot:
        plot_runs(runs, args.plot)
    return 0
