"""`dsr train --config RECIPE`: train DSRNet (alone, or by two-stage cross-task distillation), evaluate and export it."""
from __future__ import annotations

import argparse
import os

from dsr_ros.cli.common import CliError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `dsr train` to the `dsr` command."""
    p = subparsers.add_parser("train", help="train DSRNet from a recipe (config/train/*.yaml)")
    p.add_argument("--config", required=True, help="recipe YAML")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    p.add_argument("--output-dir", help="override the recipe's output.dir")
    p.add_argument("--export", help="override the recipe's output.export weight file ('' for none)")
    p.add_argument("--validate-on", metavar="FOLDER",
                   help="folder of rgb/ + depth/ pairs scored every --validate-every steps (validation curve)")
    p.add_argument("--validate-every", type=int, default=1000, metavar="N", help="steps between validation points")
    p.set_defaults(func=run)


def _validation(args: argparse.Namespace):
    """The --validate-on folder as a Validation, or None."""
    if not args.validate_on:
        return None
    from dsr_ros.train.validation import Validation

    if args.validate_every < 1:
        raise CliError(f"--validate-every must be >= 1, got {args.validate_every}")
    try:
        return Validation.from_folder(args.validate_on, args.validate_every)
    except (OSError, ValueError) as exc:
        raise CliError(f"--validate-on {args.validate_on}: {exc}") from None


def run(args: argparse.Namespace) -> int:
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
    validation = _validation(args)
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
    if result.start >= result.steps:  # --resume of a finished run: nothing trained, so no last loss to show
        print(f"run already complete: {result.steps} steps in {recipe.output.dir}; evaluating and exporting it again")
    else:
        print(f"loss {result.first_loss:.4f} -> {result.last_loss:.4f} after {result.steps} steps")
    if recipe.distill.enabled:
        print(role_summary(result.card.training.get("roles", [])))
    print(evaluate_and_export(result, recipe))
    if recipe.output.export:
        print(f"wrote {recipe.output.export}")
    return 0
