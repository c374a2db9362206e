"""The `dsr` command: upsample files, run the demo, train, evaluate, and the tools of other modules."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from dsr_ros.cli_errors import CliError
from dsr_ros.cli_model import add_model_arguments, add_runtime_arguments, upsampler_from_args

EVAL_UNITS_NOTE = {"nyu": "(cm) on the standard crop, rows 45:471 and cols 41:601 of the 480x640 frame",
                   "middlebury": "(disp) in disparity pixels of each scene, d = f·B/Z − doffs"}


def _train(args: argparse.Namespace) -> int:
    from dsr_ros.train.distill import role_summary, train_two_stage
    from dsr_ros.train.recipe import RecipeError, load_recipe
    from dsr_ros.train.trainer import evaluate_and_export, train

    try:
        recipe = load_recipe(args.config)
    except RecipeError as exc:
        raise CliError(str(exc)) from None
    if args.output_dir:
        recipe.output.dir = args.output_dir
    if args.export is not None:
        recipe.output.export = args.export
    validation = None
    if args.validate_on:
        from dsr_ros.train.validation import Validation

        if args.validate_every < 1:
            raise CliError(f"--validate-every must be >= 1, got {args.validate_every}")
        try:
            validation = Validation.from_folder(args.validate_on, args.validate_every)
        except (OSError, ValueError) as exc:
            raise CliError(f"--validate-on {args.validate_on}: {exc}") from None
    if validation and recipe.distill.enabled:
        raise CliError("--validate-on works with supervised recipes only (no distill section)")
    try:
        if recipe.distill.enabled:
            result = train_two_stage(recipe, resume=args.resume)
        else:
            result = train(recipe, resume=args.resume, validation=validation)
    except RecipeError as exc:  # e.g. data.path names no readable data set
        raise CliError(str(exc)) from None
    if os.environ.get("RANK", "0") != "0":  # under torchrun only rank 0 evaluates and writes
        return 0
    print(f"loss {result.first_loss:.4f} -> {result.last_loss:.4f} after {result.steps} steps")
    if recipe.distill.enabled:
        print(role_summary(result.card.training.get("roles", [])))
    print(evaluate_and_export(result, recipe))
    if recipe.output.export:
        print(f"wrote {recipe.output.export}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from dsr_ros.train.evaluate import evaluate, format_table, heldout_scenes
    from dsr_ros.train.paper_units import PAPER_UNITS

    upsampler = upsampler_from_args(args)
    if args.dataset == "synthetic":
        table = evaluate(upsampler, heldout_scenes(args.scenes, args.size, args.seed), progress=True)
        print(f"held-out synthetic set: {args.scenes} scenes of {args.size}x{args.size}, seed {args.seed}; RMSE in mm")
        print(format_table(table, upsampler.scale))
        return 0
    scenes = _eval_dataset(args)
    try:
        table = evaluate(upsampler, scenes, progress=True, units=PAPER_UNITS.get(args.dataset))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(f"{args.dataset} ({len(scenes)} images from {args.path}): RMSE in mm on valid pixels; "
          + EVAL_UNITS_NOTE.get(args.dataset, "no paper units for this data set"))
    print(format_table(table, upsampler.scale))
    return 0


def _eval_dataset(args: argparse.Namespace):
    """The test part of `--dataset` at `--path` (NYU: the last 449 images or the `--split` file's test indices)."""
    from dsr_ros.train.datasets.sources import open_dataset

    if not args.path:
        raise CliError(f"--path is required with --dataset {args.dataset} (the data set's file or folder)")
    try:
        return open_dataset(args.dataset, args.path, "test", args.split)
    except (OSError, ValueError) as exc:
        raise CliError(f"--dataset {args.dataset} --path {args.path}: {exc}") from None


def _tool_modules() -> list:
    """Subcommands that live beside their subject: bag processing, export, compile, profile."""
    from dsr_ros import compile_cli, export_cli, profile_cli
    from dsr_ros.ros import bag

    return [bag, export_cli, compile_cli, profile_cli]


def build_parser() -> argparse.ArgumentParser:
    from dsr_ros import __version__
    from dsr_ros.demo import register as register_demo
    from dsr_ros.files_cli import register as register_upsample
    from dsr_ros.train.datasets.sources import DATASETS

    parser = argparse.ArgumentParser(prog="dsr", description="Depth super-resolution for ROS 2 robots (DSRNet).")
    parser.add_argument("--version", action="version", version=f"dsr_ros {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register_upsample(sub)
    register_demo(sub)
    for module in _tool_modules():
        module.register(sub)

    p = sub.add_parser("train", help="train DSRNet from a recipe (config/train/*.yaml)")
    p.add_argument("--config", required=True, help="recipe YAML")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    p.add_argument("--output-dir", help="override the recipe's output.dir")
    p.add_argument("--export", help="override the recipe's output.export weight file ('' for none)")
    p.add_argument("--validate-on", metavar="FOLDER",
                   help="folder of rgb/ + depth/ pairs scored every --validate-every steps (validation curve)")
    p.add_argument("--validate-every", type=int, default=1000, metavar="N", help="steps between validation points")
    p.set_defaults(func=_train)

    p = sub.add_parser("eval", help="RMSE table (bicubic, bilinear, model) on held-out synthetic scenes or a data set")
    add_model_arguments(p, scale_required=False)
    add_runtime_arguments(p)
    p.add_argument("--dataset", default="synthetic", choices=("synthetic", *DATASETS),
                   help="synthetic held-out scenes, or a real data set's test images at --path")
    p.add_argument("--path", help="nyu_depth_v2_labeled.mat, a Middlebury folder of scenes, or a folder of rgb/ + depth/")
    p.add_argument("--split", help="NYU split file (splits.mat or 0-based test indices); default: the last 449 images")
    p.add_argument("--scenes", type=int, default=24, help="number of held-out scenes")
    p.add_argument("--size", type=int, default=192, help="held-out scene side in pixels")
    p.add_argument("--seed", type=int, default=1_000_000, help="first held-out scene seed")
    p.set_defaults(func=_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Our own log lines at INFO; other libraries (e.g. the ONNX exporter's passes) only when they warn.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("dsr_ros").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"dsr: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dsr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
