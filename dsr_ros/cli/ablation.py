"""`dsr ablation`: bicubic vs DSRNet without and with cross-task transfer on one held-out set, optionally recorded in a card."""
from __future__ import annotations

import argparse
from pathlib import Path

from dsr_ros.cli.common import CliError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `dsr ablation` to the `dsr` command."""
    from dsr_ros.train import ablation

    parser = subparsers.add_parser("ablation", help="compare models trained without and with cross-task transfer",
                                   description=ablation.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--without", type=Path, required=True, help="model trained without cross-task transfer")
    parser.add_argument("--with", dest="with_ct", type=Path, required=True, help="model trained with it")
    parser.add_argument("--card-of", type=Path, help="record the ablation in this weight file's model card")
    parser.add_argument("--scenes", type=int, default=24, help="number of held-out scenes")
    parser.add_argument("--size", type=int, default=192, help="held-out scene side in pixels")
    parser.add_argument("--seed", type=int, default=1_000_000, help="first held-out scene seed")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dsr_ros.train.ablation import ablation, annotate, format_ablation
    from dsr_ros.weights import WeightsError, read_card

    try:
        table = ablation(args.without, args.with_ct, args.scenes, args.size, args.seed)
        print(format_ablation(table, read_card(args.without).scale))
        if args.card_of:
            annotate(table, args.card_of, args.without, args.with_ct, args.scenes, args.size, args.seed)
            print(f"recorded the ablation in {args.card_of}")
    except WeightsError as exc:
        raise CliError(str(exc)) from None
    return 0
