"""`dsr eval`: where the error is (bicubic, bilinear, model) on held-out synthetic scenes or a data set's images."""
from __future__ import annotations

import argparse

from dsr_ros.cli.common import (
    CliError,
    add_model_arguments,
    add_runtime_arguments,
    add_self_ensemble_argument,
    upsampler_from_args,
)

EVAL_UNITS_NOTE = {"nyu": "(cm) on the standard crop, rows 45:471 and cols 41:601 of the 480x640 frame",
                   "middlebury": "(disp) in disparity pixels of each scene, d = f·B/Z − doffs"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `dsr eval` to the `dsr` command."""
    from dsr_ros.train.datasets.sources import DATASETS

    p = subparsers.add_parser("eval", help="RMSE table (bicubic, bilinear, model) on held-out synthetic scenes or a data set")
    add_model_arguments(p, scale_required=False)
    add_runtime_arguments(p)
    add_self_ensemble_argument(p)
    p.add_argument("--dataset", default="synthetic", choices=("synthetic", *DATASETS),
                   help="synthetic held-out scenes, or a real data set's test images at --path "
                        "(realistic check: --dataset folder --path ../shared/scenes)")
    p.add_argument("--path", help="nyu_depth_v2_labeled.mat, a Middlebury folder of scenes, or a folder of rgb/ + depth/")
    p.add_argument("--split", help="NYU split file (splits.mat or 0-based test indices); default: the last 449 images")
    p.add_argument("--scenes", type=int, default=24, help="number of held-out scenes")
    p.add_argument("--size", type=int, default=192, help="held-out scene side in pixels")
    p.add_argument("--seed", type=int, default=1_000_000, help="first held-out scene seed")
    p.add_argument("--untold", action="store_true", help="a model trained to be told its input kind (card: "
                                                         "input_kinds) is told each degradation; with --untold, nothing "
                                                         "(the node's input_kind: unknown)")
    p.add_argument("--worst-map", metavar="PNG", help="also draw the error map of the scene with the highest model "
                                                      "RMSE under point-sampled bicubic")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dsr_ros.train.evaluate import evaluate_detailed, format_breakdown, format_table, heldout_scenes, rmse_table
    from dsr_ros.train.paper_units import PAPER_UNITS

    upsampler = upsampler_from_args(args)
    if args.dataset == "synthetic":
        scenes = heldout_scenes(args.scenes, args.size, args.seed)
        header = f"held-out synthetic set (v2): {args.scenes} scenes of {args.size}x{args.size}, seed {args.seed}; RMSE in mm"
    else:
        scenes = _dataset(args)
        header = (f"{args.dataset} ({len(scenes)} images from {args.path}): RMSE in mm on valid pixels; "
                  + EVAL_UNITS_NOTE.get(args.dataset, "no paper units for this data set"))
    if upsampler.input_kinds:
        header += ("; the model is told nothing (input kind unknown)" if args.untold else
                   "; the model is told each degradation as its input kind")
        if upsampler.specialist_kinds and not args.untold:
            header += f" (specialists for {', '.join(upsampler.specialist_kinds)})"
    try:
        detailed = evaluate_detailed(upsampler, scenes, progress=True, units=PAPER_UNITS.get(args.dataset),
                                     tell_kind=not args.untold)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(header)
    print(format_table(rmse_table(detailed), upsampler.scale))
    print("\nwhere the error is (mm; edge band: within 3 px of a depth discontinuity):")
    print(format_breakdown(detailed, upsampler.scale))
    if args.worst_map:
        _draw_worst(upsampler, scenes, args.worst_map)
    return 0


def _draw_worst(upsampler, scenes, path: str) -> None:
    """The worst scene's LR | bicubic | DSRNet | truth | error map picture."""
    import cv2
    import numpy as np

    from dsr_ros.train.degrade import degrade
    from dsr_ros.train.demo import error_figure
    from dsr_ros.train.evaluate import classical_upsample, worst_scene

    index, truth, out = worst_scene(upsampler, list(scenes), "bicubic_aliased")
    s = upsampler.scale
    lr = degrade(truth, s, "bicubic_aliased", np.random.default_rng(index))
    bicubic = classical_upsample(lr, s, cv2.INTER_CUBIC)
    rmse = {name: float(np.sqrt(np.nanmean((img - truth) ** 2)) * 1000) for name, img in (("bicubic", bicubic), ("model", out))}
    error_figure(path, {"LR input": lr, "bicubic": bicubic, "DSRNet": out, "ground truth": truth}, np.abs(out - truth),
                 f"worst scene (#{index}), x{s} point-sampled: bicubic RMSE {rmse['bicubic']:.0f} mm, "
                 f"DSRNet RMSE {rmse['model']:.0f} mm")
    print(f"wrote {path} (scene #{index})")


def _dataset(args: argparse.Namespace):
    """The test part of `--dataset` at `--path` (NYU: the last 449 images or the `--split` file's test indices)."""
    from dsr_ros.train.datasets.sources import open_dataset

    if not args.path:
        raise CliError(f"--path is required with --dataset {args.dataset} (the data set's file or folder)")
    try:
        return open_dataset(args.dataset, args.path, "test", args.split)
    except (OSError, ValueError) as exc:
        raise CliError(f"--dataset {args.dataset} --path {args.path}: {exc}") from None
