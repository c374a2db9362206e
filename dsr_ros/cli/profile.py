"""`dsr profile`: per-stage latency of the whole depth path on synthetic frames, one or several back ends.

Each frame is a sensor_msgs/Image that goes through the node's own per-frame function
(NodeCore.process): decode (Image → array), preprocess, infer, postprocess, encode (array → Image). After warm-up
frames, it reports mean/p50/p90/p99/max per stage, frames per second, peak memory and the
network's multiply-accumulate count. `--live` instead starts the real `upsample_node` process and
measures it through DDS the way ros2_benchmark does (see dsr_ros/profiling/live.py).
`--compare torch,onnxruntime` runs several back ends in one process; ratios are median frame
latency ÷ that of plain eager PyTorch (`torch:eager`: contiguous NCHW, no compile), which is
always measured as the baseline. Back-end specs take
options after colons: `torch:eager`, `torch:compile`, `torch:cuda_graphs`, `torch:channels_last`.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dsr_ros.cli.common import (
    CliError,
    add_device_argument,
    add_model_arguments,
    add_threads_argument,
    apply_threads_argument,
    model_from_args,
)
from dsr_ros.engine import BACKENDS, EngineUnavailable
from dsr_ros.net import DSRNet
from dsr_ros.profiling.report import comparison_json, count_macs, format_run, plot_runs, ratio_vs, write_json
from dsr_ros.profiling.runs import depth_messages, message_factory, parse_spec, profile_backend, synthetic_frames
from dsr_ros.ros.messages import MessageFactory
from dsr_ros.self_ensemble import check_copies
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
    parser.add_argument("--self-ensemble", default="1", metavar="N[,N...]",
                        help="mirrored copies averaged per frame (1, 2 or 4); a list such as 1,2,4 times each "
                             "in this one run, with ratios against the first (default 1)")
    parser.add_argument("--encoding", choices=("16UC1", "32FC1"), default="16UC1", help="synthetic frame encoding")
    parser.add_argument("--bag", type=Path, help="profile on the depth frames of a ROS 2 bag instead")
    parser.add_argument("--depth-topic", default="/camera/depth/image_raw", help="--bag: the depth Image topic")
    parser.add_argument("--warmup", type=int, default=5, help="frames run before measuring (default 5)")
    parser.add_argument("--iterations", type=int, default=50, help="frames measured (default 50)")
    parser.add_argument("--max-seconds", type=float, help="stop measuring a back end after this long (min 3 frames)")
    add_threads_argument(parser)
    live = parser.add_argument_group("live node through DDS (--live; needs rclpy)")
    live.add_argument("--live", action="store_true", help="profile the running node process through DDS")
    live.add_argument("--rates", default="10,30", help="playback rates in Hz, comma-separated (default 10,30)")
    live.add_argument("--duration", type=float, default=10.0, help="seconds per playback rate (default 10)")
    live.add_argument("--search", action="store_true", help="also search the highest rate with <= 5%% missed frames")
    live.add_argument("--soak-minutes", type=float, help="then play at the last rate this long, sampling memory")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures as JSON")
    parser.add_argument("--plot", type=Path, metavar="PATH", help="write a latency histogram/timeline PNG")
    parser.set_defaults(func=run)


def _copy_counts(text: str) -> list[int]:
    """--self-ensemble's comma-separated copy counts, each one the Upsampler takes."""
    try:
        return [check_copies(int(n)) for n in text.split(",") if n.strip()] or [1]
    except ValueError as exc:
        raise CliError(f"--self-ensemble {text!r}: {exc}") from None


def build_upsampler(model: DSRNet, spec: str, copies: int, args: argparse.Namespace) -> Upsampler:
    try:
        name, options = parse_spec(spec)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if name == "onnxruntime":
        options["threads"] = args.threads
    try:
        return Upsampler.from_model(model, backend=name, device=args.device, precision=args.precision,
                                    engine_options=options, self_ensemble=copies)
    except (EngineUnavailable, ValueError) as exc:
        raise CliError(f"back end {spec!r}: {exc}") from None


def _messages(args: argparse.Namespace, factory: MessageFactory) -> list[Any]:
    """Depth Image messages: a bag's depth topic, or synthetic frames."""
    if args.bag:
        from dsr_ros.ros.bag import BagError
        from dsr_ros.ros.bag_frames import read_depth_frames

        try:
            return read_depth_frames(args.bag, args.depth_topic, limit=args.warmup + args.iterations)
        except BagError as exc:
            raise CliError(str(exc)) from None
    return depth_messages(synthetic_frames(args.height, args.width, args.encoding), args.encoding, factory)


def _one_copy_count(text: str) -> int:
    """The one --self-ensemble count a live node runs with."""
    counts = _copy_counts(text)
    if len(counts) > 1:
        raise CliError(f"--live runs one node: give --self-ensemble one count, not {text!r}")
    return counts[0]


