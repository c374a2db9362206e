"""`dsr promote WEIGHTS --validate-on FOLDER`: make a trained file the shipped model of its scale, if it earns it."""
from __future__ import annotations

import argparse

from dsr_ros.cli.common import CliError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `dsr promote` to the `dsr` command."""
    p = subparsers.add_parser("promote", help="copy a trained weight file into models/ after checking it beats bicubic")
    p.add_argument("weights", help="the run's model.safetensors (e.g. runs/lite3d_x4/model.safetensors)")
    p.add_argument("--validate-on", required=True, metavar="FOLDER", help="folder of rgb/ + depth/ pairs it must also win on")
    p.add_argument("--models-dir", help="where shipped models live (default: the package's models/)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dsr_ros.train.evaluate import format_breakdown
    from dsr_ros.train.promote import PromotionRefused, promote
    from dsr_ros.weights import WeightsError, read_card

    try:
        target, heldout, validated = promote(args.weights, args.validate_on, args.models_dir)
    except (PromotionRefused, WeightsError, OSError, ValueError) as exc:
        raise CliError(str(exc)) from None
    card = read_card(target)
    scale, told = card.scale, " (told each degradation as its input kind)" if card.input_kinds else ""
    if card.specialist_kind:
        told = f" (a specialist for {card.specialist_kind} input, beside the general model told it)"
    print(f"held-out synthetic set{told}:\n" + format_breakdown(heldout, scale))
    print(f"\nvalidation ({args.validate_on}){told}:\n" + format_breakdown(validated, scale))
    if card.input_kinds:
        promotion = card.metrics["promotion"]
        print("\nheld-out synthetic set, untold:\n" + format_breakdown(promotion["heldout_synthetic_untold"]["table"], scale))
        print(f"\nvalidation ({args.validate_on}), untold:\n" + format_breakdown(promotion["validation_untold"]["table"], scale))
    print(f"promoted {args.weights} -> {target}")
    return 0
