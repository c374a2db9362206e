"""`dsr bag`: upsample the depth topic of a ROS 2 bag (mcap or sqlite3) into a new bag.

The input is only read. Output goes to a temporary sibling directory renamed into place on success.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dsr_ros.cli.common import CliError, add_input_kind_argument, add_self_ensemble_argument, add_threads_argument
from dsr_ros.ros.bag import BagError, process_bag
from dsr_ros.ros.core import CoreOptions, NodeCore
from dsr_ros.ros.messages import rosbags_factory


def run(args: argparse.Namespace) -> int:
    """Build the upsampler from the arguments, process the bag, print the summary."""
    from rosbags.typesys import Stores, get_typestore

    from dsr_ros.ros.loading import make_upsampler
    from dsr_ros.ros.params import ConfigError, depth_range, validate

    try:
        config = validate({"model": args.model or "", "scale": args.scale, "variant": args.variant,
                           "device": args.device, "backend": args.backend, "precision": args.precision,
                           "fill_holes": args.fill_holes, "min_depth": args.min_depth, "max_depth": args.max_depth,
                           "publish_points": args.points, "cx_convention": args.convention, "threads": args.threads,
                           "self_ensemble": args.self_ensemble, "input_kind": args.input_kind})
        upsampler = make_upsampler(config["model"], config["scale"], config["variant"], config["device"],
                                   config["backend"], config["precision"], config["fill_holes"], depth_range(config),
                                   config["threads"], config["self_ensemble"], config["input_kind"])
    except (ConfigError, ValueError, OSError, RuntimeError) as err:
        raise CliError(str(err).replace("\n", " ")) from err
    options = CoreOptions(publish_points=args.points, convention=args.convention)
    core = NodeCore(upsampler, rosbags_factory(get_typestore(Stores.ROS2_HUMBLE)), options)
    try:
        summary = process_bag(Path(args.input), Path(args.output), args.depth_topic, args.info_topic, core,
                              storage=args.storage, progress=not args.quiet)
    except BagError as exc:
        raise CliError(str(exc)) from None
    print("\n".join([f"wrote {args.output}", *summary.lines()]), file=sys.stderr if args.quiet else sys.stdout)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `bag` subcommand to the `dsr` command."""
    from dsr_ros.camera import CONVENTIONS
    from dsr_ros.engine import BACKENDS
    from dsr_ros.ros.params import SPECS

    p = subparsers.add_parser("bag", help="upsample the depth topic of a ROS 2 bag (mcap or sqlite3) into a new bag",
                              description=__doc__)
    p.add_argument("input", help="input bag directory (or .mcap / .db3 file); never modified")
    p.add_argument("output", help="output bag directory (must not exist)")
    p.add_argument("--depth-topic", required=True,
                   help="depth Image topic, e.g. /camera/depth/image_raw, or its compressedDepth sub-topic")
    p.add_argument("--info-topic", help="CameraInfo topic (default: the sibling camera_info of the depth topic)")
    p.add_argument("--model", help="weight file (.safetensors); default: the shipped model for --scale/--variant")
    p.add_argument("--scale", type=int, default=SPECS["scale"].default, choices=SPECS["scale"].choices)
    p.add_argument("--variant", default=SPECS["variant"].default, choices=SPECS["variant"].choices)
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--backend", default="auto", choices=BACKENDS)
    p.add_argument("--precision", default="fp32", choices=SPECS["precision"].choices)
    add_threads_argument(p)
    add_self_ensemble_argument(p)
    add_input_kind_argument(p)
    p.add_argument("--fill-holes", action="store_true", help="fill invalid pixels in the output")
    p.add_argument("--min-depth", type=float, default=0.0, help="sensor range near end (m): nearer readings are invalid")
    p.add_argument("--max-depth", type=float, default=0.0, help="sensor range far end (m): farther readings are invalid; 0: no limit")
    p.add_argument("--points", action="store_true", help="also write …_upsampled/points (PointCloud2)")
    p.add_argument("--convention", default="pixel_center", choices=CONVENTIONS, help="principal point scaling")
    p.add_argument("--storage", default="auto", choices=("auto", "mcap", "sqlite3"), help="output storage format")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