def _rates(text: str) -> list[float]:
    try:
        rates = [float(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise CliError(f"--rates must be numbers separated by commas, got {text!r}") from None
    if not rates or min(rates) <= 0:
        raise CliError(f"--rates must be positive, got {text!r}")
    return rates


def run_live(args: argparse.Namespace) -> int:
    """Start upsample_node with this interpreter, play frames at each rate, report ros2_benchmark's metrics."""
    try:
        from dsr_ros.profiling.live import (
            FramePlayer,
            format_run,
            memory_growth_mib,
            play,
            plot_live,
            report_json,
            search_max_rate,
            soak,
        )
        from dsr_ros.ros.live_peer import LivePeer
    except ImportError as exc:
        raise CliError(f"--live needs ROS 2's rclpy ({exc}); source ROS 2 or install the ros-jazzy wheels") from None
    from dsr_ros.ros.node_process import NodeProcess, node_command, python_node_executable

    rates = _rates(args.rates)
    params: dict[str, object] = {"scale": args.scale, "backend": args.backend, "device": args.device,
                                 "precision": args.precision, "variant": args.variant, "threads": args.threads,
                                 "self_ensemble": _one_copy_count(args.self_ensemble)}
    if args.model:
        params["model"] = str(Path(args.model).resolve())
    namespace = "/dsr_profile"
    node = NodeProcess(node_command(python_node_executable(), namespace, params=params))
    try:
        node.wait_ready()
    except RuntimeError as exc:
        node.stop()
        raise CliError(str(exc).splitlines()[0] + "; the node's output: " + node.log_path.as_posix()) from None
    peer = LivePeer(namespace, name="dsr_profile_peer")
    runs, samples, max_rate = [], [], None
    try:
        peer.wait_for_node()
        player = FramePlayer(args.height, args.width, args.encoding)
        play(peer, node, player, rates[0], min(args.duration, 3.0))  # warm-up, not reported
        for rate in rates:
            runs.append(play(peer, node, player, rate, args.duration))
            print(format_run(runs[-1]))
        if args.search:
            max_rate, searched = search_max_rate(peer, node, player, args.duration)
            runs += searched
            print(f"highest rate with <= 5 % missed frames: {max_rate:.1f} Hz")
        if args.soak_minutes:
            run_, samples = soak(peer, node, player, rates[-1], args.soak_minutes * 60.0)
            runs.append(run_)
            print(f"soak {args.soak_minutes:g} min at {rates[-1]:g} Hz: {format_run(run_)}; resident memory growth "
                  f"after warm-up {memory_growth_mib(samples):+.1f} MiB, node alive: {all(s.alive for s in samples)}")
    finally:
        peer.close()
        status = node.stop()
    if status != 0:
        raise CliError(f"the node exited with status {status}; its output: {node.log_path}")
    if args.json:
        write_json(report_json(runs, samples, max_rate), args.json)
    if args.plot:
        plot_live(runs, samples, args.plot)
    return 0


def run(args: argparse.Namespace) -> int:
    if min(args.height, args.width) < 1 or args.iterations < 1 or args.warmup < 0:
        raise CliError("--height/--width/--iterations must be >= 1 and --warmup >= 0")
    if args.live:
        return run_live(args)
    args.threads = apply_threads_argument(args)
    model, source = model_from_args(args)
    factory = message_factory()
    messages = _messages(args, factory)
    args.height, args.width = messages[0].height, messages[0].width
    macs = count_macs(model, args.height, args.width)
    params = sum(p.numel() for p in model.parameters())
    print(f"model: DSRNet ×{model.scale} ({source}), {params / 1e6:.2f} M parameters, "
          f"{macs / 1e9:.2f} GMAC per {args.height}x{args.width} frame, {torch.get_num_threads()} CPU threads")
    specs = [s.strip() for s in args.compare.split(",") if s.strip()] if args.compare else [args.backend]
    if args.compare and BASELINE not in specs:
        specs.insert(0, BASELINE)
    counts = _copy_counts(args.self_ensemble)
    upsamplers = [(spec, n, build_upsampler(model, spec, n, args)) for spec in specs for n in counts]
    runs = []
    for spec, copies, upsampler in upsamplers:
        label = (upsampler.engine.name if spec == "auto" else spec) + (f" x{copies} mirrored" if copies > 1 else "")
        run_ = profile_backend(upsampler, label, messages, factory, args.warmup, args.iterations, args.max_seconds)
        runs.append(run_)
        print(format_run(run_))
    baseline = runs[specs.index(BASELINE) * len(counts)] if args.compare else runs[0]
    if len(runs) > 1:
        for run_ in runs:
            print(f"{run_.backend:>28}: p50 frame {np.median(run_.frame_ms):8.2f} ms, "
                  f"{ratio_vs(run_, baseline):.2f}x the latency of {baseline.backend}")
    if args.json:
        key = "ratio_vs_torch" if args.compare else "ratio_vs_first"
        write_json(comparison_json(runs, baseline, key) if len(runs) > 1 else runs[0].to_json(), args.json)
    if args.plot:
        plot_runs(runs, args.plot)
    return 0
